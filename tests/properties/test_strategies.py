"""The shipped strategies and driver keep their promises: valid actions are valid, the malformed building blocks are
malformed, the type registrations are in place, and the driver catches a core that breaks the round protocol."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from taskaction_core.decision import Ask, Decision, Done
from taskaction_core.effects import InvokePlugin, LookupCache
from taskaction_core.idl import decode_condition_spec, decode_task_template
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, Observations, Reservation
from taskaction_core.output_path import compute_action_output_path
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.context import context_error
from taskaction_core.reconcile.validation import validate_task_action
from taskaction_core.records import TaskAction, is_terminal
from taskaction_core.testing import strategies as tas
from taskaction_core.testing.builders import T0, a_task_action, observations_at, running


@pytest.mark.parametrize(("facts", "data"), tas.TEMPLATES)
def test_templates_row_decodes_to_its_facts(facts: tas.TemplateFacts, data: bytes) -> None:
    template = decode_task_template(data).unwrap()
    assert template.metadata is not None
    assert template.metadata.discoverable == facts.cacheable
    assert template.metadata.cache_serializable == facts.serializable
    assert template.metadata.retries == facts.retries
    assert (template.id is not None) == facts.with_id
    assert template.has_secrets == facts.secrets


def test_condition_specs_decode_with_their_timeouts() -> None:
    decoded = [decode_condition_spec(data).unwrap().timeout for data in tas.CONDITION_SPECS]
    assert decoded == list(tas.CONDITION_TIMEOUTS)


@pytest.mark.parametrize("base", tas.BAD_OUTPUT_BASES)
def test_bad_output_bases_rejected_by_the_path_algorithm(base: str) -> None:
    assert isinstance(compute_action_output_path("default", "ta", base, "a0", 1), Failure)


@pytest.mark.parametrize("base", tas.VALID_OUTPUT_BASES)
def test_valid_output_bases_accepted_by_the_path_algorithm(base: str) -> None:
    assert isinstance(compute_action_output_path("default", "ta", base, "a0", 1), Success)


def test_policy_bit_mask_zero_is_the_default_and_all_ones_is_go() -> None:
    assert tas._deviations(0) == frozenset(Deviation)
    assert tas._deviations(2 ** len(tas.DEVIATIONS) - 1) == frozenset()


@settings(max_examples=50)
@given(tas.valid_task_actions(terminal=False, finalizer=True))
def test_valid_task_actions_pass_validation_and_build_a_context(ta: TaskAction) -> None:
    assert validate_task_action(ta, observations_at(T0)) is None
    assert context_error(ta) is None
    assert not is_terminal(ta.status.conditions)
    assert ta.metadata.deletion_timestamp is None


@settings(max_examples=50)
@given(st.from_type(TaskAction), st.from_type(Observations), st.from_type(Policy))
def test_from_type_draws_registered_strategies(ta: TaskAction, observations: Observations, policy: Policy) -> None:
    assert isinstance(ta, TaskAction)
    assert observations.now.utcoffset() is not None
    assert policy.requeue_after > timedelta(0)


MISS: Failure[CatalogFailure] = Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "miss"))
WORLD = tas.World(observations_at(T0).plugin, MISS, Success(None), tas.OwnReservation(), running(), Success(None))
ASK = Ask(LookupCache(None))  # type: ignore[arg-type]


def test_trace_pass_repeated_question_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tas, "reconcile", lambda ta, obs, policy: ASK)
    with pytest.raises(AssertionError, match="asked again"):
        tas.trace_pass(a_task_action(), WORLD, Policy(), T0)


def test_trace_pass_non_question_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tas, "reconcile", lambda ta, obs, policy: Ask(Done()))  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="not a Question"):
        tas.trace_pass(a_task_action(), WORLD, Policy(), T0)


def test_trace_pass_round_bound_raises() -> None:
    with pytest.raises(AssertionError, match="no decision after 1 rounds"):
        tas.trace_pass(a_task_action(), WORLD, Policy(), T0, max_rounds=1)


def test_trace_pass_own_reservation_answers_with_the_askers_id() -> None:
    ta = a_task_action(cacheable=True, serializable=True)
    trace = tas.trace_pass(ta, WORLD, Policy(), T0)
    assert trace.observations.reservation == Success(Reservation("default/ta"))
    assert [type(q) for q in trace.asked][-1] is InvokePlugin
    assert isinstance(trace.decision, Decision)
    assert tas.apply(ta, trace.decision) is trace.decision.task_action
