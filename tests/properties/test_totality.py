"""Totality: ``reconcile`` returns a round for every record, observation and policy, malformed ones included
(design.md §1: "total, never raises on any record"), and an Ask is only ever for an answer it does not hold yet
(design.md §4). Whole passes over malformed records are driven by ``test_laws.py``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.decision import Ask, Decision
from taskaction_core.effects import AcquireReservation, InvokePlugin, LookupCache, PutCache, WriteCachedOutputs
from taskaction_core.observations import Observations
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import TaskAction
from taskaction_core.testing import strategies  # noqa: F401  (importing registers the type strategies)

ANSWER_FIELDS = {
    LookupCache: "cache_lookup",
    WriteCachedOutputs: "cached_outputs_write",
    AcquireReservation: "reservation",
    InvokePlugin: "handle",
    PutCache: "cache_put",
}


@given(st.from_type(TaskAction), st.from_type(Observations), st.from_type(Policy))
def test_reconcile_arbitrary_inputs_returns_a_round_asking_only_unknowns(
    ta: TaskAction, observations: Observations, policy: Policy
) -> None:
    round_ = reconcile(ta, observations, policy)
    assert isinstance(round_, Ask | Decision)
    if isinstance(round_, Ask):
        assert getattr(observations, ANSWER_FIELDS[type(round_.question)]) is None
