"""Tests of the embedded plugins and the fsspec data store, with real processes and real files.

This module holds the builders the plugin tests share: task execution facts for a template with a container, and a
:class:`Rounds` helper that plays the reconciler's part (R36, R43): one plugin call per round, with the state a
round writes persisted for the next round only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Final

from flyteidl2.core import interface_pb2, literals_pb2, tasks_pb2, types_pb2
from pyrsistent import pmap

from taskaction_core.adapters.fsspec_store import FsspecDataStore
from taskaction_core.context import OwnerReference, TaskExecutionContext, TaskExecutionId
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import DataStore, Plugin
from taskaction_core.phase_info import PhaseInfo
from taskaction_core.phases import PluginPhase
from taskaction_core.template import TaskMetadata, TaskTemplate
from taskaction_core.testing.fakes import DictSecretManager, QuotaResourceManager

DEADLINE_SECONDS: Final = 20.0
"""How long a test waits for a process to do something before it fails: generous, so slow CI never flakes."""

TERMINAL: Final = frozenset({PluginPhase.SUCCESS, PluginPhase.RETRYABLE_FAILURE, PluginPhase.PERMANENT_FAILURE})


def container_bytes(argv: Sequence[str], env: Mapping[str, str] | None = None) -> bytes:
    """A serialized ``core.Container`` whose command is ``argv`` (no args) and whose env is ``env``."""
    container = tasks_pb2.Container(image="ignored", command=list(argv))
    for key, value in (env or {}).items():
        container.env.add(key=key, value=value)
    return bytes(container.SerializeToString(deterministic=True))


def interface_bytes(outputs: Sequence[str] = ("o0",), inputs: Sequence[str] = ()) -> bytes:
    """A serialized ``core.TypedInterface`` with integer variables of these names."""
    interface = interface_pb2.TypedInterface()
    integer = types_pb2.LiteralType(simple=types_pb2.INTEGER)
    for name in inputs:
        interface.inputs.variables.add(key=name, value=interface_pb2.Variable(type=integer))
    for name in outputs:
        interface.outputs.variables.add(key=name, value=interface_pb2.Variable(type=integer))
    return bytes(interface.SerializeToString(deterministic=True))


def integer_map_bytes(**values: int) -> bytes:
    """A serialized ``core.LiteralMap`` of integers, as an ``inputs.pb`` or ``outputs.pb``."""
    literal_map = literals_pb2.LiteralMap()
    for name, value in values.items():
        literal_map.literals[name].scalar.primitive.integer = value
    return bytes(literal_map.SerializeToString(deterministic=True))


def a_facts(
    root: Path,
    *,
    argv: Sequence[str] = (),
    container_env: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    outputs: Sequence[str] = ("o0",),
    inputs: Sequence[str] = (),
    timeout: timedelta | None = None,
    name: str = "ta",
    uid: str = "uid-1",
    retry: int = 0,
    output_prefix: str | None = None,
    with_container: bool = True,
) -> TaskExecutionContext:
    """The facts of one attempt whose files live under ``root`` (plain local paths)."""
    prefix = output_prefix if output_prefix is not None else str(root / "out" / name / str(retry + 1))
    template = TaskTemplate(
        type="container",
        metadata=TaskMetadata(timeout=timeout),
        interface=interface_bytes(outputs, inputs),
        container=container_bytes(argv, container_env) if with_container else b"",
    )
    return TaskExecutionContext(
        namespace="default",
        name=name,
        attempt=retry + 1,
        retry=retry,
        max_attempts=3,
        input_prefix=str(root / "in" / name),
        input_path=str(root / "in" / name / "inputs.pb"),
        output_prefix=prefix,
        raw_output_prefix=prefix,
        checkpoint_prefix=f"{prefix}/_flytecheckpoints",
        prev_checkpoint_prefix="",
        generated_name=f"{name}-{retry}",
        task_execution_id=TaskExecutionId("p", "d", "run", "a0", retry, None),
        owner=OwnerReference(name=name, uid=uid),
        labels=pmap(),
        annotations=pmap(),
        env=pmap(
            {"ACTION_NAME": "a0", "RUN_NAME": "run", "_U_RUN_BASE": str(root), "_U_ORG_NAME": "local", **(env or {})}
        ),
        service_account="",
        interruptible=False,
        template=template,
        template_bytes=b"",
        task_type="container",
        plugin_state=b"",
        plugin_state_version=0,
    )


@dataclass
class Rounds:
    """Plays the reconciler: builds a fresh context per call and persists the state a call writes (R43)."""

    plugin: Plugin
    facts: TaskExecutionContext
    data_store: DataStore

    @classmethod
    def of(cls, plugin: Plugin, facts: TaskExecutionContext, data_store: DataStore | None = None) -> Rounds:
        return cls(plugin, facts, data_store or FsspecDataStore())

    def context(self) -> PluginContext:
        return PluginContext.build(self.facts, self.data_store, DictSecretManager(), QuotaResourceManager(0))

    def handle(self) -> PhaseInfo:
        ctx = self.context()
        info = self.plugin.handle(ctx).info
        written = ctx.state.new_state()
        if written is not None:
            self.facts = replace(self.facts, plugin_state=written.state, plugin_state_version=written.version)
        return info

    def abort(self) -> None:
        self.plugin.abort(self.context())

    def finalize(self) -> None:
        self.plugin.finalize(self.context())

    def reset_state(self) -> None:
        """R62: the reconciler clears the plugin state after a system reset."""
        self.facts = replace(self.facts, plugin_state=b"", plugin_state_version=0)

    def until(self, done: Callable[[PhaseInfo], bool], between: Callable[[], None] | None = None) -> PhaseInfo:
        """Handle until ``done`` holds for the phase info; fail after :data:`DEADLINE_SECONDS`."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            info = self.handle()
            if done(info):
                return info
            assert time.monotonic() < deadline, f"still {info.phase.name} after {DEADLINE_SECONDS}s: {info}"
            if between is not None:
                between()
            time.sleep(0.01)

    def until_terminal(self) -> PhaseInfo:
        return self.until(lambda info: info.phase in TERMINAL)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after :data:`DEADLINE_SECONDS`."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def is_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (absent, or a zombie nobody reaped yet: it runs no code)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return text[text.rindex(")") + 2] in "ZXx"
