"""Status decisions: the phase → conditions/history/ErrorState table (R41), StateJSON (R42), the change predicate
(R64, Q13, D11), condition-message truncation (D10, Q12), event-then-status (R65) and the GC labels (R11, R67, Q29)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pyrsistent import pmap, pvector

from taskaction_core.action_event import ActionEvent, ActionId, OutputReferences
from taskaction_core.effects import FailPass, FailureWarning, PatchLabels, PersistStatus, RecordActionEvent, StatusScope
from taskaction_core.phase_info import ExecutionError, PhaseInfo, TaskInfo
from taskaction_core.phases import ActionPhase, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.status import (
    MSG_ABORTED,
    MSG_COMPLETED,
    MSG_COMPLETED_PROGRESSING,
    TRUNCATION_MARKER,
    StatusView,
    condition_message,
    ensure_terminal_labels,
    map_phase_to_conditions,
    record_action_event,
    set_conditions,
    state_json,
    status_changed,
    update_task_action_status,
    with_terminal_labels,
)
from taskaction_core.records import (
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    MAX_CONDITION_MESSAGE,
    ErrorState,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.testing.builders import T0, a_task_action
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
    succeeded_conditions,
    with_status,
)

PRIOR_ERROR = ErrorState("Earlier", "SYSTEM", "an earlier error")
EMPTY_VIEW = StatusView(pvector(), pvector(), None)
RUNNING_VIEW = StatusView(
    conds(cond(PROGRESSING, TRUE, "Executing", "", T0)), history(entry("Executing", T0)), PRIOR_ERROR
)


def info(phase: PluginPhase, reason: str = "", err: ExecutionError | None = None) -> PhaseInfo:
    return PhaseInfo(phase, 0, TaskInfo(occurred_at=T0), err, reason)


# --- R41 mapping table, row by row ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phase",
    [PluginPhase.NOT_READY, PluginPhase.QUEUED, PluginPhase.WAITING_FOR_RESOURCES, PluginPhase.WAITING_FOR_CACHE],
    ids=lambda p: p.wire_name,
)
def test_map_phase_to_conditions_queued_rows_progressing_true_queued_with_reason_R41(phase: PluginPhase) -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(phase, "waiting on quota"), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "Queued", "waiting on quota", T0)),
        history(entry("Executing", T0), entry("Queued", T1, "waiting on quota")),
        PRIOR_ERROR,
    )


def test_map_phase_to_conditions_initializing_row_R41() -> None:
    result = map_phase_to_conditions(EMPTY_VIEW, info(PluginPhase.INITIALIZING, "pulling image"), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "Initializing", "pulling image", T1)),
        history(entry("Initializing", T1, "pulling image")),
        None,
    )


def test_map_phase_to_conditions_running_row_R41() -> None:
    view = StatusView(conds(cond(PROGRESSING, TRUE, "Queued", "q", T0)), history(entry("Queued", T0, "q")), None)

    result = map_phase_to_conditions(view, info(PluginPhase.RUNNING), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "Executing", "", T0)),
        history(entry("Queued", T0, "q"), entry("Executing", T1, "")),
        None,
    )


def test_map_phase_to_conditions_success_row_R41() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.SUCCESS, "ignored reason"), T1, DEFAULT)

    assert result == StatusView(
        conds(
            cond(PROGRESSING, FALSE, "Completed", "TaskAction has completed", T1),
            cond(SUCCEEDED, TRUE, "Completed", "TaskAction completed successfully", T1),
        ),
        history(entry("Executing", T0), entry("Completed", T1, "TaskAction completed successfully")),
        PRIOR_ERROR,
    )
    assert (MSG_COMPLETED_PROGRESSING, MSG_COMPLETED) == (
        "TaskAction has completed",
        "TaskAction completed successfully",
    )


def test_map_phase_to_conditions_permanent_failure_with_error_uses_error_message_R41_R10() -> None:
    err = ExecutionError("OOMKilled", "out of memory", ErrorKind.USER)

    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.PERMANENT_FAILURE, "reason", err), T1, DEFAULT)

    assert result == StatusView(
        conds(
            cond(PROGRESSING, FALSE, "PermanentFailure", "out of memory", T1),
            cond(FAILED, TRUE, "PermanentFailure", "out of memory", T1),
        ),
        history(entry("Executing", T0), entry("PermanentFailure", T1, "out of memory")),
        ErrorState("OOMKilled", "USER", "out of memory"),
    )


def test_map_phase_to_conditions_permanent_failure_without_error_uses_reason_and_keeps_error_state_R41() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.PERMANENT_FAILURE, "gone"), T1, DEFAULT)

    assert result == StatusView(
        conds(
            cond(PROGRESSING, FALSE, "PermanentFailure", "gone", T1), cond(FAILED, TRUE, "PermanentFailure", "gone", T1)
        ),
        history(entry("Executing", T0), entry("PermanentFailure", T1, "gone")),
        PRIOR_ERROR,
    )


def test_map_phase_to_conditions_retryable_failure_row_reachable_directly_R41() -> None:
    err = ExecutionError("Flaky", "try again", ErrorKind.SYSTEM)

    result = map_phase_to_conditions(EMPTY_VIEW, info(PluginPhase.RETRYABLE_FAILURE, "r", err), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "RetryableFailure", "try again", T1)),
        history(entry("RetryableFailure", T1, "try again")),
        ErrorState("Flaky", "SYSTEM", "try again"),
    )


def test_map_phase_to_conditions_retryable_failure_without_error_uses_reason_R41() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.RETRYABLE_FAILURE, "r"), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "RetryableFailure", "r", T0)),
        history(entry("Executing", T0), entry("RetryableFailure", T1, "r")),
        PRIOR_ERROR,
    )


def test_map_phase_to_conditions_unknown_error_kind_gives_empty_kind_R41_R10() -> None:
    err = ExecutionError("X", "m", ErrorKind.UNKNOWN)

    result = map_phase_to_conditions(EMPTY_VIEW, info(PluginPhase.PERMANENT_FAILURE, "", err), T1, DEFAULT)

    assert result.error_state == ErrorState("X", "", "m")


def test_map_phase_to_conditions_aborted_row_R41() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.ABORTED, "ignored"), T1, DEFAULT)

    assert result == StatusView(
        conds(
            cond(PROGRESSING, FALSE, "Aborted", "TaskAction was aborted", T1),
            cond(FAILED, TRUE, "Aborted", "TaskAction was aborted", T1),
        ),
        history(entry("Executing", T0), entry("Aborted", T1, "TaskAction was aborted")),
        PRIOR_ERROR,
    )
    assert MSG_ABORTED == "TaskAction was aborted"


def test_map_phase_to_conditions_undefined_row_changes_nothing_R41_Q23() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.UNDEFINED, "r"), T1, DEFAULT)

    assert result is RUNNING_VIEW


def test_map_phase_to_conditions_repeated_phase_returns_the_same_view_R41_R9() -> None:
    result = map_phase_to_conditions(RUNNING_VIEW, info(PluginPhase.RUNNING), T1, DEFAULT)

    assert result is RUNNING_VIEW


@pytest.mark.parametrize(
    "phase",
    [
        PluginPhase.QUEUED,
        PluginPhase.RUNNING,
        PluginPhase.SUCCESS,
        PluginPhase.PERMANENT_FAILURE,
        PluginPhase.RETRYABLE_FAILURE,
        PluginPhase.ABORTED,
    ],
    ids=lambda p: p.wire_name,
)
def test_map_phase_to_conditions_phase_applied_again_with_an_error_state_returns_the_same_view_R41_R9(
    phase: PluginPhase,
) -> None:
    # Every row compares the error state it keeps with the one it was given: a kept ErrorState is no change.
    mapped = map_phase_to_conditions(RUNNING_VIEW, info(phase, "r"), T1, DEFAULT)
    assert mapped.error_state is PRIOR_ERROR

    assert map_phase_to_conditions(mapped, info(phase, "r"), T2, DEFAULT) is mapped


def test_map_phase_to_conditions_same_history_phase_new_reason_updates_condition_only_R41_R9() -> None:
    view = StatusView(conds(cond(PROGRESSING, TRUE, "Queued", "a", T0)), history(entry("Queued", T0, "a")), None)

    result = map_phase_to_conditions(view, info(PluginPhase.WAITING_FOR_CACHE, "b"), T1, DEFAULT)

    assert result == StatusView(
        conds(cond(PROGRESSING, TRUE, "Queued", "b", T0)), history(entry("Queued", T0, "a")), None
    )


def test_map_phase_to_conditions_error_state_never_cleared_by_success_R41() -> None:
    failed = map_phase_to_conditions(
        EMPTY_VIEW, info(PluginPhase.RETRYABLE_FAILURE, "", ExecutionError("C", "m", ErrorKind.USER)), T0, DEFAULT
    )

    result = map_phase_to_conditions(failed, info(PluginPhase.SUCCESS), T1, DEFAULT)

    assert result.error_state == ErrorState("C", "USER", "m")


# --- D10 condition message truncation -----------------------------------------------------------------------------


def test_condition_message_longer_than_limit_truncated_to_exactly_limit_with_marker_D10() -> None:
    message = "x" * (MAX_CONDITION_MESSAGE + 1)

    result = condition_message(message, DEFAULT)

    assert len(result) == MAX_CONDITION_MESSAGE == 32768
    assert result == "x" * (32768 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER
    assert TRUNCATION_MARKER == (
        "... [truncated by taskaction_core: condition messages are limited to 32768 characters]"
    )


def test_condition_message_at_limit_untouched_D10() -> None:
    message = "y" * MAX_CONDITION_MESSAGE

    assert condition_message(message, DEFAULT) is message


def test_condition_message_go_mode_sends_it_whole_Q12() -> None:
    message = "z" * 100_000

    assert condition_message(message, GO) is message


def test_map_phase_to_conditions_long_error_truncates_conditions_not_error_state_or_history_D10() -> None:
    long = "e" * 40_000
    err = ExecutionError("Big", long, ErrorKind.USER)

    result = map_phase_to_conditions(EMPTY_VIEW, info(PluginPhase.PERMANENT_FAILURE, "", err), T1, DEFAULT)

    cut = "e" * (32768 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER
    assert [c.message for c in result.conditions] == [cut, cut]
    assert result.error_state == ErrorState("Big", "USER", long)
    assert result.history == history(entry("PermanentFailure", T1, long))


def test_map_phase_to_conditions_long_error_go_mode_untruncated_Q12() -> None:
    long = "e" * 40_000
    err = ExecutionError("Big", long, ErrorKind.USER)

    result = map_phase_to_conditions(EMPTY_VIEW, info(PluginPhase.PERMANENT_FAILURE, "", err), T1, GO)

    assert [c.message for c in result.conditions] == [long, long]


def test_set_conditions_applies_upserts_in_order_R6() -> None:
    updates = ((FAILED, TRUE, "InvalidSpec", "m"), (PROGRESSING, FALSE, "InvalidSpec", "m"))

    result = set_conditions(pvector(), updates, T1, DEFAULT)

    assert result == conds(cond(FAILED, TRUE, "InvalidSpec", "m", T1), cond(PROGRESSING, FALSE, "InvalidSpec", "m", T1))


# --- R42 StateJSON ------------------------------------------------------------------------------------------------


def test_state_json_utc_example_R42() -> None:
    text = state_json(a_task_action(), "PhaseRunning", T0)

    assert text == '{"actionId":"run1/a0","phase":"PhaseRunning","timestamp":"2026-08-08T12:00:00Z"}'


@pytest.mark.parametrize(
    ("now", "stamp"),
    [
        (
            datetime(2026, 8, 8, 17, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2026-08-08T17:30:00+05:30",
        ),
        (datetime(2026, 8, 8, 7, 0, 0, tzinfo=timezone(-timedelta(hours=5))), "2026-08-08T07:00:00-05:00"),
        (datetime(2026, 8, 8, 12, 0, 59, 500_000, tzinfo=UTC), "2026-08-08T12:00:59Z"),
    ],
    ids=["plus-0530-fraction-truncated", "minus-0500", "utc-fraction-truncated"],
)
def test_state_json_timestamp_in_now_zone_seconds_R42_Q33(now: datetime, stamp: str) -> None:
    text = state_json(a_task_action(), "PhaseQueued", now)

    assert text == '{"actionId":"run1/a0","phase":"PhaseQueued","timestamp":"' + stamp + '"}'


def test_state_json_escapes_html_quotes_and_line_separators_like_go_R42() -> None:
    ta = a_task_action()
    ta = replace(ta, spec=replace(ta.spec, run_name='r<1>&"\\', action_name="é\u2028\u2029\n"))

    text = state_json(ta, "Phase(11)", T0)

    assert text == (
        '{"actionId":"r\\u003c1\\u003e\\u0026\\"\\\\/é\\u2028\\u2029\\n",'
        '"phase":"Phase(11)","timestamp":"2026-08-08T12:00:00Z"}'
    )


# --- R64 change predicate (D11 off) and D11 ---------------------------------------------------------------------

BASE_STATUS = TaskActionStatus(
    state_json='{"a":1}',
    plugin_state=b"state",
    plugin_state_version=1,
    plugin_phase="PhaseRunning",
    plugin_phase_version=2,
    attempts=1,
    system_failures=1,
    cache_status=1,
    conditions=conds(cond(PROGRESSING, TRUE, "Executing", "r", T0)),
    phase_history=history(entry("Queued", T0), entry("Executing", T0)),
    error_state=ErrorState("C", "USER", "m"),
    signal_value=b"sig",
    signalled_by="alice",
    signalled_at=T0,
)

# (label, changed field values, Go R64 result, D11 result)
R64_TABLE: list[tuple[str, dict[str, object], bool, bool]] = [
    ("identical-copy", {}, False, False),
    ("plugin_state_version", {"plugin_state_version": 2}, True, True),
    ("plugin_phase", {"plugin_phase": "PhaseSuccess"}, True, True),
    ("plugin_phase_version", {"plugin_phase_version": 3}, True, True),
    ("attempts", {"attempts": 2}, True, True),
    ("system_failures", {"system_failures": 0}, True, True),
    ("cache_status", {"cache_status": 3}, True, True),
    ("plugin_state", {"plugin_state": b"other"}, True, True),
    ("plugin_state-emptied", {"plugin_state": b""}, True, True),
    ("history-length", {"phase_history": history(entry("Queued", T0))}, True, True),
    ("conditions-time-only", {"conditions": conds(cond(PROGRESSING, TRUE, "Executing", "r", T1))}, True, True),
    ("conditions-message", {"conditions": conds(cond(PROGRESSING, TRUE, "Executing", "s", T0))}, True, True),
    ("conditions-emptied", {"conditions": conds()}, True, True),
    ("state_json", {"state_json": '{"a":2}'}, False, False),
    ("history-contents", {"phase_history": history(entry("Queued", T0), entry("Executing", T1, "x"))}, False, True),
    ("error_state-code", {"error_state": ErrorState("D", "USER", "m")}, False, True),
    ("error_state-cleared", {"error_state": None}, False, True),
    ("signal_value", {"signal_value": b""}, False, True),
    ("signalled_by", {"signalled_by": "bob"}, False, True),
    ("signalled_at", {"signalled_at": T1}, False, True),
]


@pytest.mark.parametrize(("label", "changes", "go", "d11"), R64_TABLE, ids=[row[0] for row in R64_TABLE])
def test_status_changed_go_predicate_each_field_R64_Q13(
    label: str, changes: dict[str, object], go: bool, d11: bool
) -> None:
    new = replace(BASE_STATUS, **changes)  # type: ignore[arg-type]

    assert status_changed(BASE_STATUS, new, GO) is go
    assert status_changed(new, BASE_STATUS, GO) is go


@pytest.mark.parametrize(("label", "changes", "go", "d11"), R64_TABLE, ids=[row[0] for row in R64_TABLE])
def test_status_changed_whole_status_but_state_json_D11(
    label: str, changes: dict[str, object], go: bool, d11: bool
) -> None:
    new = replace(BASE_STATUS, **changes)  # type: ignore[arg-type]

    assert status_changed(BASE_STATUS, new, DEFAULT) is d11
    assert status_changed(new, BASE_STATUS, DEFAULT) is d11


def test_status_changed_same_object_is_unchanged_R64() -> None:
    assert status_changed(BASE_STATUS, BASE_STATUS, DEFAULT) is False
    assert status_changed(BASE_STATUS, BASE_STATUS, GO) is False


def test_status_changed_only_d11_switch_matters_D11() -> None:
    only_d11 = Policy(deviations=frozenset({Deviation.D11_COMPARE_WHOLE_STATUS}))
    all_but_d11 = Policy(deviations=frozenset(Deviation) - {Deviation.D11_COMPARE_WHOLE_STATUS})
    new = replace(BASE_STATUS, error_state=None)

    assert (status_changed(BASE_STATUS, new, only_d11), status_changed(BASE_STATUS, new, all_but_d11)) == (True, False)


# --- R65 event then status ------------------------------------------------------------------------------------------


def _working_running(original: TaskAction) -> TaskAction:
    return with_status(
        original,
        plugin_phase="PhaseRunning",
        attempts=1,
        conditions=conds(cond(PROGRESSING, TRUE, "Executing", "", T1)),
        phase_history=history(entry("Executing", T1)),
    )


def _expected_event(phase: ActionPhase, updated: datetime, reported: datetime) -> ActionEvent:
    return ActionEvent(
        id=ActionId("p", "d", "run1", "a0"),
        attempt=1,
        phase=phase,
        version=0,
        updated_time=updated,
        reported_time=reported,
        outputs=OutputReferences("s3://bucket/jy/run/a0/1/outputs.pb", "s3://bucket/jy/run/a0/1/report.html"),
    )


def test_update_task_action_status_changed_records_event_then_persists_whole_status_R65_R66() -> None:
    original = a_task_action(resource_version="41")
    working = _working_running(original)

    effects = update_task_action_status(original, working, info(PluginPhase.RUNNING), T2, DEFAULT)

    warning = FailureWarning(
        "ActionEventPublishFailed", "PublishingActionEvent", 'Failed to persist action event "a0": '
    )
    assert effects == (
        RecordActionEvent(_expected_event(ActionPhase.RUNNING, T1, T2), FailPass(), warning),
        PersistStatus(working.status, StatusScope.WHOLE, True, "41", FailPass()),
    )


def test_update_task_action_status_unchanged_does_nothing_R65() -> None:
    original = _working_running(a_task_action())
    working = with_status(original, state_json="fresh timestamp only")

    assert update_task_action_status(original, working, info(PluginPhase.RUNNING), T2, DEFAULT) == ()


def test_update_task_action_status_error_state_only_change_is_persisted_D11() -> None:
    # Fails under Go behaviour (Q13): Go never persists an errorState-only change.
    original = _working_running(a_task_action(resource_version="7"))
    working = with_status(original, error_state=ErrorState("New", "USER", "same message"))

    effects = update_task_action_status(original, working, info(PluginPhase.RUNNING), T2, DEFAULT)

    assert [type(e) for e in effects] == [RecordActionEvent, PersistStatus]
    assert effects[1] == PersistStatus(working.status, StatusScope.WHOLE, True, "7", FailPass())


def test_update_task_action_status_error_state_only_change_dropped_in_go_mode_Q13() -> None:
    original = _working_running(a_task_action())
    working = with_status(original, error_state=ErrorState("New", "USER", "same message"))

    assert update_task_action_status(original, working, info(PluginPhase.RUNNING), T2, GO) == ()


def test_record_action_event_note_go_quotes_the_action_name_R122() -> None:
    ta = a_task_action()
    ta = replace(ta, spec=replace(ta.spec, action_name='a"\n'))

    effect = record_action_event(ta, info(PluginPhase.QUEUED), T1, DEFAULT)

    assert isinstance(effect, RecordActionEvent)
    assert effect.warning == FailureWarning(
        "ActionEventPublishFailed", "PublishingActionEvent", 'Failed to persist action event "a\\"\\n": '
    )
    assert effect.on_failure == FailPass()


def test_record_action_event_updated_time_override_and_cluster_id_R90_R68() -> None:
    ta = _working_running(a_task_action())

    effect = record_action_event(ta, info(PluginPhase.RUNNING), T2, Policy(cluster_id="c-1"), updated_time=T0)

    assert isinstance(effect, RecordActionEvent)
    assert (effect.event.updated_time, effect.event.cluster) == (T0, "c-1")


# --- R11 / R67 GC labels ------------------------------------------------------------------------------------------

TERMINAL_AT_T1 = with_status(a_task_action(), conditions=succeeded_conditions(T1 + timedelta(seconds=42)))


@pytest.mark.parametrize(
    "labels",
    [
        {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2020-01-01.00-00"},
        {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "not-a-time"},
    ],
    ids=["well-formed", "malformed-but-non-empty"],
)
def test_ensure_terminal_labels_both_present_is_noop_R67(labels: dict[str, str]) -> None:
    ta = replace(TERMINAL_AT_T1, metadata=replace(TERMINAL_AT_T1.metadata, labels=pmap(labels)))

    assert ensure_terminal_labels(ta, T2) is None
    assert with_terminal_labels(ta, T2) == (ta, ())


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {LABEL_TERMINATION_STATUS: "terminated"},
        {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: ""},
        {LABEL_COMPLETED_TIME: "2020-01-01.00-00"},
        {LABEL_TERMINATION_STATUS: "running", LABEL_COMPLETED_TIME: "2020-01-01.00-00"},
    ],
    ids=["none", "time-missing", "time-empty", "status-missing-Q29", "status-other-Q29"],
)
def test_ensure_terminal_labels_missing_part_recomputes_both_R67_Q29(labels: dict[str, str]) -> None:
    ta = replace(TERMINAL_AT_T1, metadata=replace(TERMINAL_AT_T1.metadata, labels=pmap(labels)))

    assert ensure_terminal_labels(ta, T2) == pmap(
        {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-01"}
    )


def test_ensure_terminal_labels_without_terminal_time_falls_back_to_now_Q29() -> None:
    ta = a_task_action()

    assert ensure_terminal_labels(ta, datetime(2027, 1, 2, 3, 4, 59, tzinfo=UTC)) == pmap(
        {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2027-01-02.03-04"}
    )


def test_ensure_terminal_labels_format_is_utc_minutes_R11() -> None:
    plus_two = timezone(timedelta(hours=2))
    at = datetime(2026, 1, 1, 1, 30, 59, 999_999, tzinfo=plus_two)
    ta = with_status(a_task_action(), conditions=conds(cond(FAILED, TRUE, "PermanentFailure", "m", at)))

    patch = ensure_terminal_labels(ta, T2)

    assert patch is not None
    assert patch[LABEL_COMPLETED_TIME] == "2025-12-31.23-30"


def test_with_terminal_labels_merges_into_existing_labels_and_patches_R67() -> None:
    ta = replace(TERMINAL_AT_T1, metadata=replace(TERMINAL_AT_T1.metadata, labels=pmap({"keep": "me"})))

    working, effects = with_terminal_labels(ta, T2)

    patch = pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-01"})
    assert effects == (PatchLabels(patch, FailPass()),)
    assert working.metadata.labels == pmap({"keep": "me"}).update(patch)
    assert working.status is ta.status
