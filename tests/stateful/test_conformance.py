"""The plugin conformance kit: conforming plugins pass it, and each deliberately broken plugin is caught by the rule
it breaks (R99 idempotency, R101 state versioning, Q11 phase versions, the replay's hidden-state check)."""

from __future__ import annotations

import json
from typing import Final

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Plugin, PluginError
from taskaction_core.phase_info import (
    PhaseInfo,
    Transition,
    phase_info_queued,
    phase_info_running,
    phase_info_system_retryable_failure,
)
from taskaction_core.phases import PluginPhase
from taskaction_core.testing.builders import T0
from taskaction_core.testing.conformance import (
    ConformanceViolation,
    PluginConformanceMachine,
    plugin_conformance_machine,
)
from taskaction_core.testing.fakes import ManualClock, ScriptedPlugin
from taskaction_core.testing.machine import SteerablePlugin

KIT_SETTINGS: Final = settings(max_examples=40, stateful_step_count=15, deadline=None)
"""Explicit budget for a conforming plugin: 40 programs of up to 15 steps (≤ 600 plugin-call steps)."""
CATCH_SETTINGS: Final = settings(
    max_examples=100,
    stateful_step_count=15,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    report_multiple_bugs=False,
)
"""For a broken plugin: stop at the first violation found (no shrinking), within 100 programs."""


class PodPlugin(ScriptedPlugin):
    """A conforming :class:`ScriptedPlugin`: its one step follows a pod in a tiny cluster that Abort deletes."""

    def __init__(self) -> None:
        self.pods: set[str] = set()
        super().__init__("pods", [self.step])

    def step(self, ctx: PluginContext) -> Transition:
        version, state = ctx.state.get()
        name = ctx.facts.generated_name
        if state is None:
            self.pods.add(name)
            ctx.state.put(1, b"pod")
            return Transition(phase_info_queued(T0, 0, "pod created"))
        if (version, state) != (1, b"pod"):
            raise PluginError(f"unknown plugin state version {version}", "CorruptedPluginState")
        if name not in self.pods:
            return Transition(phase_info_system_retryable_failure(T0, "ResourceDeletedExternally", "gone", None))
        return Transition(phase_info_running(T0, 0, None))

    def abort(self, ctx: PluginContext) -> None:
        super().abort(ctx)
        self.pods.discard(ctx.facts.generated_name)


def pods(plugin: Plugin) -> frozenset[str]:
    assert isinstance(plugin, PodPlugin)
    return frozenset(plugin.pods)


def run(machine: type[PluginConformanceMachine]) -> None:
    run_state_machine_as_test(machine, settings=KIT_SETTINGS)


def catch(machine: type[PluginConformanceMachine]) -> None:
    run_state_machine_as_test(machine, settings=CATCH_SETTINGS)


# -- conforming plugins pass -----------------------------------------------------------------------------------------


def test_conformance_scripted_pod_plugin_conforms() -> None:
    run(plugin_conformance_machine(PodPlugin, task_type="python", observe=pods))


def test_conformance_world_machine_default_plugin_conforms() -> None:
    def live(plugin: Plugin) -> frozenset[str]:
        assert isinstance(plugin, SteerablePlugin)
        return plugin.live()

    run(plugin_conformance_machine(lambda: SteerablePlugin(ManualClock(T0)), task_type="python", observe=live))


# -- broken plugins are caught ---------------------------------------------------------------------------------------


class ChattyPlugin(PodPlugin):
    """Q11: a new reason on every Running report, at the same phase version: the run service drops all but one."""

    def __init__(self) -> None:
        super().__init__()
        self.reports = 0

    def step(self, ctx: PluginContext) -> Transition:
        transition = super().step(ctx)
        if transition.info.phase is not PluginPhase.RUNNING:
            return transition
        self.reports += 1
        return Transition(PhaseInfo(PluginPhase.RUNNING, 0, transition.info.info, None, f"{self.reports} pods ready"))


class AbortOncePlugin(PodPlugin):
    """R99: Abort works once and raises when retried."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted: set[str] = set()

    def abort(self, ctx: PluginContext) -> None:
        name = ctx.facts.generated_name
        if name in self.aborted:
            raise RuntimeError(f"pod {name} not found")
        self.aborted.add(name)
        super().abort(ctx)


class JsonStatePlugin(PodPlugin):
    """R101: decodes its state with json.loads and lets the decoding error escape on garbage."""

    def step(self, ctx: PluginContext) -> Transition:
        _, state = ctx.state.get()
        if state is None:
            self.pods.add(ctx.facts.generated_name)
            ctx.state.put(1, json.dumps({"pod": ctx.facts.generated_name}).encode())
            return Transition(phase_info_queued(T0, 0, "pod created"))
        pod = json.loads(state)["pod"]
        if pod not in self.pods:
            return Transition(phase_info_system_retryable_failure(T0, "ResourceDeletedExternally", "gone", None))
        return Transition(phase_info_running(T0, 0, None))


CONTROLLERS: list[int] = [0]
"""Hidden global state of :class:`GlobalStatePlugin`: how many instances were built, shared by all of them."""


class GlobalStatePlugin(PodPlugin):
    """Hidden state: names its pods after a global instance counter, so a fresh instance answers differently."""

    def __init__(self) -> None:
        super().__init__()
        self.controller = CONTROLLERS[0]
        CONTROLLERS[0] += 1

    def step(self, ctx: PluginContext) -> Transition:
        transition = super().step(ctx)
        if transition.info.phase is not PluginPhase.QUEUED:
            return transition
        return Transition(phase_info_queued(T0, 0, f"pod created by controller {self.controller}"))


class ZombiePlugin(PodPlugin):
    """R99: Abort reports success but leaves the pod running, so Handle keeps reporting Running."""

    def abort(self, ctx: PluginContext) -> None:
        ScriptedPlugin.abort(self, ctx)


class LeakyPlugin(PodPlugin):
    """R99: every Handle from an empty state creates a new pod, so a repeated Handle leaks one."""

    def step(self, ctx: PluginContext) -> Transition:
        _, state = ctx.state.get()
        if state is None:
            self.pods.add(f"{ctx.facts.generated_name}-{len(self.pods)}")
        return super().step(ctx)


def test_conformance_phase_version_kept_while_reason_changes_is_caught_Q11() -> None:
    with pytest.raises(ConformanceViolation, match="Q11"):
        catch(plugin_conformance_machine(ChattyPlugin, task_type="python"))


def test_conformance_abort_raising_the_second_time_is_caught_R99() -> None:
    with pytest.raises(ConformanceViolation, match="idempotent abort"):
        catch(plugin_conformance_machine(AbortOncePlugin, task_type="python"))


def test_conformance_crash_on_garbage_state_is_caught_R101() -> None:
    with pytest.raises(
        ConformanceViolation,
        match=r"R101 state versioning: Handle raised (JSONDecodeError|KeyError|UnicodeDecodeError|TypeError)",
    ):
        catch(plugin_conformance_machine(JsonStatePlugin, task_type="python"))


def test_conformance_hidden_global_state_is_caught_by_the_replay() -> None:
    class Machine(plugin_conformance_machine(GlobalStatePlugin, task_type="python")):  # type: ignore[misc]
        def __init__(self) -> None:
            CONTROLLERS[0] = 0  # the plugin under test is controller 0, the replay's fresh one controller 1
            super().__init__()

    with pytest.raises(ConformanceViolation, match="hidden state"):
        catch(Machine)


def test_conformance_live_phase_after_abort_is_caught_R99() -> None:
    with pytest.raises(ConformanceViolation, match="after Abort"):
        catch(plugin_conformance_machine(ZombiePlugin, task_type="python"))


def test_conformance_resource_leaked_by_a_repeated_handle_is_caught_R99() -> None:
    with pytest.raises(ConformanceViolation, match="idempotent Handle"):
        catch(plugin_conformance_machine(LeakyPlugin, task_type="python", observe=pods))


def test_conformance_machine_is_named_after_the_task_type_and_uses_it() -> None:
    machine = plugin_conformance_machine(PodPlugin, task_type="spark")
    assert machine.__name__ == "PluginConformance_spark"
    assert machine().task_action.spec.task_type == "spark"
