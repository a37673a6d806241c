"""Failing examples found by the property suite, kept as explicit tests with their concrete input.

A test marked ``xfail(strict=True)`` documents a defect that is still open: it fails today, and the strict marker
makes the suite notice the day it starts passing (remove the marker then).
"""

from __future__ import annotations

import pytest
from returns.result import Success

from taskaction_core.decision import Ask, Decision
from taskaction_core.effects import AbortPlugin, LookupCache
from taskaction_core.observations import CacheHit
from taskaction_core.phase_info import PHASE_INFO_UNDEFINED
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import TaskActionStatus, is_terminal
from taskaction_core.testing.builders import T0, a_task_action, handled, observations_at

POLICY = Policy()


@pytest.mark.xfail(
    strict=True,
    reason="D7 gap (Q8): a live phase overwritten by an Undefined Handle result is no longer live "
    "(PhaseUndefined is not in reconcile/task.py _LIVE_PHASES), so the next pass looks up the cache and a hit "
    "completes the action without aborting the resource the plugin may still run",
)
def test_task_cache_hit_after_undefined_from_a_live_phase_never_completes_unaborted() -> None:
    """Found by test_fixpoint.py::test_task_pass_repeated_writes_nothing_new (cacheable, not serializable)."""
    live = a_task_action(cacheable=True, status=TaskActionStatus(plugin_phase="PhaseWaitingForResources", attempts=1))
    first = reconcile(live, observations_at(T0, handle=handled(PHASE_INFO_UNDEFINED)), POLICY)
    assert isinstance(first, Decision)
    assert first.task_action.status.plugin_phase == "PhaseUndefined"
    hit = observations_at(T0, cache_lookup=Success(CacheHit(b"")), cached_outputs_write=Success(None))
    asked = reconcile(first.task_action, observations_at(T0), POLICY)
    second = reconcile(first.task_action, hit, POLICY)
    assert isinstance(second, Decision)
    looked_up = isinstance(asked, Ask) and isinstance(asked.question, LookupCache)
    aborted = any(isinstance(effect, AbortPlugin) for effect in second.effects)
    assert not (looked_up and is_terminal(second.task_action.status.conditions) and not aborted)
