"""Effect ordering is part of the contract (design.md §4): the ActionEvent is durable before the status that
describes it (R65), labels come after the status (R47, R61, R84), one event per dedup key (R114); a deleted
action is never handled (R26) and cleans up Abort → Finalize → … → finalizer removal (R88–R91); a condition never
touches a plugin, the catalog, the event sink or the finalizer (R78)."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from taskaction_core import invariants
from taskaction_core.effects import (
    AbortPlugin,
    AddFinalizer,
    FinalizePlugin,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    ReleaseReservation,
    RemoveFinalizer,
    StatusScope,
)
from taskaction_core.policy import Policy
from taskaction_core.records import FINALIZER, TaskAction
from taskaction_core.testing import strategies as tas


def positions(effects: tuple[object, ...], kind: type | tuple[type, ...]) -> list[int]:
    return [index for index, effect in enumerate(effects) if isinstance(effect, kind)]


@given(tas.valid_task_actions(finalizer=True), tas.worlds(), st.from_type(Policy), tas.aware_datetimes())
def test_task_decision_events_before_status_labels_after(
    ta: TaskAction, world: tas.World, policy: Policy, now: datetime
) -> None:
    trace = tas.trace_pass(ta, world, policy, now)
    effects = trace.decision.effects
    writes, events, labels = (positions(effects, k) for k in (PersistStatus, RecordActionEvent, PatchLabels))
    assert len(writes) <= 1
    assert all(event < write for event in events for write in writes)
    assert all(write < label for write in writes for label in labels)
    keys = [effect.event.dedup_key for effect in effects if isinstance(effect, RecordActionEvent)]
    assert len(keys) == len(set(keys))


DELETED_ACTIONS = st.one_of(
    tas.valid_task_actions(deleted=True, terminal=None, finalizer=None),
    tas.malformed_task_actions(deleted=True),
)


@given(DELETED_ACTIONS, tas.worlds(), st.from_type(Policy), tas.aware_datetimes())
def test_deleted_action_never_invokes_plugin_and_removes_finalizer_last(
    ta: TaskAction, world: tas.World, policy: Policy, now: datetime
) -> None:
    trace = tas.trace_pass(ta, world, policy, now)
    effects = trace.decision.effects
    assert trace.asked == ()
    assert positions(effects, (PersistStatus, AddFinalizer, PatchLabels)) == []
    if FINALIZER in ta.metadata.finalizers:
        assert isinstance(effects[-1], RemoveFinalizer)
        aborts, finalizes = positions(effects, AbortPlugin), positions(effects, FinalizePlugin)
        assert len(aborts) == len(finalizes) <= 1
        assert aborts <= finalizes
    else:
        assert effects == ()
    assert invariants.deletion_arm(ta, trace.observations, trace.decision, policy) == []


@settings(max_examples=50)  # conditions have few shapes: no task fields, no plugin, no catalog
@given(tas.valid_condition_actions(terminal=None), st.from_type(Policy), tas.aware_datetimes())
def test_condition_never_plugin_cache_event_or_finalizer_effects(ta: TaskAction, policy: Policy, now: datetime) -> None:
    world = tas.World(*(None,) * 6)  # type: ignore[arg-type]  # a condition asks nothing (R78)
    trace = tas.trace_pass(ta, world, policy, now)
    forbidden = (AbortPlugin, FinalizePlugin, ReleaseReservation, RecordActionEvent, AddFinalizer, RemoveFinalizer)
    assert positions(trace.decision.effects, forbidden) == []
    for effect in trace.decision.effects:
        assert not isinstance(effect, PersistStatus) or effect.scope is StatusScope.CONDITION_FIELDS
    assert trace.decision.task_action.status.plugin_phase == ta.status.plugin_phase
    assert trace.decision.task_action.status.attempts == ta.status.attempts
