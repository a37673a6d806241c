"""A scripted plugin: each ``handle`` performs the next step of a script, so tests choose the plugin's story.

A step is a :class:`~taskaction_core.phase_info.Transition` to return, an exception to raise, a :class:`HandleStep`
(which may also write plugin state and output files first), or a callable taking the
:class:`~taskaction_core.interpreter.plugin_context.PluginContext`. The last step repeats forever. With
``per_key=True`` every TaskAction walks the script from the start on its own; otherwise one cursor is shared.

Abort and Finalize follow their own scripts of outcomes (None succeeds, an exception is raised), last repeating;
an empty script always succeeds.

Concurrency check. The runtime promises that one key is never reconciled twice at once (R29). The plugin tracks the
calls in flight per TaskAction; a second call for the same key while one is running is recorded in
:attr:`ScriptedPlugin.concurrent_calls` and raises :class:`ConcurrentCallDetected` (an ``AssertionError``). Tests
should assert the list is empty rather than rely on the exception surfacing through the interpreter. Combine with
``faults.slow("handle", ...)`` to widen the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Lock
from typing import Final, TypeVar

from returns.result import Result, Success

from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import DataError, PluginProperties
from taskaction_core.phase_info import Transition
from taskaction_core.testing.faults import Faults

PLUGIN_METHODS: Final = ("handle", "abort", "finalize")


@dataclass(frozen=True, slots=True)
class PutState:
    """Call ``ctx.state.put(version, data)`` before the step's outcome."""

    version: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ResetState:
    """Call ``ctx.state.reset()`` before the step's outcome."""


@dataclass(frozen=True, slots=True)
class HandleStep:
    """A step with side effects performed in order: state write, ``outputs.pb``, ``error.pb``, then the outcome.

    A failed file write raises ``RuntimeError`` with the data store's message, as a real plugin's would fail.
    """

    outcome: Transition | Exception
    state: PutState | ResetState | None = None
    outputs: bytes | None = None
    error_document: bytes | None = None


Step = Transition | Exception | HandleStep | Callable[[PluginContext], Transition]
AbortOutcome = Exception | None


@dataclass(frozen=True, slots=True)
class PluginCall:
    """One call the plugin received: the method and the facts of the context it was given."""

    method: str
    facts: TaskExecutionContext


@dataclass(frozen=True, slots=True)
class ConcurrentCall:
    """A call that overlapped another call for the same TaskAction."""

    key: tuple[str, str]
    method: str
    running: str
    """The method already in flight for ``key``."""


class ConcurrentCallDetected(AssertionError):
    """Two plugin calls for one TaskAction overlapped: the runtime broke R29's one-key-at-a-time promise."""

    def __init__(self, call: ConcurrentCall) -> None:
        super().__init__(f"{call.method} for {call.key[0]}/{call.key[1]} overlapped a running {call.running}")
        self.call = call


class ScriptedPlugin:
    """A :class:`~taskaction_core.interpreter.ports.Plugin` that follows a script. Thread-safe."""

    def __init__(
        self,
        plugin_id: str,
        steps: Sequence[Step],
        *,
        abort: Sequence[AbortOutcome] = (),
        finalize: Sequence[AbortOutcome] = (),
        properties: PluginProperties | None = None,
        per_key: bool = False,
    ) -> None:
        if not steps:
            raise ValueError("a scripted plugin needs at least one step")
        self.faults: Faults[Exception] = Faults(PLUGIN_METHODS)
        self._id = plugin_id
        self._properties = properties or PluginProperties()
        self._steps = tuple(steps)
        self._abort = tuple(abort)
        self._finalize = tuple(finalize)
        self._per_key = per_key
        self._lock = Lock()
        self._cursors: dict[tuple[str, str, str], int] = {}
        self._in_flight: dict[tuple[str, str], str] = {}
        self._calls: list[PluginCall] = []
        self._concurrent: list[ConcurrentCall] = []

    @property
    def id(self) -> str:
        return self._id

    @property
    def properties(self) -> PluginProperties:
        return self._properties

    def handle(self, ctx: PluginContext) -> Transition:
        with self._call("handle", ctx) as position:
            return _perform(_pick(self._steps, position), ctx)

    def abort(self, ctx: PluginContext) -> None:
        with self._call("abort", ctx) as position:
            _raise_if_error(_pick(self._abort, position) if self._abort else None)

    def finalize(self, ctx: PluginContext) -> None:
        with self._call("finalize", ctx) as position:
            _raise_if_error(_pick(self._finalize, position) if self._finalize else None)

    # -- diagnostics -----------------------------------------------------------------------------------------------

    @property
    def calls(self) -> tuple[PluginCall, ...]:
        with self._lock:
            return tuple(self._calls)

    def call_count(self, method: str) -> int:
        """Calls of ``method`` received, including injected failures and detected overlaps."""
        with self._lock:
            return sum(1 for call in self._calls if call.method == method)

    @property
    def concurrent_calls(self) -> tuple[ConcurrentCall, ...]:
        with self._lock:
            return tuple(self._concurrent)

    # -- internals -------------------------------------------------------------------------------------------------

    @contextmanager
    def _call(self, method: str, ctx: PluginContext) -> Iterator[int]:
        """Guard one call: overlap check, call log, injected fault; yields the script position of this call.

        An injected fault does not consume a script step; an overlapping call neither consumes one nor fires a fault.
        """
        key = ctx.key
        with self._lock:
            self._calls.append(PluginCall(method, ctx.facts))
            running = self._in_flight.get(key)
            if running is not None:
                overlap = ConcurrentCall(key, method, running)
                self._concurrent.append(overlap)
                raise ConcurrentCallDetected(overlap)
            self._in_flight[key] = method
        try:
            if injected := self.faults.enter(method):
                raise injected.with_traceback(None)
            yield self._advance(method, key)
        finally:
            with self._lock:
                del self._in_flight[key]

    def _advance(self, method: str, key: tuple[str, str]) -> int:
        cursor = (method, *key) if self._per_key else (method, "", "")
        with self._lock:
            position = self._cursors.get(cursor, 0)
            self._cursors[cursor] = position + 1
        return position


_T = TypeVar("_T")


def _pick(script: tuple[_T, ...], position: int) -> _T:
    """The item at ``position``; past the end, the last item repeats forever."""
    return script[min(position, len(script) - 1)]


def _perform(step: Step, ctx: PluginContext) -> Transition:
    match step:
        case Transition():
            return step
        case Exception():
            raise step.with_traceback(None)
        case HandleStep():
            _apply_side_effects(step, ctx)
            return _perform(step.outcome, ctx)
        case _:
            return step(ctx)


def _apply_side_effects(step: HandleStep, ctx: PluginContext) -> None:
    match step.state:
        case PutState(version, data):
            ctx.state.put(version, data)
        case ResetState():
            ctx.state.reset()
        case None:
            pass
    if step.outputs is not None:
        _check_written(ctx.output_writer.write_outputs(step.outputs))
    if step.error_document is not None:
        _check_written(ctx.output_writer.write_error(step.error_document))


def _check_written(written: Result[None, DataError]) -> None:
    if not isinstance(written, Success):
        raise RuntimeError(f"failed to write plugin output: {written.failure().message}")


def _raise_if_error(outcome: AbortOutcome) -> None:
    if outcome is not None:
        raise outcome.with_traceback(None)
