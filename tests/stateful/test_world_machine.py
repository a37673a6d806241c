"""The world machine (design.md §8): the whole world over the fakes, its laws after every step, liveness at the end.

The CI budget is explicit here (style.md: Hypothesis profiles): the ``ci`` profile is deterministic, and these
settings fix how many programs and steps the stateful suite runs, whatever the profile's ``max_examples``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize

import taskaction_core.interpreter.driver as driver
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.phases import PluginPhase
from taskaction_core.policy import GO_COMPATIBLE, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.records import TaskActionStatus
from taskaction_core.testing.builders import T0
from taskaction_core.testing.fakes import ManualClock
from taskaction_core.testing.machine import (
    Behaviour,
    GuardedPlugin,
    Liveness,
    SteerablePlugin,
    TaskActionWorldMachine,
)
from taskaction_core.testing.scenarios import TA

CI_EXAMPLES: Final = 200
CI_STEPS: Final = 50
"""World machine: 200 programs of up to 50 steps (≤ 10,000 steps, plus ≤ 60 liveness rounds per program)."""
GO_EXAMPLES: Final = 60
GO_STEPS: Final = 40

TestWorldMachine = TaskActionWorldMachine.TestCase
TestWorldMachine.settings = settings(
    max_examples=CI_EXAMPLES, stateful_step_count=CI_STEPS, deadline=None, suppress_health_check=list(HealthCheck)
)


class GoCompatibleWorldMachine(TaskActionWorldMachine):
    """The same world with every deviation off: the declared laws still hold, and so does liveness when the plugin
    succeeds or is down. The flaky mode is left out: with D6 off it livelocks, as Go does (Flyte #8066, see the
    regressions)."""

    def make_policy(self) -> Policy:
        return Policy(max_system_failures=2, deviations=GO_COMPATIBLE)

    @initialize(mode=st.sampled_from([Liveness.SUCCESS, Liveness.DOWN]))
    def choose_liveness_check(self, mode: Liveness) -> None:
        self.liveness = mode


TestGoCompatibleWorldMachine = GoCompatibleWorldMachine.TestCase
TestGoCompatibleWorldMachine.settings = settings(
    max_examples=GO_EXAMPLES, stateful_step_count=GO_STEPS, deadline=None, suppress_health_check=list(HealthCheck)
)


# -- the pieces --------------------------------------------------------------------------------------------------------


def started_machine(mode: Liveness = Liveness.SUCCESS) -> tuple[TaskActionWorldMachine, Any, Any, Any]:
    machine = TaskActionWorldMachine()
    machine.choose_liveness_check(mode)
    ta, tb = machine.create_tasks()
    (cond,) = machine.create_conditions()
    return machine, ta, tb, cond


def test_world_machine_plain_run_reaches_success_and_obeys_every_law() -> None:
    machine, ta, _, _ = started_machine()
    machine.plugin_reports(ta, Behaviour.SUCCESS)
    for _ in range(3):
        machine.run_pass(ta)
        machine.check_world_laws()
    stored = machine.world.get(TA)
    assert stored is not None
    assert stored.status.plugin_phase == PluginPhase.SUCCESS.wire_name
    assert len(machine.decisions) == 3


def test_world_machine_teardown_makes_every_action_terminal() -> None:
    machine, *_ = started_machine()
    machine.teardown()
    assert all(machine._done(key) for key in machine.keys)


def test_world_machine_flaky_liveness_ends_in_permanent_failure_with_D6() -> None:
    machine, *_ = started_machine(Liveness.FLAKY)
    machine.teardown()
    stored = machine.world.get(TA)
    assert stored is not None
    assert stored.status.plugin_phase == PluginPhase.PERMANENT_FAILURE.wire_name


def test_world_machine_restores_the_driver_after_every_pass() -> None:
    machine, ta, tb, _ = started_machine()
    machine.interleave_passes(ta, tb, after_calls=1)
    machine.crash_during_pass(ta, after_calls=1)
    assert vars(driver)["reconcile"] is reconcile


def test_world_machine_crash_is_survived_and_marks_the_key_disturbed() -> None:
    machine, ta, _, _ = started_machine()
    machine.crash_during_pass(ta, after_calls=1)
    assert ("default", "ta") in machine._disturbed
    stored = machine.world.get(TA)
    assert stored is not None and stored.metadata.finalizers  # the AddFinalizer write landed before the crash


def test_world_machine_terminal_to_non_terminal_in_the_store_is_caught() -> None:
    machine, ta, _, _ = started_machine()
    machine.plugin_reports(ta, Behaviour.SUCCESS)
    for _ in range(3):
        machine.run_pass(ta)
    machine.check_world_laws()
    stored = machine.world.get(TA)
    assert stored is not None
    machine.world.store.update_status(replace(stored, status=TaskActionStatus()))
    with pytest.raises(AssertionError, match="back to non-terminal"):
        machine.terminal_status_stays_terminal()


def test_world_machine_status_without_its_event_is_caught_R65() -> None:
    machine, ta, _, _ = started_machine()
    machine.run_pass(ta)
    stored = machine.world.get(TA)
    assert stored is not None
    running = replace(stored.status, plugin_phase=PluginPhase.RUNNING.wire_name, attempts=1)
    machine.world.store.update_status(replace(stored, status=running))
    with pytest.raises(AssertionError, match="has no event"):
        machine.every_persisted_phase_has_its_event()


def test_guarded_plugin_overlapping_calls_for_one_key_are_recorded_R29() -> None:
    class AbortsWhileHandling(SteerablePlugin):
        def handle(self, ctx: PluginContext) -> Any:
            return guarded.abort(ctx)

    machine, *_ = started_machine()
    guarded = GuardedPlugin(AbortsWhileHandling(ManualClock(T0)))
    guarded.handle(_context(machine))
    assert [(call.method, call.running) for call in guarded.overlaps] == [("abort", "handle")]


def test_steerable_plugin_corrupt_state_is_a_permanent_failure_R102() -> None:
    machine, *_ = started_machine()
    ctx = _context(machine, state=b"garbage", version=3)
    info = SteerablePlugin(ManualClock(T0)).handle(ctx).info
    assert (info.phase, info.err and info.err.code) == (PluginPhase.PERMANENT_FAILURE, "CorruptedPluginState")


def _context(machine: TaskActionWorldMachine, state: bytes = b"", version: int = 0) -> PluginContext:
    stored = machine.world.get(TA)
    assert stored is not None
    status = replace(stored.status, plugin_state=state, plugin_state_version=version)
    facts = build_task_execution_context(replace(stored, status=status), machine.policy).unwrap()
    ports = machine.world.ports()
    return PluginContext.build(facts, ports.data_store, ports.secrets, ports.resources)


# -- the tutorial's snippets run ---------------------------------------------------------------------------------------

TUTORIAL: Final = Path(__file__).resolve().parents[2] / "docs" / "tutorial-model-based-testing.md"


def test_tutorial_model_based_testing_snippets_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {"__name__": "tutorial"}
    for block in blocks:
        exec(compile(block, str(TUTORIAL), "exec"), namespace)
