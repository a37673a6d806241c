"""The embedded world the command line works on: one SQLite file and one data directory (design.md §7).

    backend = open_backend(Path("taskaction.db"), Path("taskaction-data"))
    ports = backend.ports(default_plugins(backend))

Theory of operation. ``--db`` names the SQLite file that holds the TaskAction store, the catalog, the ActionEvent
sink and the recorder's warnings (:mod:`taskaction_core.adapters.sqlite`); several ``taskaction`` processes may
use it at once. ``--data`` names the data directory: the fsspec data store reads and writes plain paths and
``file://`` URLs, and the subprocess plugin keeps its run directories under ``<data>/.processes``.

URIs inside the data directory. The output path algorithm (R108) puts the shard right after the host, so a base
without a host (``/srv/runs``) would send outputs to ``/<shard>/srv/runs/...`` at the root of the machine. Local
manifests therefore name a directory of the data directory as the URL's host: ``file://runs/demo`` becomes
``file://runs/<shard>/demo/<action>/<attempt>``, stored at ``<data>/runs/<shard>/demo/...``. Two pieces make that
so, and leave the URIs in the status and the ActionEvents as the manifest wrote them:

- the data store mounts ``file://`` on ``file://<data>/`` (``file:///`` stays as it is: absolute URLs are absolute);
- :class:`DataDirPlugin` hands the plugin the same resolved locations, so a task process receives absolute paths
  in ``{{.outputPrefix}}`` and friends.

Task processes run in the data directory, so a relative path in a task's command (a script) is relative to it too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Final

from returns.result import Failure, Result, Success

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.adapters.sqlite import (
    Database,
    SqliteCatalog,
    SqliteEventSink,
    SqliteRecorder,
    SqliteTaskActionStore,
)
from taskaction_core.interpreter.driver import Ports
from taskaction_core.interpreter.plugin_context import AllocationStatus, InputReader, OutputWriter, PluginContext
from taskaction_core.interpreter.ports import Plugin, PluginProperties, PluginRegistry
from taskaction_core.observations import PortFailure
from taskaction_core.phase_info import Transition

if TYPE_CHECKING:
    from taskaction_core.adapters.fsspec_store import FsspecDataStore

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_DB",
    "PROCESSES_DIR",
    "Backend",
    "DataDirPlugin",
    "NoSecrets",
    "UnlimitedResources",
    "data_dir_mounts",
    "default_plugins",
    "open_backend",
    "task_path",
]

DEFAULT_DB: Final = "taskaction.db"
DEFAULT_DATA: Final = "taskaction-data"
PROCESSES_DIR: Final = ".processes"
"""Under the data directory: the subprocess plugin's run directories (launch markers, supervisor logs)."""
KILL_GRACE: Final = timedelta(seconds=2)
"""SIGTERM → SIGKILL for aborted tasks: short, because the command line waits for it."""


class NoSecrets:
    """The secret manager of the embedded world: it holds none (R107 passes it through to plugins)."""

    def get(self, key: str) -> Result[str, PortFailure]:
        return Failure(PortFailure(f"secret {key!r} not found: the embedded backend has no secret store"))


class UnlimitedResources:
    """The resource manager of the embedded world: one machine, no quota (R107 passes it through to plugins)."""

    def allocate(self, namespace: str, token: str) -> Result[AllocationStatus, PortFailure]:
        return Success(AllocationStatus.GRANTED)

    def release(self, namespace: str, token: str) -> Result[None, PortFailure]:
        return Success(None)


class DataDirPlugin:
    """A plugin seen through the data store's mounts: every input and output location in the plugin's context is
    resolved (``file://runs/x`` → ``file:///<data>/runs/x``) before the plugin sees it. The plugin-state manager is
    the caller's own, so state writes still reach the interpreter (R101)."""

    def __init__(self, inner: Plugin, resolve: Callable[[str], str]) -> None:
        self.inner = inner
        self._resolve = resolve

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def properties(self) -> PluginProperties:
        return self.inner.properties

    def handle(self, ctx: PluginContext) -> Transition:
        return self.inner.handle(self._resolved(ctx))

    def abort(self, ctx: PluginContext) -> None:
        self.inner.abort(self._resolved(ctx))

    def finalize(self, ctx: PluginContext) -> None:
        self.inner.finalize(self._resolved(ctx))

    def _resolved(self, ctx: PluginContext) -> PluginContext:
        facts, resolve = ctx.facts, self._resolve
        facts = replace(
            facts,
            input_prefix=resolve(facts.input_prefix),
            input_path=resolve(facts.input_path),
            output_prefix=resolve(facts.output_prefix),
            raw_output_prefix=resolve(facts.raw_output_prefix),
            checkpoint_prefix=resolve(facts.checkpoint_prefix),
            prev_checkpoint_prefix=resolve(facts.prev_checkpoint_prefix) if facts.prev_checkpoint_prefix else "",
        )
        return replace(
            ctx,
            facts=facts,
            input_reader=InputReader(ctx.data_store, facts.input_prefix, facts.input_path),
            output_writer=OutputWriter(
                ctx.data_store,
                facts.output_prefix,
                facts.raw_output_prefix,
                facts.checkpoint_prefix,
                facts.prev_checkpoint_prefix,
            ),
        )


def data_dir_mounts(data_dir: Path) -> dict[str, str]:
    """``file://DIR/...`` → ``file://<data>/DIR/...``; ``file:///...`` (absolute) unchanged (longest prefix wins)."""
    return {"file://": f"file://{data_dir.as_posix().rstrip('/')}/", "file:///": "file:///"}


@dataclass
class Backend:
    """The opened adapters of one ``--db`` file and one ``--data`` directory (both absolute).

    The data store and the catalog are built on first use: commands that only read the store start faster without
    fsspec.
    """

    db_path: Path
    data_dir: Path
    database: Database
    store: SqliteTaskActionStore
    events: SqliteEventSink
    recorder: SqliteRecorder
    clock: SystemClock

    @cached_property
    def data_store(self) -> FsspecDataStore:
        from taskaction_core.adapters.fsspec_store import FsspecDataStore

        return FsspecDataStore(mounts=data_dir_mounts(self.data_dir))

    @cached_property
    def catalog(self) -> SqliteCatalog:
        return SqliteCatalog(self.database, self.data_store, self.clock)

    def ports(self, plugins: PluginRegistry) -> Ports:
        """The interpreter's ports over this backend, with ``plugins``."""
        return Ports(
            store=self.store,
            plugins=plugins,
            data_store=self.data_store,
            events=self.events,
            recorder=self.recorder,
            clock=self.clock,
            secrets=NoSecrets(),
            resources=UnlimitedResources(),
            catalog=self.catalog,
            # The store, event sink and catalog share ``database``: a pass's event, status and label writes commit
            # as one transaction (the sink is written directly, never through an EventBatcher's thread).
            unit_of_work=self.database.unit_of_work,
        )

    def close(self) -> None:
        self.database.close()


def open_backend(db: Path, data: Path, *, create: bool = True) -> Result[Backend, str]:
    """Open (creating if ``create``) the database and the data directory; a readable error otherwise."""
    db_path, data_dir = db.expanduser().absolute(), data.expanduser().absolute()
    if not create and not db_path.exists():
        return Failure(f"no database at {db_path} (apply a manifest first, or pass --db)")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        database = Database(db_path)
    except Exception as error:  # the outside world: a read-only disk, a directory in the way, a newer schema
        return Failure(f"cannot open {db_path}: {error}")
    clock = SystemClock()
    return Success(
        Backend(
            db_path=db_path,
            data_dir=data_dir,
            database=database,
            store=SqliteTaskActionStore(database, clock),
            events=SqliteEventSink(database),
            recorder=SqliteRecorder(database, clock),
            clock=clock,
        )
    )


def task_path() -> str:
    """``PATH`` for task processes: this interpreter's directory first, so ``python3`` in a manifest is the Python
    that has taskaction_core installed, then the caller's ``PATH``."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])


def default_plugins(backend: Backend) -> PluginRegistry:
    """The registry of the embedded world: the subprocess plugin for ``container``, ``python`` and as the default.

    Tasks run in the data directory (see the module docstring) with ``PATH`` from :func:`task_path`.
    """
    from taskaction_core.adapters.plugins.subprocess_plugin import SubprocessPlugin

    registry = PluginRegistry()
    plugin = SubprocessPlugin(
        backend.data_dir / PROCESSES_DIR,
        task_types=("container", "python"),
        kill_grace=KILL_GRACE,
        base_env={"PATH": task_path()},
        cwd=backend.data_dir,
    )
    registry.register(DataDirPlugin(plugin, backend.data_store.resolve), plugin.task_types, default=True)
    return registry
