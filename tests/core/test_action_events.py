"""ActionEvent construction (R68–R75): fields, attempt, phase mapping, error info, cluster events, output
references, cache status and updated time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyrsistent import pvector

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, ErrorInfo, OutputReferences
from taskaction_core.phase_info import ExecutionError, ExternalResource, PhaseInfo, ReasonInfo, TaskInfo, TaskLog
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind, PluginPhase
from taskaction_core.reconcile.action_events import (
    build_action_event,
    observed_cache_status,
    output_refs,
    to_cluster_events,
    to_error_info,
    updated_timestamp,
)
from taskaction_core.records import TaskAction
from taskaction_core.testing.builders import T0, a_task_action
from tests.core.other_helpers import LATER, T1, T2, entry, history, with_status

OUTPUTS_1 = OutputReferences("s3://bucket/jy/run/a0/1/outputs.pb", "s3://bucket/jy/run/a0/1/report.html")


def _with_base(base: str) -> TaskAction:
    ta = a_task_action()
    return replace(ta, spec=replace(ta.spec, run_output_base=base))


# --- R68 the whole event ------------------------------------------------------------------------------------------


def test_build_action_event_every_field_R68() -> None:
    logs = pvector([TaskLog("https://logs/a", "pod logs")])
    task_info = TaskInfo(
        occurred_at=T1,
        logs=logs,
        log_context=b"\x0a\x01x",
        external_resources=pvector([ExternalResource("cache", CacheStatus.CACHE_HIT)]),
        additional_reasons=pvector([ReasonInfo("pulled", T0)]),
    )
    err = ExecutionError("OOMKilled", "out of memory", ErrorKind.SYSTEM)
    info = PhaseInfo(PluginPhase.PERMANENT_FAILURE, 4, task_info, err, "evicted")
    ta = with_status(a_task_action(), attempts=2, phase_history=history(entry("Queued", T0), entry("Executing", T1)))

    event = build_action_event(ta, info, T2, "cluster-7")

    assert event == ActionEvent(
        id=ActionId(project="p", domain="d", run_name="run1", name="a0"),
        attempt=2,
        phase=ActionPhase.FAILED,
        version=4,
        updated_time=T1,
        reported_time=T2,
        cluster="cluster-7",
        error_info=ErrorInfo("out of memory", ErrorKind.SYSTEM),
        outputs=OutputReferences("s3://bucket/jy/run/a0/2/outputs.pb", "s3://bucket/jy/run/a0/2/report.html"),
        cluster_events=pvector([ClusterEvent("evicted", T1), ClusterEvent("pulled", T0)]),
        log_info=logs,
        log_context=b"\x0a\x01x",
        cache_status=CacheStatus.CACHE_HIT,
    )


def test_build_action_event_minimal_without_task_info_R68() -> None:
    event = build_action_event(a_task_action(), PhaseInfo(PluginPhase.UNDEFINED), T2, "")

    assert event == ActionEvent(
        id=ActionId("p", "d", "run1", "a0"),
        attempt=1,
        phase=ActionPhase.UNSPECIFIED,
        version=0,
        updated_time=T2,
        reported_time=T2,
        cluster="",
        error_info=None,
        outputs=OUTPUTS_1,
        cluster_events=None,
        log_info=pvector(),
        log_context=b"",
        cache_status=CacheStatus.CACHE_DISABLED,
    )


# --- R74 attempt --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "expected"), [(0, 1), (1, 1), (2, 2), (7, 7)])
def test_build_action_event_attempt_zero_reads_as_one_R74(attempts: int, expected: int) -> None:
    ta = with_status(a_task_action(), attempts=attempts)

    event = build_action_event(ta, PhaseInfo(PluginPhase.QUEUED), T0, "")

    assert event.attempt == expected
    assert event.outputs == OutputReferences(
        f"s3://bucket/jy/run/a0/{expected}/outputs.pb", f"s3://bucket/jy/run/a0/{expected}/report.html"
    )


# --- R69 phase mapping --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (PluginPhase.UNDEFINED, ActionPhase.UNSPECIFIED),
        (PluginPhase.NOT_READY, ActionPhase.QUEUED),
        (PluginPhase.WAITING_FOR_RESOURCES, ActionPhase.WAITING_FOR_RESOURCES),
        (PluginPhase.QUEUED, ActionPhase.QUEUED),
        (PluginPhase.INITIALIZING, ActionPhase.INITIALIZING),
        (PluginPhase.RUNNING, ActionPhase.RUNNING),
        (PluginPhase.SUCCESS, ActionPhase.SUCCEEDED),
        (PluginPhase.RETRYABLE_FAILURE, ActionPhase.FAILED),
        (PluginPhase.PERMANENT_FAILURE, ActionPhase.FAILED),
        (PluginPhase.WAITING_FOR_CACHE, ActionPhase.WAITING_FOR_RESOURCES),
        (PluginPhase.ABORTED, ActionPhase.ABORTED),
    ],
    ids=lambda value: value.name,
)
def test_build_action_event_phase_mapping_R69(phase: PluginPhase, expected: ActionPhase) -> None:
    event = build_action_event(a_task_action(), PhaseInfo(phase, 3), T0, "")

    assert (event.phase, event.version) == (expected, 3)


# --- R70 error info -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(ErrorKind.USER, ErrorKind.USER), (ErrorKind.SYSTEM, ErrorKind.SYSTEM), (ErrorKind.UNKNOWN, ErrorKind.UNKNOWN)],
    ids=["user", "system", "unknown"],
)
def test_to_error_info_message_and_kind_without_code_R70(kind: ErrorKind, expected: ErrorKind) -> None:
    info = PhaseInfo(PluginPhase.PERMANENT_FAILURE, 0, None, ExecutionError("SECRET_CODE", "msg", kind))

    assert to_error_info(info) == ErrorInfo("msg", expected)


def test_to_error_info_out_of_range_kind_is_unspecified_R70() -> None:
    info = PhaseInfo(PluginPhase.PERMANENT_FAILURE, 0, None, ExecutionError("c", "msg", 9))  # type: ignore[arg-type]

    assert to_error_info(info) == ErrorInfo("msg", ErrorKind.UNKNOWN)


def test_to_error_info_absent_error_is_absent_R70() -> None:
    assert to_error_info(PhaseInfo(PluginPhase.PERMANENT_FAILURE, 0, None, None, "reason")) is None


# --- R71 cluster events -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "info",
    [
        PhaseInfo(PluginPhase.RUNNING),
        PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T1)),
    ],
    ids=["no-task-info", "no-additional-reasons"],
)
def test_to_cluster_events_no_reason_and_no_additional_is_absent_R71(info: PhaseInfo) -> None:
    assert to_cluster_events(info, T2) is None


def test_to_cluster_events_reason_uses_task_info_time_R71() -> None:
    info = PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T1), None, "scheduled")

    assert to_cluster_events(info, T2) == pvector([ClusterEvent("scheduled", T1)])


@pytest.mark.parametrize(
    "task_info", [None, TaskInfo(occurred_at=None)], ids=["no-task-info", "task-info-without-time"]
)
def test_to_cluster_events_reason_without_time_uses_fallback_R71(task_info: TaskInfo | None) -> None:
    info = PhaseInfo(PluginPhase.RUNNING, 0, task_info, None, "scheduled")

    assert to_cluster_events(info, T2) == pvector([ClusterEvent("scheduled", T2)])


def test_to_cluster_events_reason_first_then_additional_in_order_with_fallbacks_R71() -> None:
    reasons = pvector([ReasonInfo("b", T0), ReasonInfo("c", None), ReasonInfo("a", T1)])
    info = PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=LATER, additional_reasons=reasons), None, "r")

    assert to_cluster_events(info, T2) == pvector(
        [ClusterEvent("r", LATER), ClusterEvent("b", T0), ClusterEvent("c", T2), ClusterEvent("a", T1)]
    )


def test_to_cluster_events_only_additional_reasons_R71() -> None:
    info = PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T1, additional_reasons=pvector([ReasonInfo("x")])))

    assert to_cluster_events(info, T2) == pvector([ClusterEvent("x", T2)])


def test_build_action_event_cluster_event_fallback_is_updated_time_R71_R75() -> None:
    ta = with_status(a_task_action(), phase_history=history(entry("Executing", T1)))
    info = PhaseInfo(PluginPhase.RUNNING, 0, None, None, "scheduled")

    event = build_action_event(ta, info, T2, "")

    assert event.cluster_events == pvector([ClusterEvent("scheduled", T1)])


# --- R72 output references ------------------------------------------------------------------------------------------


def test_output_refs_empty_run_output_base_is_absent_R72() -> None:
    assert output_refs(_with_base(""), 1) is None


@pytest.mark.parametrize("base", ["::bad", "s3://b/x\x7f", "s3://b/%zz"], ids=["no-scheme", "control", "bad-escape"])
def test_output_refs_invalid_base_is_absent_R72(base: str) -> None:
    assert output_refs(_with_base(base), 1) is None


@pytest.mark.parametrize("base", ["s3://bucket/run", "s3://bucket/run/", "s3://bucket//run//"])
def test_output_refs_outputs_and_report_under_the_attempt_prefix_R72(base: str) -> None:
    assert output_refs(_with_base(base), 3) == OutputReferences(
        "s3://bucket/jy/run/a0/3/outputs.pb", "s3://bucket/jy/run/a0/3/report.html"
    )


def test_output_refs_opaque_base_keeps_base_Q30() -> None:
    assert output_refs(_with_base("s3:bucket/x"), 1) == OutputReferences(
        "s3:bucket/x/outputs.pb", "s3:bucket/x/report.html"
    )


def test_build_action_event_invalid_base_has_no_outputs_R72() -> None:
    assert build_action_event(_with_base("::bad"), PhaseInfo(PluginPhase.QUEUED), T0, "").outputs is None


# --- R73 cache status -----------------------------------------------------------------------------------------------


def _resources(*statuses: CacheStatus) -> TaskInfo:
    return TaskInfo(
        occurred_at=T0, external_resources=pvector([ExternalResource(f"r{i}", s) for i, s in enumerate(statuses)])
    )


@pytest.mark.parametrize(
    ("task_info", "expected"),
    [
        (None, CacheStatus.CACHE_DISABLED),
        (_resources(), CacheStatus.CACHE_DISABLED),
        (_resources(CacheStatus.CACHE_DISABLED, CacheStatus.CACHE_DISABLED), CacheStatus.CACHE_DISABLED),
        (_resources(CacheStatus.CACHE_DISABLED, CacheStatus.CACHE_MISS, CacheStatus.CACHE_HIT), CacheStatus.CACHE_MISS),
        (_resources(CacheStatus.CACHE_HIT, CacheStatus.CACHE_POPULATED), CacheStatus.CACHE_HIT),
        (_resources(CacheStatus.CACHE_DISABLED, CacheStatus.CACHE_PUT_FAILURE), CacheStatus.CACHE_PUT_FAILURE),
    ],
    ids=["no-info", "no-resources", "all-disabled", "first-non-disabled", "first-wins", "put-failure"],
)
def test_observed_cache_status_first_non_disabled_R73(task_info: TaskInfo | None, expected: CacheStatus) -> None:
    assert observed_cache_status(task_info) is expected
    assert (
        build_action_event(a_task_action(), PhaseInfo(PluginPhase.SUCCESS, 0, task_info), T0, "").cache_status
        is expected
    )


# --- R75 updated time -----------------------------------------------------------------------------------------------


def test_updated_timestamp_is_last_history_entry_R75_Q19() -> None:
    entries = history(entry("Queued", T0), entry("Initializing", T1), entry("Executing", T2))
    ta = with_status(a_task_action(), phase_history=entries)

    assert updated_timestamp(ta, LATER) == T2
    assert build_action_event(ta, PhaseInfo(PluginPhase.RUNNING), LATER, "").updated_time == T2


def test_updated_timestamp_empty_history_is_now_R75() -> None:
    assert updated_timestamp(a_task_action(), T2) == T2


def test_build_action_event_updated_time_override_wins_R90() -> None:
    ta = with_status(a_task_action(), phase_history=history(entry("Executing", T1)))

    event = build_action_event(ta, PhaseInfo(PluginPhase.ABORTED, 0, None, None, "aborted"), T2, "", updated_time=LATER)

    assert (event.updated_time, event.reported_time) == (LATER, T2)
    assert event.cluster_events == pvector([ClusterEvent("aborted", LATER)])


def test_action_event_dedup_key_is_the_r114_tuple_R114() -> None:
    event = build_action_event(with_status(a_task_action(), attempts=2), PhaseInfo(PluginPhase.RUNNING, 5), T0, "")

    assert event.dedup_key == ("p", "d", "run1", "a0", 2, 4, 5)
