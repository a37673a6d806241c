"""The Python-callable plugin: a task implemented by a Python function, run on a thread pool (design.md §7).

    registry.register(PythonPlugin("add", lambda x, y: x + y), ["add"])

Theory of operation. ``handle`` never blocks (R99). The first call for an attempt reads ``inputs.pb`` (a
``core.LiteralMap``; none written means no inputs), converts it to keyword arguments
(:mod:`taskaction_core.adapters.plugins.literals`), removes any stale ``outputs.pb``, submits ``func(**inputs)`` to the
thread pool and reports Queued; later calls report Running until the future is done, then convert the return value
to ``outputs.pb`` and report Success, or classify the exception as the Flyte SDK does (reference/flyte-sdk-local.md
§5):

==================================== ================================================================
raised                               reported
==================================== ================================================================
:class:`NonRetryableError`           PermanentFailure USER, code = ``code`` or the class name
:class:`RuntimeSystemError`          RetryableFailure SYSTEM, code = ``code`` or the class name
any other exception                  RetryableFailure USER, code = the class name, message = ``str(e)``
a return value with no literal form  RetryableFailure USER ``DataValidationError``
==================================== ================================================================

Output names come from the template's interface, in order: one output gets the return value; several outputs take
a tuple or list of that length; with no declared output, ``None`` writes an empty map and any other value is
written as ``o0`` (the Flyte SDK's first output name). Inputs that do not convert are ``BadTaskSpecification``
(R58: permanent); a data store failure is an uncoded :class:`~taskaction_core.interpreter.ports.PluginError`,
which the reconciler counts as a system failure.

Limits, by the nature of threads:

- A restarted controller cannot re-attach to a thread of the previous process: with no run of its own for the
  attempt, it runs the function again (the plugin state records only which run it started). The same holds for a
  second plugin instance. Functions should be idempotent, as Flyte tasks are expected to be.
- ``abort`` cannot stop a running thread: it cancels a run that has not started and otherwise abandons it. An
  abandoned run finishes in the background, but its result is never written (outputs are written by ``handle``).
- Finished runs are kept (up to ``keep_finished``, oldest evicted first) so a repeated ``handle`` after a lost
  status write reports the same result instead of running again; ``abort`` and ``finalize`` forget runs at once.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Final

from flyteidl2.core import interface_pb2
from google.protobuf.message import DecodeError as ProtoDecodeError
from returns.result import Failure

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.adapters.plugins.literals import (
    LiteralConversionError,
    Value,
    from_literal_map_bytes,
    to_literal_map_bytes,
)
from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Clock, DataErrorKind, PluginError, PluginProperties
from taskaction_core.phase_info import (
    PhaseInfo,
    Transition,
    phase_info_failure,
    phase_info_queued,
    phase_info_retryable_failure,
    phase_info_running,
    phase_info_success,
    phase_info_system_retryable_failure,
)

__all__ = ["STATE_VERSION", "NonRetryableError", "PythonPlugin", "RuntimeSystemError", "TaskError"]

STATE_VERSION: Final = 1
BAD_TASK_SPECIFICATION: Final = "BadTaskSpecification"
_FIRST_OUTPUT: Final = "o0"


class TaskError(Exception):
    """A task failure with an optional Flyte error code (the class name when absent)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__


class NonRetryableError(TaskError):
    """Raise to fail the action at once: PermanentFailure of kind USER (Flyte SDK ``NonRecoverableError``)."""


class RuntimeSystemError(TaskError):
    """Raise for an infrastructure failure: RetryableFailure of kind SYSTEM (Flyte SDK ``RuntimeSystemError``).

    The reconciler resets the plugin and runs the attempt again, counting system failures (R38, R57, D6).
    """


AttemptKey = tuple[str, str, str, str]
"""(namespace, name, uid, generated name): one attempt of one TaskAction (R105)."""


@dataclass(slots=True)
class _Run:
    """One submission of the function for one attempt."""

    run_id: str
    future: Future[object]
    outputs_written: bool = field(default=False)


class PythonPlugin:
    """Runs ``func(**inputs)`` on a thread pool per attempt; see the module docstring."""

    def __init__(
        self,
        task_type: str,
        func: Callable[..., object],
        *,
        plugin_id: str | None = None,
        clock: Clock | None = None,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int = 4,
        keep_finished: int = 1024,
    ) -> None:
        self.task_type = task_type
        self.task_types = (task_type,)
        self._func = func
        self._id = plugin_id or f"python:{task_type}"
        self._clock: Clock = clock or SystemClock()
        self._executor = executor or ThreadPoolExecutor(max_workers, thread_name_prefix=f"taskaction-{task_type}")
        self._keep_finished = keep_finished
        self._lock = Lock()
        self._runs: OrderedDict[AttemptKey, _Run] = OrderedDict()

    @property
    def id(self) -> str:
        return self._id

    @property
    def properties(self) -> PluginProperties:
        return PluginProperties()

    def close(self) -> None:
        """Stop accepting runs; runs not yet started are cancelled, running ones finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- the plugin calls --------------------------------------------------------------------------------------------

    def handle(self, ctx: PluginContext) -> Transition:
        """R36: submit once, then Running until the function returns, then Success or a classified failure."""
        now = self._clock.now()
        key = _attempt_key(ctx.facts)
        with self._lock:
            run = self._runs.get(key)
        if run is None:
            return Transition(self._submit(ctx, key, now))
        if not run.future.done():
            return Transition(phase_info_running(now, 0, None))
        info = self._finished(ctx, run, now)
        self._remember_finished(key)
        return Transition(info)

    def abort(self, ctx: PluginContext) -> None:
        """R40, R62, R88: cancel or abandon the attempt's run; its result will never be written. Idempotent."""
        with self._lock:
            run = self._runs.pop(_attempt_key(ctx.facts), None)
        if run is not None:
            run.future.cancel()

    def finalize(self, ctx: PluginContext) -> None:
        """R88: forget every run of this TaskAction (all attempts). Idempotent."""
        owner = _attempt_key(ctx.facts)[:3]
        with self._lock:
            for key in [key for key in self._runs if key[:3] == owner]:
                self._runs.pop(key).future.cancel()

    # -- helpers -----------------------------------------------------------------------------------------------------

    def _submit(self, ctx: PluginContext, key: AttemptKey, now: datetime) -> PhaseInfo:
        inputs = _read_inputs(ctx)
        deleted = ctx.data_store.delete(ctx.output_writer.outputs_path)
        if isinstance(deleted, Failure):
            raise PluginError(f"cannot clear stale outputs: {deleted.failure().message}")
        run = _Run(run_id=uuid.uuid4().hex, future=self._executor.submit(self._func, **inputs))
        with self._lock:
            self._runs[key] = run
        ctx.state.put(STATE_VERSION, json.dumps({"run_id": run.run_id}).encode())
        return phase_info_queued(now, 0, "task submitted to the thread pool")

    def _finished(self, ctx: PluginContext, run: _Run, now: datetime) -> PhaseInfo:
        if run.future.cancelled():
            raise PluginError(f"run {run.run_id} was cancelled before it started (plugin closed)")
        error = run.future.exception(timeout=0)
        if error is not None:
            return _classify_exception(error, now)
        try:
            data = to_literal_map_bytes(_named_outputs(ctx.facts, run.future.result(timeout=0)))
        except LiteralConversionError as conversion:
            return phase_info_retryable_failure(now, "DataValidationError", str(conversion), None)
        if not run.outputs_written:
            written = ctx.output_writer.write_outputs(data)
            if isinstance(written, Failure):
                raise PluginError(f"cannot write outputs: {written.failure().message}")
            run.outputs_written = True
        return phase_info_success(now, None)

    def _remember_finished(self, key: AttemptKey) -> None:
        """Keep the finished run at the young end; evict the oldest finished runs beyond ``keep_finished``."""
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
            finished = [k for k, run in self._runs.items() if run.future.done()]
            for old in finished[: max(0, len(finished) - self._keep_finished)]:
                del self._runs[old]


def _attempt_key(facts: TaskExecutionContext) -> AttemptKey:
    return (facts.namespace, facts.name, facts.owner.uid, facts.generated_name)


def _read_inputs(ctx: PluginContext) -> dict[str, Value]:
    """The keyword arguments: ``inputs.pb`` converted; none written means no arguments."""
    read = ctx.input_reader.read()
    if isinstance(read, Failure):
        if read.failure().kind is DataErrorKind.NOT_FOUND:
            return {}
        raise PluginError(f"unable to read inputs: {read.failure().message}")
    try:
        return from_literal_map_bytes(read.unwrap())
    except LiteralConversionError as error:
        raise PluginError(f"inputs cannot be passed to a Python function: {error}", BAD_TASK_SPECIFICATION) from error


def _output_names(facts: TaskExecutionContext) -> list[str]:
    try:
        interface = interface_pb2.TypedInterface.FromString(facts.template.interface)
    except ProtoDecodeError:
        return []
    return [str(entry.key) for entry in interface.outputs.variables]


def _named_outputs(facts: TaskExecutionContext, value: object) -> Mapping[str, object]:
    names = _output_names(facts)
    if not names:
        return {} if value is None else {_FIRST_OUTPUT: value}
    if len(names) == 1:
        return {names[0]: value}
    if not isinstance(value, tuple | list) or len(value) != len(names):
        raise LiteralConversionError(f"the task declares {len(names)} outputs {names}; return a tuple of that length")
    return dict(zip(names, value, strict=True))


def _classify_exception(error: BaseException, now: datetime) -> PhaseInfo:
    """The Flyte SDK's mapping of a task's exception (reference/flyte-sdk-local.md §5)."""
    if isinstance(error, NonRetryableError):
        return phase_info_failure(now, error.code, error.message, None)
    if isinstance(error, RuntimeSystemError):
        return phase_info_system_retryable_failure(now, error.code, error.message, None)
    if isinstance(error, TaskError):
        return phase_info_retryable_failure(now, error.code, error.message, None)
    return phase_info_retryable_failure(now, type(error).__name__, str(error), None)
