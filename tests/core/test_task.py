"""The task path (R30–R48) as a rule table: exact effects, in order, and the exact resulting status and result.

Cache rules (R49–R56) are in test_cache.py and system-failure accounting (R57–R63) in test_failures.py; the
exit paths of §20 are named ``X<n>`` in the tests that reach them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure

from taskaction_core.decision import Ask, Decision, Done, RequeueAfter
from taskaction_core.effects import (
    AbortPlugin,
    AddFinalizer,
    FailPass,
    FinalEffect,
    Ignore,
    InvokePlugin,
    Log,
    LogLevel,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    RecordWarning,
    StatusScope,
)
from taskaction_core.observations import Observations, PluginStateWrite, PortFailure
from taskaction_core.phase_info import (
    PHASE_INFO_UNDEFINED,
    ExecutionError,
    ExternalResource,
    PhaseInfo,
    TaskInfo,
    TaskLog,
    phase_info_aborted,
    phase_info_failure,
    phase_info_initializing,
    phase_info_not_ready,
    phase_info_queued,
    phase_info_running,
    phase_info_success,
    phase_info_waiting_for_cache,
    phase_info_waiting_for_resources,
)
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import (
    FINALIZER,
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    Condition,
    ErrorState,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.testing.builders import (
    T0,
    handled,
    observations_at,
    retryable,
    running,
    succeeded,
)
from tests.core.task_helpers import (
    AFTER_RD,
    DEFAULT,
    GO,
    T1,
    Script,
    a_task,
    cond,
    context_of,
    drive,
    drive_with_questions,
    event,
    hist,
    persisted,
    progressing,
    recorded,
    state_json,
    terminal_labels,
    without,
)

BOTH = pytest.mark.parametrize("policy", [DEFAULT, GO], ids=["default", "go"])
"""Rules no deviation touches hold under both policies."""

RUNNING_AT_T0 = TaskActionStatus(
    state_json=state_json("PhaseRunning"),
    plugin_phase="PhaseRunning",
    attempts=1,
    conditions=pvector([progressing("Executing")]),
    phase_history=pvector([hist("Executing")]),
)
"""What the first Running pass at T0 persists on a fresh object."""


def decide(task_action: TaskAction, observations: Observations, policy: Policy = DEFAULT) -> Decision:
    round_ = reconcile(task_action, observations, policy)
    assert isinstance(round_, Decision), f"expected a decision, got {round_}"
    return round_


def with_spec(task_action: TaskAction, **fields: object) -> TaskAction:
    return replace(task_action, spec=replace(task_action.spec, **fields))  # type: ignore[arg-type]


def with_status(task_action: TaskAction, status: TaskActionStatus) -> TaskAction:
    return replace(task_action, status=status)


# --- R30 validation (X11) -----------------------------------------------------------------------------------------

REQUIRED = [
    ("run_name", "runName"),
    ("project", "project"),
    ("domain", "domain"),
    ("action_name", "actionName"),
    ("task_type", "taskType"),
    ("task_template", "taskTemplate"),
    ("input_uri", "inputUri"),
    ("run_output_base", "runOutputBase"),
]


def validation_decision(task_action: TaskAction, reason: str, warning: str, message: str) -> Decision:
    """R30/X11: the whole expected decision of a validation failure on a fresh object."""
    status = replace(
        task_action.status,
        conditions=pvector([cond("Failed", "True", reason, message), cond("Progressing", "False", reason, message)]),
    )
    effects = (
        RecordWarning(warning, "ValidatingTaskAction", message),
        PersistStatus(status, StatusScope.WHOLE, False, "1", Ignore("validation status write (Go ignores its error)")),
    )
    return Decision(replace(task_action, status=status), effects, Done())


@BOTH
@pytest.mark.parametrize(("field", "wire"), REQUIRED, ids=[wire for _, wire in REQUIRED])
def test_validation_one_field_missing_R30_X11_fails_with_invalid_spec(field: str, wire: str, policy: Policy) -> None:
    """R30/X11: each required field alone; Warning FailedValidation, [Failed, Progressing], one ignored write, DONE."""
    empty: object = b"" if field == "task_template" else ""
    task_action = with_spec(a_task(), **{field: empty})
    message = f"required spec fields are empty: [{wire}]"
    decision = decide(task_action, observations_at(T0), policy)
    assert decision == validation_decision(task_action, "InvalidSpec", "FailedValidation", message)


def test_validation_several_missing_R30_lists_wire_names_in_spec_order() -> None:
    """R30: the spec's own example, ``[taskType inputUri]``, whatever order the fields are cleared in."""
    task_action = with_spec(a_task(), input_uri="", task_type="")
    decision = decide(task_action, observations_at(T0))
    expected = "required spec fields are empty: [taskType inputUri]"
    assert decision == validation_decision(task_action, "InvalidSpec", "FailedValidation", expected)


def test_validation_all_missing_R30_lists_all_eight_in_order() -> None:
    """R30: all eight, space-separated, in the check order."""
    task_action = with_spec(a_task(), **{field: b"" if field == "task_template" else "" for field, _ in REQUIRED})
    decision = decide(task_action, observations_at(T0))
    message = (
        "required spec fields are empty: "
        "[runName project domain actionName taskType taskTemplate inputUri runOutputBase]"
    )
    assert decision == validation_decision(task_action, "InvalidSpec", "FailedValidation", message)


def test_validation_empty_template_bytes_R30_count_as_missing() -> None:
    """R30: a zero-length taskTemplate is missing (it would otherwise parse as the empty template)."""
    task_action = with_spec(a_task(), task_template=b"")
    decision = decide(task_action, observations_at(T0))
    assert decision.effects[0] == RecordWarning(
        "FailedValidation", "ValidatingTaskAction", "required spec fields are empty: [taskTemplate]"
    )


@BOTH
def test_validation_plugin_not_found_R30_X11_quotes_task_type_like_go(policy: Policy) -> None:
    """R30/X11: PluginNotFound, ``no plugin found for task type %q: <resolver error>``; Warning FailedPluginResolve."""
    task_action = with_spec(a_task(), task_type='py"thon\n')
    observations = Observations(now=T0, plugin=Failure(PortFailure("nothing registered")))
    message = 'no plugin found for task type "py\\"thon\\n": nothing registered'
    decision = decide(task_action, observations, policy)
    assert decision == validation_decision(task_action, "PluginNotFound", "FailedPluginResolve", message)


def test_validation_missing_fields_R30_are_checked_before_plugin_resolution() -> None:
    """R30: a missing field wins over an unresolvable plugin."""
    task_action = with_spec(a_task(), domain="")
    decision = decide(task_action, observations_at(T0, plugin_id=None))
    message = "required spec fields are empty: [domain]"
    assert decision == validation_decision(task_action, "InvalidSpec", "FailedValidation", message)


def test_validation_failure_R30_comes_before_the_finalizer_and_adds_none() -> None:
    """R30/Q7: no finalizer, no history, no errorState, no event and no labels on a validation failure."""
    task_action = with_spec(a_task(with_finalizer=False), run_name="")
    decision = decide(task_action, observations_at(T0))
    assert decision.task_action.metadata == task_action.metadata
    assert decision.task_action.status.phase_history == pvector()
    assert decision.task_action.status.error_state is None
    assert [type(effect) for effect in decision.effects] == [RecordWarning, PersistStatus]


def test_validation_failure_R30_keeps_existing_conditions_first() -> None:
    """R30 with R6 upserts: an existing Progressing condition is updated in place, Failed is appended after it."""
    task_action = with_spec(with_status(a_task(), RUNNING_AT_T0), task_type="")
    message = "required spec fields are empty: [taskType]"
    decision = decide(task_action, observations_at(T1))
    assert decision.task_action.status.conditions == pvector(
        [
            progressing("InvalidSpec", message, status="False", at=T1),
            cond("Failed", "True", "InvalidSpec", message, at=T1),
        ]
    )


# --- R31 finalizer (X12) ------------------------------------------------------------------------------------------


@BOTH
def test_finalizer_missing_R31_X12_is_added_with_an_update_and_done(policy: Policy) -> None:
    """R31/X12: append the finalizer, Update against the read version (error fails the pass), DONE; no plugin call."""
    task_action = a_task(with_finalizer=False, resource_version="7")
    decision = decide(task_action, observations_at(T0), policy)
    expected_meta = replace(task_action.metadata, finalizers=pvector([FINALIZER]))
    assert decision == Decision(
        replace(task_action, metadata=expected_meta), (AddFinalizer(FINALIZER, "7", FailPass()),), Done()
    )


def test_finalizer_R31_is_appended_after_foreign_finalizers() -> None:
    task_action = a_task(with_finalizer=False)
    task_action = replace(task_action, metadata=replace(task_action.metadata, finalizers=pvector(["other/x"])))
    decision = decide(task_action, observations_at(T0))
    assert decision.task_action.metadata.finalizers == pvector(["other/x", FINALIZER])


def test_finalizer_present_R31_goes_on_to_the_plugin() -> None:
    round_ = reconcile(a_task(), observations_at(T0), DEFAULT)
    assert isinstance(round_, Ask)
    assert round_.question == InvokePlugin("test-plugin", context_of(a_task()))


# --- R33 task execution context (X13) -----------------------------------------------------------------------------

BAD_BASE = ":foo"
BAD_BASE_ERROR = 'invalid RunOutputBase ":foo": parse ":foo": missing protocol scheme'


def test_context_error_go_R33_X13_logs_and_requeues_without_status() -> None:
    """R33/X13 (D5 off): log, AFTER(rd); no status, no event, no counting, no plugin or catalog call."""
    task_action = a_task(run_output_base=BAD_BASE, cacheable=True, serializable=True)
    decision = decide(task_action, observations_at(T0), without(Deviation.D5_COUNT_ENDLESS_FAILURES))
    assert decision == Decision(task_action, (Log(LogLevel.ERROR, BAD_BASE_ERROR),), AFTER_RD)


def test_context_error_go_R33_X13_repeats_identically_forever() -> None:
    """Q6: the Go loop; the next pass decides exactly the same."""
    task_action = a_task(run_output_base=BAD_BASE)
    first = decide(task_action, observations_at(T0), GO)
    second = decide(first.task_action, observations_at(T1), GO)
    assert second == first


def test_context_error_d5_R33_counts_as_a_system_failure() -> None:
    """D5 (Q6): the context error is a system failure: Log, Warning, durable counter write (D4), AFTER(rd)."""
    task_action = a_task(run_output_base=BAD_BASE)
    decision = decide(task_action, observations_at(T0))
    status = replace(task_action.status, system_failures=1)
    assert decision == Decision(
        with_status(task_action, status),
        (
            Log(LogLevel.ERROR, f"plugin system error: {BAD_BASE_ERROR}"),
            RecordWarning(
                "FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {BAD_BASE_ERROR}'
            ),
            persisted(status),
        ),
        AFTER_RD,
    )


def test_context_error_d5_R33_after_the_ceiling_fails_permanently() -> None:
    """D5 + R57/R61: the 4th context error ends in PermanentFailure; the event has no outputs (R72: path invalid)."""
    task_action = a_task(run_output_base=BAD_BASE, status=TaskActionStatus(system_failures=3))
    decision = decide(task_action, observations_at(T0))
    message = f'plugin "test-plugin" failed with system error 4 times: {BAD_BASE_ERROR}'
    status = TaskActionStatus(
        plugin_phase="PhasePermanentFailure",
        system_failures=4,
        conditions=pvector(
            [
                progressing("PermanentFailure", message, status="False"),
                cond("Failed", "True", "PermanentFailure", message),
            ]
        ),
        phase_history=pvector([hist("PermanentFailure", message)]),
        error_state=ErrorState("MaxSystemFailuresExceeded", "SYSTEM", message),
    )
    failed = event(ActionPhase.FAILED, error=(message, ErrorKind.SYSTEM), with_outputs=False)
    assert decision.effects == (
        Log(LogLevel.ERROR, f"plugin system error: {BAD_BASE_ERROR}"),
        RecordWarning("FailedPluginHandle", "HandlingPlugin", f'Plugin "test-plugin" system error: {BAD_BASE_ERROR}'),
        recorded(failed),
        persisted(status),
        terminal_labels(),
    )
    assert decision.result == Done()


# --- R41 phase → conditions and history, R45 scalar fields, R46 persist, R47 labels, R48 result (X22) ---------------

SUCCEEDED_CONDITIONS = [
    progressing("Completed", "TaskAction has completed", status="False"),
    cond("Succeeded", "True", "Completed", "TaskAction completed successfully"),
]
ABORTED_CONDITIONS = [
    progressing("Aborted", "TaskAction was aborted", status="False"),
    cond("Failed", "True", "Aborted", "TaskAction was aborted"),
]
USER_ERROR = ExecutionError("OOM", "out of memory", ErrorKind.USER)
PF_CONDITIONS = [
    progressing("PermanentFailure", "out of memory", status="False"),
    cond("Failed", "True", "PermanentFailure", "out of memory"),
]

# (id, PhaseInfo, conditions, history, errorState, event phase, cluster events, terminal)
MAPPING = [
    (
        "not-ready",
        phase_info_not_ready(T0, 0, "no capacity"),
        [progressing("Queued", "no capacity")],
        [hist("Queued", "no capacity")],
        None,
        ActionPhase.QUEUED,
        (("no capacity", T0),),
        False,
    ),
    (
        "waiting-for-resources",
        phase_info_waiting_for_resources(T0, 0, "quota"),
        [progressing("Queued", "quota")],
        [hist("Queued", "quota")],
        None,
        ActionPhase.WAITING_FOR_RESOURCES,
        (("quota", T0),),
        False,
    ),
    (
        "queued",
        phase_info_queued(T0, 0, "pod created"),
        [progressing("Queued", "pod created")],
        [hist("Queued", "pod created")],
        None,
        ActionPhase.QUEUED,
        (("pod created", T0),),
        False,
    ),
    (
        "waiting-for-cache",
        phase_info_waiting_for_cache(T0, 0, None).with_reason("owner busy"),
        [progressing("Queued", "owner busy")],
        [hist("Queued", "owner busy")],
        None,
        ActionPhase.WAITING_FOR_RESOURCES,
        (("owner busy", T0),),
        False,
    ),
    (
        "initializing",
        phase_info_initializing(T0, 0, "pulling image", None),
        [progressing("Initializing", "pulling image")],
        [hist("Initializing", "pulling image")],
        None,
        ActionPhase.INITIALIZING,
        (("pulling image", T0),),
        False,
    ),
    (
        "running",
        phase_info_running(T0, 0, None),
        [progressing("Executing")],
        [hist("Executing")],
        None,
        ActionPhase.RUNNING,
        None,
        False,
    ),
    (
        "success",
        phase_info_success(T0, None),
        SUCCEEDED_CONDITIONS,
        [hist("Completed", "TaskAction completed successfully")],
        None,
        ActionPhase.SUCCEEDED,
        None,
        True,
    ),
    (
        "permanent-failure",
        phase_info_failure(T0, "OOM", "out of memory", None),
        PF_CONDITIONS,
        [hist("PermanentFailure", "out of memory")],
        ErrorState("OOM", "USER", "out of memory"),
        ActionPhase.FAILED,
        None,
        True,
    ),
    (
        "permanent-failure-without-error-uses-reason",
        PhaseInfo(PluginPhase.PERMANENT_FAILURE, 0, TaskInfo(occurred_at=T0), None, "gone"),
        [progressing("PermanentFailure", "gone", status="False"), cond("Failed", "True", "PermanentFailure", "gone")],
        [hist("PermanentFailure", "gone")],
        None,
        ActionPhase.FAILED,
        (("gone", T0),),
        True,
    ),
    (
        "aborted",
        phase_info_aborted(T0, 0, "killed"),
        ABORTED_CONDITIONS,
        [hist("Aborted", "TaskAction was aborted")],
        None,
        ActionPhase.ABORTED,
        (("killed", T0),),
        True,
    ),
]


@pytest.mark.parametrize(
    ("info", "conditions", "history", "error_state", "phase", "cluster_events", "terminal"),
    [row[1:] for row in MAPPING],
    ids=[str(row[0]) for row in MAPPING],
)
def test_phase_mapping_R41_R45_R46_R47_R48_X22_exact_decision(
    info: PhaseInfo,
    conditions: list[Condition],
    history: list[PhaseHistoryEntry],
    error_state: ErrorState | None,
    phase: ActionPhase,
    cluster_events: tuple[tuple[str, datetime], ...] | None,
    terminal: bool,
) -> None:
    """R41 table row by row on a fresh object: conditions in order, history, errorState; R45 scalars; R46 event then
    status; R47 labels only when terminal; R48/X22 AFTER(rd) even when terminal (Q17)."""
    task_action = a_task()
    decision = decide(task_action, observations_at(T0, handle=handled(info)))
    status = TaskActionStatus(
        state_json=state_json(info.phase.wire_name),
        plugin_phase=info.phase.wire_name,
        attempts=1,
        conditions=pvector(conditions),
        phase_history=pvector(history),
        error_state=error_state,
    )
    error = (info.err.message, info.err.kind) if info.err is not None else None
    effects: tuple[FinalEffect, ...] = (
        recorded(event(phase, error=error, cluster_events=cluster_events)),
        persisted(status),
    )
    working = with_status(task_action, status)
    if terminal:
        effects = (*effects, terminal_labels())
        labels = {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-00"}
        working = replace(working, metadata=replace(working.metadata, labels=pmap(labels)))
    assert decision == Decision(working, effects, AFTER_RD)


def test_phase_mapping_undefined_Q23_R41_writes_no_condition_but_attempts_and_an_unspecified_event() -> None:
    """Q23: Undefined with no error: no conditions or history, pluginPhase PhaseUndefined, attempts 0 → 1, and an
    ACTION_PHASE_UNSPECIFIED event (updated time = now, empty history; no cluster events)."""
    task_action = a_task()
    decision = decide(task_action, observations_at(T0, handle=handled(PHASE_INFO_UNDEFINED)))
    status = TaskActionStatus(state_json=state_json("PhaseUndefined"), plugin_phase="PhaseUndefined", attempts=1)
    assert decision == Decision(
        with_status(task_action, status),
        (recorded(event(ActionPhase.UNSPECIFIED)), persisted(status)),
        AFTER_RD,
    )


def test_phase_mapping_undefined_Q23_again_is_a_fixpoint() -> None:
    """Q23 + R46: once attempts is 1 and the phase is recorded, Undefined changes nothing."""
    first = decide(a_task(), observations_at(T0, handle=handled(PHASE_INFO_UNDEFINED)))
    second = decide(first.task_action, observations_at(T1, handle=handled(PHASE_INFO_UNDEFINED)))
    assert second == Decision(first.task_action, (), AFTER_RD)


def test_phase_mapping_R41_appends_after_existing_history_and_keeps_transition_times() -> None:
    """R41 + R6/R9: Running → Success at T1: Progressing flips to False at T1; Succeeded is appended; history grows;
    the event's updated time is when Completed was entered (R75)."""
    task_action = a_task(status=RUNNING_AT_T0)
    decision = decide(task_action, observations_at(T1, handle=succeeded(T1)))
    status = replace(
        RUNNING_AT_T0,
        state_json=state_json("PhaseSuccess", T1),
        plugin_phase="PhaseSuccess",
        conditions=pvector(
            [
                progressing("Completed", "TaskAction has completed", status="False", at=T1),
                cond("Succeeded", "True", "Completed", "TaskAction completed successfully", at=T1),
            ]
        ),
        phase_history=pvector([hist("Executing"), hist("Completed", "TaskAction completed successfully", T1)]),
    )
    assert decision.effects == (
        recorded(event(ActionPhase.SUCCEEDED, updated=T1, reported=T1)),
        persisted(status),
        terminal_labels(T1),
    )


def test_phase_mapping_R41_same_phase_new_reason_updates_condition_keeps_history() -> None:
    """R41 + R9: a new Queued reason updates the condition message but no history entry is added (last is Queued);
    the event's updated time stays when Queued was entered (R75, Q19)."""
    queued = TaskActionStatus(
        state_json=state_json("PhaseQueued"),
        plugin_phase="PhaseQueued",
        attempts=1,
        conditions=pvector([progressing("Queued", "pod created")]),
        phase_history=pvector([hist("Queued", "pod created")]),
    )
    task_action = a_task(status=queued)
    decision = decide(task_action, observations_at(T1, handle=handled(phase_info_queued(T1, 1, "image pull"))))
    status = replace(
        queued,
        state_json=state_json("PhaseQueued", T1),
        plugin_phase_version=1,
        conditions=pvector([progressing("Queued", "image pull")]),
    )
    assert decision.effects == (
        recorded(event(ActionPhase.QUEUED, version=1, updated=T0, reported=T1, cluster_events=(("image pull", T1),))),
        persisted(status),
    )


def test_no_change_R46_X22_writes_nothing_and_requeues() -> None:
    """R46/X22: the same Running report again: no event, no status write, AFTER(rd); the object is untouched."""
    task_action = a_task(status=RUNNING_AT_T0)
    decision = decide(task_action, observations_at(T1, handle=running(now=T1)))
    assert decision == Decision(task_action, (), AFTER_RD)
    assert decision.task_action is task_action


def test_fixpoint_R46_the_persisted_result_of_a_pass_is_a_fixpoint() -> None:
    """R46: feeding a pass's own object back with the same report decides nothing new."""
    first = decide(a_task(), observations_at(T0, handle=running()))
    second = decide(first.task_action, observations_at(T1, handle=running(now=T1)))
    assert second == Decision(first.task_action, (), AFTER_RD)


def test_phase_version_bump_R45_R46_is_a_change_with_the_new_version() -> None:
    """R45: pluginPhaseVersion is the PhaseInfo version; a bump alone persists and sends an event of that version."""
    task_action = a_task(status=RUNNING_AT_T0)
    decision = decide(task_action, observations_at(T1, handle=running(version=2, now=T1)))
    status = replace(RUNNING_AT_T0, plugin_phase_version=2, state_json=state_json("PhaseRunning", T1))
    assert decision.effects == (
        recorded(event(ActionPhase.RUNNING, version=2, updated=T0, reported=T1)),
        persisted(status),
    )


def test_cache_status_R45_R73_comes_from_the_plugin_task_info() -> None:
    """R45/R73: the first non-DISABLED external resource cache status, in status and event."""
    resources = pvector(
        [
            ExternalResource("a"),
            ExternalResource("b", CacheStatus.CACHE_SKIPPED),
            ExternalResource("c", CacheStatus.CACHE_HIT),
        ]
    )
    info = phase_info_running(T0, 0, TaskInfo(occurred_at=T0, external_resources=resources))
    decision = decide(a_task(), observations_at(T0, handle=handled(info)))
    assert decision.task_action.status.cache_status == CacheStatus.CACHE_SKIPPED
    effect = decision.effects[0]
    assert isinstance(effect, RecordActionEvent)
    assert effect.event.cache_status == CacheStatus.CACHE_SKIPPED


def test_attempts_R45_keep_a_nonzero_value() -> None:
    """R45: attempts stays as persisted when already ≥ 1 (only 0 becomes 1)."""
    task_action = a_task(status=replace(RUNNING_AT_T0, attempts=3))
    decision = decide(task_action, observations_at(T1, handle=succeeded(T1)))
    assert decision.task_action.status.attempts == 3
    effect = decision.effects[0]
    assert isinstance(effect, RecordActionEvent)
    assert effect.event.attempt == 3
    assert effect.event.outputs is not None
    assert effect.event.outputs.output_uri == "s3://bucket/jy/run/a0/3/outputs.pb"


def test_terminal_labels_R47_already_present_are_not_patched() -> None:
    """R47/R67: both GC labels present already: no patch, the rest unchanged."""
    labels = {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-01-01.00-00"}
    task_action = a_task(status=RUNNING_AT_T0, labels=labels)
    decision = decide(task_action, observations_at(T1, handle=succeeded(T1)))
    assert [type(effect) for effect in decision.effects] == [RecordActionEvent, PersistStatus]
    assert decision.task_action.metadata.labels == pmap(labels)


def test_result_R48_uses_the_configured_requeue_duration_even_when_terminal() -> None:
    """R48/Q17: AFTER(rd) with rd from the policy, also right after becoming terminal."""
    policy = Policy(requeue_after=timedelta(seconds=42))
    decision = decide(a_task(), observations_at(T0, handle=succeeded()), policy)
    assert decision.result == RequeueAfter(timedelta(seconds=42))


def test_event_fields_R68_carry_logs_and_cluster_id() -> None:
    """R68: log_info and log_context from TaskInfo, cluster from the policy."""
    logs = pvector([TaskLog("https://logs/1", "stdout")])
    info = phase_info_running(T0, 0, TaskInfo(occurred_at=T0, logs=logs, log_context=b"ctx"))
    decision = decide(a_task(), observations_at(T0, handle=handled(info)), Policy(cluster_id="c1"))
    expected = replace(event(ActionPhase.RUNNING), cluster="c1", log_info=logs, log_context=b"ctx")
    assert decision.effects[0] == recorded(expected)


def test_persist_and_event_R65_X20_fail_the_pass_event_first() -> None:
    """X20: the event is recorded before the status, both fail the pass (the event with its publish warning)."""
    decision = decide(a_task(), observations_at(T0, handle=running()))
    event_effect, status_effect = decision.effects
    assert isinstance(event_effect, RecordActionEvent)
    assert event_effect.on_failure == FailPass()
    assert event_effect.warning is not None
    assert event_effect.warning.note_prefix == 'Failed to persist action event "a0": '
    assert isinstance(status_effect, PersistStatus)
    assert (status_effect.retry_conflicts, status_effect.on_failure) == (True, FailPass())


def test_label_patch_R47_X21_comes_after_the_status_and_fails_the_pass() -> None:
    """X21: the label patch is last, after the status it follows, and its failure fails the pass."""
    decision = decide(a_task(), observations_at(T0, handle=succeeded()))
    assert [type(effect) for effect in decision.effects] == [RecordActionEvent, PersistStatus, PatchLabels]
    patch = decision.effects[-1]
    assert isinstance(patch, PatchLabels)
    assert patch.on_failure == FailPass()


# --- R42 stateJson -------------------------------------------------------------------------------------------------


def test_state_json_R42_exact_text() -> None:
    """R42: compact, keys sorted, seconds, the spec's own example."""
    decision = decide(a_task(), observations_at(T0, handle=running()))
    assert (
        decision.task_action.status.state_json
        == '{"actionId":"run1/a0","phase":"PhaseRunning","timestamp":"2026-08-08T12:00:00Z"}'
    )


def test_state_json_R42_uses_the_zone_of_now_and_go_html_escaping() -> None:
    """R42/Q33: the timestamp in ``now``'s own zone with its offset, sub-seconds dropped; ``<>&`` escaped as Go."""
    task_action = with_spec(a_task(), run_name="r<1>&")
    now = datetime(2026, 8, 8, 14, 0, 0, 999_000, tzinfo=timezone(timedelta(hours=2)))
    decision = decide(task_action, observations_at(now, handle=running(now=now)))
    assert decision.task_action.status.state_json == (
        '{"actionId":"r\\u003c1\\u003e\\u0026/a0","phase":"PhaseRunning","timestamp":"2026-08-08T14:00:00+02:00"}'
    )


def test_state_json_R42_is_not_part_of_the_change_predicate() -> None:
    """R42/R64: a later pass with nothing else changed keeps the old stateJson (it is not rewritten)."""
    task_action = a_task(status=RUNNING_AT_T0)
    later = datetime(2026, 8, 9, tzinfo=UTC)
    decision = decide(task_action, observations_at(later, handle=running(now=later)))
    assert decision.task_action.status.state_json == state_json("PhaseRunning", T0)


# --- R43 plugin state ----------------------------------------------------------------------------------------------


def test_plugin_state_R43_written_state_is_persisted() -> None:
    """R43: Put during Handle → new bytes and version in status (and the change alone is persisted, R64)."""
    task_action = a_task(status=RUNNING_AT_T0)
    write = PluginStateWrite(b"s1", 1)
    decision = decide(task_action, observations_at(T1, handle=handled(phase_info_running(T1, 0, None), write)))
    status = replace(
        RUNNING_AT_T0, plugin_state=b"s1", plugin_state_version=1, state_json=state_json("PhaseRunning", T1)
    )
    assert decision.effects == (recorded(event(ActionPhase.RUNNING, reported=T1)), persisted(status))


def test_plugin_state_R43_not_written_keeps_previous_state() -> None:
    """R43: no write during Handle → previous bytes and version kept (and nothing else changed: no effects)."""
    previous = replace(RUNNING_AT_T0, plugin_state=b"s1", plugin_state_version=1)
    task_action = a_task(status=previous)
    decision = decide(task_action, observations_at(T1, handle=running(now=T1)))
    assert decision == Decision(task_action, (), AFTER_RD)


def test_plugin_state_R43_reset_clears_state() -> None:
    """R43/R101: Reset (empty bytes, version 0) is a write like any other."""
    previous = replace(RUNNING_AT_T0, plugin_state=b"s1", plugin_state_version=1)
    task_action = a_task(status=previous)
    info = phase_info_running(T1, 0, None)
    decision = decide(task_action, observations_at(T1, handle=handled(info, PluginStateWrite(b"", 0))))
    assert decision.task_action.status.plugin_state == b""
    assert decision.task_action.status.plugin_state_version == 0
    assert [type(effect) for effect in decision.effects] == [RecordActionEvent, PersistStatus]


def test_plugin_state_R32_is_handed_to_the_plugin_in_the_context() -> None:
    """R32/R101: the persisted state and version go into the Handle context."""
    task_action = a_task(status=replace(RUNNING_AT_T0, plugin_state=b"s1", plugin_state_version=4))
    round_ = reconcile(task_action, observations_at(T1), DEFAULT)
    assert isinstance(round_, Ask)
    assert isinstance(round_.question, InvokePlugin)
    assert (round_.question.context.plugin_state, round_.question.context.plugin_state_version) == (b"s1", 4)


# --- R40 user retryable failure: in-place restart (R44) and retries exhausted ---------------------------------------


def restart_effects_prefix(task_action: TaskAction, description: str) -> tuple[FinalEffect, ...]:
    return (
        Log(LogLevel.INFO, f"restarting task after retryable failure: {description}"),
        AbortPlugin(
            "test-plugin", context_of(task_action), Ignore("aborting the failed attempt before restart failed")
        ),
    )


def test_restart_d2_R40_R44_reports_failed_attempt_then_queues_next() -> None:
    """R40/R44 with D2 (Q2): Abort (Ignore) the attempt, FAILED event for attempt 1 with its error BEFORE QUEUED for
    attempt 2; errorState kept; history RetryableFailure then Queued; attempts 2; plugin state cleared."""
    running_with_state = replace(RUNNING_AT_T0, plugin_state=b"s1", plugin_state_version=1)
    task_action = a_task(status=running_with_state, retries=2)
    decision = decide(task_action, observations_at(T1, handle=retryable("ValueError", "boom")))
    status = TaskActionStatus(
        state_json=state_json("PhaseQueued", T1),
        plugin_phase="PhaseQueued",
        attempts=2,
        conditions=pvector([progressing("Queued", "restarting task", at=T0)]),
        phase_history=pvector(
            [hist("Executing"), hist("RetryableFailure", "boom", T1), hist("Queued", "restarting task", T1)]
        ),
        error_state=ErrorState("ValueError", "USER", "boom"),
    )
    assert decision == Decision(
        with_status(task_action, status),
        (
            *restart_effects_prefix(task_action, "[ValueError] boom"),
            recorded(event(ActionPhase.FAILED, attempt=1, updated=T1, reported=T1, error=("boom", ErrorKind.USER))),
            recorded(
                event(ActionPhase.QUEUED, attempt=2, updated=T1, reported=T1, cluster_events=(("restarting task", T1),))
            ),
            persisted(status),
        ),
        AFTER_RD,
    )


def test_restart_go_R40_Q2_sends_only_queued_for_the_new_attempt() -> None:
    """R40/Q2 (D2 off): the failure is replaced before anything is recorded: only QUEUED for attempt 2, no
    errorState, no RetryableFailure history."""
    task_action = a_task(status=RUNNING_AT_T0, retries=2)
    policy = without(Deviation.D2_REPORT_FAILED_ATTEMPT)
    decision = decide(task_action, observations_at(T1, handle=retryable("ValueError", "boom")), policy)
    status = TaskActionStatus(
        state_json=state_json("PhaseQueued", T1),
        plugin_phase="PhaseQueued",
        attempts=2,
        conditions=pvector([progressing("Queued", "restarting task", at=T0)]),
        phase_history=pvector([hist("Executing"), hist("Queued", "restarting task", T1)]),
    )
    assert decision == Decision(
        with_status(task_action, status),
        (
            *restart_effects_prefix(task_action, "[ValueError] boom"),
            recorded(
                event(ActionPhase.QUEUED, attempt=2, updated=T1, reported=T1, cluster_events=(("restarting task", T1),))
            ),
            persisted(status),
        ),
        AFTER_RD,
    )


def test_restart_R40_attempts_zero_counts_as_one() -> None:
    """R40: current = attempts or 1, so a fresh object restarts into attempt 2."""
    decision = decide(a_task(retries=1), observations_at(T0, handle=retryable()))
    assert decision.task_action.status.attempts == 2


def test_restart_R40_without_error_describes_the_reason() -> None:
    """R40: a RetryableFailure with no error (non-SYSTEM by definition) restarts; the log names the reason."""
    info = PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), None, "flaky")
    task_action = a_task(retries=1)
    decision = decide(
        task_action, observations_at(T0, handle=handled(info)), without(Deviation.D2_REPORT_FAILED_ATTEMPT)
    )
    assert decision.effects[0] == Log(LogLevel.INFO, "restarting task after retryable failure: flaky")
    assert decision.task_action.status.attempts == 2


def test_restart_R40_R105_next_pass_targets_the_new_attempt() -> None:
    """R44/R105: after the restart the next Handle context is attempt 2 (retry 1, name ta-1) with empty state."""
    first = decide(a_task(retries=1, status=RUNNING_AT_T0), observations_at(T1, handle=retryable()))
    round_ = reconcile(first.task_action, observations_at(T1), DEFAULT)
    assert isinstance(round_, Ask)
    assert isinstance(round_.question, InvokePlugin)
    context = round_.question.context
    assert (context.attempt, context.retry, context.generated_name, context.plugin_state) == (2, 1, "ta-1", b"")
    assert context.output_prefix == "s3://bucket/jy/run/a0/2"
    assert context.prev_checkpoint_prefix == "s3://bucket/jy/run/a0/1/_flytecheckpoints"


def test_retries_exhausted_R40_keeps_the_phase_error_and_its_kind() -> None:
    """R40: attempts == max → PermanentFailure with the phase's own error (kind UNKNOWN kept → errorState kind "")
    and the original TaskInfo (logs kept); no Abort."""
    logs = pvector([TaskLog("https://logs/3")])
    err = ExecutionError("Crash", "segfault", ErrorKind.UNKNOWN)
    info = PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 5, TaskInfo(occurred_at=T0, logs=logs), err, "why")
    task_action = a_task(status=replace(RUNNING_AT_T0, attempts=3), retries=2)
    decision = decide(task_action, observations_at(T1, handle=handled(info)))
    status = replace(
        RUNNING_AT_T0,
        attempts=3,
        state_json=state_json("PhasePermanentFailure", T1),
        plugin_phase="PhasePermanentFailure",
        conditions=pvector(
            [
                progressing("PermanentFailure", "segfault", status="False", at=T1),
                cond("Failed", "True", "PermanentFailure", "segfault", T1),
            ]
        ),
        phase_history=pvector([hist("Executing"), hist("PermanentFailure", "segfault", T1)]),
        error_state=ErrorState("Crash", "", "segfault"),
    )
    failed = replace(
        event(ActionPhase.FAILED, attempt=3, updated=T1, reported=T1, error=("segfault", ErrorKind.UNKNOWN)),
        log_info=logs,
    )
    assert decision == Decision(
        replace(
            with_status(task_action, status),
            metadata=replace(
                task_action.metadata,
                labels=pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-00"}),
            ),
        ),
        (recorded(failed), persisted(status), terminal_labels(T1)),
        AFTER_RD,
    )


def test_retries_exhausted_R40_without_error_is_max_retries_exceeded() -> None:
    """R40: no phase error → USER ``MaxRetriesExceeded`` ``task failed after <n> attempt(s)``."""
    info = PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0))
    task_action = a_task(status=replace(RUNNING_AT_T0, attempts=2), retries=1)
    decision = decide(task_action, observations_at(T1, handle=handled(info)))
    assert decision.task_action.status.error_state == ErrorState(
        "MaxRetriesExceeded", "USER", "task failed after 2 attempt(s)"
    )
    effect = decision.effects[0]
    assert isinstance(effect, RecordActionEvent)
    assert effect.event.error_info is not None
    assert (effect.event.error_info.message, effect.event.error_info.kind) == (
        "task failed after 2 attempt(s)",
        ErrorKind.USER,
    )


@pytest.mark.parametrize(
    "template",
    [{"retries": None}, {"with_metadata": False}, {"retries": 0}],
    ids=["no-retry-strategy", "no-metadata", "zero-retries"],
)
def test_retries_exhausted_R40_R107_max_attempts_defaults_to_one(template: dict[str, object]) -> None:
    """R107: max attempts = retries + 1, or 1 without a retry strategy or metadata: the first failure is final."""
    decision = decide(a_task(**template), observations_at(T0, handle=retryable()))
    assert decision.task_action.status.plugin_phase == "PhasePermanentFailure"
    assert decision.task_action.status.attempts == 1
    assert not any(isinstance(effect, AbortPlugin) for effect in decision.effects)


def test_retries_R40_sequence_restarts_then_fails_on_the_last_attempt() -> None:
    """R40 over passes: retries=1 → attempt 1 fails (restart), attempt 2 fails (permanent)."""
    first = decide(a_task(retries=1), observations_at(T0, handle=retryable(message="one")))
    second = decide(first.task_action, observations_at(T1, handle=retryable(message="two")))
    assert first.task_action.status.attempts == 2
    assert second.task_action.status.attempts == 2
    assert second.task_action.status.error_state == ErrorState("ValueError", "USER", "two")
    assert second.task_action.status.plugin_phase == "PhasePermanentFailure"


# --- exit paths through the driver ---------------------------------------------------------------------------------


def test_plain_task_round_protocol_R36_asks_only_the_plugin() -> None:
    """R36: a non-cacheable task asks one question, InvokePlugin with the attempt's context, then decides."""
    task_action = a_task()
    questions, decision = drive_with_questions(task_action, Script(handle=running()))
    assert questions == [InvokePlugin("test-plugin", context_of(task_action))]
    assert decision.result == AFTER_RD


def test_normal_pass_X22_go_and_default_agree_on_a_plain_run() -> None:
    """X22: Running then Success, identical under Go and the default policy for a plain task."""
    for policy in (DEFAULT, GO):
        first = drive(a_task(), Script(handle=running()), policy)
        second = drive(first.task_action, Script(handle=succeeded(T1), now=T1), policy)
        assert first.task_action.status == RUNNING_AT_T0
        assert second.task_action.status.plugin_phase == "PhaseSuccess"
        assert second.result == AFTER_RD
