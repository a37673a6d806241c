"""What ``taskaction demo`` reads back and verifies: the store, the ActionEvent sink, the plugin's call counts and the
records the task processes leave (one file per real execution). Every check is computed from those, never from what
the demo expected to happen.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from returns.result import Failure, Success

from taskaction_core.action_event import ActionEvent
from taskaction_core.adapters.plugins.literals import from_literal_map_bytes
from taskaction_core.cli import operations, render
from taskaction_core.cli.backend import Backend
from taskaction_core.cli.scenarios import APPROVAL, FLAKY, HELLO, HELLO_AGAIN, LONG, RACE_A, RACE_B
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Plugin, PluginProperties
from taskaction_core.phase_info import Transition
from taskaction_core.phases import ActionPhase, CacheStatus
from taskaction_core.records import TaskAction, is_terminal

__all__ = ["SIGNALLER", "Check", "CountingPlugin", "DemoWorld", "checks"]

SIGNALLER = "demo"
"""Who signals the demo's condition (``status.signalledBy``)."""


class CountingPlugin:
    """A plugin wrapper that counts the calls per TaskAction, so "the plugin was not invoked" is an observation."""

    def __init__(self, inner: Plugin) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.handles: Counter[str] = Counter()
        self.aborts: Counter[str] = Counter()

    @property
    def id(self) -> str:
        return self._inner.id

    @property
    def properties(self) -> PluginProperties:
        return self._inner.properties

    def handle(self, ctx: PluginContext) -> Transition:
        with self._lock:
            self.handles[ctx.facts.name] += 1
        return self._inner.handle(ctx)

    def abort(self, ctx: PluginContext) -> None:
        with self._lock:
            self.aborts[ctx.facts.name] += 1
        self._inner.abort(ctx)

    def finalize(self, ctx: PluginContext) -> None:
        self._inner.finalize(ctx)


@dataclass
class DemoWorld:
    """What the demo reads back while it runs."""

    backend: Backend
    namespace: str
    record_dir: Path
    plugin: CountingPlugin
    started: datetime
    objects: dict[str, TaskAction] = field(default_factory=dict)
    seen: dict[str, TaskAction] = field(default_factory=dict)
    moves: list[str] = field(default_factory=list)

    def refresh(self) -> None:
        listed = operations.list_task_actions(self.backend.store, self.namespace)
        if isinstance(listed, Success):
            self.objects = {ta.metadata.name: ta for ta in listed.unwrap()}
            self.seen.update(self.objects)

    def executions(self, name: str) -> list[dict[str, object]]:
        """The records the task processes of ``name`` left: one per real execution."""
        found = []
        for path in sorted(self.record_dir.glob(f"{name}-*.json")):
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return found

    def phase(self, name: str) -> str:
        task_action = self.objects.get(name)
        if task_action is None:
            return "Deleted" if name in self.seen else "-"
        return render.display_phase(task_action)

    def done(self, name: str) -> bool:
        task_action = self.objects.get(name)
        return task_action is not None and is_terminal(task_action.status.conditions)

    def events(self, name: str) -> tuple[ActionEvent, ...]:
        """The ActionEvents stored for ``name`` (also after the object was deleted), in arrival order."""
        task_action = self.seen.get(name)
        if task_action is None:
            return ()
        return operations.events_of(self.backend.events, [task_action]).value_or(())

    def note(self, move: str) -> None:
        self.moves.append(f"{render.offset(datetime.now(self.started.tzinfo), self.started)}  {move}")


@dataclass(frozen=True, slots=True)
class Check:
    title: str
    ok: bool
    evidence: str


def _outputs_value(world: DemoWorld, task_action: TaskAction) -> str:
    uri = render.output_uri(task_action)
    read = world.backend.data_store.read(uri) if uri else None
    if read is None or isinstance(read, Failure):
        return "no outputs.pb"
    return json.dumps(from_literal_map_bytes(read.unwrap()))


def _succeeded(world: DemoWorld, name: str) -> bool:
    task_action = world.objects.get(name)
    return task_action is not None and render.display_phase(task_action) == "Succeeded"


def checks(world: DemoWorld) -> list[Check]:
    return [
        _check_success(world),
        _check_cache_hit(world),
        _check_race(world),
        _check_retry(world),
        _check_condition(world),
        _check_abort(world),
    ]


def _check_success(world: DemoWorld) -> Check:
    hello = world.objects.get(HELLO)
    runs = len(world.executions(HELLO))
    cache = render.cache_name(hello.status.cache_status) if hello else "-"
    outputs = _outputs_value(world, hello) if hello else "-"
    ok = _succeeded(world, HELLO) and runs == 1 and outputs == '{"o0": 42}' and cache == "POPULATED"
    evidence = f"{HELLO}: {world.phase(HELLO)}, {runs} process run, outputs {outputs}, cache {cache}"
    return Check("a task runs as a real process and succeeds", ok, evidence)


def _check_cache_hit(world: DemoWorld) -> Check:
    again = world.objects.get(HELLO_AGAIN)
    calls, runs = world.plugin.handles[HELLO_AGAIN], len(world.executions(HELLO_AGAIN))
    hit_events = [e for e in world.events(HELLO_AGAIN) if e.cache_status == CacheStatus.CACHE_HIT]
    status_hit = again is not None and again.status.cache_status == CacheStatus.CACHE_HIT
    outputs = _outputs_value(world, again) if again else "-"
    ok = _succeeded(world, HELLO_AGAIN) and status_hit and calls == 0 and runs == 0 and bool(hit_events)
    evidence = f"{HELLO_AGAIN}: {world.phase(HELLO_AGAIN)}, cacheStatus HIT={status_hit}, plugin calls {calls}"
    evidence += f", processes {runs}, outputs {outputs}"
    return Check("cache hit: the same task again completes without running (plugin not invoked)", ok, evidence)


def _check_race(world: DemoWorld) -> Check:
    runs = {name: len(world.executions(name)) for name in (RACE_A, RACE_B)}
    caches = {
        name: render.cache_name(world.objects[name].status.cache_status) for name in runs if name in world.objects
    }
    ran = [name for name, count in runs.items() if count]
    both_ok = all(_succeeded(world, name) for name in runs)
    loser = next((name for name in runs if name not in ran), "")
    ok = both_ok and sum(runs.values()) == 1 and caches.get(loser) == "HIT"
    evidence = f"processes {runs}; cache {caches}; winner {ran[0] if len(ran) == 1 else ran}"
    return Check("serialized cache: two racing tasks, exactly one runs, the other is a cache hit", ok, evidence)


def _check_retry(world: DemoWorld) -> Check:
    flaky = world.objects.get(FLAKY)
    attempts = flaky.status.attempts if flaky else 0
    runs = len(world.executions(FLAKY))
    events = world.events(FLAKY)
    failed_first = any(e.attempt == 1 and e.phase == ActionPhase.FAILED for e in events)
    succeeded_second = any(e.attempt == 2 and e.phase == ActionPhase.SUCCEEDED for e in events)
    ok = _succeeded(world, FLAKY) and attempts == 2 and runs == 2 and failed_first and succeeded_second
    evidence = f"{FLAKY}: {world.phase(FLAKY)} on attempt {attempts}, {runs} processes, events: attempt 1 FAILED"
    evidence += f"={failed_first}, attempt 2 SUCCEEDED={succeeded_second}"
    return Check("a task fails, retries in place (same object, attempt 2) and succeeds", ok, evidence)


def _check_condition(world: DemoWorld) -> Check:
    approval = world.objects.get(APPROVAL)
    history = [entry.phase for entry in approval.status.phase_history] if approval else []
    by = approval.status.signalled_by if approval else ""
    value = operations.decode_signal_value(approval.status.signal_value) if approval else ""
    ok = _succeeded(world, APPROVAL) and history == ["Paused", "Signaled"] and by == SIGNALLER
    evidence = f"{APPROVAL}: history {' → '.join(history)}, signalled by {by!r} with {value}"
    return Check("a condition waits (Paused) and is signalled", ok, evidence)


def _check_abort(world: DemoWorld) -> Check:
    records = world.executions(LONG)
    pids = [int(str(record["pid"])) for record in records]
    alive = [pid for pid in pids if _alive(pid)]
    aborted = [e for e in world.events(LONG) if e.phase == ActionPhase.ABORTED]
    gone = LONG not in world.objects and LONG in world.seen
    ok = gone and len(pids) == 1 and not alive and bool(aborted) and world.plugin.aborts[LONG] >= 1
    evidence = f"{LONG}: object removed={gone}, process {pids} alive={bool(alive)}, ABORTED events {len(aborted)}"
    evidence += f", plugin aborts {world.plugin.aborts[LONG]}"
    return Check("a long task is deleted while running: process killed, ABORTED event, object removed", ok, evidence)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its parent counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
