"""PhaseInfo (R17), its constructors' normalisation (R18, Q31), modifiers (R19) and transitions (R20)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyrsistent import pvector

from taskaction_core.phase_info import (
    DEFAULT_PHASE_VERSION,
    PHASE_INFO_UNDEFINED,
    SYSTEM_ERROR_CODE,
    UNKNOWN_TRANSITION,
    ExecutionError,
    ExternalResource,
    PhaseInfo,
    ReasonInfo,
    TaskInfo,
    TaskLog,
    Transition,
    TransitionType,
    do_transition,
    phase_info_aborted,
    phase_info_failed,
    phase_info_failure,
    phase_info_initializing,
    phase_info_not_ready,
    phase_info_queued,
    phase_info_queued_with_task_info,
    phase_info_retryable_failure,
    phase_info_running,
    phase_info_success,
    phase_info_system_failure,
    phase_info_system_retryable_failure,
    phase_info_waiting_for_cache,
    phase_info_waiting_for_resources,
    phase_info_waiting_for_resources_info,
)
from taskaction_core.phases import CacheStatus, ErrorKind, PluginPhase
from taskaction_core.testing.builders import T0
from tests.core.other_helpers import T1, T2

RICH_INFO = TaskInfo(
    occurred_at=T2,
    logs=pvector([TaskLog("https://logs/1", "log")]),
    external_resources=pvector([ExternalResource("r", CacheStatus.CACHE_MISS)]),
    additional_reasons=pvector([ReasonInfo("why", T1)]),
)


# --- R17 -------------------------------------------------------------------------------------------------------------


def test_phase_info_undefined_has_nothing_R17() -> None:
    assert PhaseInfo(PluginPhase.UNDEFINED, 0, None, None, "", False) == PHASE_INFO_UNDEFINED
    assert DEFAULT_PHASE_VERSION == 0
    assert SYSTEM_ERROR_CODE == "SystemError"


# --- R18 time-and-reason constructors: info = {OccurredAt: t} ---------------------------------------------------------

TimedConstructor = Callable[..., PhaseInfo]


@pytest.mark.parametrize(
    ("constructor", "phase"),
    [
        (phase_info_not_ready, PluginPhase.NOT_READY),
        (phase_info_waiting_for_resources, PluginPhase.WAITING_FOR_RESOURCES),
        (phase_info_queued, PluginPhase.QUEUED),
        (phase_info_aborted, PluginPhase.ABORTED),
    ],
    ids=["not-ready", "waiting-for-resources", "queued", "aborted"],
)
def test_phase_info_timed_constructor_uses_t_as_occurred_at_R18(
    constructor: TimedConstructor, phase: PluginPhase
) -> None:
    assert constructor(T1, 3, "because") == PhaseInfo(phase, 3, TaskInfo(occurred_at=T1), None, "because", False)


# --- R18 constructors taking a TaskInfo: Go's t is ignored (Q31); the info's time or now ------------------------------


@pytest.mark.parametrize(
    ("constructor", "phase"),
    [
        (phase_info_waiting_for_resources_info, PluginPhase.WAITING_FOR_RESOURCES),
        (phase_info_queued_with_task_info, PluginPhase.QUEUED),
        (phase_info_initializing, PluginPhase.INITIALIZING),
    ],
    ids=["waiting-for-resources-info", "queued-with-task-info", "initializing"],
)
def test_phase_info_info_constructor_keeps_info_time_not_now_Q31(
    constructor: TimedConstructor, phase: PluginPhase
) -> None:
    assert constructor(T0, 2, "r", RICH_INFO) == PhaseInfo(phase, 2, RICH_INFO, None, "r", False)


@pytest.mark.parametrize(
    "constructor",
    [phase_info_waiting_for_resources_info, phase_info_queued_with_task_info, phase_info_initializing],
    ids=["waiting-for-resources-info", "queued-with-task-info", "initializing"],
)
def test_phase_info_info_constructor_absent_info_gets_now_R18(constructor: TimedConstructor) -> None:
    result = constructor(T1, 0, "r", None)

    assert result.info == TaskInfo(occurred_at=T1)


def test_phase_info_info_without_time_gets_now_and_keeps_the_rest_R18() -> None:
    info = TaskInfo(logs=pvector([TaskLog("u")]), additional_reasons=pvector([ReasonInfo("x")]))

    result = phase_info_initializing(T1, 0, "", info)

    assert result.info == TaskInfo(
        occurred_at=T1, logs=pvector([TaskLog("u")]), additional_reasons=pvector([ReasonInfo("x")])
    )
    assert info.occurred_at is None


@pytest.mark.parametrize(
    ("constructor", "phase"),
    [(phase_info_running, PluginPhase.RUNNING), (phase_info_waiting_for_cache, PluginPhase.WAITING_FOR_CACHE)],
    ids=["running", "waiting-for-cache"],
)
def test_phase_info_running_and_waiting_for_cache_have_no_reason_R18(
    constructor: TimedConstructor, phase: PluginPhase
) -> None:
    assert constructor(T1, 4, None) == PhaseInfo(phase, 4, TaskInfo(occurred_at=T1), None, "", False)
    assert constructor(T1, 4, RICH_INFO) == PhaseInfo(phase, 4, RICH_INFO, None, "", False)


def test_phase_info_success_is_version_zero_without_reason_R18() -> None:
    assert phase_info_success(T1, None) == PhaseInfo(PluginPhase.SUCCESS, 0, TaskInfo(occurred_at=T1))
    assert phase_info_success(T1, RICH_INFO) == PhaseInfo(PluginPhase.SUCCESS, 0, RICH_INFO)


def test_phase_info_failed_keeps_an_absent_error_R18() -> None:
    result = phase_info_failed(T1, PluginPhase.PERMANENT_FAILURE, None, None)

    assert result == PhaseInfo(PluginPhase.PERMANENT_FAILURE, 0, TaskInfo(occurred_at=T1), None, "", False)


def test_phase_info_failed_keeps_the_given_error_and_info_R18() -> None:
    err = ExecutionError("Oops", "bad", ErrorKind.SYSTEM)

    result = phase_info_failed(T1, PluginPhase.RETRYABLE_FAILURE, err, RICH_INFO)

    assert result == PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 0, RICH_INFO, err, "", False)


@pytest.mark.parametrize(
    ("constructor", "phase", "kind"),
    [
        (phase_info_failure, PluginPhase.PERMANENT_FAILURE, ErrorKind.USER),
        (phase_info_system_failure, PluginPhase.PERMANENT_FAILURE, ErrorKind.SYSTEM),
        (phase_info_retryable_failure, PluginPhase.RETRYABLE_FAILURE, ErrorKind.USER),
        (phase_info_system_retryable_failure, PluginPhase.RETRYABLE_FAILURE, ErrorKind.SYSTEM),
    ],
    ids=["failure", "system-failure", "retryable", "system-retryable"],
)
@pytest.mark.parametrize("cleanup", [False, True], ids=["plain", "with-cleanup"])
def test_phase_info_coded_failure_message_is_the_reason_argument_R18(
    constructor: TimedConstructor, phase: PluginPhase, kind: ErrorKind, cleanup: bool
) -> None:
    result = constructor(T1, "OOMKilled", "out of memory", None, cleanup)

    assert result == PhaseInfo(
        phase, 0, TaskInfo(occurred_at=T1), ExecutionError("OOMKilled", "out of memory", kind), "", cleanup
    )


def test_phase_info_coded_failure_default_has_no_cleanup_R18() -> None:
    assert phase_info_failure(T1, "c", "m", RICH_INFO).cleanup_on_failure is False


# --- R19 modifiers ----------------------------------------------------------------------------------------------------


def test_phase_info_with_version_sets_version_and_drops_cleanup_Q31() -> None:
    info = phase_info_system_failure(T1, "c", "m", None, cleanup=True)

    result = info.with_version(9)

    assert result == PhaseInfo(info.phase, 9, info.info, info.err, info.reason, False)
    assert info.version == 0
    assert info.cleanup_on_failure is True


def test_phase_info_with_reason_on_empty_reason_sets_it_R19() -> None:
    assert phase_info_running(T1, 0, None).with_reason("pulling") == PhaseInfo(
        PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T1), None, "pulling"
    )


def test_phase_info_with_reason_appends_comma_space_R19() -> None:
    info = phase_info_queued(T1, 0, "first")

    assert info.with_reason("second").with_reason("third").reason == "first, second, third"
    assert info.reason == "first"


# --- R20 transitions --------------------------------------------------------------------------------------------------


def test_do_transition_is_ephemeral_R20() -> None:
    info = phase_info_queued(T1, 0, "q")

    assert do_transition(info) == Transition(info, TransitionType.EPHEMERAL)
    assert (TransitionType.EPHEMERAL, TransitionType.BARRIER) == (0, 1)


def test_unknown_transition_is_ephemeral_undefined_R20() -> None:
    assert Transition(PHASE_INFO_UNDEFINED, TransitionType.EPHEMERAL) == UNKNOWN_TRANSITION


def test_task_info_defaults_are_empty_R21_R22() -> None:
    assert TaskInfo() == TaskInfo(None, pvector(), b"", None, pvector(), pvector())
    assert ExternalResource("cache") == ExternalResource(
        "cache", CacheStatus.CACHE_DISABLED, 0, 0, PluginPhase.UNDEFINED
    )
    assert ExecutionError("c", "m").kind is ErrorKind.UNKNOWN
