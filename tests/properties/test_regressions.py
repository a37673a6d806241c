"""Failing examples found by the property suite, kept as explicit tests with their concrete input.

Each test was a failing example when it was found. Once the core is fixed (the docstring says how) the test keeps
the fix; a test marked ``xfail(strict=True)`` is still open, and the strict marker makes the suite notice the day it
starts passing (remove the marker then).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pyrsistent import pvector
from returns.result import Success

from taskaction_core.decision import Ask, Decision
from taskaction_core.effects import AbortPlugin, InvokePlugin, LookupCache, PatchLabels
from taskaction_core.observations import CacheHit
from taskaction_core.phase_info import PHASE_INFO_UNDEFINED, PhaseInfo, TaskInfo
from taskaction_core.phases import PluginPhase
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import Condition, TaskActionStatus, is_terminal
from taskaction_core.testing.builders import T0, a_task_action, handled, observations_at

POLICY = Policy()


def test_task_cache_hit_after_undefined_from_a_live_phase_never_completes_unaborted() -> None:
    """Found by test_fixpoint.py::test_task_pass_repeated_writes_nothing_new (cacheable, not serializable).
    Fixed: with D7, PhaseUndefined counts as live (reconcile/task.py resource_live), so no lookup happens."""
    live = a_task_action(cacheable=True, status=TaskActionStatus(plugin_phase="PhaseWaitingForResources", attempts=1))
    first = reconcile(live, observations_at(T0, handle=handled(PHASE_INFO_UNDEFINED)), POLICY)
    assert isinstance(first, Decision)
    assert first.task_action.status.plugin_phase == "PhaseUndefined"
    asked = reconcile(first.task_action, observations_at(T0), POLICY)
    # The resource may still run: the pass observes it through the plugin instead of consulting the cache (D7).
    assert isinstance(asked, Ask)
    assert not isinstance(asked.question, LookupCache)
    assert isinstance(asked.question, InvokePlugin)


EDGE_WEST = datetime.max.replace(tzinfo=timezone(timedelta(hours=-12)))
"""9999-12-31T23:59:59.999999-12:00: a valid aware datetime whose UTC instant lies past ``datetime.max``."""


def test_reconcile_terminal_condition_time_at_range_edge_returns_labels() -> None:
    """Found while widening the times of wild conditions; reconcile must return a round for every record.
    Fixed: gofmt.label_time saturates instead of overflowing."""
    done = Condition("Succeeded", "True", "Completed", "", EDGE_WEST)
    ta = a_task_action(status=TaskActionStatus(conditions=pvector([done])))
    decision = reconcile(ta, observations_at(T0), POLICY)
    assert isinstance(decision, Decision)
    assert [type(effect) for effect in decision.effects] == [PatchLabels]


@pytest.mark.parametrize("reported", [PluginPhase.NOT_READY, PluginPhase.WAITING_FOR_CACHE])
def test_task_cache_hit_after_not_ready_from_running_never_completes_unaborted(reported: PluginPhase) -> None:
    """Found by test_fixpoint.py::test_task_pass_repeated_writes_nothing_new once PhaseUndefined counted as live.
    Fixed (D7): a hit in NotReady or WaitingForCache aborts first (reconcile/task.py _abort_before_hit)."""
    running = a_task_action(cacheable=True, status=TaskActionStatus(plugin_phase="PhaseRunning", attempts=1))
    info = PhaseInfo(reported, 0, TaskInfo(occurred_at=T0))
    first = reconcile(running, observations_at(T0, handle=handled(info)), POLICY)
    assert isinstance(first, Decision)
    asked = reconcile(first.task_action, observations_at(T0), POLICY)
    hit = observations_at(T0, cache_lookup=Success(CacheHit(b"")), cached_outputs_write=Success(None))
    second = reconcile(first.task_action, hit, POLICY)
    assert isinstance(second, Decision)
    looked_up = isinstance(asked, Ask) and isinstance(asked.question, LookupCache)
    aborted = any(isinstance(effect, AbortPlugin) for effect in second.effects)
    assert not (looked_up and is_terminal(second.task_action.status.conditions) and not aborted)
