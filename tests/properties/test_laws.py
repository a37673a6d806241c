"""Every law of :mod:`taskaction_core.invariants` holds on every pass: any record (malformed included), any world,
any policy, any instant near the test epoch."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.invariants import violations
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.testing import strategies as tas


@given(st.from_type(TaskAction), tas.worlds(), st.from_type(Policy), tas.aware_datetimes())
def test_every_law_holds_on_every_pass(ta: TaskAction, world: tas.World, policy: Policy, now: datetime) -> None:
    trace = tas.trace_pass(ta, world, policy, now)
    assert violations(ta, trace.observations, trace.decision, policy) == []
