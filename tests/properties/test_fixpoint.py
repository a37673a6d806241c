"""Fixpoint and convergence (R29, R46, R64, R82): passes are level-based, so re-running a pass on the object it
produced, with the same answers at the same instant, writes nothing new. The exceptions are the rules' own steps:
the finalizer Update stops its pass (R31), a validation failure leaves the labels to the next pass (R30, Q7), and a
pass that counts a system failure (R57), restarts the attempt (R40) or ends the action makes progress instead. The
second pass may also progress on its own: the phase the first one persisted decides whether the cache is consulted
(R34, D7), so a cache hit can end the action one pass later (whether that is always right is
``test_regressions.py::test_task_cache_hit_after_not_ready_from_running_never_completes_unaborted``). Repeating a
pass therefore always settles, within the retry and system-failure budgets.

The properties hold for every policy that fixes D7 or D8. With both off (Go), a catalog lookup error together with
a reservation held by another owner flips the action between Running and WaitingForCache on every pass, each flip
a status write and an ActionEvent: Q9 skips the reservation so the plugin runs, then Q8 sees the foreign
reservation once the phase is Running. :func:`test_pass_go_compatible_lookup_error_flaps_forever` pins it.
"""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from taskaction_core.decision import Decision
from taskaction_core.effects import AddFinalizer, PatchLabels, PersistStatus, RecordActionEvent, RecordWarning
from taskaction_core.idl import decode_task_template
from taskaction_core.naming import max_attempts, observed_attempt
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, PluginResolved, Reservation
from taskaction_core.policy import GO_COMPATIBLE, Deviation, Policy, max_system_failures
from taskaction_core.records import TaskAction, is_terminal
from taskaction_core.testing import strategies as tas
from taskaction_core.testing.builders import PLUGIN_ID, T0, a_task_action, running

WRITES = (PersistStatus, RecordActionEvent, AddFinalizer, PatchLabels)
VALIDATION_WARNINGS = frozenset({"FailedValidation", "FailedPluginResolve"})
SETTLING_POLICIES = tas.policies().filter(
    lambda policy: (
        policy.fixes(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE)
        or policy.fixes(Deviation.D8_LOOKUP_ERROR_KEEPS_SERIALIZATION)
    )
)
"""Any policy except those that leave both Q8 and Q9 unfixed."""


def writes(decision: Decision) -> list[object]:
    """The effects that change the store or the run service: what a quiet pass must not have."""
    return [effect for effect in decision.effects if isinstance(effect, WRITES)]


def progressed(before: TaskAction, after: TaskAction) -> bool:
    """A counted system failure (R57), a new attempt (R40/R44) or the end of the action (R7)."""
    return (
        after.status.system_failures > before.status.system_failures
        or observed_attempt(after.status.attempts) > observed_attempt(before.status.attempts)
        or (is_terminal(after.status.conditions) and not is_terminal(before.status.conditions))
    )


def failed_validation(decision: Decision) -> bool:
    return any(isinstance(e, RecordWarning) and e.reason in VALIDATION_WARNINGS for e in decision.effects)


def past_finalizer(ta: TaskAction, world: tas.World, policy: Policy, now: datetime) -> tuple[TaskAction, Decision]:
    """The first pass, or the one after it when the first only added the finalizer (R31 ends that pass)."""
    decision = tas.run_pass(ta, world, policy, now)
    if any(isinstance(effect, AddFinalizer) for effect in decision.effects):
        ta = tas.apply(ta, decision)
        decision = tas.run_pass(ta, world, policy, now)
    return ta, decision


@given(tas.valid_task_actions(terminal=False, finalizer=None), tas.worlds(), SETTLING_POLICIES, tas.aware_datetimes())
def test_task_pass_repeated_writes_nothing_new(ta: TaskAction, world: tas.World, policy: Policy, now: datetime) -> None:
    state, first = past_finalizer(ta, world, policy, now)
    after = tas.apply(state, first)
    second = tas.run_pass(after, world, policy, now)
    if failed_validation(first):
        assert all(isinstance(effect, PatchLabels) for effect in writes(second))
        assert writes(tas.run_pass(tas.apply(after, second), world, policy, now)) == []
    elif not progressed(state, after) and not progressed(after, tas.apply(after, second)):
        assert writes(second) == []


@settings(max_examples=50)  # conditions have few shapes: no task fields, no plugin, no catalog
@given(tas.valid_condition_actions(terminal=False), SETTLING_POLICIES, tas.aware_datetimes())
def test_condition_pass_repeated_writes_nothing_new(ta: TaskAction, policy: Policy, now: datetime) -> None:
    world = tas.World(*(None,) * 6)  # type: ignore[arg-type]  # a condition asks nothing (R78)
    first = tas.run_pass(ta, world, policy, now)
    assert writes(tas.run_pass(tas.apply(ta, first), world, policy, now)) == []


def pass_budget(ta: TaskAction, policy: Policy) -> int:
    """Passes a fixed world may need: finalizer and labels, then per attempt (R107) up to ceiling + 1 system
    failures (D6) and the restart itself."""
    template = decode_task_template(ta.spec.task_template).value_or(None)
    retries = template.metadata.retries if template is not None and template.metadata is not None else None
    return 3 + max_attempts(retries) * (max_system_failures(policy) + 2)


@given(
    st.one_of(tas.valid_task_actions(terminal=False, finalizer=None), tas.valid_condition_actions()),
    tas.worlds(),
    SETTLING_POLICIES,
    tas.aware_datetimes(),
)
def test_pass_repeated_same_world_settles_within_budget(
    ta: TaskAction, world: tas.World, policy: Policy, now: datetime
) -> None:
    state, budget = ta, pass_budget(ta, policy)
    for _ in range(budget):
        decision = tas.run_pass(state, world, policy, now)
        if not writes(decision):
            return
        state = tas.apply(state, decision)
    raise AssertionError(f"still writing after {budget} passes: {state.status}")


def test_pass_go_compatible_lookup_error_flaps_forever() -> None:
    """Q8 + Q9 (Go): Running, WaitingForCache, Running, ... one event and status write per pass; D7 or D8 settles."""
    world = tas.World(
        Success(PluginResolved(PLUGIN_ID)),
        Failure(CatalogFailure(CatalogErrorKind.OTHER, "catalog unavailable")),
        Success(None),
        Success(Reservation("default/other")),
        running(),
        Success(None),
    )
    passes: dict[frozenset[Deviation], list[tuple[str, bool]]] = {}
    for fixed in (GO_COMPATIBLE, frozenset({Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE})):
        ta, seen = a_task_action(cacheable=True, serializable=True), []
        for _ in range(4):
            decision = tas.run_pass(ta, world, Policy(deviations=fixed), T0)
            ta = tas.apply(ta, decision)
            seen.append((ta.status.plugin_phase, bool(writes(decision))))
        passes[fixed] = seen
    assert passes[GO_COMPATIBLE] == [("PhaseRunning", True), ("PhaseWaitingForCache", True)] * 2
    assert (
        passes[frozenset({Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE})]
        == [("PhaseRunning", True)] + [("PhaseRunning", False)] * 3
    )
