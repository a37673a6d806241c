"""Counters and history along sequences of passes, with the world changing between passes: attempts never go down
(R44, R45), phase history only grows at the end (R9), system failures stay within the ceiling (R57, R60) and, with
D6, an attempt is launched at most ``max_system_failures + 1`` times (the #8066 livelock bound). Every law of
:mod:`taskaction_core.invariants` is checked after every pass too."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.effects import PersistStatus
from taskaction_core.invariants import violations
from taskaction_core.naming import observed_attempt
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
