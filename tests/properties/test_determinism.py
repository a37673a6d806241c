"""Determinism: the same inputs give equal outputs (design.md §1, §3), round by round through a whole pass, even
from fresh copies of every record, so no identity shortcut or memo cache inside the core can change a decision."""

from __future__ import annotations

import copy
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.testing import strategies as tas


@given(st.from_type(TaskAction), tas.worlds(), st.from_type(Policy), tas.aware_datetimes())
def test_trace_pass_same_inputs_equal_traces(ta: TaskAction, world: tas.World, policy: Policy, now: datetime) -> None:
    first = tas.trace_pass(ta, world, policy, now)
    assert tas.trace_pass(copy.deepcopy(ta), copy.deepcopy(world), copy.deepcopy(policy), now) == first
    assert tas.trace_pass(ta, world, policy, now) == first
