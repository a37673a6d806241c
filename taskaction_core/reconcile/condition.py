"""Condition (human-in-the-loop) actions (R78–R84).

A condition runs no plugin and gets no finalizer, ActionEvent, StateJSON, pluginPhase or attempts: it is a small
state machine (created) → Paused → Signaled | TimedOut | InvalidSpec. The Signal RPC only writes the signal fields;
the reconciler is the only writer of conditions, history and errorState, and it writes only those (R83), so a
concurrent signal is never lost.

Go: ``executor/pkg/controller/taskaction_condition.go``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.decision import Decision, Done, RequeueAfter
from taskaction_core.effects import FailPass, FinalEffect, PersistStatus, StatusScope
from taskaction_core.gofmt import go_duration, go_quote, round_half_away_seconds
from taskaction_core.idl import decode_condition_spec
from taskaction_core.observations import Observations
from taskaction_core.phases import ConditionStatus, ConditionType, Reason
from taskaction_core.policy import Policy
from taskaction_core.reconcile.status import set_conditions, status_changed, with_terminal_labels
from taskaction_core.records import ErrorState, TaskAction, append_phase_history

MSG_WAITING: Final = "waiting for signal"
CODE_INVALID_SPEC: Final = "InvalidSpec"
CODE_TIMED_OUT: Final = "ConditionTimedOut"
_TRUE, _FALSE = ConditionStatus.TRUE.value, ConditionStatus.FALSE.value
_PROGRESSING = ConditionType.PROGRESSING.value


def reconcile_condition(task_action: TaskAction, observations: Observations, policy: Policy) -> Decision:
    """R78: signal first (R79), then an invalid spec (R80), the timeout (R81), else paused (R82).

    Go: ``reconcileCondition``.
    """
    now = observations.now
    status = task_action.status
    if status.signal_value:
        message = f"condition signalled by {go_quote(status.signalled_by)}"
        return _conclude(task_action, Reason.SIGNALED, ConditionType.SUCCEEDED, message, None, True, now, policy)
    deadline = condition_deadline(task_action)
    if isinstance(deadline, Failure):
        error = ErrorState(CODE_INVALID_SPEC, "USER", deadline.failure())
        reason = Reason.INVALID_SPEC
        return _conclude(task_action, reason, ConditionType.FAILED, deadline.failure(), error, False, now, policy)
    due = deadline.unwrap()
    if due is not None and now >= due:
        message = timed_out_message(task_action, now)
        error = ErrorState(CODE_TIMED_OUT, "USER", message)
        return _conclude(task_action, Reason.TIMED_OUT, ConditionType.FAILED, message, error, True, now, policy)
    return _pause(task_action, due, now, policy)


def condition_deadline(task_action: TaskAction) -> Result[datetime | None, str]:
    """R80: creationTimestamp + the spec's timeout; None when there is no positive timeout.

    A missing creationTimestamp (only possible for objects that bypass the API server) is reported as an invalid
    spec rather than guessed. Go: ``conditionDeadline``.
    """
    spec = task_action.spec
    if not spec.condition_spec:
        return Failure(f"condition action {go_quote(task_action.metadata.name)} has empty conditionSpec")
    decoded = decode_condition_spec(spec.condition_spec)
    if isinstance(decoded, Failure):
        return Failure(f"failed to unmarshal conditionSpec: {decoded.failure().message}")
    timeout = decoded.unwrap().timeout
    if timeout is None or timeout <= timedelta(0):
        return Success(None)
    created = task_action.metadata.creation_timestamp
    if created is None:
        return Failure(f"condition action {go_quote(task_action.metadata.name)} has no creationTimestamp")
    return Success(_add_clamped(created, timeout))


def _add_clamped(created: datetime, timeout: timedelta) -> datetime:
    """creation + timeout, saturating at the largest representable time instead of overflowing."""
    try:
        return created + timeout
    except OverflowError:
        return datetime.max.replace(tzinfo=created.tzinfo)


def timed_out_message(task_action: TaskAction, now: datetime) -> str:
    """R81: elapsed time since creation, rounded to whole seconds (halves away from zero), as a Go duration."""
    created = task_action.metadata.creation_timestamp
    elapsed = now - created if created is not None else timedelta(0)
    return f"condition timed out after {go_duration(round_half_away_seconds(elapsed))} without a signal"


def _conclude(
    task_action: TaskAction,
    reason: Reason,
    terminal_type: ConditionType,
    message: str,
    error: ErrorState | None,
    with_history: bool,
    now: datetime,
    policy: Policy,
) -> Decision:
    """R79–R81 then R84: Progressing=False then the terminal condition, optional history/ErrorState, selective
    persist, GC labels, DONE."""
    status = task_action.status
    updates = ((_PROGRESSING, _FALSE, reason.value, message), (terminal_type.value, _TRUE, reason.value, message))
    conditions = set_conditions(status.conditions, updates, now, policy)
    history = (
        append_phase_history(status.phase_history, reason.value, message, now) if with_history else status.phase_history
    )
    error_state = error if error is not None else status.error_state
    working = replace(
        task_action, status=replace(status, conditions=conditions, phase_history=history, error_state=error_state)
    )
    effects = _persist(task_action, working, policy)
    # R84 checks isTerminal before labelling; every caller has just set Succeeded or Failed to True, so it holds.
    working, labels = with_terminal_labels(working, now)
    return Decision(working, (*effects, *labels), Done())


def _pause(task_action: TaskAction, deadline: datetime | None, now: datetime, policy: Policy) -> Decision:
    """R82: Progressing=True/Paused and a Paused history entry; requeue at the deadline if there is one."""
    status = task_action.status
    updates = ((_PROGRESSING, _TRUE, Reason.PAUSED.value, MSG_WAITING),)
    conditions = set_conditions(status.conditions, updates, now, policy)
    history = append_phase_history(status.phase_history, Reason.PAUSED.value, MSG_WAITING, now)
    working = replace(task_action, status=replace(status, conditions=conditions, phase_history=history))
    result = RequeueAfter(deadline - now) if deadline is not None else Done()
    return Decision(working, _persist(task_action, working, policy), result)


def _persist(original: TaskAction, working: TaskAction, policy: Policy) -> tuple[FinalEffect, ...]:
    """R83: only conditions, phaseHistory and errorState, with conflict retry, and only when changed."""
    if not status_changed(original.status, working.status, policy):
        return ()
    rv = original.metadata.resource_version
    return (PersistStatus(working.status, StatusScope.CONDITION_FIELDS, True, rv, FailPass()),)
