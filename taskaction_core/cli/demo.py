"""``taskaction demo``: real TaskActions on SQLite + local files + real processes, shown live, then verified.

Theory of operation. The demo opens the same embedded backend as every other command (``--db``, ``--data``), picks
a fresh namespace ``demo-<n>`` (so it can run again in the same place, and ``taskaction get -n demo-<n>`` shows what
it did), copies the demo task script into ``<data>/demo-<n>/`` and starts the real controller (work queue, worker
threads, the interpreter, the subprocess plugin) in this process. Then it plays a script of moves against the store,
the way users and the actions service would, each move waiting for the state the previous ones produced:

1. ``hello``, ``race-a``, ``race-b``, ``flaky``, ``approval`` and ``long`` are applied at once;
2. once ``hello`` has succeeded, ``hello-again`` (the same task, the same cache key) is applied: a cache hit;
3. once ``approval`` is paused, it is signalled (the Signal RPC's write, R78);
4. once ``long``'s process is running, ``long`` is deleted: the deletion arm aborts it (R85–R91).

While it runs, a live table shows every action's phase. At the end it prints each action's phase timeline and a
checklist computed from what the store, the ActionEvent sink, the plugin wrapper and the task processes' own records
say, never from what the demo expected. The exit status is non-zero when a check fails.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from returns.result import Failure, Success
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from taskaction_core.action_event import ActionEvent
from taskaction_core.cli import operations, render
from taskaction_core.cli.backend import Backend, default_plugins, open_backend
from taskaction_core.cli.manifests import dump_yaml
from taskaction_core.cli.scenarios import (
    APPROVAL,
    FLAKY,
    HELLO,
    HELLO_AGAIN,
    LONG,
    RACE_A,
    RACE_B,
    DemoSettings,
    demo_actions,
)
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Plugin, PluginProperties, PluginRegistry
from taskaction_core.phase_info import Transition
from taskaction_core.phases import ActionPhase, CacheStatus
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction, is_terminal
from taskaction_core.runtime.controller import Controller

__all__ = ["CountingPlugin", "run_demo"]

DEADLINE: Final = 50.0
"""Wall seconds for the whole script of moves; the demo normally needs well under 15."""
REQUEUE: Final = timedelta(milliseconds=500)
"""Poll interval of running tasks, and the cache reservation heartbeat (R51): expiry after 3 × 0.5 s."""
REFRESH: Final = 0.1
SIGNALLER: Final = "demo"


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
class _World:
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

    def note(self, move: str) -> None:
        self.moves.append(f"{render.offset(datetime.now(self.started.tzinfo), self.started)}  {move}")


@dataclass
class _Move:
    """One step of the script: performed once, when ``ready`` first holds."""

    ready: Callable[[_World], bool]
    perform: Callable[[_World], None]
    done: bool = False


def _next_namespace(backend: Backend) -> str:
    listed = operations.list_task_actions(backend.store, None)
    used = {ta.metadata.namespace for ta in listed.value_or(())}
    number = 1
    while f"demo-{number}" in used:
        number += 1
    return f"demo-{number}"


def _apply(world: _World, task_action: TaskAction) -> None:
    applied = operations.apply_task_action(world.backend.store, task_action)
    outcome = applied.map(lambda a: a.outcome.value).value_or(
        f"failed: {applied.failure() if isinstance(applied, Failure) else ''}"
    )
    world.note(f"apply {task_action.metadata.name}: {outcome}")


def _moves(actions: Mapping[str, TaskAction]) -> list[_Move]:
    def signal(world: _World) -> None:
        value = operations.encode_signal_value('{"approved": true}').unwrap()
        now = world.backend.clock.now()
        signalled = operations.signal_condition(world.backend.store, world.namespace, APPROVAL, value, SIGNALLER, now)
        world.note(
            f"signal {APPROVAL} by {SIGNALLER!r}: {'ok' if isinstance(signalled, Success) else signalled.failure()}"
        )

    def delete(world: _World) -> None:
        deleted = operations.delete_task_action(world.backend.store, world.namespace, LONG)
        outcome = deleted.map(lambda o: o.value).value_or("failed")
        world.note(f"delete {LONG} while its process runs: {outcome}")

    def apply_first(world: _World) -> None:
        for name in (HELLO, RACE_A, RACE_B, FLAKY, APPROVAL, LONG):
            _apply(world, actions[name])

    return [
        _Move(lambda w: True, apply_first),
        _Move(lambda w: w.done(HELLO), lambda w: _apply(w, actions[HELLO_AGAIN])),
        _Move(lambda w: w.phase(APPROVAL) == "Paused", signal),
        _Move(lambda w: bool(w.executions(LONG)) and w.phase(LONG) == "Running", delete),
    ]


def _finished(world: _World, moves: list[_Move]) -> bool:
    if not all(move.done for move in moves):
        return False
    names = [HELLO, HELLO_AGAIN, RACE_A, RACE_B, FLAKY, APPROVAL]
    return all(world.done(name) for name in names) and LONG not in world.objects


def _live_table(world: _World, names: list[str]) -> RenderableType:
    table = Table(title=f"TaskActions in namespace {world.namespace}", header_style="bold", expand=False)
    for column in ("NAME", "PHASE", "STATUS", "ATTEMPT", "CACHE", "PLUGIN CALLS", "PROCESSES", "LAST MESSAGE"):
        table.add_column(column, overflow="fold", max_width=60 if column == "LAST MESSAGE" else None)
    for name in names:
        task_action = world.objects.get(name) or world.seen.get(name)
        phase = world.phase(name)
        status = task_action.status if task_action is not None else None
        progressing = next((c for c in status.conditions if c.type == "Progressing"), None) if status else None
        history = status.phase_history if status else ()
        table.add_row(
            name,
            Text(phase, style=render.phase_style(phase)),
            progressing.reason if progressing else "",
            str(status.attempts) if status and status.attempts else "",
            render.cache_name(status.cache_status) if status and status.cache_status else "",
            str(world.plugin.handles[name]),
            str(len(world.executions(name))),
            Text(history[-1].message if history else ""),
        )
    moves = Text("\n".join(world.moves[-6:]), style="dim")
    return Group(table, moves)


# --------------------------------------------------------------------------------------------------------------------
# The checks


@dataclass(frozen=True, slots=True)
class Check:
    title: str
    ok: bool
    evidence: str


def _events(world: _World, name: str) -> tuple[ActionEvent, ...]:
    task_action = world.seen.get(name)
    if task_action is None:
        return ()
    return operations.events_of(world.backend.events, [task_action]).value_or(())


def _outputs_value(world: _World, task_action: TaskAction) -> str:
    from taskaction_core.plugins.literals import from_literal_map_bytes

    uri = render.output_uri(task_action)
    read = world.backend.data_store.read(uri) if uri else None
    if read is None or isinstance(read, Failure):
        return "no outputs.pb"
    return json.dumps(from_literal_map_bytes(read.unwrap()))


def _succeeded(world: _World, name: str) -> bool:
    task_action = world.objects.get(name)
    return task_action is not None and render.display_phase(task_action) == "Succeeded"


def _checks(world: _World) -> list[Check]:
    return [
        _check_success(world),
        _check_cache_hit(world),
        _check_race(world),
        _check_retry(world),
        _check_condition(world),
        _check_abort(world),
    ]


def _check_success(world: _World) -> Check:
    hello = world.objects.get(HELLO)
    runs = len(world.executions(HELLO))
    cache = render.cache_name(hello.status.cache_status) if hello else "-"
    outputs = _outputs_value(world, hello) if hello else "-"
    ok = _succeeded(world, HELLO) and runs == 1 and outputs == '{"o0": 42}' and cache == "POPULATED"
    evidence = f"{HELLO}: {world.phase(HELLO)}, {runs} process run, outputs {outputs}, cache {cache}"
    return Check("a task runs as a real process and succeeds", ok, evidence)


def _check_cache_hit(world: _World) -> Check:
    again = world.objects.get(HELLO_AGAIN)
    calls, runs = world.plugin.handles[HELLO_AGAIN], len(world.executions(HELLO_AGAIN))
    hit_events = [e for e in _events(world, HELLO_AGAIN) if e.cache_status == CacheStatus.CACHE_HIT]
    status_hit = again is not None and again.status.cache_status == CacheStatus.CACHE_HIT
    outputs = _outputs_value(world, again) if again else "-"
    ok = _succeeded(world, HELLO_AGAIN) and status_hit and calls == 0 and runs == 0 and bool(hit_events)
    evidence = f"{HELLO_AGAIN}: {world.phase(HELLO_AGAIN)}, cacheStatus HIT={status_hit}, plugin calls {calls}"
    evidence += f", processes {runs}, outputs {outputs}"
    return Check("cache hit: the same task again completes without running (plugin not invoked)", ok, evidence)


def _check_race(world: _World) -> Check:
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


def _check_retry(world: _World) -> Check:
    flaky = world.objects.get(FLAKY)
    attempts = flaky.status.attempts if flaky else 0
    runs = len(world.executions(FLAKY))
    events = _events(world, FLAKY)
    failed_first = any(e.attempt == 1 and e.phase == ActionPhase.FAILED for e in events)
    succeeded_second = any(e.attempt == 2 and e.phase == ActionPhase.SUCCEEDED for e in events)
    ok = _succeeded(world, FLAKY) and attempts == 2 and runs == 2 and failed_first and succeeded_second
    evidence = f"{FLAKY}: {world.phase(FLAKY)} on attempt {attempts}, {runs} processes, events: attempt 1 FAILED"
    evidence += f"={failed_first}, attempt 2 SUCCEEDED={succeeded_second}"
    return Check("a task fails, retries in place (same object, attempt 2) and succeeds", ok, evidence)


def _check_condition(world: _World) -> Check:
    approval = world.objects.get(APPROVAL)
    history = [entry.phase for entry in approval.status.phase_history] if approval else []
    by = approval.status.signalled_by if approval else ""
    value = operations.decode_signal_value(approval.status.signal_value) if approval else ""
    ok = _succeeded(world, APPROVAL) and history == ["Paused", "Signaled"] and by == SIGNALLER
    evidence = f"{APPROVAL}: history {' → '.join(history)}, signalled by {by!r} with {value}"
    return Check("a condition waits (Paused) and is signalled", ok, evidence)


def _check_abort(world: _World) -> Check:
    records = world.executions(LONG)
    pids = [int(str(record["pid"])) for record in records]
    alive = [pid for pid in pids if _alive(pid)]
    aborted = [e for e in _events(world, LONG) if e.phase == ActionPhase.ABORTED]
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


# --------------------------------------------------------------------------------------------------------------------
# Running it


def _timelines(world: _World, names: list[str]) -> RenderableType:
    parts: list[RenderableType] = [Text("\nPhase timelines (offsets from the start of the demo):", style="bold")]
    for name in names:
        task_action = world.objects.get(name) or world.seen.get(name)
        if task_action is None:
            continue
        parts.append(Text(f"\n{name}", style="bold cyan"))
        parts.append(render.timeline(task_action.status.phase_history, world.started))
        if name not in world.objects:
            parts.append(Text("  (deleted: the controller aborted the process and removed the finalizer)", style="dim"))
    return Group(*parts)


def _prepare(backend: Backend, namespace: str) -> DemoSettings:
    from taskaction_core.cli import demo_task

    work = backend.data_dir / namespace
    (work / "tasks").mkdir(parents=True, exist_ok=True)
    script = work / "tasks" / "demo_task.py"
    script.write_text(Path(demo_task.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return DemoSettings(
        namespace=namespace,
        run=namespace,
        python=sys.executable,
        script=f"{namespace}/tasks/demo_task.py",
        record=f"{namespace}/executions",
        cache_key=namespace,
    )


def run_demo(db: Path, data: Path, workers: int, out: Console | None = None) -> bool:
    """Run the demo against ``db`` and ``data``; True when every check passed."""
    console = out or render.console()
    opened = open_backend(db, data, create=True)
    if isinstance(opened, Failure):
        console.print(f"[red]error:[/] {opened.failure()}")
        return False
    backend = opened.unwrap()
    try:
        return _run(backend, workers, console)
    finally:
        backend.close()


def _run(backend: Backend, workers: int, console: Console) -> bool:
    namespace = _next_namespace(backend)
    settings = _prepare(backend, namespace)
    actions = demo_actions(settings)
    (backend.data_dir / namespace / "manifests.yaml").write_text(dump_yaml(list(actions.values())), encoding="utf-8")
    registry = PluginRegistry()
    inner = default_plugins(backend).resolve("python").unwrap()
    plugin = CountingPlugin(inner)
    registry.register(plugin, ("python", "container"), default=True)
    world = _World(backend, namespace, backend.data_dir / settings.record, plugin, backend.clock.now())
    console.print(
        f"[bold]taskaction demo[/]: namespace [cyan]{namespace}[/], database {backend.db_path}, data {backend.data_dir}"
    )
    controller = Controller(backend.ports(registry), Policy(requeue_after=REQUEUE), workers=workers)
    controller.start()
    names = [HELLO, HELLO_AGAIN, RACE_A, RACE_B, FLAKY, APPROVAL, LONG]
    moves = _moves(actions)
    deadline = time.monotonic() + DEADLINE
    timed_out = False
    try:
        with Live(_live_table(world, names), console=console, refresh_per_second=10, transient=False) as live:
            while not _finished(world, moves):
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                for move in moves:
                    if not move.done and move.ready(world):
                        move.perform(world)
                        move.done = True
                time.sleep(REFRESH)
                world.refresh()
                live.update(_live_table(world, names))
    finally:
        controller.stop(timeout=30)
    world.refresh()
    elapsed = (backend.clock.now() - world.started).total_seconds()
    console.print(_timelines(world, names))
    checks = _checks(world)
    console.print(
        Text("\nWhat was verified (read back from the store, the ActionEvent sink and the processes):", style="bold")
    )
    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(f" {mark} {check.title}")
        console.print(Text(f"     {check.evidence}", style="dim"))
    passed = sum(check.ok for check in checks)
    if timed_out:
        console.print(f"[red]the demo did not finish within {DEADLINE:.0f} s[/]")
    verdict = "[green]all checks passed[/]" if passed == len(checks) and not timed_out else "[red]some checks failed[/]"
    console.print(f"\n{verdict}: {passed}/{len(checks)} in {elapsed:.1f} s. Explore it:")
    console.print(f"  taskaction get -n {namespace} -o wide\n  taskaction describe -n {namespace} {FLAKY}")
    console.print(f"  taskaction events -n {namespace}\n  manifests: {backend.data_dir / namespace / 'manifests.yaml'}")
    return passed == len(checks) and not timed_out
