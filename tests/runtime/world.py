"""A world of in-memory fakes for the runtime tests: a store, a scripted plugin, and their Ports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from taskaction_core.interpreter.driver import Ports
from taskaction_core.interpreter.ports import PluginRegistry
from taskaction_core.phase_info import PhaseInfo, TaskInfo, Transition
from taskaction_core.phases import ConditionStatus, ConditionType, PluginPhase
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.testing import (
    DictSecretManager,
    InMemoryDataStore,
    InMemoryTaskActionStore,
    ManualClock,
    QuotaResourceManager,
    RecordingEventSink,
    RecordingRecorder,
    ScriptedPlugin,
)
from taskaction_core.testing.builders import PLUGIN_ID, T0, a_task_action
from taskaction_core.testing.fakes.plugin import Step
from tests.runtime.fake_time import FakeMonotonicClock

RUNNING = Transition(PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo()))
SUCCESS = Transition(PhaseInfo(PluginPhase.SUCCESS, 0, TaskInfo()))
POLICY = Policy(catalog_enabled=False)


@dataclass
class World:
    clock: ManualClock
    ticks: FakeMonotonicClock
    """The queue's clock; moving it moves ``clock`` by the same amount."""
    store: InMemoryTaskActionStore
    plugin: ScriptedPlugin
    events: RecordingEventSink
    ports: Ports

    def create(self, *names: str) -> None:
        for name in names:
            created = self.store.create(a_task_action(name=name))
            assert created.unwrap().metadata.name == name

    def get(self, name: str, namespace: str = "default") -> TaskAction:
        return self.store.get(namespace, name).unwrap()

    def succeeded(self, name: str) -> bool:
        return is_succeeded(self.get(name))


def is_succeeded(task_action: TaskAction) -> bool:
    return any(
        c.type == ConditionType.SUCCEEDED.value and c.status == ConditionStatus.TRUE.value
        for c in task_action.status.conditions
    )


def a_world(steps: Sequence[Step] = (RUNNING, SUCCESS)) -> World:
    clock = ManualClock(T0)
    store = InMemoryTaskActionStore(clock)
    plugin = ScriptedPlugin(PLUGIN_ID, steps, per_key=True)
    registry = PluginRegistry()
    registry.register(plugin, ["python"], default=True)
    events = RecordingEventSink()
    ports = Ports(
        store=store,
        plugins=registry,
        data_store=InMemoryDataStore(),
        events=events,
        recorder=RecordingRecorder(clock),
        clock=clock,
        secrets=DictSecretManager(),
        resources=QuotaResourceManager(100),
    )
    return World(clock, FakeMonotonicClock(manual=clock), store, plugin, events, ports)
