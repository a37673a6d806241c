"""Reconcile paths the rule tables did not pin, found by mutation testing (docs/mutation-testing.md).

Each test names the rule it pins; most reach a value that the common scenarios happen to mask (a history that does
not advance, a status field the task path does not own, an effect gathered before a failure).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pyrsistent import pvector

from taskaction_core.action_event import ActionEvent, ClusterEvent
from taskaction_core.effects import Log, LogLevel, RecordActionEvent
from taskaction_core.observations import PluginStateWrite
from taskaction_core.phase_info import ExecutionError, ExternalResource, PhaseInfo, ReasonInfo, TaskInfo, TaskLog
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.cache import (
    CACHE_RESOURCE_ID,
    PostExecution,
    build_task_cache_config,
    finalize_cache_after_execution,
)
from taskaction_core.reconcile.context import current_output_prefix
from taskaction_core.reconcile.status import state_json, with_terminal_labels
from taskaction_core.records import Condition, ErrorState, TaskActionStatus
from taskaction_core.testing.builders import T0, a_condition_action, handle_failed, handled, observations_at, retryable
from tests.core.task_helpers import (
    DEFAULT,
    GO,
    OTHER_OWNER,
    PUT_OK,
    T1,
    WRITE_OK,
    Script,
    a_task,
    drive,
    hist,
    hit,
    lookup_error,
    not_found,
    progressing,
    reserved_by,
    terminal_labels,
    without,
)

EARLIER = T0 - timedelta(minutes=5)


def _events(effects: tuple[object, ...]) -> list[ActionEvent]:
    return [effect.event for effect in effects if isinstance(effect, RecordActionEvent)]


# --- R8/R67 terminal labels ---------------------------------------------------------------------------------------


def test_decide_terminal_condition_without_time_labels_with_now() -> None:
    """R8/R27/R67: the first True Succeeded decides even with no lastTransitionTime; then completed-time is now."""
    done = Condition("Succeeded", "True", "Completed", "", None, 0)
    task_action = a_task(status=TaskActionStatus(conditions=pvector([done])))
    decision = reconcile(task_action, observations_at(T1), DEFAULT)
    assert decision.effects == (terminal_labels(T1),)  # type: ignore[union-attr]


def test_with_terminal_labels_keeps_the_deletion_timestamp() -> None:
    """R67: the label patch changes labels only; the rest of the metadata, deletionTimestamp included, is kept."""
    done = Condition("Succeeded", "True", "Completed", "", T0, 0)
    task_action = a_task(status=TaskActionStatus(conditions=pvector([done])))
    deleting = replace(task_action, metadata=replace(task_action.metadata, deletion_timestamp=T1))
    working, labels = with_terminal_labels(deleting, T1)
    assert labels == (terminal_labels(T0),)
    assert working.metadata == replace(deleting.metadata, labels=terminal_labels(T0).labels)


# --- R40-R45 the task status ------------------------------------------------------------------------------------


def test_task_pass_keeps_signal_fields_it_does_not_own() -> None:
    """R41-R45: the task path rebuilds the status but carries signalValue/By/At (written only by Signal) over."""
    status = TaskActionStatus(signal_value=b"yes", signalled_by="alice", signalled_at=EARLIER)
    decision = drive(a_task(status=status), Script(handle=handled(PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(T0)))))
    kept = decision.task_action.status
    assert (kept.plugin_phase, kept.signal_value, kept.signalled_by, kept.signalled_at) == (
        "PhaseRunning",
        b"yes",
        "alice",
        EARLIER,
    )


def test_retryable_failure_on_last_attempt_keeps_the_plugin_state_write() -> None:
    """R40/R43: out of attempts, the failure is final and the plugin's state write of that Handle is persisted."""
    outcome = handled(retryable().unwrap().transition.info, PluginStateWrite(b"s2", 2))
    status = drive(a_task(retries=0), Script(handle=outcome)).task_action.status
    assert (status.plugin_phase, status.plugin_state, status.plugin_state_version) == (
        "PhasePermanentFailure",
        b"s2",
        2,
    )


def test_restart_go_when_history_already_queued_event_reason_is_at_now() -> None:
    """R40/R71 (D2 off): the restart's Queued history entry is not repeated, so updatedTime stays at the old entry,
    but the "restarting task" cluster event carries the restart's own instant."""
    status = TaskActionStatus(
        plugin_phase="PhaseQueued",
        attempts=1,
        conditions=pvector([progressing("Queued")]),
        phase_history=pvector([hist("Queued")]),
    )
    policy = without(Deviation.D2_REPORT_FAILED_ATTEMPT)
    decision = drive(a_task(status=status, retries=2), Script(handle=retryable(), now=T1), policy)
    (queued,) = _events(decision.effects)
    assert (queued.attempt, queued.updated_time) == (2, T0)
    assert queued.cluster_events == pvector([ClusterEvent("restarting task", T1)])


# --- R52/R53 cache --------------------------------------------------------------------------------------------------


def test_waiting_for_cache_when_history_already_queued_reasons_are_at_now() -> None:
    """R52 step 3/R53/R71: WaitingForCache maps to the Queued history entry already there, so updatedTime stays T0;
    both cluster events still carry the observation's instant."""
    status = TaskActionStatus(
        plugin_phase="PhaseQueued",
        attempts=1,
        conditions=pvector([progressing("Queued")]),
        phase_history=pvector([hist("Queued")]),
    )
    task_action = a_task(cacheable=True, serializable=True, status=status)
    policy = without(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE)
    script = Script(lookup=not_found(), reservation=reserved_by(OTHER_OWNER), now=T1)
    (waiting,) = _events(drive(task_action, script, policy).effects)
    assert waiting.updated_time == T0
    assert waiting.cluster_events == pvector(
        [
            ClusterEvent('waiting for cache to be populated by reservation owner "default/other"', T1),
            ClusterEvent("waiting for serialized cache owner", T1),
        ]
    )


def test_cache_hit_when_history_already_completed_reason_is_at_now() -> None:
    """R52 step 2/R53/R71: the "cache hit" reason carries the hit's instant even when the success history entry
    exists already (a hand-made record) and updatedTime therefore stays at it."""
    status = TaskActionStatus(attempts=1, phase_history=pvector([hist("Completed")]))
    task_action = a_task(cacheable=True, status=status)
    (succeeded,) = _events(drive(task_action, Script(lookup=hit(), write=WRITE_OK, now=T1), GO).effects)
    assert succeeded.phase is ActionPhase.SUCCEEDED
    assert succeeded.updated_time == T0
    assert succeeded.cluster_events == pvector([ClusterEvent("cache hit", T1)])


def test_finalize_cache_after_execution_put_keeps_every_phase_info_field() -> None:
    """R54 step 3/R53: a successful put only appends the ``cache`` resource (CACHE_POPULATED); everything else the
    plugin reported (times, logs, reasons, error, reason, cleanup flag) is passed on unchanged."""
    task_info = TaskInfo(
        occurred_at=EARLIER,
        logs=pvector([TaskLog("s3://logs/a0")]),
        log_context=b"ctx",
        reported_at=T0,
        external_resources=pvector([ExternalResource("pod-a0")]),
        additional_reasons=pvector([ReasonInfo("pulled", EARLIER)]),
    )
    err = ExecutionError("Warn", "partial outputs", ErrorKind.USER)
    info = PhaseInfo(PluginPhase.SUCCESS, 2, task_info, err, "done", True)
    task_action = a_task(cacheable=True)
    observations = replace(observations_at(T1), cache_put=PUT_OK)
    outcome = finalize_cache_after_execution(
        task_action, build_task_cache_config(task_action), info, False, observations, DEFAULT, "s3://bucket/jy/run/a0/1"
    )
    resources = pvector([ExternalResource("pod-a0"), ExternalResource(CACHE_RESOURCE_ID, CacheStatus.CACHE_POPULATED)])
    expected = PhaseInfo(PluginPhase.SUCCESS, 2, replace(task_info, external_resources=resources), err, "done", True)
    assert outcome == PostExecution(expected, ())


# --- R57/R61 system failures ------------------------------------------------------------------------------------


def test_non_retryable_handle_error_keeps_effects_gathered_before_handle() -> None:
    """R52/R57/R58/R61: the cache-lookup warning logged before Handle is still emitted when Handle then fails with a
    non-retryable code, ahead of the permanent-failure effects."""
    lookup_failed = Script(lookup=lookup_error(), handle=handle_failed("bad spec", "BadTaskSpecification"))
    decision = drive(a_task(cacheable=True), lookup_failed)
    assert decision.effects[0] == Log(
        LogLevel.WARNING, "cache lookup failed, continuing with task execution: catalog unavailable"
    )
    assert decision.task_action.status.plugin_phase == "PhasePermanentFailure"


def test_permanent_failure_resets_the_plugin_phase_version() -> None:
    """R61: PermanentFailure is written with pluginPhaseVersion 0, whatever version the running phase had."""
    status = TaskActionStatus(
        plugin_phase="PhaseRunning",
        plugin_phase_version=3,
        attempts=1,
        conditions=pvector([progressing("Executing")]),
        phase_history=pvector([hist("Executing")]),
    )
    decision = drive(a_task(status=status), Script(handle=handle_failed("bad spec", "BadTaskSpecification")))
    assert (decision.task_action.status.plugin_phase, decision.task_action.status.plugin_phase_version) == (
        "PhasePermanentFailure",
        0,
    )


# --- R79 condition, R33 context, R42 StateJSON --------------------------------------------------------------------


def test_signalled_condition_keeps_an_existing_error_state() -> None:
    """R79: a signal concludes without an error of its own, so an ErrorState already on the object is kept."""
    previous = ErrorState("Earlier", "USER", "kept")
    task_action = a_condition_action(signal_value=b"yes", signalled_by="alice", error_state=previous)
    decision = reconcile(task_action, observations_at(T1), DEFAULT)
    assert decision.task_action.status.error_state == previous  # type: ignore[union-attr]


def test_current_output_prefix_invalid_base_is_empty() -> None:
    """R33/R103: with an unparsable runOutputBase there is no prefix (callers check context_error first)."""
    assert current_output_prefix(a_task(run_output_base="%zz")) == ""
    assert current_output_prefix(a_task()) == "s3://bucket/jy/run/a0/1"


def test_state_json_every_special_character_is_go_escaped() -> None:
    """R42: Go encoding/json escapes ``"`` and ``\\`` and, as HTML-safe JSON, ``<``, ``>`` and ``&``."""
    special = '"\\<>&'
    task_action = a_task()
    task_action = replace(task_action, spec=replace(task_action.spec, run_name=special))
    escaped = '\\"\\\\\\u003c\\u003e\\u0026'
    assert state_json(task_action, special, T0) == (
        f'{{"actionId":"{escaped}/a0","phase":"{escaped}","timestamp":"2026-08-08T12:00:00Z"}}'
    )
