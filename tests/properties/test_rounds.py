"""Rounds (design.md §4): a pass asks a bounded number of distinct questions, in the order Go asks them (R52 lookup,
cached-output write, reservation; R36 Handle; R55 Put), each addressed as the rules say. (That an Ask is never for
an answer already held is in ``test_totality.py``; that deleted, terminal and condition actions ask nothing is a
law of ``taskaction_core.invariants``, checked by ``test_laws.py`` and ``test_effect_order.py``.)"""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from returns.result import Success

from taskaction_core.effects import (
    AcquireReservation,
    InvokePlugin,
    LookupCache,
    PutCache,
    Question,
    WriteCachedOutputs,
)
from taskaction_core.naming import observed_attempt
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.testing import strategies as tas

PROTOCOL_ORDER: list[type[Question]] = [LookupCache, WriteCachedOutputs, AcquireReservation, InvokePlugin, PutCache]
"""R52 steps 2–3, R36, R55: the only order in which one pass may ask."""


@given(tas.valid_task_actions(terminal=None, deleted=None), tas.worlds(), st.from_type(Policy), tas.aware_datetimes())
def test_trace_pass_questions_bounded_distinct_in_protocol_order(
    ta: TaskAction, world: tas.World, policy: Policy, now: datetime
) -> None:
    trace = tas.trace_pass(ta, world, policy, now)
    kinds = [type(question) for question in trace.asked]
    assert len(trace.asked) < tas.MAX_ROUNDS
    assert all(kind in PROTOCOL_ORDER for kind in kinds)
    assert kinds == sorted(set(kinds), key=PROTOCOL_ORDER.index)
    for question in trace.asked:
        if isinstance(question, AcquireReservation):
            assert question.owner_id == f"{ta.metadata.namespace}/{ta.metadata.name}"  # R50
            assert question.heartbeat == policy.requeue_after  # R51
        if isinstance(question, InvokePlugin):
            assert isinstance(world.plugin, Success)
            assert question.plugin_id == world.plugin.unwrap().plugin_id  # R100
            assert question.context.attempt == observed_attempt(ta.status.attempts)  # R103
