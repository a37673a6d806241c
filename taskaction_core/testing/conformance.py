"""A plugin conformance kit: what the reconciler relies on from a plugin, checked by a Hypothesis state machine.

    from taskaction_core.testing.conformance import plugin_conformance_machine

    TestMyPlugin = plugin_conformance_machine(lambda: MyPlugin(), task_type="my-type").TestCase

The reconciler calls ``handle`` on every pass and may call it again from the same persisted state (a status write
failed, the process crashed after the call, R65/R66); it calls ``abort`` before relaunching (R40, R62) and on
deletion, ``finalize`` on deletion, and retries both when they fail (R88); it hands back whatever plugin state it
persisted, which may be corrupt or written by another version (R101, Q34); and the run service keeps only the first
ActionEvent per (attempt, phase, version) (R114, Q11). The machine returned by :func:`plugin_conformance_machine`
drives one plugin the way the reconciler does and fails with a :class:`ConformanceViolation` naming the broken rule:

* **idempotent Handle** (R99): two Handles from the same persisted state report the same phase and version, and the
  second creates nothing the first did not (no new external resource, where ``observe`` makes them visible; no new
  blob in the data store);
* **idempotent Abort and Finalize** (R88, R99): calling each twice succeeds; after Abort, Handle from the same state
  does not report a live phase (Queued, WaitingForResources, Initializing, Running) until the reconciler relaunches
  (clears the state, R62, or starts a new attempt, R40);
* **plugin-state versioning** (R101, R102): a non-empty state is written with a version ≥ 1; handed back a state it
  never wrote (garbage bytes or an unknown version), Handle returns a failure transition or raises
  :class:`~taskaction_core.interpreter.ports.PluginError`, never another exception;
* **phase versions bumped when information changes** (Q11): two Handle results of one attempt with equal phase and
  version carry the same reason, logs and additional reasons, else the second ActionEvent is dropped unseen;
* **no hidden dependence on wall-clock time or global state**: replaying the same calls against a fresh plugin from
  ``make_plugin`` gives the same transitions and state writes, modulo ``occurred_at``/``reported_at`` times.

Changes to the plugin's outside world (a pod finishing, a quota freeing up) belong in rules of a subclass of the
returned machine, made through :meth:`PluginConformanceMachine.move` so the replay repeats them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Final

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from pyrsistent import pvector

from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Plugin, PluginError
from taskaction_core.observations import PluginStateWrite
from taskaction_core.phase_info import PhaseInfo, TaskInfo, Transition
from taskaction_core.phases import PluginPhase, is_failure
from taskaction_core.policy import Policy
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.records import TaskAction
from taskaction_core.testing.fakes import DictSecretManager, InMemoryDataStore, QuotaResourceManager
from taskaction_core.testing.scenarios import INPUTS, a_task

LIVE_PHASES: Final = frozenset(
    {PluginPhase.WAITING_FOR_RESOURCES, PluginPhase.QUEUED, PluginPhase.INITIALIZING, PluginPhase.RUNNING}
)
"""Phases that claim a resource is alive (D7 uses the same set)."""
GARBAGE_STATES: Final = (b"\x00", b"\xff\xfe garbage", b'{"phase": 1}', b"\x80\x04K\x01.")
VERSIONS: Final = (0, 1, 2, 7, 99, 2**31 - 1)


class ConformanceViolation(AssertionError):
    """The plugin breaks a promise the reconciler relies on; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one plugin call did, comparable across runs: the transition with its times erased, or the error."""

    info: PhaseInfo | None
    error: str | None
    state_write: PluginStateWrite | None
    plugin_error: bool = False
    """The error was a :class:`~taskaction_core.interpreter.ports.PluginError` (the contract's way to fail)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One plugin call as the reconciler made it (``method`` is handle/abort/finalize) or a world move."""

    method: str
    facts: TaskExecutionContext | None
    move: Callable[[Plugin], None] | None = None


def without_times(info: PhaseInfo) -> PhaseInfo:
    """``info`` with ``occurred_at``/``reported_at`` erased, so runs at different instants compare equal."""
    task_info = info.info
    if task_info is None:
        return info
    reasons = pvector(replace(reason, occurred_at=None) for reason in task_info.additional_reasons)
    erased = replace(task_info, occurred_at=None, reported_at=None, additional_reasons=reasons)
    return replace(info, info=erased)


def _information(info: PhaseInfo) -> tuple[object, ...]:
    """What an ActionEvent publishes besides phase and version (R68, R71): reason, logs, additional reasons."""
    task_info = info.info or TaskInfo()
    return info.reason, tuple(task_info.logs), tuple(r.reason for r in task_info.additional_reasons)


class PluginConformanceMachine(RuleBasedStateMachine):
    """The base of every machine :func:`plugin_conformance_machine` returns; configured by class attributes."""

    make_plugin: Callable[[], Plugin]
    make_task_action: Callable[[], TaskAction]
    observe: Callable[[Plugin], Collection[str]] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.plugin = type(self).make_plugin()
        self.template = type(self).make_task_action()
        self.data = self._data_store()
        self.actions = 0
        self.task_action = self.template
        self.attempts = 1
        self.state = PluginStateWrite(b"", 0)
        self.aborted = False
        self.written: set[tuple[bytes, int]] = set()
        self.previous: dict[tuple[str, int], PhaseInfo] = {}
        self.log: list[tuple[Call, Outcome]] = []

    # -- rules -----------------------------------------------------------------------------------------------------

    @rule()
    def handle(self) -> None:
        """R36: one Handle from the persisted state; its state write is persisted (R43)."""
        outcome = self._call("handle", self._facts())
        self._check_handle(outcome)
        self._persist(outcome)

    @rule()
    def handle_twice_from_the_same_state(self) -> None:
        """R99: the first Handle's status write was lost, so the next pass hands back the same state."""
        facts = self._facts()
        resources = self._observed()
        first = self._call("handle", facts)
        blobs = set(self.data.blobs())
        second = self._call("handle", facts)
        created = self._observed() - resources
        if len(created) > 1:
            raise ConformanceViolation(f"R99 idempotent Handle: two Handles from one state created {sorted(created)}")
        if new_blobs := set(self.data.blobs()) - blobs:
            raise ConformanceViolation(f"R99 idempotent Handle: the repeated Handle wrote new blobs {new_blobs}")
        if _answer(first) != _answer(second):
            raise ConformanceViolation(
                f"R99 idempotent Handle: same state, different answers: {_brief(first)} then {_brief(second)}"
            )
        self._check_handle(first)
        self._check_handle(second)
        self._persist(second)

    @rule()
    def abort_twice(self) -> None:
        """R40, R62, R88: Abort, and Abort again (a retry, or the next pass after a crash); both must succeed."""
        self._idempotent("abort")
        self.aborted = bool(self.state.state)  # from an empty state the next Handle is a launch

    @precondition(lambda self: self.aborted)
    @rule()
    def relaunch(self) -> None:
        """R62: after a system failure the reconciler clears the plugin state; the next Handle launches anew."""
        self.state = PluginStateWrite(b"", 0)
        self.aborted = False

    @rule()
    def next_attempt(self) -> None:
        """R40: an in-place restart: attempt + 1, plugin state cleared (the generated name changes, R105)."""
        self.attempts += 1
        self.state = PluginStateWrite(b"", 0)
        self.aborted = False

    @rule()
    def delete(self) -> None:
        """R88: deletion calls Abort then Finalize, each retried; afterwards the plugin serves a new TaskAction."""
        self._idempotent("abort")
        self._idempotent("finalize")
        self.actions += 1
        name = f"{self.template.metadata.name}-{self.actions}"
        self.task_action = replace(self.template, metadata=replace(self.template.metadata, name=name))
        self.attempts = 1
        self.state = PluginStateWrite(b"", 0)
        self.aborted = False

    @rule(data=st.sampled_from(GARBAGE_STATES) | st.binary(min_size=1, max_size=12), version=st.sampled_from(VERSIONS))
    def hand_back_a_state_it_never_wrote(self, data: bytes, version: int) -> None:
        """R101, R102, Q34: corrupt or foreign state yields a failure transition or a PluginError, nothing else."""
        if (data, version) in self.written:
            return
        outcome = self._call("handle", self._facts(PluginStateWrite(data, version)))
        if outcome.error is not None and not outcome.plugin_error:
            raise ConformanceViolation(
                f"R101 state versioning: Handle raised {outcome.error} on state {data!r} v{version}"
            )
        if outcome.info is not None and not is_failure(outcome.info.phase):
            raise ConformanceViolation(
                f"R101 state versioning: Handle reported {outcome.info.phase.name} on a state it never wrote"
                f" ({data!r} v{version}); expected a failure transition or a PluginError"
            )

    # -- checks ----------------------------------------------------------------------------------------------------

    def _check_handle(self, outcome: Outcome) -> None:
        info = outcome.info
        write = outcome.state_write
        if write is not None and write.state and write.version < 1:
            raise ConformanceViolation(f"R101 state versioning: state written with version {write.version}")
        if info is None:
            return
        if self.aborted and info.phase in LIVE_PHASES:
            raise ConformanceViolation(f"R99 Abort: Handle reported {info.phase.name} after Abort without a relaunch")
        key = (self.task_action.metadata.name, self.attempts)
        last = self.previous.get(key)
        same_key = last is not None and (last.phase, last.version) == (info.phase, info.version)
        if same_key and last is not None and _information(last) != _information(info):
            raise ConformanceViolation(
                f"Q11 phase version: {info.phase.name} v{info.version} again with new information "
                f"{_information(info)} (was {_information(last)}): the run service drops it (R114); bump the version"
            )
        self.previous[key] = info

    def _idempotent(self, method: str) -> None:
        facts = self._facts()
        for time in ("first", "second"):
            outcome = self._call(method, facts)
            if outcome.error is not None:
                raise ConformanceViolation(f"R99 idempotent {method}: the {time} call raised {outcome.error}")

    # -- the replay ------------------------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Replay every call against a fresh plugin: same outcomes, modulo times (no hidden clock or global state).

        Skipped when a step already failed, so that failure is the one reported.
        """
        if sys.exc_info()[1] is not None:
            return
        fresh, data = type(self).make_plugin(), self._data_store()
        for index, (call, recorded) in enumerate(self.log):
            if call.move is not None:
                call.move(fresh)
                continue
            assert call.facts is not None
            replayed = _perform(fresh, call.method, call.facts, data)
            if replayed != recorded:
                raise ConformanceViolation(
                    f"hidden state: call {index} ({call.method}) replayed on a fresh plugin gave {_brief(replayed)},"
                    f" first run gave {_brief(recorded)}; does the plugin read the wall clock or global state?"
                )

    def move(self, change: Callable[[Plugin], None]) -> None:
        """Apply a change of the plugin's outside world, recorded so the replay repeats it."""
        change(self.plugin)
        self.log.append((Call("move", None, change), Outcome(None, None, None)))

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _facts(self, state: PluginStateWrite | None = None) -> TaskExecutionContext:
        given = state if state is not None else self.state
        status = replace(
            self.task_action.status,
            attempts=self.attempts,
            plugin_state=given.state,
            plugin_state_version=given.version,
        )
        built = build_task_execution_context(replace(self.task_action, status=status), Policy())
        return built.unwrap()

    def _call(self, method: str, facts: TaskExecutionContext) -> Outcome:
        outcome = _perform(self.plugin, method, facts, self.data)
        self.log.append((Call(method, facts), outcome))
        return outcome

    def _persist(self, outcome: Outcome) -> None:
        if outcome.state_write is not None:
            self.state = outcome.state_write
            self.written.add((outcome.state_write.state, outcome.state_write.version))

    def _observed(self) -> set[str]:
        observe = type(self).observe
        return set(observe(self.plugin)) if observe is not None else set()

    def _data_store(self) -> InMemoryDataStore:
        return InMemoryDataStore({self.template.spec.input_uri: INPUTS})


def _perform(plugin: Plugin, method: str, facts: TaskExecutionContext, data: InMemoryDataStore) -> Outcome:
    """One call with a fresh context, as the interpreter makes it; exceptions become ``<type>: <text>``."""
    ctx = PluginContext.build(facts, data, DictSecretManager(), QuotaResourceManager(10))
    try:
        if method == "handle":
            transition: Transition = plugin.handle(ctx)
            return Outcome(without_times(transition.info), None, ctx.state.new_state())
        plugin.abort(ctx) if method == "abort" else plugin.finalize(ctx)
    except Exception as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}", ctx.state.new_state(), isinstance(exc, PluginError))
    return Outcome(None, None, None)


def _answer(outcome: Outcome) -> tuple[PluginPhase, int] | None:
    """What idempotency compares: the phase and version reported, or None for an error."""
    return (outcome.info.phase, outcome.info.version) if outcome.info is not None else None


def _brief(outcome: Outcome) -> str:
    if outcome.info is not None:
        return f"{outcome.info.phase.name} v{outcome.info.version} (reason {outcome.info.reason!r})"
    return outcome.error or "success"


def plugin_conformance_machine(
    make_plugin: Callable[[], Plugin],
    *,
    task_type: str,
    make_task_action: Callable[[], TaskAction] | None = None,
    observe: Callable[[Plugin], Collection[str]] | None = None,
) -> type[PluginConformanceMachine]:
    """A state machine class checking the plugins ``make_plugin`` builds; run it with ``.TestCase`` or
    ``hypothesis.stateful.run_state_machine_as_test``.

    ``task_type`` is the ``spec.taskType`` of the default TaskAction (a valid task with its inputs written);
    ``make_task_action`` replaces that TaskAction. ``observe`` lists what the plugin created in its outside world
    (resource names), so the idempotency check can count resources; without it only blobs are compared.
    ``make_plugin`` must build a plugin with a fresh outside world each time: the replay compares two of them.
    """

    def default_task_action() -> TaskAction:
        return a_task(("default", "conformance"), spec={"task_type": task_type})

    attributes = {
        "make_plugin": staticmethod(make_plugin),
        "make_task_action": staticmethod(make_task_action or default_task_action),
        "observe": staticmethod(observe) if observe is not None else None,
    }
    return type(f"PluginConformance_{task_type}", (PluginConformanceMachine,), attributes)


__all__ = [
    "LIVE_PHASES",
    "Call",
    "ConformanceViolation",
    "Outcome",
    "PluginConformanceMachine",
    "plugin_conformance_machine",
    "without_times",
]
