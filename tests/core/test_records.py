"""Record-level laws: condition upsert (R6), terminal predicate (R7), terminal transition time (R8), phase-history
dedup (R9), ErrorState kinds (R10), constants (R11, R13, R14) and the wire names of spec and status (R3, R5)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from pyrsistent import pvector
from pyrsistent.typing import PVector

from taskaction_core.phases import ErrorKind
from taskaction_core.records import (
    ACTION_TYPE_CONDITION,
    ACTION_TYPE_TASK,
    FINALIZER,
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    MAX_CONDITION_MESSAGE,
    SPEC_WIRE_NAMES,
    STATUS_WIRE_NAMES,
    TERMINATED,
    Condition,
    TaskActionSpec,
    TaskActionStatus,
    append_phase_history,
    error_kind_name,
    is_terminal,
    set_condition,
    terminal_transition_time,
)
from taskaction_core.testing.builders import T0
from tests.core.other_helpers import (
    FAILED,
    FALSE,
    PROGRESSING,
    SUCCEEDED,
    T1,
    T2,
    TRUE,
    cond,
    conds,
    entry,
    history,
)

# --- R6 set_condition -------------------------------------------------------------------------------------------


def test_set_condition_new_type_on_empty_list_appends_with_now_R6() -> None:
    result = set_condition(pvector(), PROGRESSING, TRUE, "Queued", "waiting", T1)

    assert result == conds(cond(PROGRESSING, TRUE, "Queued", "waiting", T1))


def test_set_condition_new_type_appends_at_end_R6() -> None:
    existing = conds(cond(FAILED, TRUE, "InvalidSpec", "bad", T0))

    result = set_condition(existing, PROGRESSING, FALSE, "InvalidSpec", "bad", T1)

    assert result == conds(
        cond(FAILED, TRUE, "InvalidSpec", "bad", T0), cond(PROGRESSING, FALSE, "InvalidSpec", "bad", T1)
    )


def test_set_condition_same_status_keeps_time_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Queued", "q", T0))

    result = set_condition(existing, PROGRESSING, TRUE, "Executing", "running", T1)

    assert result == conds(cond(PROGRESSING, TRUE, "Executing", "running", T0))


def test_set_condition_status_differs_changes_time_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Executing", "r", T0))

    result = set_condition(existing, PROGRESSING, FALSE, "Completed", "done", T1)

    assert result == conds(cond(PROGRESSING, FALSE, "Completed", "done", T1))


def test_set_condition_reason_and_message_overwritten_with_empty_values_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Queued", "some message", T0))

    result = set_condition(existing, PROGRESSING, TRUE, "Queued", "", T1)

    assert result == conds(cond(PROGRESSING, TRUE, "Queued", "", T0))


def test_set_condition_observed_generation_reset_to_zero_R6() -> None:
    existing = conds(Condition(PROGRESSING, TRUE, "Queued", "q", T0, 7))

    result = set_condition(existing, PROGRESSING, TRUE, "Queued", "q", T1)

    assert result == conds(Condition(PROGRESSING, TRUE, "Queued", "q", T0, 0))


def test_set_condition_identical_values_return_the_same_list_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Queued", "q", T0))

    result = set_condition(existing, PROGRESSING, TRUE, "Queued", "q", T1)

    assert result is existing


def test_set_condition_in_place_update_keeps_list_order_R6() -> None:
    existing = conds(
        cond(PROGRESSING, TRUE, "Executing", "r", T0),
        cond(FAILED, TRUE, "PermanentFailure", "x", T0),
        cond(SUCCEEDED, TRUE, "Completed", "y", T0),
    )

    result = set_condition(existing, FAILED, TRUE, "Aborted", "z", T1)

    assert [c.type for c in result] == [PROGRESSING, FAILED, SUCCEEDED]
    assert result[1] == cond(FAILED, TRUE, "Aborted", "z", T0)
    assert result[0] is existing[0]
    assert result[2] is existing[2]


def test_set_condition_unset_time_same_status_stays_unset_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Queued", "q", None))

    result = set_condition(existing, PROGRESSING, TRUE, "Executing", "r", T1)

    assert result == conds(cond(PROGRESSING, TRUE, "Executing", "r", None))


def test_set_condition_does_not_mutate_the_input_R6() -> None:
    existing = conds(cond(PROGRESSING, TRUE, "Queued", "q", T0))

    set_condition(existing, PROGRESSING, FALSE, "Completed", "c", T1)

    assert existing == conds(cond(PROGRESSING, TRUE, "Queued", "q", T0))


# --- R7 is_terminal -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (conds(), False),
        (conds(cond(PROGRESSING, TRUE, "Executing")), False),
        (conds(cond(PROGRESSING, FALSE, "Completed")), False),
        (conds(cond(SUCCEEDED, TRUE, "Completed")), True),
        (conds(cond(FAILED, TRUE, "PermanentFailure")), True),
        (conds(cond(SUCCEEDED, FALSE, "Completed")), False),
        (conds(cond(FAILED, "Unknown", "PermanentFailure")), False),
        (conds(cond(PROGRESSING, TRUE, "Executing"), cond(FAILED, TRUE, "Aborted")), True),
        (conds(cond("Other", TRUE, "Completed")), False),
    ],
    ids=[
        "empty",
        "progressing-true",
        "progressing-false",
        "succeeded-true",
        "failed-true",
        "succeeded-false",
        "failed-unknown",
        "failed-after-progressing",
        "unknown-type-true",
    ],
)
def test_is_terminal_table_R7(conditions: PVector[Condition], expected: bool) -> None:
    assert is_terminal(conditions) is expected


# --- R8 terminal_transition_time ---------------------------------------------------------------------------------


def test_terminal_transition_time_first_true_succeeded_decides_R8() -> None:
    conditions = conds(
        cond(PROGRESSING, FALSE, "Completed", at=T0),
        cond(SUCCEEDED, TRUE, "Completed", at=T1),
        cond(FAILED, TRUE, "Aborted", at=T2),
    )

    assert terminal_transition_time(conditions, T2 + timedelta(hours=1)) == T1


def test_terminal_transition_time_first_true_failed_decides_in_list_order_R8() -> None:
    conditions = conds(cond(FAILED, TRUE, "Aborted", at=T2), cond(SUCCEEDED, TRUE, "Completed", at=T1))

    assert terminal_transition_time(conditions, T0) == T2


def test_terminal_transition_time_true_progressing_is_skipped_R8() -> None:
    conditions = conds(cond(PROGRESSING, TRUE, "Executing", at=T0), cond(FAILED, TRUE, "PermanentFailure", at=T1))

    assert terminal_transition_time(conditions, T2) == T1


def test_terminal_transition_time_non_true_terminal_types_are_skipped_R8() -> None:
    conditions = conds(cond(SUCCEEDED, FALSE, "Completed", at=T0), cond(FAILED, TRUE, "PermanentFailure", at=T1))

    assert terminal_transition_time(conditions, T2) == T1


def test_terminal_transition_time_unset_time_stops_looking_and_gives_now_R8() -> None:
    conditions = conds(cond(SUCCEEDED, TRUE, "Completed", at=None), cond(FAILED, TRUE, "Aborted", at=T1))

    assert terminal_transition_time(conditions, T2) == T2


@pytest.mark.parametrize(
    "conditions",
    [conds(), conds(cond(PROGRESSING, TRUE, "Executing", at=T0))],
    ids=["empty", "not-terminal"],
)
def test_terminal_transition_time_without_terminal_condition_is_now_R8(conditions: PVector[Condition]) -> None:
    assert terminal_transition_time(conditions, T2) == T2


# --- R9 append_phase_history -------------------------------------------------------------------------------------


def test_append_phase_history_empty_appends_with_now_and_message_R9() -> None:
    assert append_phase_history(pvector(), "Queued", "q", T1) == history(entry("Queued", T1, "q"))


def test_append_phase_history_same_last_phase_is_a_noop_R9() -> None:
    existing = history(entry("Queued", T0, "first"))

    result = append_phase_history(existing, "Queued", "second", T1)

    assert result is existing


def test_append_phase_history_only_last_entry_is_compared_so_a_phase_reappears_R9() -> None:
    existing = history(entry("Queued", T0), entry("Executing", T1))

    result = append_phase_history(existing, "Queued", "restarting task", T2)

    assert result == history(entry("Queued", T0), entry("Executing", T1), entry("Queued", T2, "restarting task"))


def test_append_phase_history_different_phase_appends_at_end_R9() -> None:
    existing = history(entry("Queued", T0))

    result = append_phase_history(existing, "Executing", "", T1)

    assert result == history(entry("Queued", T0), entry("Executing", T1, ""))


# --- R10 error kinds -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(ErrorKind.USER, "USER"), (ErrorKind.SYSTEM, "SYSTEM"), (ErrorKind.UNKNOWN, ""), (7, ""), (-1, "")],
    ids=["user", "system", "unknown", "out-of-range", "negative"],
)
def test_error_kind_name_table_R10(kind: int, expected: str) -> None:
    assert error_kind_name(kind) == expected


# --- constants and wire names ------------------------------------------------------------------------------------


def test_constants_match_the_go_wire_values_R11_R13_R14() -> None:
    assert (FINALIZER, LABEL_TERMINATION_STATUS, LABEL_COMPLETED_TIME, TERMINATED) == (
        "flyte.org/plugin-finalizer",
        "flyte.org/termination-status",
        "flyte.org/completed-time",
        "terminated",
    )
    assert (ACTION_TYPE_TASK, ACTION_TYPE_CONDITION, MAX_CONDITION_MESSAGE) == ("task", "condition", 32768)


def test_spec_wire_names_cover_every_spec_field_R3() -> None:
    assert list(SPEC_WIRE_NAMES) == [f.name for f in fields(TaskActionSpec)]
    assert list(SPEC_WIRE_NAMES.values()) == [
        "runName",
        "project",
        "domain",
        "actionName",
        "parentActionName",
        "actionType",
        "conditionSpec",
        "inputUri",
        "runOutputBase",
        "cacheKey",
        "taskType",
        "shortName",
        "taskTemplate",
        "envVars",
        "interruptible",
        "group",
    ]


def test_status_wire_names_cover_every_status_field_R5() -> None:
    assert list(STATUS_WIRE_NAMES) == [f.name for f in fields(TaskActionStatus)]
    assert list(STATUS_WIRE_NAMES.values()) == [
        "stateJson",
        "pluginState",
        "pluginStateVersion",
        "pluginPhase",
        "pluginPhaseVersion",
        "attempts",
        "systemFailures",
        "cacheStatus",
        "conditions",
        "phaseHistory",
        "errorState",
        "signalValue",
        "signalledBy",
        "signalledAt",
    ]
