"""The thin interpreter: one reconcile pass of one TaskAction against ports (design.md §4).

    report = run_pass(ports, policy, "default", "my-action")

A pass reads the object (R24), builds the observations (the time is read once, Q33), runs ``reconcile`` rounds —
answering each :class:`~taskaction_core.decision.Ask` by performing its question — and then performs the final
effects in order, honouring each effect's failure meaning. It makes no domain decision of its own: every ``if`` here
is about how an effect is performed, never about what the TaskAction should become.

Store writes share one unit of work. Each run of consecutive store-type effects (``RecordActionEvent``,
``PersistStatus``, ``AddFinalizer``, ``RemoveFinalizer``, ``PatchLabels``) is performed inside one
``Ports.unit_of_work()`` block, so adapters that share a transaction (the SQLite ones, through
:meth:`~taskaction_core.adapters.sqlite.db.Database.unit_of_work`) commit the ActionEvent, the status and the label
patch of a pass together. The meanings of separate writes are kept: effects still run in order and a failed effect
still stops the ones after it (R65: no status without its event), but what succeeded before it is committed (an
R114 first-write-wins event stays recorded when the status write then conflicts). The unit is committed before any
other effect (a plugin call, a reservation release) and before the R66 back-off sleep, so no write lock is held
across a slow call, and after a commit the next write opens a new unit. A unit whose commit fails turns the pass
into ``Failed``, and its effects are not reported as performed.

Exceptions raised by adapters are turned into typed failures at the port boundary; nothing escapes a pass except
programmer errors (such as a core that keeps asking questions, which is a bug) and exceptions raised by the
``after_call`` hook (crash injection), which abandon the open unit of work as a crash would.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent
from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Ask, Decision, Done, RequeueAfter
from taskaction_core.effects import (
    AbortPlugin,
    AcquireReservation,
    AddFinalizer,
    FailPass,
    FinalEffect,
    FinalizePlugin,
    Ignore,
    InvokePlugin,
    Log,
    LogLevel,
    LookupCache,
    OnFailure,
    PatchLabels,
    PersistStatus,
    PutCache,
    Question,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    RemoveFinalizer,
    Requeue,
    StatusScope,
    WriteCachedOutputs,
)
from taskaction_core.interpreter.metrics import NO_METRICS, Metrics
from taskaction_core.interpreter.plugin_context import PluginContext, ResourceManager, SecretManager
from taskaction_core.interpreter.ports import (
    Catalog,
    Clock,
    DataStore,
    EventSink,
    PluginError,
    PluginRegistry,
    Recorder,
    StoreError,
    StoreErrorKind,
    TaskActionStore,
    error_codes,
)
from taskaction_core.interpreter.replacing import FieldReplacer
from taskaction_core.observations import (
    CacheLookupOutcome,
    CachePutOutcome,
    CatalogErrorKind,
    CatalogFailure,
    HandleOutcome,
    Observations,
    PluginFailure,
    PluginHandled,
    PluginResolution,
    PluginResolved,
    PortFailure,
    ReservationOutcome,
    WriteOutcome,
)
from taskaction_core.policy import STATUS_CONFLICT_RETRIES, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionStatus

log = logging.getLogger("taskaction_core.interpreter")

MAX_ROUNDS: Final = 8
"""Rounds (``reconcile`` calls) per pass: at most ``MAX_ROUNDS - 1`` questions, then the decision. A pass needs at
most five questions (lookup, write cached outputs, reservation, Handle, Put); needing more is a core bug."""
CONFLICT_RETRY_DELAY: Final = 0.010
"""R66: Kubernetes ``retry.DefaultRetry``: about 10 ms between attempts, jitter 0.1."""


_DONE: Final[Result[None, str]] = Success(None)
"""The outcome of every effect that succeeded (containers are immutable: one is shared)."""

# dataclasses.replace without its per-call introspection (interpreter/replacing.py): a question's outcome into the
# observations, the read object's resourceVersion and status into the status write.
_with_cache_lookup: Final = FieldReplacer[Observations, CacheLookupOutcome](Observations, "cache_lookup")
_with_cached_outputs_write: Final = FieldReplacer[Observations, WriteOutcome](Observations, "cached_outputs_write")
_with_reservation: Final = FieldReplacer[Observations, ReservationOutcome](Observations, "reservation")
_with_handle: Final = FieldReplacer[Observations, HandleOutcome](Observations, "handle")
_with_cache_put: Final = FieldReplacer[Observations, CachePutOutcome](Observations, "cache_put")
_with_status: Final = FieldReplacer[TaskAction, TaskActionStatus](TaskAction, "status")
_with_metadata: Final = FieldReplacer[TaskAction, ObjectMeta](TaskAction, "metadata")
_with_revision: Final = FieldReplacer[ObjectMeta, str](ObjectMeta, "resource_version")


@dataclass(frozen=True, slots=True)
class Failed:
    """Go ``FAIL(err)``: the pass returned an error; the runtime re-enqueues with per-key backoff."""

    error: str


PassResult = Done | RequeueAfter | Failed


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one pass did, for logs, metrics and tests."""

    namespace: str
    name: str
    rounds: int
    questions: tuple[str, ...]
    effects_performed: tuple[str, ...]
    result: PassResult
    duration_s: float
    task_action: TaskAction | None
    """The object as the pass left it when every effect succeeded; None when it was not found."""


@dataclass(frozen=True)
class Ports:
    """Every port a pass may use. ``catalog`` None means no cache service is configured (R52 step 1)."""

    store: TaskActionStore
    plugins: PluginRegistry
    data_store: DataStore
    events: EventSink
    recorder: Recorder
    clock: Clock
    secrets: SecretManager
    resources: ResourceManager
    catalog: Catalog | None = None
    metrics: Metrics = field(default=NO_METRICS)
    sleep: Callable[[float], None] = time.sleep
    after_call: Callable[[str], None] | None = None
    """Called after every question and effect is performed, with its name. Crash-injection tests raise from it to
    simulate the process dying between two port calls; production leaves it None."""
    unit_of_work: Callable[[], AbstractContextManager[object]] = nullcontext
    """Opens the scope that groups a pass's consecutive store writes (see the module docstring): every write made
    inside it must become durable when it exits normally, or its exit must raise; an exit by exception may discard
    them. The default groups nothing. For adapters on one SQLite file pass ``database.unit_of_work``; only when
    every store-type port writes *in the calling thread* (an :class:`~taskaction_core.runtime.batcher.EventBatcher`
    writes from its own threads, which would wait for the unit's write lock until their busy timeout)."""


T = TypeVar("T")
E = TypeVar("E")


def _guard(call: Callable[[], Result[T, E]], on_error: Callable[[str], E]) -> Result[T, E]:
    """Call a port; an exception becomes the port's typed failure (the error channel is the Result)."""
    try:
        return call()
    except Exception as exc:
        return Failure(on_error(f"{type(exc).__name__}: {exc}"))


def _catalog_failure(message: str) -> CatalogFailure:
    return CatalogFailure(CatalogErrorKind.OTHER, message)


class _CommitFailed(Exception):
    """A unit of work could not commit: nothing written inside it is durable, so the pass fails."""


class _UnitOfWork:
    """The open ``Ports.unit_of_work`` scope of a pass, if any, and where its effects start in ``performed``."""

    def __init__(self, open_unit: Callable[[], AbstractContextManager[object]]) -> None:
        self._open_unit = open_unit
        self._scope: AbstractContextManager[object] | None = None
        self.first_effect = 0

    def join(self, first_effect: int) -> None:
        """Open a unit unless one is open; ``first_effect`` is the index in ``performed`` of its first effect."""
        if self._scope is not None:
            return
        self.first_effect = first_effect
        scope = self._open_unit()
        try:
            scope.__enter__()
        except Exception as exc:
            raise _CommitFailed(f"unit of work: {type(exc).__name__}: {exc}") from exc
        self._scope = scope

    def commit(self) -> None:
        """End the open unit, if any; raises :class:`_CommitFailed` when its writes could not be made durable."""
        scope, self._scope = self._scope, None
        if scope is None:
            return
        try:
            scope.__exit__(None, None, None)
        except Exception as exc:
            raise _CommitFailed(f"commit: {type(exc).__name__}: {exc}") from exc

    def abandon(self, error: BaseException) -> None:
        """End the open unit, if any, with ``error`` (a crash): its writes are discarded."""
        scope, self._scope = self._scope, None
        if scope is not None:
            scope.__exit__(type(error), error, error.__traceback__)


class _Pass:
    """The mutable bookkeeping of one pass; the decisions themselves are the core's."""

    def __init__(self, ports: Ports, policy: Policy, task_action: TaskAction) -> None:
        self.ports = ports
        self.policy = policy
        self.read = task_action
        self.questions: list[str] = []
        self.performed: list[str] = []
        self.unit = _UnitOfWork(ports.unit_of_work)

    # -- questions --------------------------------------------------------------------------------------------------

    def answer(self, observations: Observations, question: Question) -> Observations:
        self.questions.append(type(question).__name__)
        answered = self._answer(observations, question)
        self._after(type(question).__name__)
        return answered

    def _after(self, name: str) -> None:
        if self.ports.after_call is not None:
            self.ports.after_call(name)

    def _answer(self, observations: Observations, question: Question) -> Observations:
        match question:
            case LookupCache(key):
                lookup: CacheLookupOutcome = self._catalog(lambda c: c.get(key))
                return _with_cache_lookup(observations, lookup)
            case WriteCachedOutputs(uri, outputs):
                written: WriteOutcome = _guard(
                    lambda: self.ports.data_store.write(uri, outputs).alt(lambda e: PortFailure(e.message)),
                    PortFailure,
                )
                return _with_cached_outputs_write(observations, written)
            case AcquireReservation(key, owner, heartbeat):
                reserved: ReservationOutcome = self._catalog(
                    lambda c: (
                        c.get_or_extend_reservation(key, owner, heartbeat)
                        .map(lambda r: r.to_observation())
                        .alt(lambda f: PortFailure(f.message))
                    )
                ).alt(lambda f: f if isinstance(f, PortFailure) else PortFailure(f.message))
                return _with_reservation(observations, reserved)
            case InvokePlugin(plugin_id, facts):
                return _with_handle(observations, self._handle(plugin_id, facts))
            case PutCache(key, uri, metadata):
                put: CachePutOutcome = self._catalog(lambda c: c.put(key, uri, metadata))
                return _with_cache_put(observations, put)
        raise AssertionError(f"unknown question {question!r}")  # pragma: no cover - the Question union is closed

    def _catalog(self, call: Callable[[Catalog], Result[T, E]]) -> Result[T, E]:
        catalog = self.ports.catalog
        if catalog is None:  # the core never asks without a catalog when policy.catalog_enabled matches the ports
            raise AssertionError("the core asked the catalog but no catalog is configured: set Policy.catalog_enabled")
        return _guard(lambda: call(catalog), _catalog_failure)  # type: ignore[arg-type]

    def _handle(self, plugin_id: str, facts: TaskExecutionContext) -> HandleOutcome:
        ctx = self._context(facts)
        plugin = self.ports.plugins.by_id(plugin_id)
        if isinstance(plugin, Failure):
            return Failure(PluginFailure(plugin.failure().message, ()))
        try:
            transition = plugin.unwrap().handle(ctx)
        except Exception as exc:
            return Failure(PluginFailure(error_text(exc), error_codes(exc)))
        return Success(PluginHandled(transition, ctx.state.new_state()))

    def _context(self, facts: TaskExecutionContext) -> PluginContext:
        ports = self.ports
        return PluginContext.build(facts, ports.data_store, ports.secrets, ports.resources)

    # -- final effects ----------------------------------------------------------------------------------------------

    def perform(self, effect: FinalEffect) -> Result[None, str]:
        self.performed.append(type(effect).__name__)
        match effect:
            case AbortPlugin(plugin_id, facts, _) | FinalizePlugin(plugin_id, facts, _):
                return self._plugin_call(effect, plugin_id, facts)
            case ReleaseReservation(key, owner, _):
                return self._catalog(lambda c: c.release_reservation(key, owner)).alt(lambda f: f.message)
            case RecordActionEvent(event, _, _):
                return self._record(event)
            case PersistStatus():
                return self._persist_status(effect)
            case AddFinalizer(finalizer, rv, _):
                finalizers = self.read.metadata.finalizers.append(finalizer)
                return self._update_metadata(replace(self.read.metadata, finalizers=finalizers, resource_version=rv))
            case RemoveFinalizer(finalizer, rv, _):
                remaining = self.read.metadata.finalizers.remove(finalizer)
                return self._update_metadata(replace(self.read.metadata, finalizers=remaining, resource_version=rv))
            case PatchLabels(labels, _):
                meta = self.read.metadata
                patch = dict(labels.items())
                return _store(lambda: self.ports.store.patch_labels(meta.namespace, meta.name, patch))
            case RecordWarning(reason, action, note):
                self._warn(reason, action, note)
                return Success(None)
            case Log(level, message):
                _LOG_LEVELS[level](message, extra={"taskaction": self._key()})
                return Success(None)
        raise AssertionError(f"unknown effect {effect!r}")  # pragma: no cover - the FinalEffect union is closed

    def _plugin_call(
        self, effect: AbortPlugin | FinalizePlugin, plugin_id: str, facts: TaskExecutionContext
    ) -> Result[None, str]:
        plugin = self.ports.plugins.by_id(plugin_id)
        if isinstance(plugin, Failure):
            return Failure(plugin.failure().message)
        ctx = self._context(facts)
        call = plugin.unwrap().abort if isinstance(effect, AbortPlugin) else plugin.unwrap().finalize
        try:
            call(ctx)
        except Exception as exc:
            return Failure(error_text(exc))
        return Success(None)

    def _record(self, event: ActionEvent) -> Result[None, str]:
        try:
            recorded = self.ports.events.record([event])
        except Exception as exc:  # _guard, inlined: one event per pass that writes
            return Failure(f"{type(exc).__name__}: {exc}")
        return Failure(recorded.failure().message) if isinstance(recorded, Failure) else _DONE

    def _persist_status(self, effect: PersistStatus) -> Result[None, str]:
        """R66: re-read, re-apply, write; only conflicts are retried, at most 5 attempts ~10 ms apart."""
        attempts = STATUS_CONFLICT_RETRIES if effect.retry_conflicts else 1
        base = self.read
        if base.metadata.resource_version != effect.resource_version:
            base = _with_metadata(base, _with_revision(base.metadata, effect.resource_version))
        for attempt in range(attempts):
            if attempt:
                self.unit.commit()  # never sleep holding the write lock; the event before the status stays durable
                self.ports.sleep(CONFLICT_RETRY_DELAY * (1 + 0.1 * random.random()))
                self.unit.join(len(self.performed) - 1)
                fresh = _store_get(self.ports.store, self.read)
                if isinstance(fresh, Failure):
                    return Failure(fresh.failure())
                base = fresh.unwrap()
            written = self._write_status(base, effect)
            if not _is_conflict(written) or attempt == attempts - 1:
                return _store_outcome(written)
        raise AssertionError("unreachable")  # pragma: no cover

    def _write_status(self, base: TaskAction, effect: PersistStatus) -> Result[TaskAction, StoreError]:
        status = effect.status
        if effect.scope is StatusScope.CONDITION_FIELDS:
            status = replace(
                base.status,
                conditions=status.conditions,
                phase_history=status.phase_history,
                error_state=status.error_state,
            )
        started = time.perf_counter()
        written = _guard(lambda: self.ports.store.update_status(_with_status(base, status)), _unavailable)
        self.ports.metrics.k8s_duration("status_update", isinstance(written, Failure), time.perf_counter() - started)
        return written

    def _update_metadata(self, metadata: ObjectMeta) -> Result[None, str]:
        started = time.perf_counter()
        written = _guard(lambda: self.ports.store.update(_with_metadata(self.read, metadata)), _unavailable)
        self.ports.metrics.k8s_duration("update", isinstance(written, Failure), time.perf_counter() - started)
        return _store_outcome(written)

    def _warn(self, reason: str, action: str, note: str) -> None:
        meta = self.read.metadata
        try:
            self.ports.recorder.warn(meta.namespace, meta.name, reason, action, note)
        except Exception:
            log.exception("recording a warning event failed", extra={"taskaction": self._key()})

    def _key(self) -> str:
        return f"{self.read.metadata.namespace}/{self.read.metadata.name}"

    def on_failure(self, effect: FinalEffect, error: str) -> PassResult | None:
        """Apply the effect's declared failure meaning; None means "go on with the next effect"."""
        meaning: OnFailure = getattr(effect, "on_failure", Ignore("recorder and log effects never fail"))
        if isinstance(effect, RecordActionEvent) and effect.warning is not None:
            warning = effect.warning
            self._warn(warning.reason, warning.action, warning.note_prefix + error)
        match meaning:
            case Ignore(why):
                log.warning("%s: %s", why, error, extra={"taskaction": self._key()})
                return None
            case Requeue(after):
                log.info("%s failed, requeue after %s: %s", type(effect).__name__, after, error)
                return RequeueAfter(after)
            case FailPass():
                return Failed(f"{type(effect).__name__}: {error}")
        raise AssertionError(f"unknown failure meaning {meaning!r}")  # pragma: no cover


_LOG_LEVELS: Final = {LogLevel.INFO: log.info, LogLevel.WARNING: log.warning, LogLevel.ERROR: log.error}


def error_text(error: BaseException) -> str:
    """Go ``err.Error()`` for a raised error: ``[<code>] <message>`` for coded errors, with
    ``, caused by: <cause>`` when chained (R58), else the exception's own text."""
    if isinstance(error, PluginError):
        text = f"[{error.code}] {error.message}" if error.code else error.message
        if error.__cause__ is not None:
            text = f"{text}, caused by: {error_text(error.__cause__)}"
        return text
    return str(error) or type(error).__name__


def _unavailable(message: str) -> StoreError:
    return StoreError(StoreErrorKind.UNAVAILABLE, message)


def _store(call: Callable[[], Result[TaskAction, StoreError]]) -> Result[None, str]:
    return _store_outcome(_guard(call, _unavailable))


def _store_outcome(written: Result[TaskAction, StoreError]) -> Result[None, str]:
    """A store write's outcome as an effect's: ``Success(None)``, or the error as ``"<kind>: <message>"``."""
    if isinstance(written, Failure):
        error = written.failure()
        return Failure(f"{error.kind.value}: {error.message}")
    return _DONE


def _store_get(store: TaskActionStore, task_action: TaskAction) -> Result[TaskAction, str]:
    meta = task_action.metadata
    return _guard(lambda: store.get(meta.namespace, meta.name), _unavailable).alt(
        lambda e: f"{e.kind.value}: {e.message}"
    )


def _is_conflict(result: Result[TaskAction, StoreError]) -> bool:
    return isinstance(result, Failure) and result.failure().kind is StoreErrorKind.CONFLICT


def resolve_plugin(ports: Ports, task_type: str) -> PluginResolution:
    """R100: the plugin for ``task_type`` as an observation."""
    resolved = _guard(lambda: ports.plugins.resolve(task_type), PortFailure)
    if isinstance(resolved, Failure):
        return Failure(resolved.failure())
    return Success(PluginResolved(resolved.unwrap().id))


def run_pass(ports: Ports, policy: Policy, namespace: str, name: str, max_rounds: int = MAX_ROUNDS) -> PassReport:
    """One reconcile pass of ``namespace/name`` (Go ``Reconcile``). Never raises for adapter failures."""
    started = time.perf_counter()
    read = _guard(lambda: ports.store.get(namespace, name), _unavailable)
    ports.metrics.k8s_duration("get", isinstance(read, Failure), time.perf_counter() - started)
    if isinstance(read, Failure):
        error = read.failure()
        result: PassResult = Done() if error.kind is StoreErrorKind.NOT_FOUND else Failed(error.message)  # X1/X2
        return PassReport(namespace, name, 0, (), (), result, time.perf_counter() - started, None)
    task_action = read.unwrap()
    run = _Pass(ports, policy, task_action)
    observations = Observations(now=ports.clock.now(), plugin=resolve_plugin(ports, task_action.spec.task_type))
    decision = _decide(run, task_action, observations, max_rounds)
    result = _perform_all(run, decision)
    report = PassReport(
        namespace,
        name,
        len(run.questions) + 1,
        tuple(run.questions),
        tuple(run.performed),
        result,
        time.perf_counter() - started,
        decision.task_action,
    )
    ports.metrics.pass_done(report.result.__class__.__name__, report.duration_s)
    if log.isEnabledFor(logging.DEBUG):  # the arguments are not free: build them only for a reader
        log.debug(
            "pass %s/%s: %d rounds, effects %s, result %s in %.1f ms",
            namespace,
            name,
            report.rounds,
            ",".join(report.effects_performed),
            report.result,
            report.duration_s * 1000,
        )
    return report


def _decide(run: _Pass, task_action: TaskAction, observations: Observations, max_rounds: int) -> Decision:
    for _ in range(max_rounds):
        round_ = reconcile(task_action, observations, run.policy)
        if isinstance(round_, Decision):
            return round_
        assert isinstance(round_, Ask)
        observations = run.answer(observations, round_.question)
    raise RuntimeError(f"reconcile did not decide within {max_rounds} rounds (questions {run.questions}); a core bug")


_STORE_WRITES: Final = (RecordActionEvent, PersistStatus, AddFinalizer, RemoveFinalizer, PatchLabels)
"""The effects performed inside a unit of work (see the module docstring)."""
_IN_ANY_UNIT: Final = (RecordWarning, Log)
"""Effects that neither open nor end a unit: a log line, and a warning (R121: the recorder is fire and forget and
must not block, as Go's event recorder only queues)."""


def _perform_all(run: _Pass, decision: Decision) -> PassResult:
    """The final effects in order, store writes grouped in units of work; a failed commit fails the pass."""
    try:
        result = _perform_effects(run, decision)
        run.unit.commit()
    except _CommitFailed as failed:
        del run.performed[run.unit.first_effect :]
        log.warning("%s: nothing written since the last commit is durable", failed, extra={"taskaction": run._key()})
        return Failed(str(failed))
    except BaseException as error:  # a crash (the after_call hook): the open unit goes, as a dying process's would
        run.unit.abandon(error)
        raise
    return result


def _perform_effects(run: _Pass, decision: Decision) -> PassResult:
    for effect in decision.effects:
        if isinstance(effect, _STORE_WRITES):
            run.unit.join(len(run.performed))
        elif not isinstance(effect, _IN_ANY_UNIT):
            run.unit.commit()
        outcome = run.perform(effect)
        run._after(type(effect).__name__)
        if isinstance(outcome, Failure):
            stop = run.on_failure(effect, outcome.failure())
            if stop is not None:
                return stop
    return decision.result


async def run_pass_async(
    ports: Ports, policy: Policy, namespace: str, name: str, max_rounds: int = MAX_ROUNDS
) -> PassReport:
    """:func:`run_pass` for asyncio callers: the pass runs in a worker thread, so slow adapters never block the
    event loop."""
    return await asyncio.to_thread(run_pass, ports, policy, namespace, name, max_rounds)
