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

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from returns.result import Failure, Success
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from taskaction_core.cli import operations, render
from taskaction_core.cli.backend import DEFAULT_DATA, DEFAULT_DB, Backend, default_plugins, open_backend
from taskaction_core.cli.demo_checks import SIGNALLER, CountingPlugin, DemoWorld, checks
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
from taskaction_core.interpreter.ports import PluginRegistry
from taskaction_core.phases import ActionPhase
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.runtime.controller import Controller

__all__ = ["run_demo"]

DEADLINE: Final = 50.0
"""Wall seconds for the whole script of moves; the demo normally needs well under 15."""
REQUEUE: Final = timedelta(seconds=1)
"""Poll interval of running tasks, and the cache reservation heartbeat (R51): a reservation lapses 3 s after the
holder's last pass, which leaves a loaded machine room before the racing task could take it over."""
REFRESH: Final = 0.1


@dataclass
class _Move:
    """One step of the script: performed once, when ``ready`` first holds."""

    ready: Callable[[DemoWorld], bool]
    perform: Callable[[DemoWorld], None]
    done: bool = False


def _next_namespace(backend: Backend) -> str:
    listed = operations.list_task_actions(backend.store, None)
    used = {ta.metadata.namespace for ta in listed.value_or(())}
    number = 1
    while f"demo-{number}" in used:
        number += 1
    return f"demo-{number}"


def _apply(world: DemoWorld, task_action: TaskAction) -> None:
    applied = operations.apply_task_action(world.backend.store, task_action)
    outcome = applied.map(lambda a: a.outcome.value).value_or(
        f"failed: {applied.failure() if isinstance(applied, Failure) else ''}"
    )
    world.note(f"apply {task_action.metadata.name}: {outcome}")


def _moves(actions: Mapping[str, TaskAction]) -> list[_Move]:
    def signal(world: DemoWorld) -> None:
        value = operations.encode_signal_value('{"approved": true}').unwrap()
        now = world.backend.clock.now()
        signalled = operations.signal_condition(world.backend.store, world.namespace, APPROVAL, value, SIGNALLER, now)
        world.note(
            f"signal {APPROVAL} by {SIGNALLER!r}: {'ok' if isinstance(signalled, Success) else signalled.failure()}"
        )

    def delete(world: DemoWorld) -> None:
        deleted = operations.delete_task_action(world.backend.store, world.namespace, LONG)
        outcome = deleted.map(lambda o: o.value).value_or("failed")
        world.note(f"delete {LONG} while its process runs: {outcome}")

    def apply_first(world: DemoWorld) -> None:
        for name in (HELLO, RACE_A, RACE_B, FLAKY, APPROVAL, LONG):
            _apply(world, actions[name])

    return [
        _Move(lambda w: True, apply_first),
        _Move(lambda w: w.done(HELLO), lambda w: _apply(w, actions[HELLO_AGAIN])),
        _Move(lambda w: w.phase(APPROVAL) == "Paused", signal),
        _Move(lambda w: bool(w.executions(LONG)) and w.phase(LONG) == "Running", delete),
    ]


def _finished(world: DemoWorld, moves: list[_Move]) -> bool:
    if not all(move.done for move in moves):
        return False
    names = [HELLO, HELLO_AGAIN, RACE_A, RACE_B, FLAKY, APPROVAL]
    return all(world.done(name) for name in names) and LONG not in world.objects


def _live_table(world: DemoWorld, names: list[str]) -> RenderableType:
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
# Running it


def _timelines(world: DemoWorld, names: list[str]) -> RenderableType:
    parts: list[RenderableType] = [Text("\nPhase timelines (offsets from the start of the demo):", style="bold")]
    for name in names:
        task_action = world.objects.get(name) or world.seen.get(name)
        if task_action is None:
            continue
        parts.append(Text(f"\n{name}", style="bold cyan"))
        parts.append(render.timeline(task_action.status.phase_history, world.started))
        if name not in world.objects:
            parts.append(Text(_deletion_note(world, task_action), style="dim"))
    return Group(*parts)


def _deletion_note(world: DemoWorld, task_action: TaskAction) -> str:
    """What the phase history of a deleted object cannot show: its ABORTED ActionEvent (R90) from the sink."""
    aborted = [e for e in world.events(task_action.metadata.name) if e.phase == ActionPhase.ABORTED]
    when = f" at {render.offset(aborted[0].updated_time, world.started)}" if aborted else ""
    return f"  deleted: ActionEvent ABORTED{when}; the process was killed and the finalizer removed (R88–R91)"


def _location_options(backend: Backend) -> str:
    """``--db``/``--data`` for the hints, when they are not the defaults seen from the current directory."""
    options = ""
    if backend.db_path != Path(DEFAULT_DB).absolute():
        options += f" --db {backend.db_path}"
    if backend.data_dir != Path(DEFAULT_DATA).absolute():
        options += f" --data {backend.data_dir}"
    return options


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
    """Run the demo against ``db`` and ``data``; True when every check passed. Prints as it goes."""
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
    world = DemoWorld(backend, namespace, backend.data_dir / settings.record, plugin, backend.clock.now())
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
    results = checks(world)
    console.print(
        Text("\nWhat was verified (read back from the store, the ActionEvent sink and the processes):", style="bold")
    )
    for check in results:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(f" {mark} {check.title}")
        console.print(Text(f"     {check.evidence}", style="dim"))
    passed = sum(check.ok for check in results)
    if timed_out:
        console.print(f"[red]the demo did not finish within {DEADLINE:.0f} s[/]")
    verdict = (
        "[green]all checks passed[/]" if passed == len(results) and not timed_out else "[red]some checks failed[/]"
    )
    console.print(f"\n{verdict}: {passed}/{len(results)} in {elapsed:.1f} s. Explore it:")
    where = _location_options(backend)
    console.print(
        f"  taskaction get{where} -n {namespace} -o wide\n  taskaction describe{where} -n {namespace} {FLAKY}"
    )
    console.print(f"  taskaction events{where} -n {namespace}")
    console.print(f"  manifests: {backend.data_dir / namespace / 'manifests.yaml'}")
    return passed == len(results) and not timed_out
