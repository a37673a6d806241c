"""D7 (docs/go-parity.md), R52/R53: a cache hit while the persisted plugin phase is NotReady or WaitingForCache.

A plugin may report NotReady or WaitingForCache after an earlier Handle of the same attempt launched its resource, and
those phases do not count as live (R34), so the next pass consults the cache. With D7 a hit there first aborts whatever
may run (``AbortPlugin`` with the plugin id, the attempt's execution context and an Ignore failure policy), before the
event and status of the cached success; Go (D7 off) completes from the cache without any abort.
Added to kill the mutants of ``reconcile.task._abort_before_hit`` that survived the mutation run.
"""

from __future__ import annotations

import pytest

from taskaction_core.effects import AbortPlugin, FinalEffect, Ignore, RecordActionEvent
from taskaction_core.policy import Deviation
from taskaction_core.records import TaskAction, TaskActionStatus
from tests.core.task_helpers import WRITE_OK, Script, a_task, context_of, drive, hit, without

MAYBE_LAUNCHED = ["PhaseNotReady", "PhaseWaitingForCache"]
ABORT_WHY = Ignore("aborting a possibly launched resource before a cache hit failed")


def cacheable_in(phase: str) -> TaskAction:
    return a_task(cacheable=True, status=TaskActionStatus(plugin_phase=phase, attempts=1))


def aborts(effects: tuple[FinalEffect, ...]) -> list[FinalEffect]:
    return [effect for effect in effects if isinstance(effect, AbortPlugin)]


@pytest.mark.parametrize("phase", MAYBE_LAUNCHED)
def test_abort_before_hit_d7_maybe_launched_phase_aborts_with_plugin_and_context(phase: str) -> None:
    """D7: exactly one AbortPlugin, for the resolved plugin, with the current attempt's context, errors ignored."""
    task_action = cacheable_in(phase)
    decision = drive(task_action, Script(lookup=hit(), write=WRITE_OK))
    assert aborts(decision.effects) == [AbortPlugin("test-plugin", context_of(task_action), ABORT_WHY)]
    assert decision.task_action.status.plugin_phase == "PhaseSuccess"


@pytest.mark.parametrize("phase", MAYBE_LAUNCHED)
def test_abort_before_hit_d7_maybe_launched_phase_aborts_before_the_event(phase: str) -> None:
    """D7 + R65: the abort precedes the SUCCEEDED event of the cache hit, so nothing is reported done over it."""
    decision = drive(cacheable_in(phase), Script(lookup=hit(), write=WRITE_OK))
    kinds = [type(effect) for effect in decision.effects]
    assert kinds.index(AbortPlugin) < kinds.index(RecordActionEvent)


@pytest.mark.parametrize("phase", MAYBE_LAUNCHED)
def test_abort_before_hit_go_maybe_launched_phase_completes_without_abort(phase: str) -> None:
    """D7 off (Go): the hit completes the action from the cache and aborts nothing."""
    policy = without(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE)
    decision = drive(cacheable_in(phase), Script(lookup=hit(), write=WRITE_OK), policy)
    assert decision.task_action.status.plugin_phase == "PhaseSuccess"
    assert aborts(decision.effects) == []


def test_abort_before_hit_d7_fresh_action_completes_without_abort() -> None:
    """D7: a fresh action (no plugin phase yet) has launched nothing, so its cache hit aborts nothing."""
    decision = drive(a_task(cacheable=True), Script(lookup=hit(), write=WRITE_OK))
    assert decision.task_action.status.plugin_phase == "PhaseSuccess"
    assert aborts(decision.effects) == []
