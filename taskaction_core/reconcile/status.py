"""Status decisions: phase → conditions and history (R41), StateJSON (R42), the change predicate (R64/D11),
event-then-status persistence (R65) and the terminal GC labels (R67).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

from pyrsistent import pmap
from pyrsistent.typing import PMap, PVector

from taskaction_core.effects import (
    FAIL_PASS,
    FailureWarning,
    FinalEffect,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    StatusScope,
)
from taskaction_core.fastinit import constructor, fast_init
from taskaction_core.gofmt import go_quote, label_time, rfc3339_seconds
from taskaction_core.phase_info import PhaseInfo
from taskaction_core.phases import ConditionStatus, ConditionType, PluginPhase, Reason
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.action_events import build_action_event
from taskaction_core.records import (
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    MAX_CONDITION_MESSAGE,
    TERMINATED,
    Condition,
    ErrorState,
    ObjectMeta,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionStatus,
    append_phase_history,
    error_kind_name,
    set_condition,
    terminal_transition_time,
)

TRUNCATION_MARKER = "... [truncated by taskaction_core: condition messages are limited to 32768 characters]"
"""D10: appended to a condition message cut to the API server's limit, so a reader sees that text is missing."""

# Records built on every status write, through their constructor functions (fastinit.constructor, design.md §7).
_object_meta: Final = constructor(ObjectMeta)
_task_action: Final = constructor(TaskAction)
_record_action_event: Final = constructor(RecordActionEvent)
_persist_status: Final = constructor(PersistStatus)
_patch_labels: Final = constructor(PatchLabels)

MSG_COMPLETED_PROGRESSING = "TaskAction has completed"
MSG_COMPLETED = "TaskAction completed successfully"
MSG_ABORTED = "TaskAction was aborted"


def condition_message(message: str, policy: Policy) -> str:
    """D10: cut a message longer than the API limit (32,768) and mark the cut; Go sends it whole and the API
    server rejects the status write forever (Q12)."""
    if len(message) <= MAX_CONDITION_MESSAGE or not policy.fixes(Deviation.D10_TRUNCATE_CONDITION_MESSAGES):
        return message
    return message[: MAX_CONDITION_MESSAGE - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


@fast_init
@dataclass(frozen=True, slots=True)
class StatusView:
    """The three status parts the phase mapping writes; kept apart so a no-op mapping allocates nothing."""

    conditions: PVector[Condition]
    history: PVector[PhaseHistoryEntry]
    error_state: ErrorState | None


_status_view: Final = constructor(StatusView)

ConditionUpdates = tuple[tuple[str, str, str, str], ...]
"""(type, status, reason, message) upserts applied in order."""


def set_conditions(
    conditions: PVector[Condition],
    updates: ConditionUpdates,
    now: datetime,
    policy: Policy,
) -> PVector[Condition]:
    """Apply R6 upserts in order; each update is (type, status, reason, message)."""
    for type_, status, reason, message in updates:
        if len(message) > MAX_CONDITION_MESSAGE:
            message = condition_message(message, policy)
        conditions = set_condition(conditions, type_, status, reason, message, now)
    return conditions


def _failure_message(info: PhaseInfo) -> str:
    return info.err.message if info.err is not None else info.reason


def _error_state(info: PhaseInfo, current: ErrorState | None) -> ErrorState | None:
    if info.err is None:
        return current
    return ErrorState(info.err.code, error_kind_name(info.err.kind), info.err.message)


_QUEUED_PHASES = frozenset(
    {
        PluginPhase.NOT_READY,
        PluginPhase.QUEUED,
        PluginPhase.WAITING_FOR_RESOURCES,
        PluginPhase.WAITING_FOR_CACHE,
    }
)
_PROGRESS_REASONS = {PluginPhase.INITIALIZING: Reason.INITIALIZING.value, PluginPhase.RUNNING: Reason.EXECUTING.value}
# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_TRUE, _FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
_PROGRESSING, _SUCCEEDED, _FAILED = ConditionType.PROGRESSING, ConditionType.SUCCEEDED, ConditionType.FAILED
_SUCCESS, _PERMANENT_FAILURE = PluginPhase.SUCCESS, PluginPhase.PERMANENT_FAILURE
_RETRYABLE_FAILURE, _ABORTED = PluginPhase.RETRYABLE_FAILURE, PluginPhase.ABORTED
_SUCCESS_UPDATES: Final[ConditionUpdates] = (
    (_PROGRESSING, _FALSE, Reason.COMPLETED, MSG_COMPLETED_PROGRESSING),
    (_SUCCEEDED, _TRUE, Reason.COMPLETED, MSG_COMPLETED),
)
_ABORTED_UPDATES: Final[ConditionUpdates] = (
    (_PROGRESSING, _FALSE, Reason.ABORTED, MSG_ABORTED),
    (_FAILED, _TRUE, Reason.ABORTED, MSG_ABORTED),
)
_COMPLETED, _ABORTED_REASON = Reason.COMPLETED, Reason.ABORTED
_PERMANENT_REASON, _RETRYABLE_REASON = Reason.PERMANENT_FAILURE, Reason.RETRYABLE_FAILURE
_D11, _WHOLE = Deviation.D11_COMPARE_WHOLE_STATUS, StatusScope.WHOLE


def map_phase_to_conditions(view: StatusView, info: PhaseInfo, now: datetime, policy: Policy) -> StatusView:
    """R41: the conditions, history entry and ErrorState a final PhaseInfo implies.

    ErrorState is set from the phase error on failures and never cleared. Undefined writes nothing (Q23).
    Returns ``view`` itself when nothing changes.
    Go: ``taskaction_controller.go mapPhaseToConditions``.
    """
    mapped = mapped_status(view.conditions, view.history, view.error_state, info, now, policy)
    return view if mapped is None else _status_view(*mapped)


def mapped_status(
    conditions: PVector[Condition],
    history: PVector[PhaseHistoryEntry],
    error_state: ErrorState | None,
    info: PhaseInfo,
    now: datetime,
    policy: Policy,
) -> StatusParts | None:
    """:func:`map_phase_to_conditions` on the three parts: the new (conditions, history, error state), or None when
    nothing changes. A plain tuple, not a :class:`StatusView`: the hot path unpacks it into the status at once."""
    phase = info.phase
    if phase in _QUEUED_PHASES:
        updates: ConditionUpdates = ((_PROGRESSING, _TRUE, Reason.QUEUED, info.reason),)
        return _with(
            conditions, history, error_state, updates, Reason.QUEUED.value, info.reason, error_state, now, policy
        )
    progress = _PROGRESS_REASONS.get(phase)
    if progress is not None:
        updates = ((_PROGRESSING, _TRUE, progress, info.reason),)
        return _with(conditions, history, error_state, updates, progress, info.reason, error_state, now, policy)
    if phase is _SUCCESS:
        return _with(
            conditions, history, error_state, _SUCCESS_UPDATES, _COMPLETED, MSG_COMPLETED, error_state, now, policy
        )
    if phase is _PERMANENT_FAILURE:
        msg = _failure_message(info)
        updates = ((_PROGRESSING, _FALSE, _PERMANENT_REASON, msg), (_FAILED, _TRUE, _PERMANENT_REASON, msg))
        new_error = _error_state(info, error_state)
        return _with(conditions, history, error_state, updates, _PERMANENT_REASON, msg, new_error, now, policy)
    if phase is _RETRYABLE_FAILURE:
        msg = _failure_message(info)
        updates = ((_PROGRESSING, _TRUE, _RETRYABLE_REASON, msg),)
        new_error = _error_state(info, error_state)
        return _with(conditions, history, error_state, updates, _RETRYABLE_REASON, msg, new_error, now, policy)
    if phase is _ABORTED:
        return _with(
            conditions, history, error_state, _ABORTED_UPDATES, _ABORTED_REASON, MSG_ABORTED, error_state, now, policy
        )
    return None


StatusParts = tuple[PVector[Condition], PVector[PhaseHistoryEntry], ErrorState | None]
"""(conditions, history, error state): the parts of a status that R41 maps, before or after the mapping."""


def _with(
    conditions: PVector[Condition],
    history: PVector[PhaseHistoryEntry],
    current_error: ErrorState | None,
    updates: ConditionUpdates,
    history_phase: str,
    history_message: str,
    error_state: ErrorState | None,
    now: datetime,
    policy: Policy,
) -> StatusParts | None:
    new_conditions = conditions
    for type_, status, reason, message in updates:  # set_conditions, inlined: every status change runs it
        if len(message) > MAX_CONDITION_MESSAGE:
            message = condition_message(message, policy)
        new_conditions = set_condition(new_conditions, type_, status, reason, message, now)
    new_history = append_phase_history(history, history_phase, history_message, now)
    if new_conditions is conditions and new_history is history and error_state is current_error:
        return None
    return new_conditions, new_history, error_state


_GO_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
"""Go ``encoding/json`` escapes HTML characters and, always, the JS line terminators U+2028/U+2029 (R42)."""


def state_json(task_action: TaskAction, phase_name: str, now: datetime) -> str:
    """R42: compact JSON with sorted keys, Go ``encoding/json`` escaping, timestamp in ``now``'s own zone."""
    spec = task_action.spec
    timestamp = rfc3339_seconds(now)
    action_id = _plain_action_id(spec.run_name, spec.action_name)
    if action_id is not None and _plain_phase(phase_name):
        return f'{{"actionId":"{action_id}","phase":"{phase_name}","timestamp":"{timestamp}"}}'
    document = {"actionId": f"{spec.run_name}/{spec.action_name}", "phase": phase_name, "timestamp": timestamp}
    text = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.translate(_GO_JSON_ESCAPES)


@lru_cache(maxsize=4096)
def _plain_action_id(run_name: str, action_name: str) -> str | None:
    """The ``actionId`` value when it needs no escaping (the common case, written without ``json``), else None.
    Memoized per action: every status write of the action carries it."""
    action_id = f"{run_name}/{action_name}"
    return action_id if _json_safe(action_id) else None


@lru_cache(maxsize=64)
def _plain_phase(phase_name: str) -> bool:
    """True when the phase's wire name needs no escaping (all of R15's do; memoized over that small set)."""
    return _json_safe(phase_name)


_JSON_SAFE = re.compile(r"[ !#-%'-;=?-\[\]-~]*")
"""Printable ASCII other than ``"``, ``\\``, ``<``, ``>`` and ``&``: what Go JSON writes without escaping."""


def _json_safe(text: str) -> bool:
    """True when ``text`` needs no escaping in Go JSON (the common case, formatted without ``json.dumps``)."""
    return _JSON_SAFE.fullmatch(text) is not None


def status_changed(old: TaskActionStatus, new: TaskActionStatus, policy: Policy) -> bool:
    """R64 (Go ``taskActionStatusChanged``), or with D11 the whole status except the observability-only stateJson.

    Go skips errorState and history contents (Q13), so an errorState-only change is never persisted.
    """
    if old is new:
        return False
    if _D11 in policy.deviations:  # Policy.fixes, inlined: every status write asks
        return _whole_status_differs(old, new)
    return (
        old.plugin_state_version != new.plugin_state_version
        or old.plugin_phase != new.plugin_phase
        or old.plugin_phase_version != new.plugin_phase_version
        or old.attempts != new.attempts
        or old.system_failures != new.system_failures
        or old.cache_status != new.cache_status
        or old.plugin_state != new.plugin_state
        or len(old.phase_history) != len(new.phase_history)
        or old.conditions != new.conditions
    )


def _whole_status_differs(old: TaskActionStatus, new: TaskActionStatus) -> bool:
    return (
        old.plugin_phase != new.plugin_phase
        or old.plugin_phase_version != new.plugin_phase_version
        or old.attempts != new.attempts
        or old.system_failures != new.system_failures
        or old.cache_status != new.cache_status
        or old.plugin_state_version != new.plugin_state_version
        or old.plugin_state != new.plugin_state
        or old.conditions != new.conditions
        or old.phase_history != new.phase_history
        or old.error_state != new.error_state
        or old.signal_value != new.signal_value
        or old.signalled_by != new.signalled_by
        or old.signalled_at != new.signalled_at
    )


def update_task_action_status(
    original: TaskAction, working: TaskAction, info: PhaseInfo, now: datetime, policy: Policy
) -> tuple[FinalEffect, ...]:
    """R65: when the status changed, record the ActionEvent **before** writing the status it describes.

    A failed event emits ``ActionEventPublishFailed`` and fails the pass without writing status; a failed status
    write fails the pass and the re-sent event is deduplicated by the server (R114). Conflicts are retried (R66).
    Go: ``taskaction_controller.go updateTaskActionStatus``.
    """
    if not status_changed(original.status, working.status, policy):
        return ()
    return (
        record_action_event(working, info, now, policy),
        _persist_status(working.status, _WHOLE, True, original.metadata.resource_version, FAIL_PASS),
    )


def record_action_event(
    working: TaskAction, info: PhaseInfo, now: datetime, policy: Policy, updated_time: datetime | None = None
) -> FinalEffect:
    """R65 step 2 / R122: the event effect, with the publish-failure warning to emit if it cannot be recorded."""
    event = build_action_event(working, info, now, policy.cluster_id, updated_time)
    return _record_action_event(event, FAIL_PASS, _publish_failure_warning(working.spec.action_name))


@lru_cache(maxsize=4096)
def _publish_failure_warning(action_name: str) -> FailureWarning:
    """R122: the Warning for a failed event publish; memoized, as every status write of the action needs it."""
    note = f"Failed to persist action event {go_quote(action_name)}: "
    return FailureWarning("ActionEventPublishFailed", "PublishingActionEvent", note)


def ensure_terminal_labels(task_action: TaskAction, now: datetime) -> PMap[str, str] | None:
    """R67: the labels to merge-patch, or None when both GC labels are already present.

    completed-time is always recomputed from R8 when anything is missing (Q29). Callers check terminality.
    Go: ``taskaction_controller.go ensureTerminalLabels``.
    """
    patch = _labels_patch(task_action.metadata.labels, task_action.status.conditions, now)
    return None if patch is None else patch[0]


def _labels_patch(
    labels: PMap[str, str], conditions: PVector[Condition], now: datetime
) -> tuple[PMap[str, str], tuple[FinalEffect]] | None:
    if labels and labels.get(LABEL_TERMINATION_STATUS) == TERMINATED and labels.get(LABEL_COMPLETED_TIME):
        return None
    return _gc_labels(label_time(terminal_transition_time(conditions, now)))


@lru_cache(maxsize=64)
def _gc_labels(completed: str) -> tuple[PMap[str, str], tuple[FinalEffect]]:
    """The R67 patch for one completed-time, with its effect; memoized, since every action that ends within a minute
    shares them (records are immutable, so one value serves them all)."""
    patch = pmap({LABEL_TERMINATION_STATUS: TERMINATED, LABEL_COMPLETED_TIME: completed})
    return patch, (_patch_labels(patch, FAIL_PASS),)


def with_terminal_labels(task_action: TaskAction, now: datetime) -> tuple[TaskAction, tuple[FinalEffect, ...]]:
    """R67 as an effect: the patched object and the label patch (its failure fails the pass, X10/X21)."""
    metadata, effects = terminal_metadata(task_action.metadata, task_action.status.conditions, now)
    if metadata is task_action.metadata:
        return task_action, effects
    return _task_action(metadata, task_action.spec, task_action.status), effects


def terminal_metadata(
    meta: ObjectMeta, conditions: PVector[Condition], now: datetime
) -> tuple[ObjectMeta, tuple[FinalEffect, ...]]:
    """R67 on the metadata alone: ``meta`` with the GC labels merged and the patch effect, or ``meta`` unchanged."""
    patch = _labels_patch(meta.labels, conditions, now)
    if patch is None:
        return meta, ()
    labels, effects = patch
    metadata = _object_meta(
        meta.name,
        meta.namespace,
        meta.uid,
        merge_labels(meta.labels, labels),
        meta.annotations,
        meta.finalizers,
        meta.deletion_timestamp,
        meta.creation_timestamp,
        meta.resource_version,
        meta.generation,
    )
    return metadata, effects


def merge_labels(labels: PMap[str, str], patch: PMap[str, str]) -> PMap[str, str]:
    """A JSON merge patch of string values: ``patch`` wins. An empty map takes the patch itself (no copy)."""
    if not labels:
        return patch
    merged = labels.evolver()
    for key, value in patch.items():
        merged[key] = value
    return merged.persistent()
