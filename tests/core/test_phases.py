"""Plugin phases (R15), their predicates (R16), the ActionEvent phase mapping (R15/R69) and the vocabularies of
conditions and history (R6, R9)."""

from __future__ import annotations

import pytest

from taskaction_core.phases import (
    ActionPhase,
    CacheStatus,
    ConditionStatus,
    ConditionType,
    ErrorKind,
    PluginPhase,
    Reason,
    is_aborted,
    is_failure,
    is_phase_done,
    is_success,
    plugin_phase_from_name,
    plugin_phase_name,
    to_action_phase,
)

# (ordinal, wire name, ActionEvent phase) transcribed from the R15 table.
R15_TABLE = [
    (0, "PhaseUndefined", ActionPhase.UNSPECIFIED),
    (1, "PhaseNotReady", ActionPhase.QUEUED),
    (2, "PhaseWaitingForResources", ActionPhase.WAITING_FOR_RESOURCES),
    (3, "PhaseQueued", ActionPhase.QUEUED),
    (4, "PhaseInitializing", ActionPhase.INITIALIZING),
    (5, "PhaseRunning", ActionPhase.RUNNING),
    (6, "PhaseSuccess", ActionPhase.SUCCEEDED),
    (7, "PhaseRetryableFailure", ActionPhase.FAILED),
    (8, "PhasePermanentFailure", ActionPhase.FAILED),
    (9, "PhaseWaitingForCache", ActionPhase.WAITING_FOR_RESOURCES),
    (10, "PhaseAborted", ActionPhase.ABORTED),
]


@pytest.mark.parametrize(("ordinal", "name", "action_phase"), R15_TABLE, ids=[row[1] for row in R15_TABLE])
def test_plugin_phase_each_row_of_the_table_R15(ordinal: int, name: str, action_phase: ActionPhase) -> None:
    phase = PluginPhase(ordinal)

    assert phase.wire_name == name
    assert plugin_phase_name(ordinal) == name
    assert plugin_phase_from_name(name) is phase
    assert to_action_phase(phase) is action_phase


def test_plugin_phase_table_is_complete_R15() -> None:
    assert [int(p) for p in PluginPhase] == [row[0] for row in R15_TABLE]


@pytest.mark.parametrize(("ordinal", "expected"), [(11, "Phase(11)"), (-1, "Phase(-1)"), (127, "Phase(127)")])
def test_plugin_phase_name_out_of_range_is_go_format_R15(ordinal: int, expected: str) -> None:
    assert plugin_phase_name(ordinal) == expected


@pytest.mark.parametrize("name", ["", "Running", "phaseRunning", "Phase(11)"])
def test_plugin_phase_from_name_unknown_is_none_R15(name: str) -> None:
    assert plugin_phase_from_name(name) is None


def test_action_phase_values_include_the_unused_ones_R15() -> None:
    assert (ActionPhase.TIMED_OUT, ActionPhase.PAUSED, ActionPhase.RECOVERED) == (8, 9, 10)


# (phase, IsFailure, IsSuccess, IsAborted, IsTerminal) per R16.
R16_TABLE = [
    (PluginPhase.UNDEFINED, False, False, False, False),
    (PluginPhase.NOT_READY, False, False, False, False),
    (PluginPhase.WAITING_FOR_RESOURCES, False, False, False, False),
    (PluginPhase.QUEUED, False, False, False, False),
    (PluginPhase.INITIALIZING, False, False, False, False),
    (PluginPhase.RUNNING, False, False, False, False),
    (PluginPhase.SUCCESS, False, True, False, True),
    (PluginPhase.RETRYABLE_FAILURE, True, False, False, True),
    (PluginPhase.PERMANENT_FAILURE, True, False, False, True),
    (PluginPhase.WAITING_FOR_CACHE, False, False, False, False),
    (PluginPhase.ABORTED, False, False, True, True),
]


@pytest.mark.parametrize(
    ("phase", "failure", "success", "aborted", "done"), R16_TABLE, ids=[row[0].wire_name for row in R16_TABLE]
)
def test_phase_predicates_each_phase_R16(
    phase: PluginPhase, failure: bool, success: bool, aborted: bool, done: bool
) -> None:
    assert (is_failure(phase), is_success(phase), is_aborted(phase), is_phase_done(phase)) == (
        failure,
        success,
        aborted,
        done,
    )


def test_enum_numbers_match_the_protos_R5_R23() -> None:
    assert [int(c) for c in CacheStatus] == list(range(8))
    assert (ErrorKind.UNKNOWN, ErrorKind.USER, ErrorKind.SYSTEM) == (0, 1, 2)


def test_condition_vocabulary_is_the_go_wire_strings_R6_R9() -> None:
    assert [t.value for t in ConditionType] == ["Progressing", "Succeeded", "Failed"]
    assert [s.value for s in ConditionStatus] == ["True", "False", "Unknown"]
    assert [r.value for r in Reason] == [
        "Queued",
        "Initializing",
        "Executing",
        "Completed",
        "RetryableFailure",
        "PermanentFailure",
        "Aborted",
        "PluginNotFound",
        "InvalidSpec",
        "Paused",
        "Signaled",
        "TimedOut",
    ]
