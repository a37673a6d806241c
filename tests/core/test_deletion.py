"""The deletion arm (R85–R91, X3–X9, Q1/D1, Q26): abort, finalize, release, ABORTED event, remove the finalizer."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from pyrsistent import pvector

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, OutputReferences
from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Decision, Done
from taskaction_core.effects import (
    AbortPlugin,
    CacheKey,
    FailPass,
    FinalizePlugin,
    Ignore,
    Log,
    LogLevel,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    RemoveFinalizer,
    Requeue,
)
from taskaction_core.phases import ActionPhase, CacheStatus
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.cache import build_task_cache_config
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.reconcile.deletion import NOTE_FINALIZATION_SKIPPED, remove_finalizer
from taskaction_core.records import FINALIZER, TaskAction
from taskaction_core.testing.builders import PLUGIN_ID, T0, a_condition_action, a_task_action, observations_at
from tests.core.other_helpers import (
    DEFAULT,
    GO,
    RD,
    T1,
    T2,
    cond,
    conds,
    entry,
    history,
    succeeded_conditions,
    with_status,
)

DELETED_AT = T0 + timedelta(minutes=30)
NOW = T2


def _deleted(task_action: TaskAction, finalizers: tuple[str, ...] | None = None, rv: str = "9") -> TaskAction:
    metadata = replace(task_action.metadata, deletion_timestamp=DELETED_AT, resource_version=rv)
    if finalizers is not None:
        metadata = replace(metadata, finalizers=pvector(finalizers))
    return replace(task_action, metadata=metadata)


def _decide(task_action: TaskAction, policy: Policy = DEFAULT, plugin_id: str | None = PLUGIN_ID) -> Decision:
    result = reconcile(task_action, observations_at(NOW, plugin_id=plugin_id), policy)
    assert isinstance(result, Decision)
    return result


def _without_finalizer(task_action: TaskAction, remaining: tuple[str, ...] = ()) -> TaskAction:
    return replace(task_action, metadata=replace(task_action.metadata, finalizers=pvector(remaining)))


def _context(task_action: TaskAction) -> TaskExecutionContext:
    return build_task_execution_context(task_action, DEFAULT).unwrap()


def _aborted_event(attempt: int = 1, now: datetime = NOW, cluster: str = "") -> ActionEvent:
    prefix = f"s3://bucket/jy/run/a0/{attempt}"
    return ActionEvent(
        id=ActionId("p", "d", "run1", "a0"),
        attempt=attempt,
        phase=ActionPhase.ABORTED,
        version=0,
        updated_time=now,
        reported_time=now,
        cluster=cluster,
        error_info=None,
        outputs=OutputReferences(f"{prefix}/outputs.pb", f"{prefix}/report.html"),
        cluster_events=pvector([ClusterEvent("aborted", now)]),
        log_info=pvector(),
        log_context=b"",
        cache_status=CacheStatus.CACHE_DISABLED,
    )


def _cache_key(task_action: TaskAction) -> CacheKey:
    cache = build_task_cache_config(task_action).unwrap()
    assert cache is not None
    return cache.key


# --- R85 / X3 no finalizer --------------------------------------------------------------------------------------------


def test_deletion_without_finalizer_is_done_with_no_effects_R85_X3() -> None:
    ta = _deleted(a_task_action(with_finalizer=False))

    assert _decide(ta) == Decision(ta, (), Done())


def test_deletion_other_finalizers_only_is_done_R85_X3() -> None:
    ta = _deleted(a_task_action(), finalizers=("example.com/other",))

    assert _decide(ta) == Decision(ta, (), Done())


@pytest.mark.parametrize("terminal", [False, True], ids=["paused", "terminal"])
def test_deletion_of_condition_action_is_done_R26_R85(terminal: bool) -> None:
    ta = a_condition_action(signal_value=b"v")
    if terminal:
        ta = with_status(ta, conditions=succeeded_conditions())
    ta = _deleted(ta)

    assert _decide(ta) == Decision(ta, (), Done())


# --- R86 / X4 unresolvable plugin ---------------------------------------------------------------------------------


def test_deletion_unresolvable_plugin_logs_and_removes_finalizer_R86_X4_Q26() -> None:
    ta = _deleted(a_task_action())

    decision = _decide(ta, plugin_id=None)

    assert decision == Decision(
        _without_finalizer(ta),
        (
            Log(
                LogLevel.WARNING,
                'cannot resolve plugin during deletion: no plugin registered for task type "python" and no default '
                "plugin available",
            ),
            RemoveFinalizer(FINALIZER, "9", FailPass()),
        ),
        Done(),
    )


# --- R87 / X5 context build failure --------------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [0, 3], ids=["first-attempt", "previous-attempt-too"])
def test_deletion_invalid_run_output_base_skips_cleanup_with_warning_R87_X5_Q26(attempts: int) -> None:
    ta = _deleted(with_status(a_task_action(run_output_base="::bad"), attempts=attempts))

    decision = _decide(ta)

    note = (
        "Could not build task execution context; skipping Abort/Finalize. Underlying resources may need manual "
        'cleanup: invalid RunOutputBase "::bad": parse "::bad": missing protocol scheme'
    )
    assert decision == Decision(
        _without_finalizer(ta),
        (
            RecordWarning("FinalizationSkipped", "FinalizingTaskAction", note),
            RemoveFinalizer(FINALIZER, "9", FailPass()),
        ),
        Done(),
    )
    assert note.startswith(NOTE_FINALIZATION_SKIPPED)


# --- R88–R91 / X6–X9 normal cleanup --------------------------------------------------------------------------------


def test_deletion_running_task_aborts_finalizes_reports_and_removes_finalizer_R88_R90_R91_X9() -> None:
    ta = _deleted(
        with_status(
            a_task_action(),
            attempts=1,
            plugin_phase="PhaseRunning",
            conditions=conds(cond("Progressing", "True", "Executing", "", T1)),
            phase_history=history(entry("Executing", T1)),
        )
    )

    decision = _decide(ta)

    retry = Requeue(RD)
    context = _context(ta)
    assert decision == Decision(
        _without_finalizer(ta),
        (
            AbortPlugin(PLUGIN_ID, context, retry),
            FinalizePlugin(PLUGIN_ID, context, retry),
            RecordActionEvent(_aborted_event(), Requeue(RD)),
            RemoveFinalizer(FINALIZER, "9", FailPass()),
        ),
        Done(),
    )


def test_deletion_writes_no_status_R90() -> None:
    ta = _deleted(with_status(a_task_action(), plugin_phase="PhaseRunning", attempts=2))

    decision = _decide(ta)

    assert decision.task_action.status is ta.status


def test_deletion_keeps_other_finalizers_R91() -> None:
    ta = _deleted(a_task_action(), finalizers=("a/first", FINALIZER, "z/last"))

    decision = _decide(ta)

    assert decision.task_action.metadata.finalizers == pvector(["a/first", "z/last"])


def test_deletion_abort_event_carries_current_attempt_and_outputs_R90_R74_R72() -> None:
    ta = _deleted(with_status(a_task_action(), attempts=3))

    decision = _decide(ta, Policy(cluster_id="c1"))

    events = [e for e in decision.effects if isinstance(e, RecordActionEvent)]
    assert events == [RecordActionEvent(_aborted_event(attempt=3, cluster="c1"), Requeue(RD))]


def test_deletion_context_targets_the_current_attempt_R88_R103() -> None:
    ta = _deleted(with_status(a_task_action(), attempts=2))

    abort = _decide(ta).effects[0]

    assert isinstance(abort, AbortPlugin)
    assert (abort.context.attempt, abort.context.retry, abort.context.generated_name) == (2, 1, "ta-1")


def test_deletion_uses_configured_requeue_duration_R88_R110() -> None:
    policy = Policy(requeue_after=timedelta(seconds=42))
    ta = _deleted(a_task_action())

    decision = _decide(ta, policy)

    retry = Requeue(timedelta(seconds=42))
    assert decision.effects == (
        AbortPlugin(PLUGIN_ID, _context(ta), retry),
        FinalizePlugin(PLUGIN_ID, _context(ta), retry),
        RecordActionEvent(_aborted_event(), retry),
        RemoveFinalizer(FINALIZER, "9", FailPass()),
    )


# --- R89 reservation release ------------------------------------------------------------------------------------------


def test_deletion_serializable_cache_releases_reservation_after_finalize_R89_R56() -> None:
    ta = _deleted(a_task_action(cacheable=True, serializable=True))

    decision = _decide(ta)

    assert decision.effects[2] == ReleaseReservation(
        _cache_key(ta), "default/ta", Ignore("releasing the cache reservation failed")
    )
    assert [type(e) for e in decision.effects] == [
        AbortPlugin,
        FinalizePlugin,
        ReleaseReservation,
        RecordActionEvent,
        RemoveFinalizer,
    ]


@pytest.mark.parametrize(
    ("cacheable", "serializable", "policy"),
    [(True, False, DEFAULT), (False, True, DEFAULT), (True, True, Policy(catalog_enabled=False))],
    ids=["not-serializable", "not-discoverable", "no-catalog"],
)
def test_deletion_without_serialized_catalog_reservation_releases_nothing_R56(
    cacheable: bool, serializable: bool, policy: Policy
) -> None:
    ta = _deleted(a_task_action(cacheable=cacheable, serializable=serializable))

    decision = _decide(ta, policy)

    assert [type(e) for e in decision.effects] == [AbortPlugin, FinalizePlugin, RecordActionEvent, RemoveFinalizer]


def test_deletion_cache_config_error_is_only_logged_R89() -> None:
    ta = _deleted(a_task_action(cacheable=True, serializable=True, with_id=False))

    decision = _decide(ta)

    assert decision.effects[2] == Log(
        LogLevel.WARNING, "cannot build cache config during deletion: discoverable task is missing identifier"
    )
    assert [type(e) for e in decision.effects] == [AbortPlugin, FinalizePlugin, Log, RecordActionEvent, RemoveFinalizer]


def test_deletion_unparsable_template_still_cleans_up_and_logs_R89() -> None:
    ta = a_task_action()
    ta = _deleted(replace(ta, spec=replace(ta.spec, task_template=b"\xff\xff\xff")))

    decision = _decide(ta)

    log = decision.effects[2]
    assert isinstance(log, Log)
    assert log.message.startswith("cannot build cache config during deletion: Error parsing message")
    abort = decision.effects[0]
    assert isinstance(abort, AbortPlugin)
    assert abort.context.task_execution_id.task_id is None


# --- D1 / Q1 terminal actions ----------------------------------------------------------------------------------------


def test_deletion_of_terminal_task_cleans_up_without_abort_event_D1() -> None:
    # Fails under Go behaviour (Q1): Go records an ABORTED event for an action that already succeeded.
    ta = _deleted(with_status(a_task_action(cacheable=True, serializable=True), conditions=succeeded_conditions()))

    decision = _decide(ta)

    context = _context(ta)
    assert decision == Decision(
        _without_finalizer(ta),
        (
            AbortPlugin(PLUGIN_ID, context, Requeue(RD)),
            FinalizePlugin(PLUGIN_ID, context, Requeue(RD)),
            ReleaseReservation(_cache_key(ta), "default/ta", Ignore("releasing the cache reservation failed")),
            RemoveFinalizer(FINALIZER, "9", FailPass()),
        ),
        Done(),
    )
    assert decision.task_action.status.conditions == succeeded_conditions()


def test_deletion_of_terminal_task_go_mode_records_aborted_event_Q1() -> None:
    ta = _deleted(with_status(a_task_action(), conditions=succeeded_conditions(), attempts=2))

    decision = _decide(ta, GO)

    assert decision.effects[2] == RecordActionEvent(_aborted_event(attempt=2), Requeue(RD))


def test_deletion_d1_switch_alone_decides_the_event_D1() -> None:
    ta = _deleted(with_status(a_task_action(), conditions=succeeded_conditions()))
    without_d1 = Policy(deviations=frozenset(Deviation) - {Deviation.D1_TERMINAL_DELETION_NO_ABORT_EVENT})

    decision = _decide(ta, without_d1)

    assert any(isinstance(e, RecordActionEvent) for e in decision.effects)


def test_deletion_non_terminal_task_go_mode_same_as_default_R90() -> None:
    ta = _deleted(with_status(a_task_action(), plugin_phase="PhaseRunning", attempts=1))

    assert _decide(ta, GO) == _decide(ta, DEFAULT)


def test_remove_finalizer_prepends_given_effects_R91() -> None:
    ta = a_task_action(resource_version="3")
    log = Log(LogLevel.INFO, "x")

    assert remove_finalizer(ta, (log,)) == Decision(
        _without_finalizer(ta), (log, RemoveFinalizer(FINALIZER, "3", FailPass())), Done()
    )
