"""A model of the whole world for Hypothesis: :class:`TaskActionWorldMachine` (design.md §8).

    from taskaction_core.testing.machine import TaskActionWorldMachine

    TestWorld = TaskActionWorldMachine.TestCase            # run it as a unittest/pytest test

    class MyPluginWorld(TaskActionWorldMachine):           # or model-check your own plugin and policy
        def make_plugin(self) -> Plugin:
            return MyPlugin(self.clock)

        def make_policy(self) -> Policy:
            return Policy(max_system_failures=1)

Theory of operation. The machine owns a world of in-memory fakes (store, catalog, data store, event sink, recorder,
manual clock) with a few TaskActions in it: by default two serializable, cacheable tasks sharing one cache key and a
condition with a timeout. Its rules are the world's moves: the plugin reports a phase, a plugin call fails, the cache
is populated or errs, another owner takes or releases the reservation, time passes, a signal arrives, deletion is
requested, a store write conflicts or fails, the event sink fails, the process crashes right after the k-th port call
of a pass, two keys are reconciled concurrently, and, of course, a reconcile pass (``run_pass``) happens.

Its invariants are the laws. Every decision the core made during a step is checked against
:data:`taskaction_core.invariants.LAWS` (the same laws the property suite checks, reused, not rewritten), and the
world is checked against the world-level laws below: no key reconciled twice at once (R29), terminal is absorbing in
the store (R7, R27), a persisted terminal status and a removed task have a terminal ActionEvent (R65, R90, D1), every
persisted phase has its ActionEvent (R65, R114), attempts never decrease (R44), system failures stay within the
ceiling + 1 and, with D6, are only reset by a new attempt (R57, R60), phase history never repeats its last phase (R9),
and a released reservation is not held again once the action is over (R54, R56, R89, D3).

``teardown`` checks liveness: with every fault stopped and every other actor gone, and the plugin reporting success
(or, in the mode drawn at start, failing with a system error after every launch, or unreachable), a bounded number
of passes makes every action terminal or removes it. That is where a failure livelock (Flyte #8066, fixed by D6)
shows up.

Decisions are observed by wrapping :func:`taskaction_core.reconcile.reconcile` as the interpreter's driver calls it,
for the duration of one pass only; passes are sequential, so nothing else sees the wrapper.

Subclass hooks: :meth:`make_policy`, :meth:`make_plugin`, :meth:`make_task_actions`. A plugin that implements
:class:`Steerable` is steered by the ``plugin_reports`` rule; any other plugin runs its own course (and still gets
call failures injected, through :class:`GuardedPlugin`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from itertools import pairwise
from threading import Lock
from typing import Any, Final, Protocol, runtime_checkable

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule
from returns.result import Success

import taskaction_core.interpreter.driver as driver
from taskaction_core.action_event import ActionEvent
from taskaction_core.context import TaskExecutionId
from taskaction_core.decision import Decision, Round
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.driver import PassReport, Ports, run_pass
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import (
    CatalogLimits,
    Clock,
    DataError,
    DataErrorKind,
    Plugin,
    PluginError,
    PluginProperties,
    PluginRegistry,
    StoreError,
    StoreErrorKind,
)
from taskaction_core.invariants import violations
from taskaction_core.naming import observed_attempt
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, Observations, PortFailure
from taskaction_core.phase_info import (
    PhaseInfo,
    Transition,
    phase_info_aborted,
    phase_info_failure,
    phase_info_queued,
    phase_info_retryable_failure,
    phase_info_running,
    phase_info_success,
    phase_info_system_failure,
    phase_info_system_retryable_failure,
)
from taskaction_core.phases import ActionPhase, CacheStatus, PluginPhase, plugin_phase_from_name, to_action_phase
from taskaction_core.policy import Deviation, Policy, max_system_failures
from taskaction_core.reconcile.cache import CacheConfig, build_task_cache_config
from taskaction_core.records import ACTION_TYPE_CONDITION, FINALIZER, TaskAction, is_terminal
from taskaction_core.testing.builders import PLUGIN_ID, T0
from taskaction_core.testing.fakes import (
    ConcurrentCall,
    DictSecretManager,
    InMemoryCatalog,
    InMemoryDataStore,
    InMemoryTaskActionStore,
    ManualClock,
    QuotaResourceManager,
    RecordingEventSink,
    RecordingRecorder,
)
from taskaction_core.testing.fakes.plugin import PLUGIN_METHODS
from taskaction_core.testing.faults import Faults
from taskaction_core.testing.scenarios import (
    COND,
    INPUTS,
    OUTPUTS,
    TA,
    TB,
    CallCounter,
    SimulatedCrash,
    a_condition,
    a_task,
)

Key = tuple[str, str]
"""(namespace, name) of a TaskAction."""

# --------------------------------------------------------------------------------------------------------------------
# The default plugin: one external resource per attempt name, whose phase the machine steers


class Behaviour(Enum):
    """What an action's external resource reports from its second Handle on (the launch always reports Queued)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    RETRYABLE_USER = "retryable-user"
    RETRYABLE_SYSTEM = "retryable-system"
    PERMANENT = "permanent"
    ABORTED = "aborted"
    FLAKY = "flaky"
    """Running for :data:`FLAKY_RUNS_FOR` after each launch, then a SYSTEM retryable failure: the Flyte #8066 loop
    (fail → relaunch → Running → fail) that D6 bounds."""


@runtime_checkable
class Steerable(Protocol):
    """A plugin whose external resources the machine can steer (``plugin_reports`` and the liveness check)."""

    def steer(self, name: str, behaviour: Behaviour) -> None:
        """From now on, the resource of TaskAction ``name`` reports ``behaviour``."""
        ...


STATE_VERSION: Final = 1
LAUNCHED: Final = b"launched"
FLAKY_RUNS_FOR: Final = timedelta(seconds=15)
MSG_SUBMITTED: Final = "task submitted"
CODE_CORRUPTED: Final = "CorruptedPluginState"
CODE_DELETED_EXTERNALLY: Final = "ResourceDeletedExternally"


class SteerablePlugin:
    """The machine's default plugin, written to the plugin contract (R99, R101, R102); the conformance kit checks it.

    Handle launches the attempt's resource once (remembered in plugin state version 1; an existing resource counts as
    launched, like the k8s plugin's AlreadyExists) and then observes it, so a repeated Handle reports the same thing.
    Unknown state yields ``CorruptedPluginState`` (R102); a resource that is gone yields
    ``ResourceDeletedExternally``; Abort deletes the resource and, like Finalize, is idempotent.
    """

    def __init__(self, clock: Clock, plugin_id: str = PLUGIN_ID, default: Behaviour = Behaviour.RUNNING) -> None:
        self._clock = clock
        self._id = plugin_id
        self._default = default
        self._lock = Lock()
        self._behaviour: dict[str, Behaviour] = {}
        self._resources: dict[str, datetime] = {}

    @property
    def id(self) -> str:
        return self._id

    @property
    def properties(self) -> PluginProperties:
        return PluginProperties()

    def steer(self, name: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._behaviour[name] = behaviour

    def handle(self, ctx: PluginContext) -> Transition:
        now = self._clock.now()
        version, state = ctx.state.get()
        if state is None:
            self._launch(ctx.facts.generated_name, now)
            ctx.state.put(STATE_VERSION, LAUNCHED)
            return Transition(phase_info_queued(now, 0, MSG_SUBMITTED))
        if version != STATE_VERSION or state != LAUNCHED:
            message = f"plugin state version mismatch expected [{STATE_VERSION}] got [{version}]"
            return Transition(phase_info_system_failure(now, CODE_CORRUPTED, message, None, cleanup=True))
        with self._lock:
            created = self._resources.get(ctx.facts.generated_name)
            behaviour = self._behaviour.get(ctx.facts.name, self._default)
        if created is None:
            message = f"resource {ctx.facts.generated_name} is gone"
            return Transition(phase_info_system_retryable_failure(now, CODE_DELETED_EXTERNALLY, message, None))
        return Transition(_report(behaviour, ctx, now - created, now))

    def abort(self, ctx: PluginContext) -> None:
        with self._lock:
            self._resources.pop(ctx.facts.generated_name, None)

    def finalize(self, ctx: PluginContext) -> None:
        """Nothing to clean beyond what Abort did; idempotent."""

    def live(self) -> frozenset[str]:
        """Generated names of the resources that exist."""
        with self._lock:
            return frozenset(self._resources)

    def _launch(self, generated_name: str, now: datetime) -> None:
        with self._lock:
            self._resources.setdefault(generated_name, now)


def _report(behaviour: Behaviour, ctx: PluginContext, age: timedelta, now: datetime) -> PhaseInfo:
    """The phase a launched resource of ``age`` reports. Same phase, same version → same reason (Q11)."""
    match behaviour:
        case Behaviour.QUEUED:
            return phase_info_queued(now, 0, MSG_SUBMITTED)
        case Behaviour.RUNNING:
            return phase_info_running(now, 0, None)
        case Behaviour.SUCCESS:
            if not isinstance(ctx.output_writer.write_outputs(OUTPUTS), Success):
                raise PluginError("failed to write outputs.pb")
            return phase_info_success(now, None)
        case Behaviour.RETRYABLE_USER:
            return phase_info_retryable_failure(now, "UserError", "division by zero", None)
        case Behaviour.RETRYABLE_SYSTEM:
            return phase_info_system_retryable_failure(now, "NodeLost", "the node died", None)
        case Behaviour.PERMANENT:
            return phase_info_failure(now, "OOMKilled", "container exceeded memory", None)
        case Behaviour.ABORTED:
            return phase_info_aborted(now, 0, "aborted by the cluster")
        case Behaviour.FLAKY:
            if age < FLAKY_RUNS_FOR:
                return phase_info_running(now, 0, None)
            return phase_info_system_retryable_failure(now, "NodeLost", "the node died", None)


# --------------------------------------------------------------------------------------------------------------------
# Any plugin, guarded: fault injection and the one-call-per-key check


class GuardedPlugin:
    """Wraps a plugin with :class:`~taskaction_core.testing.faults.Faults` on handle/abort/finalize and an overlap
    detector: two calls for one TaskAction in flight at once break R29 and are recorded in :attr:`overlaps`."""

    def __init__(self, inner: Plugin) -> None:
        self.inner = inner
        self.faults: Faults[Exception] = Faults(PLUGIN_METHODS)
        self.overlaps: list[ConcurrentCall] = []
        self._in_flight: dict[Key, str] = {}
        self._lock = Lock()

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def properties(self) -> PluginProperties:
        return self.inner.properties

    def handle(self, ctx: PluginContext) -> Transition:
        with self._call("handle", ctx):
            return self.inner.handle(ctx)

    def abort(self, ctx: PluginContext) -> None:
        with self._call("abort", ctx):
            self.inner.abort(ctx)

    def finalize(self, ctx: PluginContext) -> None:
        with self._call("finalize", ctx):
            self.inner.finalize(ctx)

    @contextmanager
    def _call(self, method: str, ctx: PluginContext) -> Iterator[None]:
        with self._lock:
            running = self._in_flight.get(ctx.key)
            if running is not None:
                self.overlaps.append(ConcurrentCall(ctx.key, method, running))
            self._in_flight[ctx.key] = method
        try:
            if injected := self.faults.enter(method):
                raise injected.with_traceback(None)
            yield
        finally:
            with self._lock:
                self._in_flight.pop(ctx.key, None)


# --------------------------------------------------------------------------------------------------------------------
# The world


def _no_sleep(_: float) -> None:
    """The world's time is the manual clock; the ~10 ms conflict-retry pause (R66) is not waited for."""


CACHE_MAX_AGE: Final = timedelta(hours=1)
"""Cache entries expire after this (R93), so a long pause turns a hit back into a miss."""


@dataclass
class MachineWorld:
    """Every port as an in-memory fake, the guarded plugin, and the policy."""

    clock: ManualClock
    store: InMemoryTaskActionStore
    data: InMemoryDataStore
    catalog: InMemoryCatalog
    events: RecordingEventSink
    recorder: RecordingRecorder
    plugin: GuardedPlugin
    plugins: PluginRegistry
    policy: Policy

    @classmethod
    def build(cls, clock: ManualClock, plugin: Plugin, policy: Policy) -> MachineWorld:
        """A world around ``plugin``, registered as the default plugin for every task type (R100)."""
        data = InMemoryDataStore()
        guarded = GuardedPlugin(plugin)
        plugins = PluginRegistry()
        plugins.register(guarded, ["python"], default=True)
        return cls(
            clock=clock,
            store=InMemoryTaskActionStore(clock),
            data=data,
            catalog=InMemoryCatalog(data, clock, CatalogLimits(max_cache_age=CACHE_MAX_AGE)),
            events=RecordingEventSink(),
            recorder=RecordingRecorder(clock),
            plugin=guarded,
            plugins=plugins,
            policy=policy,
        )

    def ports(self, after_call: Callable[[str], None] | None = None) -> Ports:
        """Fresh ports over this world: a new driver, as after a process restart."""
        catalog = self.catalog if self.policy.catalog_enabled else None
        return Ports(
            self.store,
            self.plugins,
            self.data,
            self.events,
            self.recorder,
            self.clock,
            DictSecretManager(),
            QuotaResourceManager(100),
            catalog,
            sleep=_no_sleep,
            after_call=after_call,
        )

    def faulty(self) -> tuple[Any, ...]:
        """Every fake with a ``faults`` attribute: the controller's connections to the outside world."""
        return (self.store, self.data, self.catalog, self.events, self.recorder, self.plugin)

    @contextmanager
    def faults_paused(self) -> Iterator[None]:
        """Other clients (the actions service, a user, another cache owner) act with the controller's faults paused."""
        fakes = self.faulty()
        saved = [fake.faults for fake in fakes]
        for fake, faults in zip(fakes, saved, strict=True):
            fake.faults = type(faults)(faults.methods)
        try:
            yield
        finally:
            for fake, faults in zip(fakes, saved, strict=True):
                fake.faults = faults

    def stop_faults(self) -> None:
        """Forget every queued failure."""
        for fake in self.faulty():
            fake.faults.clear()

    def get(self, key: Key) -> TaskAction | None:
        """The stored object, read without a port call."""
        for task_action in self.store.objects():
            if (task_action.metadata.namespace, task_action.metadata.name) == key:
                return task_action
        return None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One final decision of the core: what it read, what it knew, what it decided, under which policy."""

    before: TaskAction
    observations: Observations
    decision: Decision
    policy: Policy


class Liveness(Enum):
    """What the plugin does during the teardown liveness check (faults stopped, other actors gone)."""

    SUCCESS = "success"
    """Every resource succeeds (a non-steerable plugin runs its own course)."""
    FLAKY = "flaky"
    """Every launch runs, then fails with a SYSTEM retryable error (Flyte #8066): D6 must end it (steerable only)."""
    DOWN = "down"
    """Every Handle raises: the system-failure ceiling must end every task (R57, R60), cleaning up after it (D3)."""


OTHER_OWNER: Final = "default/other-owner"
OTHER_OUTPUTS: Final = "s3://bucket/other-run/outputs.pb"
LIVENESS_ROUNDS: Final = 60
"""Passes per action the liveness check allows; each round also moves the clock by the requeue duration."""
TERMINAL_EVENT_PHASES: Final = frozenset(
    {ActionPhase.SUCCEEDED, ActionPhase.FAILED, ActionPhase.ABORTED, ActionPhase.TIMED_OUT}
)
VALIDATION_REASONS: Final = frozenset({"InvalidSpec", "PluginNotFound"})
"""R30: validation failures write no ActionEvent (Q7)."""
STORE_METHODS: Final = ("get", "update", "update_status", "patch_labels")
CATALOG_CALLS: Final = ("get", "put", "get_or_extend_reservation", "release_reservation")


# --------------------------------------------------------------------------------------------------------------------
# The machine


class TaskActionWorldMachine(RuleBasedStateMachine):
    """The whole world over the fakes: rules are its moves, invariants its laws, teardown its liveness.

    Override :meth:`make_policy`, :meth:`make_plugin` or :meth:`make_task_actions` to model-check your own setup;
    add rules and invariants in the subclass as usual. :meth:`check_world_laws` runs every invariant by hand, for
    replaying a printed step program as an explicit regression test.
    """

    actions = Bundle("actions")
    tasks = Bundle("tasks")
    conditions = Bundle("conditions")

    tolerate_cache_hit_leak: bool = False
    """Known core gap, found by this machine: a cache hit completes the action without R54's release (post-processing
    is skipped on a short circuit), so a reservation taken by an earlier pass of the same attempt (one whose status
    write failed, or whose Handle raised) is held until it lapses (R94). Set False to check that path too."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.policy = self.make_policy()
        self.world = MachineWorld.build(self.clock, self.make_plugin(), self.policy)
        self.keys: list[Key] = []
        self.cache_configs: dict[Key, CacheConfig] = {}
        self.liveness = Liveness.SUCCESS
        self.decisions: list[DecisionRecord] = []
        self._laws_checked = 0
        self._passes_in_flight: set[Key] = set()
        self._reentered: list[Key] = []
        self._recording = 0
        self._disturbed: set[Key] = set()
        self._last_seen: dict[Key, TaskAction] = {}
        self._terminal: set[Key] = set()
        self._attempts: dict[Key, int] = {}
        self._failures: dict[Key, tuple[int, int]] = {}

    # -- hooks ---------------------------------------------------------------------------------------------------

    def make_policy(self) -> Policy:
        """The policy under test. The default ceiling is small so budgets are reached in a few steps."""
        return Policy(max_system_failures=2)

    def make_plugin(self) -> Plugin:
        """The plugin under test; ``self.clock`` is the world's clock. Default: :class:`SteerablePlugin`."""
        return SteerablePlugin(self.clock)

    def make_task_actions(self) -> tuple[TaskAction, ...]:
        """The TaskActions the actions service creates at the start (tasks get inputs written first)."""
        return (
            a_task(TA, cacheable=True, serializable=True, retries=1),
            a_task(TB, cacheable=True, serializable=True),
            a_condition(COND, timeout=timedelta(seconds=60)),
        )

    # -- initialisation --------------------------------------------------------------------------------------------

    @initialize(targets=(actions, tasks))
    def create_tasks(self) -> Any:
        created = self._create(lambda ta: ta.spec.action_type != ACTION_TYPE_CONDITION)
        return multiple(*created)

    @initialize(targets=(actions, conditions))
    def create_conditions(self) -> Any:
        return multiple(*self._create(lambda ta: ta.spec.action_type == ACTION_TYPE_CONDITION))

    @initialize(mode=st.sampled_from(Liveness))
    def choose_liveness_check(self, mode: Liveness) -> None:
        self.liveness = mode

    def _create(self, wanted: Callable[[TaskAction], bool]) -> list[Key]:
        created: list[Key] = []
        with self.world.faults_paused():
            for task_action in filter(wanted, self.make_task_actions()):
                meta, spec = task_action.metadata, task_action.spec
                if spec.action_type != ACTION_TYPE_CONDITION and spec.input_uri:
                    self.world.data.write(spec.input_uri, INPUTS).unwrap()
                self.world.store.create(task_action).unwrap()
                key = (meta.namespace, meta.name)
                config = build_task_cache_config(task_action).value_or(None)
                if config is not None and config.serializable:
                    self.cache_configs[key] = config
                created.append(key)
        self.keys.extend(created)
        return created

    # -- rules: the controller -------------------------------------------------------------------------------------

    @rule(key=actions, passes=st.integers(1, 3))
    def run_pass(self, key: Key, passes: int = 1) -> None:
        """``passes`` passes in a row, as the work queue re-runs a key after its own write (R29); the world's laws
        are checked between them too."""
        for done in range(1, passes + 1):
            self.drive_pass(key)
            if done < passes:
                self.check_world_laws()

    @rule(seconds=st.sampled_from([0, 10, 31]))
    def work_queue_round(self, seconds: int) -> None:
        """Time passes and every action still in the store gets one pass, as requeues come due (R48, R82)."""
        self.clock.advance(timedelta(seconds=seconds))
        for key in self.keys:
            if self.world.get(key) is not None:
                self.drive_pass(key)
                self.check_world_laws()

    @rule(key=actions, after_calls=st.integers(1, 8))
    def crash_during_pass(self, key: Key, after_calls: int) -> None:
        """The process dies right after the ``after_calls``-th port call of a pass; the next pass is a new process."""
        self.drive_pass(key, CallCounter(crash_at=after_calls))

    @rule(key=actions, other=actions, after_calls=st.integers(1, 6))
    def interleave_passes(self, key: Key, other: Key, after_calls: int) -> None:
        """Two workers: a pass of ``other`` runs between two port calls of a pass of ``key`` (R29 allows it for
        different keys only, so the same key twice runs one pass)."""
        if other == key:
            self.drive_pass(key)
            return
        calls: list[str] = []

        def meanwhile(name: str) -> None:
            calls.append(name)
            if len(calls) == after_calls:
                self.drive_pass(other)

        self.drive_pass(key, meanwhile)

    # -- rules: the plugin -----------------------------------------------------------------------------------------

    @precondition(lambda self: isinstance(self.world.plugin.inner, Steerable))
    @rule(key=tasks, behaviour=st.sampled_from(Behaviour))
    def plugin_reports(self, key: Key, behaviour: Behaviour) -> None:
        steerable = self.world.plugin.inner
        assert isinstance(steerable, Steerable)
        steerable.steer(key[1], behaviour)

    @rule(method=st.sampled_from(PLUGIN_METHODS), code=st.sampled_from([None, "BadTaskSpecification"]))
    def plugin_call_fails(self, method: str, code: str | None) -> None:
        """The next plugin call raises (R57: a Handle error is a system failure; R58: some codes are permanent)."""
        self.world.plugin.faults.fail_next(method, PluginError("connection refused", code))

    # -- rules: the cache ------------------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.cache_configs))
    @rule()
    def other_run_populates_cache(self) -> None:
        """Another run with the same inputs puts outputs under the shared cache key (R52 step 2 then hits)."""
        key = self._shared_cache_key()
        metadata = CacheMetadata(TaskExecutionId("p", "d", "other-run", "a0", 0, key.identifier), self.clock.now())
        with self.world.faults_paused():
            self.world.data.write(OTHER_OUTPUTS, OUTPUTS).unwrap()
            self.world.catalog.put(key, OTHER_OUTPUTS, metadata)

    @rule(method=st.sampled_from(CATALOG_CALLS))
    def catalog_call_fails(self, method: str) -> None:
        """The next catalog call errs (a lookup error, R52/D8; a reservation error, D5; a Put error, R54)."""
        self.world.catalog.faults.fail_next(method, CatalogFailure(CatalogErrorKind.OTHER, "catalog unavailable"))

    @rule()
    def data_store_write_fails(self) -> None:
        """The next blob write fails (cached outputs, R52 step 2; the plugin's outputs.pb)."""
        self.world.data.faults.fail_next("write", DataError(DataErrorKind.OTHER, "bucket unavailable"))

    @precondition(lambda self: bool(self.cache_configs))
    @rule(holds=st.booleans())
    def another_owner(self, holds: bool) -> None:
        """Another owner takes or extends the shared reservation if it is free or lapsed (R94), or releases it."""
        key = self._shared_cache_key()
        with self.world.faults_paused():
            if holds:
                self.world.catalog.get_or_extend_reservation(key, OTHER_OWNER, timedelta(seconds=10))
            else:
                self.world.catalog.release_reservation(key, OTHER_OWNER)

    # -- rules: time, users, the API server, the event sink --------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 10, 31, 2 * 3600]))
    def time_passes(self, seconds: int) -> None:
        """Resources progress, reservations lapse after 30 s (R94), conditions time out, cache entries expire."""
        self.clock.advance(timedelta(seconds=seconds))

    @rule(key=conditions)
    def signal_arrives(self, key: Key) -> None:
        """The Signal RPC writes only the signal fields (R78, R79)."""
        with self.world.faults_paused():
            current = self.world.store.get(*key)
            if isinstance(current, Success):
                found = current.unwrap()
                status = replace(
                    found.status, signal_value=b"\x01", signalled_by="alice", signalled_at=self.clock.now()
                )
                self.world.store.update_status(replace(found, status=status))

    @rule(key=actions)
    def deletion_requested(self, key: Key) -> None:
        """A user deletes the action: with the finalizer on, only a deletionTimestamp is set (R26)."""
        with self.world.faults_paused():
            self.world.store.delete(*key)

    @rule(
        method=st.sampled_from(STORE_METHODS),
        kind=st.sampled_from(["conflict", "unavailable", "lost-ack"]),
        times=st.sampled_from([1, 1, 6]),
    )
    def store_call_fails(self, method: str, kind: str, times: int) -> None:
        """The next store call(s) conflict (R66 retries 5 times, Q12), fail, or commit but lose their ack."""
        faults = self.world.store.faults
        if kind == "conflict":
            faults.conflict_next(method, times)
        elif kind == "unavailable":
            faults.unavailable_next(method, times)
        else:
            faults.fail_next(method, StoreError(StoreErrorKind.UNAVAILABLE, "timeout"), applied=method != "get")

    @rule(applied=st.booleans())
    def event_sink_fails(self, applied: bool) -> None:
        """The next ActionEvent batch fails; ``applied``: it was stored but the ack was lost (R114 at-least-once)."""
        self.world.events.faults.fail_next("record", PortFailure("run service unavailable"), applied=applied)

    # -- passes ----------------------------------------------------------------------------------------------------

    def drive_pass(self, key: Key, after_call: Callable[[str], None] | None = None) -> PassReport | None:
        """One pass of ``key`` over fresh ports, recording the core's decisions; None when the process crashed."""
        if key in self._passes_in_flight:
            self._reentered.append(key)
        self._passes_in_flight.add(key)
        releases_pending = self.world.catalog.faults.pending("release_reservation")
        try:
            with self._recording_decisions():
                return run_pass(self.world.ports(after_call), self.policy, *key)
        except SimulatedCrash:
            self._disturbed.add(key)
            return None
        finally:
            self._passes_in_flight.discard(key)
            if self.world.catalog.faults.pending("release_reservation") < releases_pending:
                self._disturbed.add(key)

    @contextmanager
    def _recording_decisions(self) -> Iterator[None]:
        """Wrap the driver's ``reconcile`` for the duration of the outermost pass (nested passes share it)."""
        if self._recording:
            self._recording += 1
            try:
                yield
            finally:
                self._recording -= 1
            return
        namespace = vars(driver)
        original: Callable[[TaskAction, Observations, Policy], Round] = namespace["reconcile"]

        def recording(task_action: TaskAction, observations: Observations, policy: Policy) -> Round:
            decided = original(task_action, observations, policy)
            if isinstance(decided, Decision):
                self.decisions.append(DecisionRecord(task_action, observations, decided, policy))
            return decided

        namespace["reconcile"] = recording
        self._recording = 1
        try:
            yield
        finally:
            self._recording = 0
            namespace["reconcile"] = original

    # -- invariants: the declared laws -----------------------------------------------------------------------------

    @invariant()
    def decisions_obey_the_declared_laws(self) -> None:
        """Every decision made since the last check satisfies :data:`taskaction_core.invariants.LAWS`."""
        fresh, self._laws_checked = self.decisions[self._laws_checked :], len(self.decisions)
        broken = [f"{r.before.metadata.name}: {v}" for r in fresh for v in violations(*_law_arguments(r))]
        assert not broken, "\n".join(broken)

    # -- invariants: the world -------------------------------------------------------------------------------------

    @invariant()
    def no_key_is_reconciled_twice_at_once(self) -> None:
        """R29: one TaskAction is never in two passes at once, and its plugin never sees overlapping calls."""
        assert not self._reentered, f"passes overlapped for {self._reentered}"
        assert not self.world.plugin.overlaps, f"plugin calls overlapped: {self.world.plugin.overlaps}"

    @invariant()
    def terminal_status_stays_terminal(self) -> None:
        """R7, R27: once the store holds a terminal status for an action, it never holds a non-terminal one again."""
        for key, found in self._stored():
            terminal = is_terminal(found.status.conditions)
            assert terminal or key not in self._terminal, f"{key} went from terminal back to non-terminal"
            if terminal:
                self._terminal.add(key)

    @invariant()
    def attempts_never_decrease(self) -> None:
        """R44, R45: the stored attempt number only grows."""
        for key, found in self._stored():
            before = self._attempts.get(key, 0)
            assert found.status.attempts >= before, f"{key}: attempts {before} → {found.status.attempts}"
            self._attempts[key] = found.status.attempts

    @invariant()
    def system_failures_stay_within_the_budget(self) -> None:
        """R57, R60: at most ceiling + 1 system failures; with D6 the counter only resets when an attempt starts."""
        ceiling = max_system_failures(self.policy)
        per_attempt = self.policy.fixes(Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES)
        for key, found in self._stored():
            status = found.status
            assert status.system_failures <= ceiling + 1, f"{key}: {status.system_failures} > {ceiling} + 1"
            attempt, failures = self._failures.get(key, (status.attempts, 0))
            if per_attempt and status.attempts == attempt:
                assert status.system_failures >= failures, (
                    f"{key}: D6 system failures reset from {failures} to {status.system_failures} within attempt"
                    f" {attempt}"
                )
            self._failures[key] = (status.attempts, status.system_failures)

    @invariant()
    def phase_history_never_repeats_its_last_phase(self) -> None:
        """R9: appending the phase the history already ends with is a no-op, so no two neighbours are equal."""
        for key, found in self._stored():
            phases = [entry.phase for entry in found.status.phase_history]
            repeats = [p for p, q in pairwise(phases) if p == q]
            assert not repeats, f"{key}: phase history repeats {repeats}: {phases}"

    @invariant()
    def every_persisted_phase_has_its_event(self) -> None:
        """R65, R114: the ActionEvent describing a persisted (attempt, phase, version) was recorded first."""
        recorded = {(e.id.name, e.attempt, e.phase, e.version) for e in self.world.events.events}
        for key, found in self._stored():
            status = found.status
            phase = plugin_phase_from_name(status.plugin_phase)
            if phase is None or phase is PluginPhase.UNDEFINED or found.spec.action_type == ACTION_TYPE_CONDITION:
                continue
            wanted = (found.spec.action_name, observed_attempt(status.attempts), to_action_phase(phase))
            assert (*wanted, status.plugin_phase_version) in recorded, (
                f"{key}: {status.plugin_phase} v{status.plugin_phase_version} of attempt {wanted[1]} has no event"
            )

    @invariant()
    def finished_tasks_have_a_terminal_event(self) -> None:
        """R65, R90, D1: a terminal task (validation failures aside, Q7) and a task removed after it got its finalizer
        have a terminal ActionEvent for their attempt; conditions send none (R78)."""
        stored = dict(self._stored())
        events = self.world.events.events
        for key in self.keys:
            found = stored.get(key)
            last = self._last_seen.get(key)
            if found is not None:
                self._last_seen[key] = found
                if _needs_terminal_event(found):
                    assert _has_terminal_event(events, found), f"{key}: terminal without a terminal ActionEvent"
            elif last is not None and FINALIZER in last.metadata.finalizers and _is_task(last):
                assert _has_terminal_event(events, last), f"{key}: removed without a terminal ActionEvent (R90)"

    @invariant()
    def released_reservations_stay_released(self) -> None:
        """R54, R56, R89 (and D3 at the ceiling): a finished or removed serializable task holds no live reservation,
        unless its release failed or the process crashed before it (the reservation then lapses, R94)."""
        if not self.policy.fixes(Deviation.D3_CLEANUP_AT_SYSTEM_CEILING):
            return
        held = {r.owner_id for r in self.world.catalog.reservations().values() if not r.expires_at < self.clock.now()}
        stored = dict(self._stored())
        for key, config in self.cache_configs.items():
            found = stored.get(key)
            finished = found is None or is_terminal(found.status.conditions)
            if not finished or key in self._disturbed:
                continue
            if (
                self.tolerate_cache_hit_leak
                and found is not None
                and found.status.cache_status == CacheStatus.CACHE_HIT
            ):
                continue
            assert config.owner_id not in held, f"{key} finished but still holds its cache reservation"

    # -- liveness --------------------------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Liveness: faults stopped, other actors gone, plugin settled → every action terminal in bounded passes.

        Skipped when a step already failed, so that failure is the one reported.
        """
        if sys.exc_info()[1] is not None:
            return
        self.settle_world()
        self.check_liveness()

    def settle_world(self) -> None:
        """Stop every fault, let the other cache owner go, and steer each task's resource for the liveness mode."""
        self.world.stop_faults()
        if self.cache_configs:
            with self.world.faults_paused():
                self.world.catalog.release_reservation(self._shared_cache_key(), OTHER_OWNER)
        if self.liveness is Liveness.DOWN:
            self.world.plugin.faults.fail_forever("handle", PluginError("plugin unreachable"))
        plugin = self.world.plugin.inner
        if isinstance(plugin, Steerable):
            behaviour = Behaviour.FLAKY if self.liveness is Liveness.FLAKY else Behaviour.SUCCESS
            for key in self.keys:
                plugin.steer(key[1], behaviour)

    def check_liveness(self, rounds: int = LIVENESS_ROUNDS) -> None:
        """Run passes, moving the clock by the requeue duration each round, until every action is done."""
        for _ in range(rounds):
            pending = [key for key in self.keys if not self._done(key)]
            if not pending:
                return
            for key in pending:
                self.drive_pass(key)
            self.check_world_laws()
            self.clock.advance(self.policy.requeue_after)
        stuck = {key: self._describe(key) for key in self.keys if not self._done(key)}
        raise AssertionError(f"livelock: not terminal after {rounds} passes each: {stuck}")

    def check_world_laws(self) -> None:
        """Run every ``@invariant`` of this machine now (for explicit regression tests and the liveness check)."""
        for invariant_ in self.invariants:
            invariant_.function(self)

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _stored(self) -> list[tuple[Key, TaskAction]]:
        return [((ta.metadata.namespace, ta.metadata.name), ta) for ta in self.world.store.objects()]

    def _shared_cache_key(self) -> CacheKey:
        return next(iter(self.cache_configs.values())).key

    def _done(self, key: Key) -> bool:
        found = self.world.get(key)
        return found is None or is_terminal(found.status.conditions)

    def _describe(self, key: Key) -> str:
        found = self.world.get(key)
        if found is None:
            return "gone"
        status = found.status
        return (
            f"phase={status.plugin_phase or '-'} attempts={status.attempts} systemFailures={status.system_failures}"
            f" history={[entry.phase for entry in status.phase_history]}"
        )


def _law_arguments(record: DecisionRecord) -> tuple[TaskAction, Observations, Decision, Policy]:
    return record.before, record.observations, record.decision, record.policy


def _is_task(task_action: TaskAction) -> bool:
    return task_action.spec.action_type != ACTION_TYPE_CONDITION


def _needs_terminal_event(task_action: TaskAction) -> bool:
    if not _is_task(task_action) or not is_terminal(task_action.status.conditions):
        return False
    return not any(c.reason in VALIDATION_REASONS for c in task_action.status.conditions)


def _has_terminal_event(events: tuple[ActionEvent, ...], task_action: TaskAction) -> bool:
    attempt = observed_attempt(task_action.status.attempts)
    name = task_action.spec.action_name
    return any(e.id.name == name and e.attempt == attempt and e.phase in TERMINAL_EVENT_PHASES for e in events)


__all__ = [
    "Behaviour",
    "DecisionRecord",
    "GuardedPlugin",
    "Liveness",
    "MachineWorld",
    "Steerable",
    "SteerablePlugin",
    "TaskActionWorldMachine",
]
