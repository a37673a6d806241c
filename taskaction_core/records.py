"""Frozen records of the TaskAction custom resource (rules R1–R14).

Field names are snake_case; :data:`STATUS_WIRE_NAMES` and :data:`SPEC_WIRE_NAMES` give the JSON wire names of R3/R5.
Collections are pyrsistent ``PVector``/``PMap`` so that appending to a long phase history shares structure instead of
copying it. Times are timezone-aware ``datetime`` values in UTC.

The helpers here are the record-level laws: the condition upsert of R6 (:func:`set_condition`), the terminal
predicate of R7 (:func:`is_terminal`), the terminal transition time of R8, the phase-history dedup of R9 and the
ErrorState conversion of R10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from pyrsistent import pmap, pvector
from pyrsistent.typing import PMap, PVector

from taskaction_core.fastinit import constructor, fast_init
from taskaction_core.phases import ConditionStatus, ConditionType, ErrorKind

API_VERSION: Final = "flyte.org/v1"
KIND: Final = "TaskAction"

FINALIZER: Final = "flyte.org/plugin-finalizer"
"""R13: added by the task path after validation, removed only by the deletion arm."""

LABEL_TERMINATION_STATUS: Final = "flyte.org/termination-status"
LABEL_COMPLETED_TIME: Final = "flyte.org/completed-time"
TERMINATED: Final = "terminated"
"""R11: GC labels written once the TaskAction is terminal."""

ACTION_TYPE_TASK: Final = "task"
ACTION_TYPE_CONDITION: Final = "condition"

MAX_CONDITION_MESSAGE: Final = 32768
"""R6: the API server rejects condition messages longer than this (D10 truncates to it)."""

_EMPTY_LABELS: PMap[str, str] = pmap()
_EMPTY_STRINGS: PVector[str] = pvector()


@fast_init
@dataclass(frozen=True, slots=True)
class Condition:
    """A Kubernetes status condition (R6). ``observed_generation`` is always 0 when written by the controller."""

    type: str
    status: str
    reason: str
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int = 0


@fast_init
@dataclass(frozen=True, slots=True)
class PhaseHistoryEntry:
    """One entry of ``status.phaseHistory`` (R9)."""

    phase: str
    occurred_at: datetime
    message: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class ErrorState:
    """``status.errorState`` (R10): kind is ``"USER"``, ``"SYSTEM"`` or ``""``."""

    code: str = ""
    kind: str = ""
    message: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """The metadata the reconciler reads or writes (R2)."""

    name: str
    namespace: str = ""
    uid: str = ""
    labels: PMap[str, str] = _EMPTY_LABELS
    annotations: PMap[str, str] = _EMPTY_LABELS
    finalizers: PVector[str] = _EMPTY_STRINGS
    deletion_timestamp: datetime | None = None
    creation_timestamp: datetime | None = None
    resource_version: str = ""
    generation: int = 0


@fast_init
@dataclass(frozen=True, slots=True)
class TaskActionSpec:
    """``spec`` (R3). ``task_template`` and ``condition_spec`` hold serialized protobuf bytes."""

    run_name: str = ""
    project: str = ""
    domain: str = ""
    action_name: str = ""
    parent_action_name: str | None = None
    action_type: str = ""
    condition_spec: bytes = b""
    input_uri: str = ""
    run_output_base: str = ""
    cache_key: str = ""
    task_type: str = ""
    short_name: str = ""
    task_template: bytes = b""
    env_vars: PMap[str, str] = _EMPTY_LABELS
    interruptible: bool | None = None
    group: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class TaskActionStatus:
    """``status`` (R5). Zero values are what the API omits from JSON."""

    state_json: str = ""
    plugin_state: bytes = b""
    plugin_state_version: int = 0
    plugin_phase: str = ""
    plugin_phase_version: int = 0
    attempts: int = 0
    system_failures: int = 0
    cache_status: int = 0
    conditions: PVector[Condition] = field(default_factory=pvector)
    phase_history: PVector[PhaseHistoryEntry] = field(default_factory=pvector)
    error_state: ErrorState | None = None
    signal_value: bytes = b""
    signalled_by: str = ""
    signalled_at: datetime | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class TaskAction:
    """One TaskAction object: metadata, spec and status (R1)."""

    metadata: ObjectMeta
    spec: TaskActionSpec = TaskActionSpec()
    status: TaskActionStatus = TaskActionStatus()


SPEC_WIRE_NAMES: Final[dict[str, str]] = {
    "run_name": "runName",
    "project": "project",
    "domain": "domain",
    "action_name": "actionName",
    "parent_action_name": "parentActionName",
    "action_type": "actionType",
    "condition_spec": "conditionSpec",
    "input_uri": "inputUri",
    "run_output_base": "runOutputBase",
    "cache_key": "cacheKey",
    "task_type": "taskType",
    "short_name": "shortName",
    "task_template": "taskTemplate",
    "env_vars": "envVars",
    "interruptible": "interruptible",
    "group": "group",
}
"""R3: record field → JSON wire name."""

STATUS_WIRE_NAMES: Final[dict[str, str]] = {
    "state_json": "stateJson",
    "plugin_state": "pluginState",
    "plugin_state_version": "pluginStateVersion",
    "plugin_phase": "pluginPhase",
    "plugin_phase_version": "pluginPhaseVersion",
    "attempts": "attempts",
    "system_failures": "systemFailures",
    "cache_status": "cacheStatus",
    "conditions": "conditions",
    "phase_history": "phaseHistory",
    "error_state": "errorState",
    "signal_value": "signalValue",
    "signalled_by": "signalledBy",
    "signalled_at": "signalledAt",
}
"""R5: record field → JSON wire name."""


# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_TRUE: Final = ConditionStatus.TRUE
_TERMINAL_TYPES: Final = frozenset({ConditionType.SUCCEEDED, ConditionType.FAILED})
# Records built on the hot path are built through their constructor functions, without ``type.__call__``
# (:func:`~taskaction_core.fastinit.constructor`, docs/design.md §7).
_condition: Final = constructor(Condition)
_history_entry: Final = constructor(PhaseHistoryEntry)


def is_terminal(conditions: PVector[Condition]) -> bool:
    """R7: terminal iff a ``Succeeded`` or ``Failed`` condition has status ``True``.

    Go: ``taskaction_controller.go isTerminal``.
    """
    for condition in conditions:  # noqa: SIM110 - a plain loop; any() over a generator costs a frame per round
        if condition.status == _TRUE and condition.type in _TERMINAL_TYPES:
            return True
    return False


def terminal_transition_time(conditions: PVector[Condition], now: datetime) -> datetime:
    """R8: the lastTransitionTime of the first True Succeeded/Failed condition, else ``now``.

    The first such condition decides even when its time is unset (then ``now`` is used), exactly as Go stops looking.
    Go: ``taskaction_controller.go terminalTransitionTime``.
    """
    for condition in conditions:
        if condition.status != _TRUE:
            continue
        if condition.type in _TERMINAL_TYPES:
            if condition.last_transition_time is not None:
                return condition.last_transition_time
            break
    return now


def set_condition(
    conditions: PVector[Condition],
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
) -> PVector[Condition]:
    """R6: upsert condition ``type_``: append when new, else update in place.

    The transition time changes only when the status does; reason, message and observedGeneration are always
    overwritten. List order is first-insertion order, which R8 and the downstream reader (R125) depend on.
    Go: ``taskaction_controller.go setCondition`` → ``meta.SetStatusCondition``.
    """
    for index, existing in enumerate(conditions):
        if existing.type != type_:
            continue
        if (
            existing.status == status
            and existing.reason == reason
            and existing.message == message
            and existing.observed_generation == 0
        ):
            return conditions
        transition_time = existing.last_transition_time if existing.status == status else now
        return conditions.set(index, _condition(type_, status, reason, message, transition_time, 0))
    return conditions.append(_condition(type_, status, reason, message, now, 0))


def append_phase_history(
    history: PVector[PhaseHistoryEntry], phase: str, message: str, now: datetime
) -> PVector[PhaseHistoryEntry]:
    """R9: append (phase, message) unless the last entry already has this phase.

    Only the last entry is compared, so a phase can reappear after another (Queued → Executing → Queued).
    Go: ``taskaction_controller.go appendPhaseHistory``.
    """
    if history and history[-1].phase == phase:
        return history
    return history.append(_history_entry(phase, now, message))


def error_kind_name(kind: int) -> str:
    """R10: ``"USER"``, ``"SYSTEM"``, or ``""`` for UNKNOWN and anything else."""
    if kind == ErrorKind.USER:
        return "USER"
    if kind == ErrorKind.SYSTEM:
        return "SYSTEM"
    return ""
