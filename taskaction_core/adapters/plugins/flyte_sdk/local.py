"""Run Flyte SDK tasks through the reconciler on this machine: the embedded backend plus a running controller.

    with LocalFlyte(Path("taskaction.db"), Path("taskaction-data")) as local:
        print(local.run(add, {"x": 1}))                  # 3, computed by a0 in its own process
        print(local.run(add, {"x": 1}))                  # 3 again, a cache hit if add is cached: no process

The database and the data directory are those of the ``taskaction`` command line (``--db``, ``--data``), so
``taskaction get``, ``describe`` and ``events`` show what ran. Task type ``python`` goes to the Flyte SDK plugin; every
other type to the command line's default plugins.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Final

from returns.result import Failure

from taskaction_core.adapters.plugins.flyte_sdk._sdk import SdkTask
from taskaction_core.adapters.plugins.flyte_sdk.plugin import FlyteSdkPlugin, flyte_sdk_plugin, register_flyte_sdk
from taskaction_core.adapters.plugins.flyte_sdk.submit import SubmitOptions, read_outputs, submit
from taskaction_core.cli.backend import DEFAULT_DATA, DEFAULT_DB, PROCESSES_DIR, Backend, default_plugins, open_backend
from taskaction_core.interpreter.ports import StoreErrorKind
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction, is_terminal
from taskaction_core.runtime.controller import Controller

__all__ = ["DEFAULT_REQUEUE", "LocalFlyte", "TaskActionFailed"]

DEFAULT_REQUEUE: Final = timedelta(seconds=1)
"""How often a running task is polled, as ``taskaction run`` does (Go's default is 10 s, R110). A process's end is
seen up to this late; lower it for short tasks, but a serializable cache reservation lapses after 3 × this without
a pass (R51), so on a loaded machine a shorter interval may let a second identical run take it over."""
_POLL: Final = 0.05


class TaskActionFailed(RuntimeError):
    """The action ended without success (failed, aborted, or deleted); the message carries its error."""


@dataclass(frozen=True, slots=True)
class _Running:
    backend: Backend
    plugin: FlyteSdkPlugin
    controller: Controller


class LocalFlyte:
    """The embedded backend of ``db`` and ``data`` with a controller of ``workers`` threads (see the module docs)."""

    def __init__(
        self,
        db: Path = Path(DEFAULT_DB),
        data: Path = Path(DEFAULT_DATA),
        *,
        workers: int = 4,
        policy: Policy | None = None,
        kill_grace: timedelta = timedelta(seconds=2),
    ) -> None:
        self._db = db
        self._data = data
        self._workers = workers
        self.policy = policy or Policy(requeue_after=DEFAULT_REQUEUE)
        self._kill_grace = kill_grace
        self._running: _Running | None = None

    def start(self) -> None:
        opened = open_backend(self._db, self._data)
        if isinstance(opened, Failure):
            raise RuntimeError(opened.failure())
        backend = opened.unwrap()
        plugin = flyte_sdk_plugin(
            backend.data_dir / PROCESSES_DIR, resolve=backend.data_store.resolve, kill_grace=self._kill_grace
        )
        registry = default_plugins(backend)
        register_flyte_sdk(registry, plugin)
        controller = Controller(backend.ports(registry), self.policy, workers=self._workers, name="flyte-sdk")
        controller.start()
        self._running = _Running(backend, plugin, controller)

    def close(self) -> None:
        """Stop the controller (passes in flight finish; task processes keep running and are re-attached by the next
        controller), then release the plugin and the database."""
        running, self._running = self._running, None
        if running is not None:
            try:
                running.controller.stop()
            finally:
                running.plugin.close()
                running.backend.close()

    def __enter__(self) -> LocalFlyte:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def backend(self) -> Backend:
        return self._live().backend

    @property
    def controller(self) -> Controller:
        return self._live().controller

    def _live(self) -> _Running:
        if self._running is None:
            raise RuntimeError("LocalFlyte is not started: use it as a context manager or call start()")
        return self._running

    def submit(
        self, task: SdkTask | object, inputs: Mapping[str, object], options: SubmitOptions | None = None
    ) -> TaskAction:
        """Create the TaskAction (the controller picks it up at once); raises when the backend refuses it."""
        backend = self.backend
        submitted = submit(backend.store, backend.data_store, task, inputs, options)
        if isinstance(submitted, Failure):
            raise RuntimeError(submitted.failure().message)
        return submitted.unwrap()

    def wait(self, namespace: str, name: str, timeout: float = 600.0) -> TaskAction | None:
        """The action once terminal (R7), or None once it is gone (deleted); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.backend.store.get(namespace, name)
            if isinstance(found, Failure):
                if found.failure().kind is StoreErrorKind.NOT_FOUND:
                    return None
                raise RuntimeError(found.failure().message)
            task_action = found.unwrap()
            if is_terminal(task_action.status.conditions):
                return task_action
            if time.monotonic() >= deadline:
                raise TimeoutError(f"TaskAction {namespace}/{name} is not finished after {timeout}s")
            time.sleep(_POLL)

    def outputs(self, task_action: TaskAction, task: SdkTask | object) -> object:
        """The typed outputs of a finished action; :class:`TaskActionFailed` when it did not succeed."""
        read = read_outputs(self.backend.data_store, task_action, task)
        if isinstance(read, Failure):
            error = task_action.status.error_state
            detail = f"[{error.code}] {error.message}" if error is not None else read.failure().message
            raise TaskActionFailed(f"TaskAction {task_action.metadata.name} failed: {detail}")
        return read.unwrap()

    def run(
        self,
        task: SdkTask | object,
        inputs: Mapping[str, object],
        options: SubmitOptions | None = None,
        timeout: float = 600.0,
    ) -> object:
        """Submit, wait until the action is finished, and return its outputs (``TaskActionFailed`` otherwise)."""
        submitted = self.submit(task, inputs, options)
        meta = submitted.metadata
        finished = self.wait(meta.namespace, meta.name, timeout)
        if finished is None:
            raise TaskActionFailed(f"TaskAction {meta.namespace}/{meta.name} was deleted before it finished")
        return self.outputs(finished, task)
