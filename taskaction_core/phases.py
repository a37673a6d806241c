"""Phase vocabularies: plugin phases, ActionEvent phases, cache statuses and error kinds.

Every enum keeps the integer values of its Go/protobuf counterpart, so the core can be compared directly with the
wire (``tests/core/test_idl.py`` fails if any of them drifts from flyteidl2). Plugin phases additionally carry the
Go ``enumer`` string persisted in ``status.pluginPhase`` (rule R15).

Go: ``flyteplugins/go/tasks/pluginmachinery/core/phase.go`` and ``phase_enumer.go``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from functools import cached_property


class PluginPhase(IntEnum):
    """The plugin-level phase of one attempt (R15). Ordinals are Go's."""

    UNDEFINED = 0
    NOT_READY = 1
    WAITING_FOR_RESOURCES = 2
    QUEUED = 3
    INITIALIZING = 4
    RUNNING = 5
    SUCCESS = 6
    RETRYABLE_FAILURE = 7
    PERMANENT_FAILURE = 8
    WAITING_FOR_CACHE = 9
    ABORTED = 10

    @cached_property
    def wire_name(self) -> str:
        """The string persisted in ``status.pluginPhase``, e.g. ``"PhaseRunning"`` (R15).

        Cached on the member (a plain attribute read after the first), since every status write reads it."""
        return _WIRE_NAMES[self]


_WIRE_NAMES: dict[PluginPhase, str] = {
    PluginPhase.UNDEFINED: "PhaseUndefined",
    PluginPhase.NOT_READY: "PhaseNotReady",
    PluginPhase.WAITING_FOR_RESOURCES: "PhaseWaitingForResources",
    PluginPhase.QUEUED: "PhaseQueued",
    PluginPhase.INITIALIZING: "PhaseInitializing",
    PluginPhase.RUNNING: "PhaseRunning",
    PluginPhase.SUCCESS: "PhaseSuccess",
    PluginPhase.RETRYABLE_FAILURE: "PhaseRetryableFailure",
    PluginPhase.PERMANENT_FAILURE: "PhasePermanentFailure",
    PluginPhase.WAITING_FOR_CACHE: "PhaseWaitingForCache",
    PluginPhase.ABORTED: "PhaseAborted",
}
_BY_WIRE_NAME: dict[str, PluginPhase] = {name: phase for phase, name in _WIRE_NAMES.items()}


def plugin_phase_name(ordinal: int) -> str:
    """Go's ``Phase.String()``: the wire name, or ``Phase(<n>)`` for an out-of-range ordinal (R15)."""
    try:
        return PluginPhase(ordinal).wire_name
    except ValueError:
        return f"Phase({ordinal})"


def plugin_phase_from_name(name: str) -> PluginPhase | None:
    """The phase persisted as ``name``, or None for an unknown or empty name (a persisted value we cannot trust)."""
    return _BY_WIRE_NAME.get(name)


# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_FAILURES = frozenset({PluginPhase.PERMANENT_FAILURE, PluginPhase.RETRYABLE_FAILURE})
_SUCCESS, _ABORTED = PluginPhase.SUCCESS, PluginPhase.ABORTED


def is_failure(phase: PluginPhase) -> bool:
    """Go ``Phase.IsFailure`` (R16): permanent or retryable failure."""
    return phase in _FAILURES


def is_success(phase: PluginPhase) -> bool:
    """Go ``Phase.IsSuccess`` (R16)."""
    return phase is _SUCCESS


def is_aborted(phase: PluginPhase) -> bool:
    """Go ``Phase.IsAborted`` (R16)."""
    return phase is _ABORTED


def is_phase_done(phase: PluginPhase) -> bool:
    """Go ``Phase.IsTerminal`` (R16) at the *plugin* level: RetryableFailure counts.

    Named differently from :func:`taskaction_core.records.is_terminal`, which is the TaskAction predicate (R7).
    """
    return is_failure(phase) or is_success(phase) or is_aborted(phase)


class ActionPhase(IntEnum):
    """``flyteidl2.common.ActionPhase``: the phase an ActionEvent reports (R15, R69)."""

    UNSPECIFIED = 0
    QUEUED = 1
    WAITING_FOR_RESOURCES = 2
    INITIALIZING = 3
    RUNNING = 4
    SUCCEEDED = 5
    FAILED = 6
    ABORTED = 7
    TIMED_OUT = 8
    PAUSED = 9
    RECOVERED = 10


_ACTION_PHASES: dict[PluginPhase, ActionPhase] = {
    PluginPhase.UNDEFINED: ActionPhase.UNSPECIFIED,
    PluginPhase.NOT_READY: ActionPhase.QUEUED,
    PluginPhase.WAITING_FOR_RESOURCES: ActionPhase.WAITING_FOR_RESOURCES,
    PluginPhase.QUEUED: ActionPhase.QUEUED,
    PluginPhase.INITIALIZING: ActionPhase.INITIALIZING,
    PluginPhase.RUNNING: ActionPhase.RUNNING,
    PluginPhase.SUCCESS: ActionPhase.SUCCEEDED,
    PluginPhase.RETRYABLE_FAILURE: ActionPhase.FAILED,
    PluginPhase.PERMANENT_FAILURE: ActionPhase.FAILED,
    PluginPhase.WAITING_FOR_CACHE: ActionPhase.WAITING_FOR_RESOURCES,
    PluginPhase.ABORTED: ActionPhase.ABORTED,
}


def to_action_phase(phase: PluginPhase) -> ActionPhase:
    """Go ``phaseToActionPhase`` (R15, R69)."""
    return _ACTION_PHASES[phase]


class CacheStatus(IntEnum):
    """``flyteidl2.core.CatalogCacheStatus``, persisted as an integer in ``status.cacheStatus`` (R5)."""

    CACHE_DISABLED = 0
    CACHE_MISS = 1
    CACHE_HIT = 2
    CACHE_POPULATED = 3
    CACHE_LOOKUP_FAILURE = 4
    CACHE_PUT_FAILURE = 5
    CACHE_SKIPPED = 6
    CACHE_EVICTED = 7


class ErrorKind(IntEnum):
    """``flyteidl2.core.ExecutionError.ErrorKind`` (R23)."""

    UNKNOWN = 0
    USER = 1
    SYSTEM = 2


class ConditionType(StrEnum):
    """Condition types the controller writes (R6)."""

    PROGRESSING = "Progressing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ConditionStatus(StrEnum):
    """Kubernetes condition statuses (R6)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Reason(StrEnum):
    """Condition reasons, which double as the phase-history vocabulary (R6, R9)."""

    QUEUED = "Queued"
    INITIALIZING = "Initializing"
    EXECUTING = "Executing"
    COMPLETED = "Completed"
    RETRYABLE_FAILURE = "RetryableFailure"
    PERMANENT_FAILURE = "PermanentFailure"
    ABORTED = "Aborted"
    PLUGIN_NOT_FOUND = "PluginNotFound"
    INVALID_SPEC = "InvalidSpec"
    PAUSED = "Paused"
    SIGNALED = "Signaled"
    TIMED_OUT = "TimedOut"
