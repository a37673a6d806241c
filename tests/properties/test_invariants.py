"""The laws of ``taskaction_core.invariants`` hold on real decisions and catch each kind of violation.

Every law is run on a decision the core really made (no violation expected) and on that decision tampered with in
the one way the law forbids (exactly that violation expected), so a law that silently passes everything fails here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core import invariants
from taskaction_core.action_event import ActionId
from taskaction_core.decision import Decision, Done, RequeueAfter
from taskaction_core.effects import (
    AddFinalizer,
    FailPass,
    FinalEffect,
    Log,
    LogLevel,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    RemoveFinalizer,
    StatusScope,
)
from taskaction_core.invariants import store_after, violations
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, Observations, PluginResolved, PortFailure
from taskaction_core.phases import ConditionStatus, ConditionType, Reason
from taskaction_core.policy import GO_COMPATIBLE, Policy
from taskaction_core.records import (
    FINALIZER,
    MAX_CONDITION_MESSAGE,
    Condition,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.testing.builders import (
    T0,
    a_condition_action,
    a_task_action,
    handle_failed,
    retryable,
    running,
    succeeded,
)
from taskaction_core.testing.strategies import OwnReservation, PassTrace, World, trace_pass

POLICY = Policy()
LATER = T0 + timedelta(minutes=5)
NOT_FOUND: Failure[CatalogFailure] = Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "miss"))


def world(**answers: object) -> World:
    """A world where the plugin resolves, the cache misses, the reservation is ours and Handle says Running."""
    defaults: dict[str, object] = {
        "plugin": Success(PluginResolved("test-plugin")),
        "cache_lookup": NOT_FOUND,
        "cached_outputs_write": Success(None),
        "reservation": OwnReservation(),
        "handle": running(),
        "cache_put": Success(None),
    }
    defaults.update(answers)
    return World(**defaults)  # type: ignore[arg-type]


def traced(task_action: TaskAction, policy: Policy = POLICY, **answers: object) -> PassTrace:
    return trace_pass(task_action, world(**answers), policy, LATER)


def check(
    law: invariants.Law, task_action: TaskAction, trace: PassTrace, decision: Decision, policy: Policy = POLICY
) -> list[str]:
    return law(task_action, trace.observations, decision, policy)


def with_effects(decision: Decision, *effects: FinalEffect) -> Decision:
    return replace(decision, effects=effects)


def with_status(decision: Decision, **fields: object) -> Decision:
    """The decision with its decided status, and the status its PersistStatus writes, changed by ``fields``."""
    status = replace(decision.task_action.status, **fields)  # type: ignore[arg-type]
    effects = tuple(replace(e, status=status) if isinstance(e, PersistStatus) else e for e in decision.effects)
    return replace(decision, task_action=replace(decision.task_action, status=status), effects=effects)


RUNNING_TASK = a_task_action(retries=2)
SUCCEEDED_TRACE = traced(RUNNING_TASK, handle=succeeded())
"""A pass that ends terminal: event, status write, then labels (R65, R47)."""
RUNNING_TRACE = traced(RUNNING_TASK)
BUSY_TRACE = traced(a_task_action(cacheable=True, serializable=True))
"""A pass that asked three questions (lookup, reservation, Handle) and wrote event + status."""
TERMINAL_TASK = SUCCEEDED_TRACE.decision.task_action


def test_store_after_finalizer_effects_follow_controller_runtime_helpers() -> None:
    start = a_task_action(with_finalizer=False)
    added = store_after(start, (AddFinalizer(FINALIZER, "1", FailPass()), AddFinalizer(FINALIZER, "1", FailPass())))
    assert list(added.metadata.finalizers) == [FINALIZER]
    doubled = replace(start, metadata=replace(start.metadata, finalizers=pvector([FINALIZER, "x", FINALIZER])))
    assert list(store_after(doubled, (RemoveFinalizer(FINALIZER, "1", FailPass()),)).metadata.finalizers) == ["x"]


def test_store_after_condition_scope_keeps_signal_and_labels_merge() -> None:
    start = a_condition_action(signal_value=b"\x01", signalled_by="alice")
    written = TaskActionStatus(
        conditions=pvector([Condition("Progressing", "True", "Paused")]), signal_value=b"", attempts=7
    )
    effects: tuple[FinalEffect, ...] = (
        PersistStatus(written, StatusScope.CONDITION_FIELDS, True, "1", FailPass()),
        PatchLabels(pmap({"a": "b"}), FailPass()),
        Log(LogLevel.INFO, "ignored"),
    )
    stored = store_after(start, effects)
    assert stored.status == replace(start.status, conditions=written.conditions)
    assert stored.metadata.labels == pmap({"a": "b"})


@pytest.mark.parametrize(
    "before",
    [RUNNING_TASK, a_task_action(with_finalizer=False), a_task_action(run_output_base=":x"), TERMINAL_TASK],
)
@pytest.mark.parametrize("handle", [running(), succeeded(), retryable(), handle_failed("boom", "MetadataTooLarge")])
def test_violations_real_task_decisions_none(before: TaskAction, handle: object) -> None:
    trace = traced(before, handle=handle)
    assert violations(before, trace.observations, trace.decision, POLICY) == []


def test_violations_prefix_each_with_the_law_name() -> None:
    decision = with_effects(SUCCEEDED_TRACE.decision, *reversed(SUCCEEDED_TRACE.decision.effects))
    found = violations(RUNNING_TASK, SUCCEEDED_TRACE.observations, decision, POLICY)
    assert "event_before_status: RecordActionEvent at 2 after PersistStatus at 1" in found
    assert "labels_after_status: PatchLabels at 0 before PersistStatus at 1" in found


def test_event_before_status_event_after_write_reported() -> None:
    event, persist, labels = SUCCEEDED_TRACE.decision.effects
    assert check(invariants.event_before_status, RUNNING_TASK, SUCCEEDED_TRACE, SUCCEEDED_TRACE.decision) == []
    swapped = with_effects(SUCCEEDED_TRACE.decision, persist, event, labels)
    assert check(invariants.event_before_status, RUNNING_TASK, SUCCEEDED_TRACE, swapped) == [
        "RecordActionEvent at 1 after PersistStatus at 0"
    ]


def test_labels_after_status_early_or_non_terminal_labels_reported() -> None:
    event, persist, labels = SUCCEEDED_TRACE.decision.effects
    early = with_effects(SUCCEEDED_TRACE.decision, event, labels, persist)
    assert check(invariants.labels_after_status, RUNNING_TASK, SUCCEEDED_TRACE, early) == [
        "PatchLabels at 1 before PersistStatus at 2"
    ]
    on_running = with_effects(RUNNING_TRACE.decision, *RUNNING_TRACE.decision.effects, labels)
    assert check(invariants.labels_after_status, RUNNING_TASK, RUNNING_TRACE, on_running) == [
        "PatchLabels at 2 on a non-terminal object"
    ]


def test_one_event_per_key_duplicate_reported() -> None:
    event, persist, labels = SUCCEEDED_TRACE.decision.effects
    assert isinstance(event, RecordActionEvent)
    twice = with_effects(SUCCEEDED_TRACE.decision, event, event, persist, labels)
    assert check(invariants.one_event_per_key, RUNNING_TASK, SUCCEEDED_TRACE, twice) == [
        f"RecordActionEvent at 1 repeats dedup key {event.event.dedup_key}"
    ]


def test_events_identify_action_wrong_id_or_attempt_reported() -> None:
    event, persist, labels = SUCCEEDED_TRACE.decision.effects
    assert isinstance(event, RecordActionEvent)
    wrong = ActionId("p", "d", "run1", "other")
    forged = replace(event, event=replace(event.event, id=wrong, attempt=0))
    decision = with_effects(SUCCEEDED_TRACE.decision, forged, persist, labels)
    assert check(invariants.events_identify_action, RUNNING_TASK, SUCCEEDED_TRACE, decision) == [
        f"RecordActionEvent at 0 has id {wrong}, expected {ActionId('p', 'd', 'run1', 'a0')}",
        "RecordActionEvent at 0 has attempt 0 < 1",
    ]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Done(), []),
        (RequeueAfter(timedelta(seconds=1)), []),
        (RequeueAfter(timedelta(0)), ["RequeueAfter(0:00:00) is not positive"]),
    ],
)
def test_requeue_positive_zero_delay_reported(result: Done | RequeueAfter, expected: list[str]) -> None:
    decision = replace(RUNNING_TRACE.decision, result=result)
    assert check(invariants.requeue_positive, RUNNING_TASK, RUNNING_TRACE, decision) == expected


def _conditions(*items: Condition) -> Decision:
    return with_status(RUNNING_TRACE.decision, conditions=pvector(items))


def test_written_conditions_valid_each_defect_reported() -> None:
    bad = _conditions(
        Condition("Ready", "Maybe", "Queued"),
        Condition("Progressing", "True", "not ok!"),
        Condition("Progressing", "True", "Queued", "x" * (MAX_CONDITION_MESSAGE + 1)),
        Condition("Succeeded", "False", "Completed"),
    )
    found = check(invariants.written_conditions_valid, RUNNING_TASK, RUNNING_TRACE, bad)
    defects = [
        "condition 'Ready'='Maybe' outside the vocabulary",
        "condition 'Progressing' reason 'not ok!' fails the API pattern",
        f"condition 'Progressing' message of {MAX_CONDITION_MESSAGE + 1} characters",
        "condition 'Succeeded' written with status 'False'",
    ]
    assert found == [f"{where}: {defect}" for where in ("decided status", "PersistStatus at 1") for defect in defects]


def test_written_conditions_valid_long_message_without_d10_allowed() -> None:
    long = _conditions(Condition("Progressing", "True", "Queued", "x" * (MAX_CONDITION_MESSAGE + 1)))
    go = Policy(deviations=GO_COMPATIBLE)
    assert check(invariants.written_conditions_valid, RUNNING_TASK, RUNNING_TRACE, long, go) == []


def test_written_conditions_valid_carried_over_condition_not_judged() -> None:
    odd = Condition("Ready", "Maybe", "?")
    before = replace(RUNNING_TASK, status=replace(RUNNING_TASK.status, conditions=pvector([odd])))
    assert check(invariants.written_conditions_valid, before, RUNNING_TRACE, _conditions(odd)) == []


def test_written_conditions_valid_persisted_status_judged_too() -> None:
    bad = TaskActionStatus(conditions=pvector([Condition("Failed", "Unknown", "Aborted")]))
    decision = with_effects(RUNNING_TRACE.decision, PersistStatus(bad, StatusScope.WHOLE, True, "1", FailPass()))
    assert check(invariants.written_conditions_valid, RUNNING_TASK, RUNNING_TRACE, decision) == [
        "PersistStatus at 0: condition 'Failed' written with status 'Unknown'"
    ]


def test_history_append_only_rewritten_history_reported() -> None:
    old = pvector([PhaseHistoryEntry("Queued", T0), PhaseHistoryEntry("Executing", T0)])
    before = replace(RUNNING_TASK, status=replace(RUNNING_TASK.status, phase_history=old))
    kept = with_status(RUNNING_TRACE.decision, phase_history=old.append(PhaseHistoryEntry("Completed", T0)))
    assert check(invariants.history_append_only, before, RUNNING_TRACE, kept) == []
    dropped = with_status(RUNNING_TRACE.decision, phase_history=pvector([PhaseHistoryEntry("Executing", T0)]))
    assert check(invariants.history_append_only, before, RUNNING_TRACE, dropped) == [
        "decided status: phase history does not extend the previous one",
        "PersistStatus at 1: phase history does not extend the previous one",
    ]


def test_attempts_monotone_decrease_reported() -> None:
    before = replace(RUNNING_TASK, status=replace(RUNNING_TASK.status, attempts=2))
    decision = with_status(RUNNING_TRACE.decision, attempts=1)
    assert check(invariants.attempts_monotone, before, RUNNING_TRACE, decision) == [
        "decided status: attempts 1 < 2",
        "PersistStatus at 1: attempts 1 < 2",
    ]


def _failures(before: int, after: int, terminal: bool = False) -> list[str]:
    start = replace(RUNNING_TASK, status=replace(RUNNING_TASK.status, system_failures=before))
    source = SUCCEEDED_TRACE if terminal else RUNNING_TRACE
    decision = with_status(source.decision, system_failures=after)
    decision = with_effects(decision)
    return check(invariants.system_failures_bounded, start, source, decision)


@pytest.mark.parametrize(
    ("before", "after", "terminal", "expected"),
    [
        (3, 3, False, []),
        (3, 4, True, []),
        (3, 4, False, ["decided status: systemFailures 4 above ceiling 3, not terminal"]),
        (3, 5, True, ["decided status: systemFailures 5 > ceiling 3 + 1"]),
        (9, 9, False, []),
        (-1, 9, False, []),
    ],
)
def test_system_failures_bounded_over_ceiling_reported(
    before: int, after: int, terminal: bool, expected: list[str]
) -> None:
    assert _failures(before, after, terminal) == expected


@pytest.mark.parametrize(
    ("attempts_after", "failures_after", "policy", "expected"),
    [
        (1, 2, POLICY, []),
        (2, 0, POLICY, []),
        (
            1,
            0,
            POLICY,
            [f"{where}: systemFailures 0 < 2 within attempt 1" for where in ("decided status", "PersistStatus at 1")],
        ),
        (1, 0, Policy(deviations=GO_COMPATIBLE), []),
    ],
)
def test_system_failures_per_attempt_reset_within_attempt_reported(
    attempts_after: int, failures_after: int, policy: Policy, expected: list[str]
) -> None:
    before = replace(RUNNING_TASK, status=replace(RUNNING_TASK.status, system_failures=2))
    decision = with_status(RUNNING_TRACE.decision, attempts=attempts_after, system_failures=failures_after)
    assert check(invariants.system_failures_per_attempt, before, RUNNING_TRACE, decision, policy) == expected


def test_new_attempt_starts_clean_leftover_state_reported() -> None:
    trace = traced(RUNNING_TASK, handle=retryable())
    assert trace.decision.task_action.status.attempts == 2
    assert check(invariants.new_attempt_starts_clean, RUNNING_TASK, trace, trace.decision) == []
    leftover = with_status(trace.decision, plugin_state=b"old", plugin_state_version=1)
    message = "attempt 2 starts with plugin state b'old' v1 and 0 system failures"
    assert check(invariants.new_attempt_starts_clean, RUNNING_TASK, trace, leftover) == [
        f"{where}: {message}" for where in ("decided status", "PersistStatus at 4")
    ]
    counted = with_status(trace.decision, system_failures=2)
    assert len(check(invariants.new_attempt_starts_clean, RUNNING_TASK, trace, counted)) == 2


def test_decided_object_is_stored_each_mismatch_reported() -> None:
    decision = RUNNING_TRACE.decision
    persist = decision.effects[-1]
    assert isinstance(persist, PersistStatus)
    doubled = with_effects(decision, *decision.effects, persist)
    assert check(invariants.decided_object_is_stored, RUNNING_TASK, RUNNING_TRACE, doubled) == [
        "2 PersistStatus effects in one decision"
    ]
    unwritten = with_effects(decision)
    assert check(invariants.decided_object_is_stored, RUNNING_TASK, RUNNING_TRACE, unwritten) == [
        "the decided status differs from what the effects persist"
    ]
    relabelled = replace(decision.task_action, metadata=replace(RUNNING_TASK.metadata, labels=pmap({"x": "y"})))
    found = check(
        invariants.decided_object_is_stored, RUNNING_TASK, RUNNING_TRACE, replace(decision, task_action=relabelled)
    )
    assert len(found) == 1
    assert found[0].startswith("metadata after the effects")
    respecced = replace(decision.task_action, spec=replace(RUNNING_TASK.spec, task_type="other"))
    assert check(
        invariants.decided_object_is_stored, RUNNING_TASK, RUNNING_TRACE, replace(decision, task_action=respecced)
    ) == ["the decision changed the spec"]


def test_terminal_absorbing_non_terminal_or_deleted_not_judged() -> None:
    assert check(invariants.terminal_absorbing, RUNNING_TASK, RUNNING_TRACE, RUNNING_TRACE.decision) == []
    deleted = replace(TERMINAL_TASK, metadata=replace(TERMINAL_TASK.metadata, deletion_timestamp=T0))
    assert check(invariants.terminal_absorbing, deleted, RUNNING_TRACE, RUNNING_TRACE.decision) == []


def test_terminal_absorbing_any_activity_reported() -> None:
    trace = traced(TERMINAL_TASK)
    assert trace.asked == ()
    assert check(invariants.terminal_absorbing, TERMINAL_TASK, trace, trace.decision) == []
    busy = replace(BUSY_TRACE.decision, result=RequeueAfter(timedelta(seconds=1)))
    assert check(invariants.terminal_absorbing, TERMINAL_TASK, BUSY_TRACE, busy) == [
        "terminal action asked LookupCache",
        "terminal action asked AcquireReservation",
        "terminal action asked InvokePlugin",
        "terminal action got RecordActionEvent",
        "terminal action got PersistStatus",
        "terminal action's status changed",
        f"terminal action's result is {busy.result}, not Done",
    ]


CONDITION = a_condition_action(timeout=timedelta(hours=1))
CONDITION_TRACE = traced(CONDITION)


def test_condition_effects_real_pause_none_and_non_conditions_not_judged() -> None:
    assert check(invariants.condition_effects, CONDITION, CONDITION_TRACE, CONDITION_TRACE.decision) == []
    assert check(invariants.condition_effects, RUNNING_TASK, RUNNING_TRACE, RUNNING_TRACE.decision) == []
    deleted = replace(CONDITION, metadata=replace(CONDITION.metadata, deletion_timestamp=T0))
    assert check(invariants.condition_effects, deleted, RUNNING_TRACE, RUNNING_TRACE.decision) == []


def test_condition_effects_task_like_activity_reported() -> None:
    (persist,) = CONDITION_TRACE.decision.effects
    assert isinstance(persist, PersistStatus)
    whole = replace(persist, scope=StatusScope.WHOLE)
    decision = with_status(with_effects(CONDITION_TRACE.decision, whole), attempts=1)
    assert check(invariants.condition_effects, CONDITION, BUSY_TRACE, decision) == [
        "condition asked LookupCache",
        "condition asked AcquireReservation",
        "condition asked InvokePlugin",
        f"condition got {decision.effects[0]}",
        "condition changed status fields outside conditions, phaseHistory and errorState",
    ]


def deleted(task_action: TaskAction) -> TaskAction:
    return replace(task_action, metadata=replace(task_action.metadata, deletion_timestamp=T0))


DELETED = deleted(a_task_action(cacheable=True, serializable=True))
DELETED_TRACE = traced(DELETED)


def test_deletion_arm_real_cleanup_none_and_live_actions_not_judged() -> None:
    assert [type(e).__name__ for e in DELETED_TRACE.decision.effects] == [
        "AbortPlugin",
        "FinalizePlugin",
        "ReleaseReservation",
        "RecordActionEvent",
        "RemoveFinalizer",
    ]
    assert check(invariants.deletion_arm, DELETED, DELETED_TRACE, DELETED_TRACE.decision) == []
    assert check(invariants.deletion_arm, RUNNING_TASK, RUNNING_TRACE, RUNNING_TRACE.decision) == []


def test_deletion_arm_each_defect_reported() -> None:
    abort, finalize, release, _event, remove = DELETED_TRACE.decision.effects
    persist = RUNNING_TRACE.decision.effects[-1]
    decision = with_status(
        replace(
            with_effects(DELETED_TRACE.decision, finalize, abort, persist, remove, release),
            result=RequeueAfter(timedelta(seconds=1)),
        ),
        attempts=3,
    )
    assert check(invariants.deletion_arm, DELETED, BUSY_TRACE, decision) == [
        "deleted action asked LookupCache",
        "deleted action asked AcquireReservation",
        "deleted action asked InvokePlugin",
        f"deletion arm does not end with RemoveFinalizer: {release}",
        f"deletion arm got {decision.effects[2]}",
        f"deletion arm got {remove}",
        "FinalizePlugin before AbortPlugin",
        "deletion arm changed the status",
        f"deletion arm result {decision.result}, not Done",
    ]


def test_deletion_arm_without_finalizer_any_effect_reported() -> None:
    bare = replace(DELETED, metadata=replace(DELETED.metadata, finalizers=pvector()))
    found = check(invariants.deletion_arm, bare, DELETED_TRACE, DELETED_TRACE.decision)
    assert found == [f"deleted action without finalizer got effects {DELETED_TRACE.decision.effects}"]


def test_deletion_arm_terminal_event_reported_only_with_d1() -> None:
    terminal = deleted(TERMINAL_TASK)
    trace = traced(terminal, Policy(deviations=GO_COMPATIBLE))
    assert any(isinstance(e, RecordActionEvent) for e in trace.decision.effects)
    assert check(invariants.deletion_arm, terminal, trace, trace.decision, Policy(deviations=GO_COMPATIBLE)) == []
    assert check(invariants.deletion_arm, terminal, trace, trace.decision) == [
        "D1: deleting a terminal action recorded an ActionEvent"
    ]


def test_finalizer_added_alone_real_pass_none() -> None:
    fresh = a_task_action(with_finalizer=False)
    trace = traced(fresh)
    assert [type(e) for e in trace.decision.effects] == [AddFinalizer]
    assert check(invariants.finalizer_added_alone, fresh, trace, trace.decision) == []
    assert check(invariants.finalizer_added_alone, RUNNING_TASK, RUNNING_TRACE, RUNNING_TRACE.decision) == []


def test_finalizer_added_alone_misplaced_finalizer_reported() -> None:
    add = AddFinalizer(FINALIZER, "1", FailPass())
    decision = with_effects(RUNNING_TRACE.decision, add, Log(LogLevel.INFO, "x"))
    assert check(invariants.finalizer_added_alone, CONDITION, RUNNING_TRACE, decision) == [
        "AddFinalizer outside the task path",
        "AddFinalizer is not the only thing the pass does",
    ]
    alone = replace(with_effects(decision, add), result=Done())
    assert check(invariants.finalizer_added_alone, DELETED, CONDITION_TRACE, alone) == [
        "AddFinalizer outside the task path",
        "AddFinalizer although the finalizer is present",
    ]


def test_asked_kinds_lists_answered_questions_in_protocol_order() -> None:
    everything = Observations(
        now=T0,
        plugin=Failure(PortFailure("none")),
        cache_lookup=NOT_FOUND,
        cached_outputs_write=Success(None),
        reservation=Failure(PortFailure("down")),
        handle=handle_failed("boom"),
        cache_put=Success(None),
    )
    assert invariants.asked_kinds(everything) == [
        "LookupCache",
        "WriteCachedOutputs",
        "AcquireReservation",
        "InvokePlugin",
        "PutCache",
    ]


def test_laws_restart_with_failed_attempt_report_none() -> None:
    """D2: FAILED for attempt 1 then QUEUED for attempt 2 are two keys, and attempts go up."""
    trace = traced(RUNNING_TASK, handle=retryable())
    events = [e for e in trace.decision.effects if isinstance(e, RecordActionEvent)]
    assert [(e.event.attempt, e.event.phase.name) for e in events] == [(1, "FAILED"), (2, "QUEUED")]
    assert violations(RUNNING_TASK, trace.observations, trace.decision, POLICY) == []


def test_laws_condition_reason_vocabulary_matches_pattern() -> None:
    assert all(invariants.REASON_PATTERN.match(reason.value) for reason in Reason)
    assert not invariants.REASON_PATTERN.match("Ends_with_comma,")
    assert {t.value for t in ConditionType} == invariants.CONDITION_TYPES
    assert {s.value for s in ConditionStatus} == invariants.CONDITION_STATUSES
