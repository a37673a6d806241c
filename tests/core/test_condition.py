"""Condition (human-in-the-loop) actions (R78–R84, X23, X24, Q21): signal, invalid spec, timeout and pause, the
selective status write and the GC labels."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pyrsistent import pmap
from returns.result import Failure, Success

from taskaction_core.decision import Decision, Done, RequeueAfter
from taskaction_core.effects import FailPass, PatchLabels, PersistStatus, StatusScope
from taskaction_core.idl import decode_condition_spec
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.condition import (
    CODE_INVALID_SPEC,
    CODE_TIMED_OUT,
    MSG_WAITING,
    condition_deadline,
    reconcile_condition,
    timed_out_message,
)
from taskaction_core.records import LABEL_COMPLETED_TIME, LABEL_TERMINATION_STATUS, ErrorState, TaskAction
from taskaction_core.testing.builders import T0, a_condition_action, observations_at
from tests.core.other_helpers import (
    DEFAULT,
    FAILED,
    FALSE,
    GO,
    PROGRESSING,
    SUCCEEDED,
    T1,
    T2,
    TRUE,
    cond,
    conds,
    entry,
    history,
    with_status,
)

HOUR = timedelta(hours=1)


def _labels(at: datetime) -> PatchLabels:
    minute = at.astimezone(UTC).strftime("%Y-%m-%d.%H-%M")
    return PatchLabels(pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: minute}), FailPass())


def _decide(task_action: TaskAction, now: datetime) -> Decision:
    result = reconcile(task_action, observations_at(now, plugin_id=None), DEFAULT)
    assert isinstance(result, Decision)
    return result


def _terminal_decision(task_action: TaskAction, status_fields: dict[str, object], now: datetime) -> Decision:
    """What R84 decides: a selective persist of the new fields, the GC labels, DONE."""
    working = with_status(task_action, **status_fields)
    patch = _labels(now)
    labelled = replace(working, metadata=replace(working.metadata, labels=working.metadata.labels.update(patch.labels)))
    persist = PersistStatus(working.status, StatusScope.CONDITION_FIELDS, True, "1", FailPass())
    return Decision(labelled, (persist, patch), Done())


# --- R82 paused (X24) -----------------------------------------------------------------------------------------------


def test_reconcile_condition_fresh_without_timeout_pauses_and_is_done_R82_X24() -> None:
    ta = a_condition_action()

    decision = _decide(ta, T1)

    working = with_status(
        ta,
        conditions=conds(cond(PROGRESSING, TRUE, "Paused", "waiting for signal", T1)),
        phase_history=history(entry("Paused", T1, "waiting for signal")),
    )
    assert decision == Decision(
        working, (PersistStatus(working.status, StatusScope.CONDITION_FIELDS, True, "1", FailPass()),), Done()
    )
    assert MSG_WAITING == "waiting for signal"


def test_reconcile_condition_paused_with_deadline_requeues_until_deadline_R82_X24() -> None:
    ta = a_condition_action(timeout=HOUR)

    decision = _decide(ta, T0 + timedelta(minutes=10, seconds=0.25))

    assert decision.result == RequeueAfter(timedelta(minutes=49, seconds=59.75))
    assert len(decision.effects) == 1


def test_reconcile_condition_paused_re_reconcile_writes_nothing_R82() -> None:
    ta = a_condition_action(timeout=HOUR)
    first = _decide(ta, T1)

    second = _decide(first.task_action, T2)

    assert second == Decision(first.task_action, (), RequeueAfter(HOUR - (T2 - T0)))


@pytest.mark.parametrize("seconds", [0, -5], ids=["zero", "negative"])
def test_reconcile_condition_non_positive_timeout_means_no_deadline_R80(seconds: int) -> None:
    ta = a_condition_action(timeout=timedelta(seconds=seconds))

    decision = _decide(ta, T0 + timedelta(days=365))

    assert decision.result == Done()
    assert decision.task_action.status.conditions == conds(
        cond(PROGRESSING, TRUE, "Paused", "waiting for signal", T0 + timedelta(days=365))
    )


def test_reconcile_condition_deadline_past_the_calendar_saturates_R80() -> None:
    # ConditionAction.timeout's maximum (10,000 years) overflows Python's datetime from 2026.
    ta = a_condition_action(timeout=timedelta(seconds=315_576_000_000))

    decision = _decide(ta, T1)

    assert decision.result == RequeueAfter(datetime.max.replace(tzinfo=UTC) - T1)


def test_reconcile_condition_paused_keeps_existing_error_state_and_signal_fields_R82_R83() -> None:
    ta = with_status(a_condition_action(), error_state=ErrorState("Old", "USER", "old"), signalled_by="x")

    decision = _decide(ta, T1)

    assert decision.task_action.status.error_state == ErrorState("Old", "USER", "old")
    assert decision.task_action.status.signalled_by == "x"


# --- R79 signal (X23) ---------------------------------------------------------------------------------------------


def test_reconcile_condition_signal_succeeds_with_quoted_principal_R79_R84_X23() -> None:
    ta = a_condition_action(signal_value=b"\x08\x01", signalled_by="alice@example.com", signalled_at=T0)

    decision = _decide(ta, T1)

    msg = 'condition signalled by "alice@example.com"'
    assert decision == _terminal_decision(
        ta,
        {
            "conditions": conds(
                cond(PROGRESSING, FALSE, "Signaled", msg, T1), cond(SUCCEEDED, TRUE, "Signaled", msg, T1)
            ),
            "phase_history": history(entry("Signaled", T1, msg)),
        },
        T1,
    )


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ("", 'condition signalled by ""'),
        ('say "hi"\n', 'condition signalled by "say \\"hi\\"\\n"'),
        ("zoë", 'condition signalled by "zoë"'),
    ],
    ids=["empty", "escapes", "non-ascii"],
)
def test_reconcile_condition_signal_message_go_quotes_principal_R79(principal: str, message: str) -> None:
    ta = a_condition_action(signal_value=b"v", signalled_by=principal)

    decision = _decide(ta, T1)

    assert [c.message for c in decision.task_action.status.conditions] == [message, message]


def test_reconcile_condition_signal_after_pause_flips_progressing_and_appends_history_R79() -> None:
    paused = _decide(a_condition_action(timeout=HOUR), T1).task_action
    signalled = with_status(paused, signal_value=b"v", signalled_by="bob")

    decision = _decide(signalled, T2)

    msg = 'condition signalled by "bob"'
    assert decision.task_action.status.conditions == conds(
        cond(PROGRESSING, FALSE, "Signaled", msg, T2), cond(SUCCEEDED, TRUE, "Signaled", msg, T2)
    )
    assert decision.task_action.status.phase_history == history(
        entry("Paused", T1, "waiting for signal"), entry("Signaled", T2, msg)
    )


def test_reconcile_condition_signal_wins_over_elapsed_deadline_R79_Q21() -> None:
    ta = a_condition_action(timeout=timedelta(seconds=30), signal_value=b"v", signalled_by="late")

    decision = _decide(ta, T0 + HOUR)

    assert [c.reason for c in decision.task_action.status.conditions] == ["Signaled", "Signaled"]
    assert decision.task_action.status.error_state is None


def test_reconcile_condition_signal_with_invalid_spec_still_succeeds_R79() -> None:
    ta = replace(a_condition_action(signal_value=b"v"), spec=replace(a_condition_action().spec, condition_spec=b""))

    decision = _decide(ta, T1)

    assert [c.type for c in decision.task_action.status.conditions] == [PROGRESSING, SUCCEEDED]


# --- R80 invalid spec (X23) -----------------------------------------------------------------------------------------


def _with_spec(data: bytes) -> TaskAction:
    ta = a_condition_action()
    return replace(ta, spec=replace(ta.spec, condition_spec=data))


def test_reconcile_condition_empty_spec_fails_without_history_R80_X23() -> None:
    ta = _with_spec(b"")

    decision = _decide(ta, T1)

    msg = 'condition action "cond" has empty conditionSpec'
    assert decision == _terminal_decision(
        ta,
        {
            "conditions": conds(
                cond(PROGRESSING, FALSE, "InvalidSpec", msg, T1), cond(FAILED, TRUE, "InvalidSpec", msg, T1)
            ),
            "error_state": ErrorState("InvalidSpec", "USER", msg),
        },
        T1,
    )
    assert CODE_INVALID_SPEC == "InvalidSpec"


def test_reconcile_condition_empty_spec_message_go_quotes_the_cr_name_R80() -> None:
    ta = replace(_with_spec(b""), metadata=replace(a_condition_action().metadata, name='we"ird'))

    decision = _decide(ta, T1)

    assert decision.task_action.status.conditions[0].message == 'condition action "we\\"ird" has empty conditionSpec'


def test_reconcile_condition_unparsable_spec_fails_with_unmarshal_message_R80_X23() -> None:
    data = b"\xff\xff\xff"
    ta = _with_spec(data)
    parse_error = decode_condition_spec(data)
    assert isinstance(parse_error, Failure)

    decision = _decide(ta, T1)

    msg = f"failed to unmarshal conditionSpec: {parse_error.failure().message}"
    assert msg.startswith("failed to unmarshal conditionSpec: Error parsing message")
    assert decision == _terminal_decision(
        ta,
        {
            "conditions": conds(
                cond(PROGRESSING, FALSE, "InvalidSpec", msg, T1), cond(FAILED, TRUE, "InvalidSpec", msg, T1)
            ),
            "error_state": ErrorState("InvalidSpec", "USER", msg),
        },
        T1,
    )


def test_reconcile_condition_missing_creation_timestamp_with_timeout_is_invalid_spec_R80() -> None:
    ta = a_condition_action(timeout=HOUR)
    ta = replace(ta, metadata=replace(ta.metadata, creation_timestamp=None))

    decision = _decide(ta, T1)

    assert decision.task_action.status.error_state == ErrorState(
        "InvalidSpec", "USER", 'condition action "cond" has no creationTimestamp'
    )


def test_reconcile_condition_invalid_spec_after_pause_keeps_history_R80_Q18() -> None:
    paused = _decide(a_condition_action(), T1).task_action
    broken = replace(paused, spec=replace(paused.spec, condition_spec=b""))

    decision = _decide(broken, T2)

    assert decision.task_action.status.phase_history == history(entry("Paused", T1, "waiting for signal"))
    assert [c.reason for c in decision.task_action.status.conditions] == ["InvalidSpec", "InvalidSpec"]


# --- R81 timeout (X23) ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "elapsed", "shown"),
    [
        (timedelta(seconds=1), timedelta(seconds=1.5), "2s"),
        (timedelta(seconds=1), timedelta(seconds=1.499999), "1s"),
        (timedelta(seconds=65), timedelta(seconds=65), "1m5s"),
        (HOUR, HOUR, "1h0m0s"),
        (HOUR, HOUR + timedelta(seconds=0.5), "1h0m1s"),
        (timedelta(seconds=0.25), timedelta(seconds=0.4), "0s"),
    ],
    ids=["1.5s-rounds-up", "just-under-half", "65s", "one-hour-exactly-at-deadline", "half-away-from-zero", "0s"],
)
def test_reconcile_condition_timed_out_message_go_duration_R81(
    timeout: timedelta, elapsed: timedelta, shown: str
) -> None:
    ta = a_condition_action(timeout=timeout)
    now = T0 + elapsed

    decision = _decide(ta, now)

    msg = f"condition timed out after {shown} without a signal"
    assert decision == _terminal_decision(
        ta,
        {
            "conditions": conds(
                cond(PROGRESSING, FALSE, "TimedOut", msg, now), cond(FAILED, TRUE, "TimedOut", msg, now)
            ),
            "phase_history": history(entry("TimedOut", now, msg)),
            "error_state": ErrorState("ConditionTimedOut", "USER", msg),
        },
        now,
    )
    assert CODE_TIMED_OUT == "ConditionTimedOut"


def test_reconcile_condition_just_before_deadline_pauses_R81_R82() -> None:
    ta = a_condition_action(timeout=HOUR)

    decision = _decide(ta, T0 + HOUR - timedelta(microseconds=1))

    assert decision.result == RequeueAfter(timedelta(microseconds=1))
    assert decision.task_action.status.conditions[0].reason == "Paused"


def test_reconcile_condition_timeout_after_pause_keeps_paused_history_R81() -> None:
    paused = _decide(a_condition_action(timeout=timedelta(minutes=5)), T1).task_action

    decision = _decide(paused, T0 + timedelta(minutes=5))

    msg = "condition timed out after 5m0s without a signal"
    assert decision.task_action.status.phase_history == history(
        entry("Paused", T1, "waiting for signal"), entry("TimedOut", T0 + timedelta(minutes=5), msg)
    )


def test_timed_out_message_without_creation_time_reads_zero_R81() -> None:
    ta = replace(a_condition_action(), metadata=replace(a_condition_action().metadata, creation_timestamp=None))

    assert timed_out_message(ta, T2) == "condition timed out after 0s without a signal"


def test_condition_deadline_is_creation_plus_timeout_R80() -> None:
    assert condition_deadline(a_condition_action(timeout=HOUR)) == Success(T0 + HOUR)
    assert condition_deadline(a_condition_action()) == Success(None)


# --- R83 selective write, R84 labels, terminal afterwards ------------------------------------------------------------


def test_reconcile_condition_persist_failure_means_fail_pass_with_retry_R83_R66() -> None:
    decision = _decide(a_condition_action(signal_value=b"v"), T1)

    persist = decision.effects[0]
    assert isinstance(persist, PersistStatus)
    assert (persist.scope, persist.retry_conflicts, persist.on_failure) == (
        StatusScope.CONDITION_FIELDS,
        True,
        FailPass(),
    )


def test_reconcile_condition_existing_labels_kept_and_not_repatched_R84_R67() -> None:
    labels = pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2020-01-01.00-00", "x": "y"})
    ta = a_condition_action(signal_value=b"v")
    ta = replace(ta, metadata=replace(ta.metadata, labels=labels))

    decision = _decide(ta, T1)

    assert [type(e) for e in decision.effects] == [PersistStatus]
    assert decision.task_action.metadata.labels == labels


def test_reconcile_condition_after_terminal_later_signal_is_ignored_R27_X10() -> None:
    timed_out = _decide(a_condition_action(timeout=timedelta(seconds=1)), T1).task_action
    signalled = with_status(timed_out, signal_value=b"v", signalled_by="too late")

    decision = _decide(signalled, T2)

    assert decision == Decision(signalled, (), Done())


def test_reconcile_condition_go_mode_same_decisions_R78() -> None:
    for ta, now in ((a_condition_action(), T1), (a_condition_action(signal_value=b"v"), T1), (_with_spec(b""), T1)):
        observations = observations_at(now, plugin_id=None)
        assert reconcile_condition(ta, observations, GO) == reconcile_condition(ta, observations, DEFAULT)


def test_reconcile_condition_long_principal_is_truncated_in_conditions_D10() -> None:
    ta = a_condition_action(signal_value=b"v", signalled_by="p" * 40_000)

    go = reconcile_condition(ta, observations_at(T1), GO)
    fixed = reconcile_condition(ta, observations_at(T1), DEFAULT)

    assert [len(c.message) for c in fixed.task_action.status.conditions] == [32768, 32768]
    assert [len(c.message) for c in go.task_action.status.conditions] == [40_025, 40_025]
    assert len(fixed.task_action.status.phase_history[0].message) == 40_025
