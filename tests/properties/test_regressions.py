"""Failing examples found by the property suite, kept as explicit tests with their concrete input.

Each test was a failing example when it was found; the core has since been fixed (the docstrings say how), and
the test keeps the fix.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pyrsistent import pvector

from taskaction_core.decision import Ask, Decision
from taskaction_core.effects import InvokePlugin, LookupCache, PatchLabels
from taskaction_core.phase_info import PHASE_INFO_UNDEFINED
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import Condition, TaskActionStatus
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
