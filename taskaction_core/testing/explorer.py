"""Bounded exhaustive exploration of the reconciler's reachable states.

The explorer runs the pure core against a tiny model of the world — one TaskAction, the cache entry for its key
(absent or present) and the holder of its reservation (nobody, us, someone else) — and enumerates every state
reachable from creation under every outcome of every question the core asks, plus the moves other actors make:
another owner takes or releases the reservation, another action populates the cache, the user deletes the action.

States are compared by an abstract key (phase, cache status, reservation holder, cache entry, system failures,
attempts, plugin state present, progressing condition, terminal kind, error code, deletion/finalizer flags), so
histories that only grow do not make the space infinite. At every state the declared laws are checked, and two
liveness properties are verified on the resulting graph:

* every non-terminal state can still reach a terminal one through reconcile passes alone (no deletion needed);
* no cycle (self-loops included) contains a pass decided by a failure, so with any finite number of failures the
  action is terminal within a bounded number of passes (the livelocks of Flyte #7926 / #8066 are such cycles).

    python -m taskaction_core.testing.explorer            # summary
    python -m taskaction_core.testing.explorer --write-docs docs   # regenerate docs/state-machine.md (+ .svg)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Final

from returns.result import Failure, Success

from taskaction_core.decision import Ask, Decision
from taskaction_core.effects import (
    AcquireReservation,
    InvokePlugin,
    LookupCache,
    PersistStatus,
    PutCache,
    RecordActionEvent,
    ReleaseReservation,
    WriteCachedOutputs,
)
from taskaction_core.observations import (
    CacheHit,
    CatalogErrorKind,
    CatalogFailure,
    Observations,
    PluginFailure,
    PluginHandled,
    PortFailure,
    Reservation,
)
from taskaction_core.phase_info import ExecutionError, PhaseInfo, TaskInfo, Transition
from taskaction_core.phases import ConditionStatus, ConditionType, ErrorKind, PluginPhase
from taskaction_core.policy import Policy, max_system_failures
from taskaction_core.reconcile import reconcile
from taskaction_core.records import FINALIZER, TaskAction, is_terminal
from taskaction_core.testing.builders import T0, a_task_action, observations_at

OWNER_OTHER: Final = "default/other-action"


class Holder(Enum):
    """Who holds the reservation of the action's cache key."""

    NOBODY = "nobody"
    US = "us"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class World:
    """One TaskAction plus the catalog facts that matter to it. ``task_action`` None means the object is gone."""

    task_action: TaskAction | None
    entry: bool = False
    holder: Holder = Holder.NOBODY


_HANDLE_OUTCOMES: Final[dict[str, object]] = {
    "queued": PhaseInfo(PluginPhase.QUEUED, 0, TaskInfo(occurred_at=T0), None, "queued"),
    "initializing": PhaseInfo(PluginPhase.INITIALIZING, 0, TaskInfo(occurred_at=T0), None, "pulling image"),
    "running": PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T0)),
    "success": PhaseInfo(PluginPhase.SUCCESS, 0, TaskInfo(occurred_at=T0)),
    "user-retryable": PhaseInfo(
        PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), ExecutionError("E", "user", ErrorKind.USER)
    ),
    "system-retryable": PhaseInfo(
        PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), ExecutionError("S", "system", ErrorKind.SYSTEM)
    ),
    "permanent": PhaseInfo(
        PluginPhase.PERMANENT_FAILURE, 0, TaskInfo(occurred_at=T0), ExecutionError("P", "perm", ErrorKind.USER)
    ),
    "aborted": PhaseInfo(PluginPhase.ABORTED, 0, TaskInfo(occurred_at=T0), None, "aborted by the cluster"),
    "error": PluginFailure("plugin down", ()),
    "bad-spec-error": PluginFailure("[BadTaskSpecification] nope", ("BadTaskSpecification",)),
}
FAILURE_MOVES: Final = frozenset(
    {
        "user-retryable",
        "system-retryable",
        "permanent",
        "error",
        "bad-spec-error",
        "lookup-error",
        "write-fail",
        "reserve-error",
        "put-error",
    }
)
"""Moves that report a failure; no cycle between distinct states may contain one."""


@dataclass(frozen=True, slots=True)
class Edge:
    """One explored transition: the moves of one pass (or one outside move) from one state to another."""

    source: tuple[object, ...]
    target: tuple[object, ...]
    moves: tuple[str, ...]

    @property
    def is_failure(self) -> bool:
        """The deciding (last) move of the pass was a failure; earlier tolerated failures do not count."""
        return bool(self.moves) and self.moves[-1] in FAILURE_MOVES


@dataclass
class Exploration:
    """The explored graph: abstract states, a representative world for each, the edges and any violations."""

    states: dict[tuple[object, ...], World] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    passes: int = 0

    @property
    def transitions(self) -> int:
        return len({(e.source, e.target, e.moves) for e in self.edges})


def abstract_key(world: World) -> tuple[object, ...]:
    """The abstraction the explorer deduplicates on (see the module docstring)."""
    ta = world.task_action
    if ta is None:
        return ("gone", world.entry, world.holder.value)
    status = ta.status
    progressing = next((c for c in status.conditions if c.type == ConditionType.PROGRESSING), None)
    terminal = next(
        (c.type for c in status.conditions if c.type != ConditionType.PROGRESSING and c.status == ConditionStatus.TRUE),
        None,
    )
    return (
        status.plugin_phase,
        status.cache_status,
        world.holder.value,
        world.entry,
        status.system_failures,
        status.attempts,
        bool(status.plugin_state),
        (progressing.status, progressing.reason) if progressing else None,
        terminal,
        status.error_state.code if status.error_state else None,
        ta.metadata.deletion_timestamp is not None,
        FINALIZER in ta.metadata.finalizers,
    )


def _branch(ask: Ask, observations: Observations, world: World) -> Iterator[tuple[str, Observations, World]]:
    question = ask.question
    if isinstance(question, LookupCache):
        if world.entry:
            yield "hit", replace(observations, cache_lookup=Success(CacheHit(b""))), world
        else:
            miss = CatalogFailure(CatalogErrorKind.NOT_FOUND, "miss")
            yield "miss", replace(observations, cache_lookup=Failure(miss)), world
        down = CatalogFailure(CatalogErrorKind.OTHER, "down")
        yield "lookup-error", replace(observations, cache_lookup=Failure(down)), world
    elif isinstance(question, WriteCachedOutputs):
        yield "write-ok", replace(observations, cached_outputs_write=Success(None)), world
        yield "write-fail", replace(observations, cached_outputs_write=Failure(PortFailure("disk"))), world
    elif isinstance(question, AcquireReservation):
        if world.holder is Holder.OTHER:
            yield "reserve-other", replace(observations, reservation=Success(Reservation(OWNER_OTHER))), world
        else:
            mine = Success(Reservation(question.owner_id))
            yield "reserve-ours", replace(observations, reservation=mine), replace(world, holder=Holder.US)
        yield "reserve-error", replace(observations, reservation=Failure(PortFailure("down"))), world
    elif isinstance(question, InvokePlugin):
        for name, outcome in _HANDLE_OUTCOMES.items():
            handled = (
                Failure(outcome) if isinstance(outcome, PluginFailure) else Success(PluginHandled(Transition(outcome)))  # type: ignore[arg-type]
            )
            yield name, replace(observations, handle=handled), world
    elif isinstance(question, PutCache):
        if world.entry:
            exists = CatalogFailure(CatalogErrorKind.ALREADY_EXISTS, "exists")
            yield "put-exists", replace(observations, cache_put=Failure(exists)), world
        else:
            yield "put-ok", replace(observations, cache_put=Success(None)), replace(world, entry=True)
        yield "put-error", replace(observations, cache_put=Failure(CatalogFailure(CatalogErrorKind.OTHER, "x"))), world
    else:  # pragma: no cover - the Question union is closed
        raise AssertionError(f"unknown question {question!r}")


def passes_from(world: World, policy: Policy, max_rounds: int = 8) -> Iterator[tuple[tuple[str, ...], Decision, World]]:
    """Every pass from ``world``: the moves taken, the decision, and the world before its effects are applied."""
    assert world.task_action is not None
    stack: list[tuple[Observations, World, tuple[str, ...]]] = [(observations_at(T0), world, ())]
    while stack:
        observations, current, moves = stack.pop()
        if len(moves) > max_rounds:
            raise AssertionError(f"more than {max_rounds} questions in one pass: {moves}")
        outcome = reconcile(world.task_action, observations, policy)
        if isinstance(outcome, Decision):
            yield moves, outcome, current
            continue
        for move, answered, after in _branch(outcome, observations, current):
            stack.append((answered, after, (*moves, move)))


def apply_decision(world: World, decision: Decision) -> World:
    """The world after every effect of ``decision`` succeeded."""
    holder = world.holder
    if any(isinstance(e, ReleaseReservation) for e in decision.effects) and holder is Holder.US:
        holder = Holder.NOBODY
    ta = decision.task_action
    if ta.metadata.deletion_timestamp is not None and FINALIZER not in ta.metadata.finalizers:
        return World(None, world.entry, holder)
    return World(ta, world.entry, holder)


def outside_moves(world: World) -> Iterator[tuple[str, World]]:
    """Moves other actors make between passes."""
    ta = world.task_action
    assert ta is not None
    if world.holder is Holder.NOBODY:
        yield "other-reserves", replace(world, holder=Holder.OTHER)
    if world.holder is Holder.OTHER:
        yield "other-releases", replace(world, holder=Holder.NOBODY)
    if not world.entry:
        yield "other-populates", replace(world, entry=True)
    if ta.metadata.deletion_timestamp is None:
        deleted = replace(ta, metadata=replace(ta.metadata, deletion_timestamp=T0 + timedelta(seconds=1)))
        if FINALIZER not in ta.metadata.finalizers:
            yield "delete", World(None, world.entry, world.holder)
        else:
            yield "delete", replace(world, task_action=deleted)


def check_laws(before: World, decision: Decision, policy: Policy) -> list[str]:
    """The laws checked at every explored pass."""
    problems: list[str] = []
    effects = decision.effects
    events = [i for i, e in enumerate(effects) if isinstance(e, RecordActionEvent)]
    writes = [i for i, e in enumerate(effects) if isinstance(e, PersistStatus)]
    if events and writes and max(events) > min(writes):
        problems.append("an ActionEvent is recorded after the status that describes it (R65)")
    assert before.task_action is not None
    old, new = before.task_action.status, decision.task_action.status
    if new.attempts < old.attempts:
        problems.append("attempts decreased")
    if list(new.phase_history[: len(old.phase_history)]) != list(old.phase_history):
        problems.append("phase history is not append-only")
    if new.system_failures > max_system_failures(policy) + 1:
        problems.append(f"system failures {new.system_failures} above the ceiling")
    if is_terminal(old.conditions) and new.conditions != old.conditions:
        problems.append("a terminal action changed its conditions")
    return problems


def explore(policy: Policy | None = None, retries: int = 1, limit: int = 20_000) -> Exploration:
    """Enumerate every abstract state reachable from a cacheable, serializable task with ``retries`` retries."""
    policy = policy or Policy(max_system_failures=1)
    start = World(a_task_action(with_finalizer=False, cacheable=True, serializable=True, retries=retries))
    result = Exploration()
    queue: deque[World] = deque([start])
    result.states[abstract_key(start)] = start
    while queue:
        world = queue.popleft()
        source = abstract_key(world)
        if world.task_action is None:
            continue
        successors: list[tuple[tuple[str, ...], World]] = []
        for moves, decision, current in passes_from(world, policy):
            result.passes += 1
            result.violations.extend(f"{source} --{moves}--> {p}" for p in check_laws(world, decision, policy))
            successors.append((moves, apply_decision(current, decision)))
        successors.extend(((move,), after) for move, after in outside_moves(world))
        for moves, after in successors:
            target = abstract_key(after)
            result.edges.append(Edge(source, target, moves))
            if target not in result.states:
                if len(result.states) >= limit:
                    raise AssertionError(f"more than {limit} abstract states: the abstraction is not finite")
                result.states[target] = after
                queue.append(after)
    return result


def is_done(key: tuple[object, ...]) -> bool:
    """Terminal (Succeeded/Failed) or gone."""
    return key[0] == "gone" or key[8] is not None


def unable_to_finish(result: Exploration) -> list[tuple[object, ...]]:
    """Non-terminal states from which no sequence of reconcile passes (without deletion) reaches a terminal one."""
    backwards: dict[tuple[object, ...], set[tuple[object, ...]]] = {}
    for edge in result.edges:
        if edge.moves != ("delete",):
            backwards.setdefault(edge.target, set()).add(edge.source)
    reach = {key for key in result.states if is_done(key)}
    frontier = list(reach)
    while frontier:
        for source in backwards.get(frontier.pop(), ()):
            if source not in reach:
                reach.add(source)
                frontier.append(source)
    return [key for key in result.states if key not in reach]


def failure_cycles(result: Exploration) -> list[Edge]:
    """Failure edges that lie on a cycle, self-loops included: a failure that changes nothing, or a round of
    states a failure leads back into, can repeat forever (a livelock)."""
    graph: dict[tuple[object, ...], set[tuple[object, ...]]] = {}
    for edge in result.edges:
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
    component = _strongly_connected(graph, list(result.states))
    return [
        e for e in result.edges if e.is_failure and (e.source == e.target or component[e.source] == component[e.target])
    ]


def _strongly_connected(
    graph: dict[tuple[object, ...], set[tuple[object, ...]]], nodes: list[tuple[object, ...]]
) -> dict[tuple[object, ...], int]:
    """Tarjan's algorithm, iterative: node → component number."""
    index: dict[tuple[object, ...], int] = {}
    low: dict[tuple[object, ...], int] = {}
    component: dict[tuple[object, ...], int] = {}
    stack: list[tuple[object, ...]] = []
    on_stack: set[tuple[object, ...]] = set()
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[tuple[object, ...], Iterator[tuple[object, ...]]]] = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
    return component


# --------------------------------------------------------------------------------------------------------------------
# The state diagram (docs/state-machine.md), generated from an exploration


def phase_label(key: tuple[object, ...]) -> str:
    """The diagram node of an abstract state: the plugin phase, or the terminal outcome, or Deleted."""
    if key[0] == "gone":
        return "Deleted"
    progressing = key[7]
    if key[8] == ConditionType.SUCCEEDED:
        return "Succeeded"
    if key[8] == ConditionType.FAILED:
        reason = progressing[1] if isinstance(progressing, tuple) else "Failed"
        return f"Failed_{reason}"
    if key[10]:
        return "Deleting"
    phase = str(key[0])
    return phase.removeprefix("Phase") if phase else "Created"


def diagram_edges(result: Exploration) -> dict[tuple[str, str], set[str]]:
    """Phase-level edges labelled with the deciding move of each pass (its last answer, or the outside move)."""
    edges: dict[tuple[str, str], set[str]] = {}
    for edge in result.edges:
        source, target = phase_label(edge.source), phase_label(edge.target)
        if source != target:
            edges.setdefault((source, target), set()).add(edge.moves[-1] if edge.moves else "pass")
    return edges


def to_mermaid(result: Exploration) -> str:
    """Mermaid ``stateDiagram-v2`` source, deterministic (sorted), for docs/state-machine.md."""
    lines = ["stateDiagram-v2", "    [*] --> Created"]
    for (source, target), moves in sorted(diagram_edges(result).items()):
        lines.append(f"    {source} --> {target}: {', '.join(sorted(moves))}")
    for terminal in sorted({phase_label(k) for k in result.states if is_done(k)}):
        lines.append(f"    {terminal} --> [*]")
    return "\n".join(lines) + "\n"


def to_dot(result: Exploration) -> str:
    """The same graph for Graphviz, used to render the committed image."""
    lines = ["digraph taskaction {", "  rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];"]
    lines.append("  edge [fontname=Helvetica, fontsize=9];")
    for (source, target), moves in sorted(diagram_edges(result).items()):
        label = "\\n".join(sorted(moves))
        lines.append(f'  "{source}" -> "{target}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def summary(result: Exploration) -> str:
    stuck, cycles = unable_to_finish(result), failure_cycles(result)
    return (
        f"{len(result.states)} abstract states, {result.transitions} distinct transitions "
        f"({len(result.edges)} edges, {result.passes} passes explored); "
        f"{len(result.violations)} law violations, {len(stuck)} states that cannot finish, "
        f"{len(cycles)} failure edges on cycles"
    )


DOC_HEADER: Final = """# The TaskAction state machine

Generated by `python -m taskaction_core.testing.explorer --write-docs docs` from a bounded exhaustive exploration
of the pure core (a cacheable, serializable task with 1 retry and `max_system_failures=1`, default deviations).
Do not edit by hand: `tests/stateful/test_explorer.py` fails when this file is stale.

Nodes are plugin phases (or the terminal outcome, `Deleting` while the finalizer is still on, and `Deleted`);
edge labels are the moves that decide each transition (the plugin's answer, the cache's, or another actor's).

"""


def render_docs(result: Exploration) -> str:
    """The whole generated docs/state-machine.md."""
    return (
        DOC_HEADER
        + f"Exploration: {summary(result)}.\n\n"
        + "![state diagram](state-machine.svg)\n\n"
        + "```mermaid\n"
        + to_mermaid(result)
        + "```\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Explore the reconciler's reachable states.")
    parser.add_argument("--write-docs", type=Path, help="directory to write state-machine.md (+ .svg with Graphviz)")
    args = parser.parse_args(argv)
    result = explore()
    print(summary(result))
    if args.write_docs is not None:
        (args.write_docs / "state-machine.md").write_text(render_docs(result), encoding="utf-8")
        svg = subprocess.run(["dot", "-Tsvg"], input=to_dot(result), capture_output=True, text=True, check=True)
        (args.write_docs / "state-machine.svg").write_text(svg.stdout, encoding="utf-8")
    return 0 if not (result.violations or unable_to_finish(result) or failure_cycles(result)) else 1


if __name__ == "__main__":
    sys.exit(main())
