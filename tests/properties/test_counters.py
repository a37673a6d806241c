"""Counters and history along sequences of passes, with the world changing between passes: attempts never go down
(R44, R45), phase history only grows at the end (R9), system failures stay within the ceiling (R57, R60) and, with
D6, an attempt is launched at most ``max_system_failures + 1`` times (the #8066 livelock bound). Every law of
:mod:`taskaction_core.invariants` is checked after every pass too."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.effects import AbortPlugin, PersistStatus, RecordActionEvent
from taskaction_core.invariants import violations
from taskaction_core.naming import observed_attempt
from taskaction_core.observations import HandleOutcome
from taskaction_core.phases import ActionPhase, ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy, max_system_failures
from taskaction_core.records import TaskAction, is_terminal
from taskaction_core.testing import strategies as tas
from taskaction_core.testing.builders import T0

STEPS = st.sampled_from([timedelta(0), timedelta(seconds=1), timedelta(seconds=10), timedelta(hours=2)])


@given(
    st.one_of(tas.valid_task_actions(finalizer=None), tas.valid_condition_actions()),
    st.lists(st.tuples(tas.worlds(plugin_found=True), STEPS), min_size=1, max_size=4),
    st.from_type(Policy),
)
def test_pass_sequence_counters_monotone_history_append_only_failures_bounded(
    ta: TaskAction, sequence: list[tuple[tas.World, timedelta]], policy: Policy
) -> None:
    ceiling = max_system_failures(policy)
    now, state = T0, ta
    counted: Counter[int] = Counter()
    for world, step in sequence:
        now += step
        trace = tas.trace_pass(state, world, policy, now)
        assert violations(state, trace.observations, trace.decision, policy) == []
        after = tas.apply(state, trace.decision)
        assert after.status.attempts >= state.status.attempts
        old = state.status.phase_history
        assert after.status.phase_history[: len(old)] == old
        if state.status.system_failures <= ceiling:
            assert after.status.system_failures <= ceiling + 1
            for effect in trace.decision.effects:
                if isinstance(effect, PersistStatus) and not is_terminal(effect.status.conditions):
                    assert effect.status.system_failures <= ceiling
        if after.status.system_failures > state.status.system_failures:
            counted[observed_attempt(after.status.attempts)] += 1
        state = after
    if policy.fixes(Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES) and ta.status.system_failures == 0:
        assert all(failures <= ceiling + 1 for failures in counted.values())


@given(
    tas.valid_task_actions(cacheable=False, retries=3, finalizer=True),
    tas.worlds(plugin_found=True, handle_errors=False, phases=(PluginPhase.RETRYABLE_FAILURE,)),
    st.from_type(Policy),
    tas.aware_datetimes(),
)
def test_retryable_failure_restarts_clean_or_ends(
    ta: TaskAction, world: tas.World, policy: Policy, now: datetime
) -> None:
    """R38–R40, R44, D2: a SYSTEM retryable failure is counted; a user one restarts in place while attempts remain
    (abort, clean next attempt, QUEUED event for it, with D2 preceded by FAILED for the failed one), else the action
    fails permanently."""
    trace = tas.trace_pass(ta, world, policy, now)
    assert violations(ta, trace.observations, trace.decision, policy) == []
    before, after = ta.status, trace.decision.task_action.status
    attempt = observed_attempt(before.attempts)
    info = world.handle.unwrap().transition.info
    events = [(e.event.attempt, e.event.phase) for e in trace.decision.effects if isinstance(e, RecordActionEvent)]
    if info.err is not None and info.err.kind is ErrorKind.SYSTEM:
        assert after.attempts == before.attempts
        assert after.system_failures == before.system_failures + 1 or is_terminal(after.conditions)
    elif attempt < 4:
        assert (after.attempts, after.plugin_state, after.plugin_state_version) == (attempt + 1, b"", 0)
        assert after.system_failures == 0
        assert any(isinstance(effect, AbortPlugin) for effect in trace.decision.effects)
        reported = [(attempt, ActionPhase.FAILED)] if policy.fixes(Deviation.D2_REPORT_FAILED_ATTEMPT) else []
        assert events == [*reported, (attempt + 1, ActionPhase.QUEUED)]
    else:
        assert after.attempts == before.attempts
        assert any(c.type == "Failed" and c.status == "True" for c in after.conditions)
        assert events == [(attempt, ActionPhase.FAILED)]


RETRYABLE_ERRORS = tuple(e for e in tas.HANDLE_ERRORS if not set(e.failure().codes) & set(tas.NON_RETRYABLE_CODES))
"""Handle errors with no non-retryable code along their cause chain: each one is a counted system failure (R57)."""


@given(
    tas.valid_task_actions(cacheable=False, finalizer=True),
    tas.worlds(plugin_found=True),
    st.sampled_from(RETRYABLE_ERRORS),
    st.from_type(Policy),
)
def test_handle_errors_end_the_attempt_on_exactly_the_ceiling_plus_one(
    ta: TaskAction, world: tas.World, error: HandleOutcome, policy: Policy
) -> None:
    """R57, R60, Q16: consecutive Handle errors are counted one per pass; the action stays live through
    ``max_system_failures`` of them and fails permanently (MaxSystemFailuresExceeded) on the next one."""
    ceiling, state = max_system_failures(policy), replace(ta, status=replace(ta.status, system_failures=0))
    failing = replace(world, handle=error)
    for failures in range(1, ceiling + 2):
        state = tas.apply(state, tas.run_pass(state, failing, policy, T0))
        assert state.status.system_failures == failures
        assert is_terminal(state.status.conditions) == (failures == ceiling + 1)
    assert state.status.error_state is not None
    assert state.status.error_state.code == "MaxSystemFailuresExceeded"
