"""What a plugin receives: the core's facts wrapped with live ports (R32, R33, R101, R103, R104, R107).

The core computes every name, path, label and environment variable of the task execution context
(:class:`~taskaction_core.context.TaskExecutionContext`); this module adds what only the interpreter can provide:
the plugin-state manager of this one call, readers and writers over the data store, and the secret and resource
managers that Go passes through untouched (R107).

Go: ``plugin/task_exec_context.go NewTaskExecutionContext``, ``plugin/state_manager.go``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol

from returns.result import Result

from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.ports import DataError, DataStore
from taskaction_core.observations import PluginStateWrite, PortFailure

OUTPUTS_FILE: Final = "outputs.pb"
ERROR_FILE: Final = "error.pb"


def join_uri(prefix: str, leaf: str) -> str:
    """``<prefix>/<leaf>`` with exactly one slash between them (R103: files live under the output prefix)."""
    return f"{prefix.rstrip('/')}/{leaf}"


class PluginStateManager:
    """The plugin-state manager of one plugin call (R101). Go: ``sm.PluginStateManager``.

    Built from the previously persisted ``(bytes, version)``. Reads always see that previous state: a write made in
    this round becomes visible in the next round only, after the interpreter persists :meth:`new_state` (R43).
    Versions are never checked here; plugins compare the returned version themselves. State bytes are opaque:
    plugins encode and decode them (Q34). One instance per call, not shared between threads.
    """

    __slots__ = ("_new_state", "_previous", "_previous_version")

    def __init__(self, previous: bytes, previous_version: int) -> None:
        self._previous = previous
        self._previous_version = previous_version
        self._new_state: PluginStateWrite | None = None

    @classmethod
    def from_facts(cls, facts: TaskExecutionContext) -> PluginStateManager:
        """R32: initialised from ``status.pluginState`` and ``status.pluginStateVersion``."""
        return cls(facts.plugin_state, facts.plugin_state_version)

    @property
    def state_version(self) -> int:
        """Go ``GetStateVersion``: the previous version, even when there are no previous bytes."""
        return self._previous_version

    def get(self) -> tuple[int, bytes | None]:
        """Go ``Get``: ``(0, None)`` when there are no previous bytes, else ``(previous version, bytes)``."""
        if not self._previous:
            return 0, None
        return self._previous_version, self._previous

    def put(self, version: int, data: bytes) -> None:
        """Go ``Put``: record new state; only the last write of the round counts."""
        if version < 0:
            raise ValueError(f"plugin state version must not be negative, got {version}")
        self._new_state = PluginStateWrite(state=bytes(data), version=version)

    def reset(self) -> None:
        """Go ``Reset``: the new state is empty bytes at version 0, and it counts as a write."""
        self._new_state = PluginStateWrite(state=b"", version=0)

    def new_state(self) -> PluginStateWrite | None:
        """Go ``GetNewState``: the last write of this round, or None when the plugin wrote nothing."""
        return self._new_state


class SecretManager(Protocol):
    """Secrets a plugin may inject (Go ``core.SecretManager``), passed through by the reconciler (R107)."""

    def get(self, key: str) -> Result[str, PortFailure]: ...


class AllocationStatus(Enum):
    """Go ``core.AllocationStatus``."""

    GRANTED = "ResourceGranted"
    EXHAUSTED = "ResourceExhausted"
    NAMESPACE_QUOTA_EXCEEDED = "NamespaceQuotaExceeded"


class ResourceManager(Protocol):
    """Quota tokens a plugin may allocate (Go ``core.ResourceManager``), passed through by the reconciler (R107)."""

    def allocate(self, namespace: str, token: str) -> Result[AllocationStatus, PortFailure]:
        """Allocate ``token`` in ``namespace``; allocating a token already held is granted again (idempotent)."""
        ...

    def release(self, namespace: str, token: str) -> Result[None, PortFailure]:
        """Release ``token``; releasing a token not held succeeds."""
        ...


@dataclass(frozen=True, slots=True)
class InputReader:
    """Reads the inputs literal map at ``<input prefix>/inputs.pb`` (R104). Go: ``tec.inlineTaskReader``."""

    data_store: DataStore
    input_prefix: str
    input_path: str

    def read(self) -> Result[bytes, DataError]:
        """The serialized inputs; NOT_FOUND when the action has none written."""
        return self.data_store.read(self.input_path)


@dataclass(frozen=True, slots=True)
class OutputWriter:
    """Writes ``outputs.pb`` and ``error.pb`` under the attempt's output prefix (R103). Go: ``io.OutputWriter``."""

    data_store: DataStore
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    prev_checkpoint_prefix: str

    @property
    def outputs_path(self) -> str:
        return join_uri(self.output_prefix, OUTPUTS_FILE)

    @property
    def error_path(self) -> str:
        return join_uri(self.output_prefix, ERROR_FILE)

    def write_outputs(self, data: bytes) -> Result[None, DataError]:
        """Write the serialized output literal map, which a cache Put later reads back (R55)."""
        return self.data_store.write(self.outputs_path, data)

    def write_error(self, data: bytes) -> Result[None, DataError]:
        """Write the serialized error document (R102: its presence turns success into a failure)."""
        return self.data_store.write(self.error_path, data)


@dataclass(frozen=True, slots=True)
class PluginContext:
    """Everything one plugin call gets (R33). Frozen, except that ``state`` records this call's state write.

    Build a fresh one per call with :meth:`build`, so a state write never leaks from one call into another.
    """

    facts: TaskExecutionContext
    state: PluginStateManager
    data_store: DataStore
    input_reader: InputReader
    output_writer: OutputWriter
    secrets: SecretManager
    resources: ResourceManager

    @classmethod
    def build(
        cls,
        facts: TaskExecutionContext,
        data_store: DataStore,
        secrets: SecretManager,
        resources: ResourceManager,
    ) -> PluginContext:
        """Wrap the core's facts with live ports; the state manager starts from the persisted plugin state."""
        return cls(
            facts=facts,
            state=PluginStateManager.from_facts(facts),
            data_store=data_store,
            input_reader=InputReader(data_store, facts.input_prefix, facts.input_path),
            output_writer=OutputWriter(
                data_store,
                facts.output_prefix,
                facts.raw_output_prefix,
                facts.checkpoint_prefix,
                facts.prev_checkpoint_prefix,
            ),
            secrets=secrets,
            resources=resources,
        )

    @property
    def key(self) -> tuple[str, str]:
        """The TaskAction this call acts on, as (namespace, name)."""
        return self.facts.namespace, self.facts.name
