"""End-to-end scenarios through the one-pass interpreter over the in-memory fakes (design.md §8).

Every test asserts the end state of the world: the stored object, the ActionEvents the sink kept, the reservations
and entries in the catalog, the cluster's resources and the recorder's warnings. Never the call log, except where the
spec's promise *is* that a call did not happen (a cache hit never calls the plugin, R52).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from taskaction_core.decision import Done, RequeueAfter
from taskaction_core.interpreter.driver import Failed
from taskaction_core.interpreter.ports import StoreError, StoreErrorKind
from taskaction_core.output_path import compute_action_output_path, outputs_uri
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind
from taskaction_core.policy import GO_COMPATIBLE, Deviation, Policy
from taskaction_core.testing.builders import T0
from taskaction_core.testing.scenarios import (
    COND,
    OUTPUTS,
    SCENARIOS,
    SCENARIOS_BY_NAME,
    SIGNAL,
    TA,
    TB,
    Key,
    RunForever,
    Scenario,
    ScenarioRun,
    StopReason,
    World,
    a_task,
    drive,
    error_backoff,
    lost_events,
    new_world,
    run_scenario,
)


def _run(name: str) -> ScenarioRun:
    return run_scenario(SCENARIOS_BY_NAME[name])


def _outputs_of(world: World, key: Key, attempt: int) -> bytes | None:
    prefix = compute_action_output_path(key[0], key[1], "s3://bucket/run", key[1], attempt).unwrap()
    return world.data.blobs().get(outputs_uri(prefix))


def _handled_keys(world: World) -> set[str]:
    return {call.facts.name for call in world.plugin.calls if call.method == "handle"}


# --------------------------------------------------------------------------------------------------------------------
# The catalogue: every scenario reaches the end state written from the spec


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_catalogue_run_reaches_expected_end_state(scenario: Scenario) -> None:
    run = run_scenario(scenario)

    assert run.end == scenario.expected, scenario.rules
    assert StopReason.MAX_PASSES not in run.stops
    assert lost_events(run.world) == []


# --------------------------------------------------------------------------------------------------------------------
# Task path


def test_scenario_success_outputs_written_and_no_warnings() -> None:
    run = _run("success")

    assert _outputs_of(run.world, TA, 1) == OUTPUTS
    assert run.world.recorder.events == ()
    assert run.world.clock.now() == T0 + timedelta(seconds=20)  # Q17: the follow-up pass is write-triggered


def test_scenario_cache_hit_second_action_served_from_cache_without_plugin() -> None:
    run = _run("cache_hit")

    assert "tb" not in _handled_keys(run.world)
    assert _outputs_of(run.world, TB, 1) == OUTPUTS
    [entry] = run.world.catalog.entries().values()
    assert entry.outputs == OUTPUTS
    [event] = [e for e in run.world.events.events if e.id.name == "tb"]
    assert event.cache_status is CacheStatus.CACHE_HIT


def test_scenario_cache_hit_first_action_event_reports_populated() -> None:
    run = _run("cache_hit")

    succeeded = [e for e in run.world.events.events if e.id.name == "ta" and e.phase is ActionPhase.SUCCEEDED]
    assert [e.cache_status for e in succeeded] == [CacheStatus.CACHE_POPULATED]


def test_scenario_serialized_cache_waiter_reports_miss_then_hits() -> None:
    run = _run("serialized_cache")

    waiting, done = [e for e in run.world.events.events if e.id.name == "tb"]
    assert waiting.phase is ActionPhase.WAITING_FOR_RESOURCES
    assert waiting.cache_status is CacheStatus.CACHE_MISS
    assert waiting.cluster_events is not None
    assert waiting.cluster_events[0].message == 'waiting for cache to be populated by reservation owner "default/ta"'
    assert done.cache_status is CacheStatus.CACHE_HIT
    assert "tb" not in _handled_keys(run.world)
    assert run.world.catalog.reservations() == {}


def test_scenario_user_retry_failed_attempt_reported_before_restart() -> None:
    run = _run("user_retry_then_success")

    [failed] = [e for e in run.world.events.events if e.phase is ActionPhase.FAILED]
    assert (failed.attempt, failed.error_info is not None) == (1, True)
    assert failed.error_info is not None
    assert (failed.error_info.message, failed.error_info.kind) == ("division by zero", ErrorKind.USER)
    assert _outputs_of(run.world, TA, 2) == OUTPUTS
    assert _outputs_of(run.world, TA, 1) is None


def test_scenario_retries_exhausted_last_attempt_error_sent() -> None:
    run = _run("retries_exhausted")

    failed = [e for e in run.world.events.events if e.phase is ActionPhase.FAILED]
    assert [(e.attempt, e.error_info.message if e.error_info else None) for e in failed] == [
        (1, "division by zero"),
        (2, "division by zero"),
    ]


def test_scenario_system_failure_ceiling_one_warning_per_failure() -> None:
    run = _run("system_failure_ceiling")

    [warning] = run.world.recorder.events
    assert (warning.reason, warning.action, warning.count) == ("FailedPluginHandle", "HandlingPlugin", 4)
    assert warning.note == 'Plugin "test-plugin" system error: connection refused'
    [event] = run.world.events.events
    assert event.error_info is not None
    assert event.error_info.kind is ErrorKind.SYSTEM
    assert run.world.cluster.launches("ta-0") == 4


def test_scenario_non_retryable_code_fails_without_warning_or_retry() -> None:
    run = _run("non_retryable_code")

    assert run.world.recorder.events == ()
    assert run.world.cluster.launches("ta-0") == 1
    [event] = run.world.events.events
    assert event.error_info is not None
    assert event.error_info.kind is ErrorKind.USER


def test_scenario_system_retryable_reset_relaunches_under_same_name() -> None:
    run = _run("system_retryable_reset")

    assert run.world.cluster.launches("ta-0") == 2
    [warning] = run.world.recorder.events
    assert warning.note == 'Plugin "test-plugin" system error: [NodeLost] node died'
    found = run.world.get(TA)
    assert found is not None
    assert found.status.system_failures == 1  # D6: counted per attempt, not reset by later passes


def test_scenario_abort_while_running_cleans_up_and_reports_aborted() -> None:
    run = _run("abort_while_running")

    assert run.world.cluster.live() == frozenset()
    assert run.world.cluster.finalized() == frozenset({"ta-0"})
    assert run.world.catalog.reservations() == {}
    aborted = run.world.events.events[-1]
    assert aborted.phase is ActionPhase.ABORTED
    assert aborted.updated_time == aborted.reported_time  # R90: updated_time is the abort time
    assert aborted.cluster_events is not None
    assert [c.message for c in aborted.cluster_events] == ["aborted"]


def test_scenario_delete_terminal_cleans_up_without_aborted_event() -> None:
    run = _run("delete_terminal")

    assert run.world.cluster.live() == frozenset()
    assert run.world.cluster.finalized() == frozenset({"ta-0"})
    assert ActionPhase.ABORTED not in {e.phase for e in run.world.events.events}


def test_scenario_delete_terminal_go_compatible_records_aborted_event() -> None:
    scenario = SCENARIOS_BY_NAME["delete_terminal"]
    go = Scenario(scenario.name, "Q1", lambda: _with_policy(scenario, GO_COMPATIBLE), scenario.steps, scenario.expected)

    run = run_scenario(go)

    phases = [phase for _, phase in run.end.actions[TA].events]
    assert phases == [ActionPhase.QUEUED, ActionPhase.RUNNING, ActionPhase.SUCCEEDED, ActionPhase.ABORTED]


def _with_policy(scenario: Scenario, deviations: frozenset[Deviation]) -> World:
    world = scenario.build()
    world.policy = Policy(deviations=deviations)
    return world


# --------------------------------------------------------------------------------------------------------------------
# Conditions and validation


def test_scenario_condition_signalled_signal_fields_survive_status_writes() -> None:
    run = _run("condition_signalled")

    found = run.world.get(COND)
    assert found is not None
    assert (found.status.signal_value, found.status.signalled_by) == (SIGNAL, "alice")
    assert run.world.events.events == ()


def test_scenario_condition_timed_out_at_deadline() -> None:
    run = _run("condition_timed_out")

    assert run.world.clock.now() == T0 + timedelta(seconds=60)


def test_scenario_validation_missing_fields_warns_and_never_calls_plugin() -> None:
    run = _run("validation_missing_fields")

    [warning] = run.world.recorder.events
    assert (warning.reason, warning.action) == ("FailedValidation", "ValidatingTaskAction")
    assert warning.note == "required spec fields are empty: [taskType inputUri]"
    assert run.world.plugin.calls == ()


def test_scenario_validation_plugin_not_found_warns_plugin_resolve() -> None:
    run = _run("validation_plugin_not_found")

    [warning] = run.world.recorder.events
    assert warning.reason == "FailedPluginResolve"
    assert warning.note == (
        'no plugin found for task type "spark": no plugin registered for task type "spark" and no default plugin'
        " available"
    )


# --------------------------------------------------------------------------------------------------------------------
# Requeue cadence and the driver loop


def _running_forever(policy: Policy | None = None) -> World:
    world = new_world(policy=policy, scripts={"ta": ((RunForever(),),)})
    world.create(a_task(TA))
    return world


def _steady_cadence(world: World, passes: int) -> tuple[set[object], timedelta]:
    """Drive until Running is persisted, then ``passes`` more: their results and how far the clock moved."""
    drive(world, TA, until=lambda w: (found := w.get(TA)) is not None and found.status.plugin_phase == "PhaseRunning")
    drive(world, TA, max_passes=1)  # the write-triggered pass after the Running status write (R29)
    started = world.clock.now()
    report = drive(world, TA, max_passes=passes)
    return {p.result for p in report.passes}, world.clock.now() - started


def test_drive_running_action_requeues_every_ten_seconds_by_default() -> None:
    results, elapsed = _steady_cadence(_running_forever(), passes=6)

    assert results == {RequeueAfter(timedelta(seconds=10))}
    assert elapsed == timedelta(seconds=50)  # the first of the six runs at once: a fresh driver starts due now


def test_drive_running_action_requeues_at_configured_duration() -> None:
    results, elapsed = _steady_cadence(_running_forever(Policy(requeue_after=timedelta(seconds=30))), passes=3)

    assert results == {RequeueAfter(timedelta(seconds=30))}
    assert elapsed == timedelta(seconds=60)


def test_drive_write_with_done_result_triggers_immediate_pass() -> None:
    world = _running_forever()

    report = drive(world, TA, max_passes=2)

    assert report.passes[0].result == Done()  # R31: the finalizer Update ends the pass...
    assert report.passes[1].effects_performed  # ...and its watch event brings the key back at once (R29)
    assert world.clock.now() == T0


def test_drive_terminal_action_quiesces_on_done_without_write() -> None:
    world = new_world()
    world.create(a_task(TA))

    report = drive(world, TA)

    assert report.quiescent
    assert report.passes[-1].result == Done()
    assert report.passes[-1].effects_performed == ()


def test_drive_failed_pass_retried_after_exponential_backoff() -> None:
    world = new_world()
    world.create(a_task(TA))
    world.store.faults.fail_times("get", 3, StoreError(StoreErrorKind.UNAVAILABLE, "down"))

    report = drive(world, TA, max_passes=4)

    assert [type(p.result) for p in report.passes[:3]] == [Failed, Failed, Failed]
    assert world.clock.now() == T0 + timedelta(milliseconds=5 + 10 + 20)
    found = world.get(TA)
    assert found is not None
    assert found.metadata.finalizers  # the fourth pass got through


def test_drive_until_predicate_stops_before_next_pass() -> None:
    world = _running_forever()

    report = drive(world, TA, until=lambda w: w.clock.now() >= T0 + timedelta(seconds=10))

    assert report.stop is StopReason.UNTIL
    assert world.clock.now() == T0 + timedelta(seconds=10)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        (1, timedelta(milliseconds=5)),
        (2, timedelta(milliseconds=10)),
        (4, timedelta(milliseconds=40)),
        (18, timedelta(seconds=655.36)),
        (19, timedelta(seconds=1000)),
        (400, timedelta(seconds=1000)),
    ],
)
def test_error_backoff_consecutive_failures_doubles_up_to_cap(failures: int, delay: timedelta) -> None:
    assert error_backoff(failures) == delay
