"""A world of fakes, a small deterministic driver loop, and a catalogue of named end-to-end scenarios (design.md §8).

    world = new_world()
    world.create(a_task(TA))
    drive(world, TA)
    assert end_state(world, TA).plugin_phase == "PhaseSuccess"

Theory of operation. A :class:`World` is every in-memory fake port, the policy, and a :class:`Cluster`: the
external system the plugin drives. The cluster keeps its resources when the interpreter dies and restarts, as a
real cluster would, and its resources move through their phases with the world's manual clock, so a plugin call is
level-based and idempotent (R99): asking twice at the same instant gives the same answer.

:func:`drive` schedules :func:`~taskaction_core.interpreter.driver.run_pass` the way controller-runtime does, on the
manual clock: ``RequeueAfter(d)`` comes back after ``d``, ``Failed`` after the per-key exponential backoff, ``Done``
not at all, and any write to the object brings the key back at once (R29; a write is seen as a resourceVersion
change). When nothing is scheduled the world is quiescent. It is deliberately small, so the threaded runtime can
replace it.

A :class:`Scenario` builds a fresh world, lists its steps (drive some keys, or act on the world as another client
would: create, delete, signal) and states the expected :class:`WorldEnd`, written from the spec, not recorded.
:func:`run_scenario` plays it, optionally crashing the process after the k-th port call (:class:`SimulatedCrash`)
and restarting a fresh driver over the same world.

Conventions: every scenario TaskAction uses its CR name as its action name, so its ActionEvents are found by name
even after the object is gone.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from threading import Lock
from typing import Any, Final

from flyteidl2.core import literals_pb2
from flyteidl2.task import common_pb2

from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import RequeueAfter
from taskaction_core.interpreter.driver import Failed, PassReport, PassResult, Ports, run_pass
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import PluginError, PluginRegistry
from taskaction_core.phase_info import (
    Transition,
    phase_info_failure,
    phase_info_queued,
    phase_info_retryable_failure,
    phase_info_running,
    phase_info_success,
    phase_info_system_failure,
    phase_info_system_retryable_failure,
)
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind, PluginPhase, to_action_phase
from taskaction_core.policy import Policy
from taskaction_core.records import (
    FINALIZER,
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    TERMINATED,
    ErrorState,
    TaskAction,
)
from taskaction_core.testing.builders import PLUGIN_ID, T0, a_condition_action, a_task_action
from taskaction_core.testing.fakes import (
    DictSecretManager,
    InMemoryCatalog,
    InMemoryDataStore,
    InMemoryTaskActionStore,
    ManualClock,
    QuotaResourceManager,
    RecordingEventSink,
    RecordingRecorder,
    ScriptedPlugin,
)

Key = tuple[str, str]
"""(namespace, name) of a TaskAction."""

TA: Final[Key] = ("default", "ta")
TB: Final[Key] = ("default", "tb")
COND: Final[Key] = ("default", "cond")

# --------------------------------------------------------------------------------------------------------------------
# The cluster: what a plugin's resources do


RUNNING_AFTER: Final = timedelta(seconds=10)
"""A launched resource reports Queued until it is this old, then Running."""
FINISHED_AFTER: Final = timedelta(seconds=20)
"""A launched resource reaches its outcome once it is this old."""
STATE_STARTED: Final = b"started"
STATE_VERSION: Final = 1
MSG_SUBMITTED: Final = "task submitted"
CODE_DELETED_EXTERNALLY: Final = "ResourceDeletedExternally"


@dataclass(frozen=True, slots=True)
class Succeed:
    """The resource succeeds and the plugin writes ``outputs`` to the attempt's ``outputs.pb``."""

    outputs: bytes


@dataclass(frozen=True, slots=True)
class Fail:
    """The resource fails: RetryableFailure or PermanentFailure of ``kind`` with this code and message (R18)."""

    code: str
    message: str
    kind: ErrorKind = ErrorKind.USER
    retryable: bool = True


@dataclass(frozen=True, slots=True)
class RunForever:
    """The resource runs until it is aborted."""


@dataclass(frozen=True, slots=True)
class RejectLaunch:
    """Creating the resource fails: Handle raises :class:`PluginError` (R36, R57); nothing is created."""

    message: str
    code: str | None = None


Outcome = Succeed | Fail | RunForever | RejectLaunch
AttemptScript = tuple[Outcome, ...]
"""The outcome of each launch of one attempt's resource, in launch order; the last repeats."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One launched resource, named by the generated name of its attempt (R105)."""

    name: str
    outcome: Outcome
    created_at: datetime


class Cluster:
    """The external system behind the plugin, shaped like the k8s plugin's view of pods (R102). Thread-safe.

    ``scripts`` maps a TaskAction name to one :data:`AttemptScript` per attempt (the last repeats); actions not
    listed use ``default``. A resource is Queued when launched, Running from :data:`RUNNING_AFTER`, and reaches its
    outcome at :data:`FINISHED_AFTER`. Abort deletes it; a relaunch under the same name (a system reset, Q25) is
    the next launch of that attempt's script.
    """

    def __init__(
        self,
        clock: ManualClock,
        scripts: Mapping[str, Sequence[AttemptScript]] | None = None,
        default: Sequence[AttemptScript] = ((Succeed(b"outputs"),),),
    ) -> None:
        self._clock = clock
        self._scripts = dict(scripts or {})
        self._default = tuple(default)
        self._lock = Lock()
        self._resources: dict[str, Resource] = {}
        self._launches: Counter[str] = Counter()
        self._finalized: set[str] = set()

    def handle(self, ctx: PluginContext) -> Transition:
        """The plugin's Handle: launch once (remembered in plugin state, R101), then observe the resource."""
        now = self._clock.now()
        _, state = ctx.state.get()
        if state != STATE_STARTED:
            self._launch(ctx.facts, now)
            ctx.state.put(STATE_VERSION, STATE_STARTED)
            return Transition(phase_info_queued(now, 0, MSG_SUBMITTED))
        with self._lock:
            resource = self._resources.get(ctx.facts.generated_name)
        if resource is None:
            message = f"resource {ctx.facts.generated_name} is gone"
            return Transition(phase_info_system_retryable_failure(now, CODE_DELETED_EXTERNALLY, message, None))
        return _observe(resource, ctx, now)

    def delete(self, facts: TaskExecutionContext) -> None:
        """Abort: delete the attempt's resource; deleting a missing one succeeds (R99 idempotency)."""
        with self._lock:
            self._resources.pop(facts.generated_name, None)

    def finalize(self, facts: TaskExecutionContext) -> None:
        with self._lock:
            self._finalized.add(facts.generated_name)

    # -- diagnostics -----------------------------------------------------------------------------------------------

    def live(self) -> frozenset[str]:
        """Names of the resources that exist (launched and not aborted)."""
        with self._lock:
            return frozenset(self._resources)

    def launches(self, name: str) -> int:
        """How many times a resource named ``name`` was launched (or its launch was rejected)."""
        with self._lock:
            return self._launches[name]

    def finalized(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._finalized)

    # -- internals -------------------------------------------------------------------------------------------------

    def _launch(self, facts: TaskExecutionContext, now: datetime) -> None:
        """Create the resource; an existing one counts as launched (the k8s plugin's AlreadyExists, R102)."""
        name = facts.generated_name
        with self._lock:
            if name in self._resources:
                return
            script = self._scripts.get(facts.name, self._default)
            outcome = _pick(_pick(script, facts.attempt - 1), self._launches[name])
            self._launches[name] += 1
            if not isinstance(outcome, RejectLaunch):
                self._resources[name] = Resource(name, outcome, now)
                return
        raise PluginError(outcome.message, outcome.code)


def _pick(items: Sequence[Any], index: int) -> Any:
    return items[min(index, len(items) - 1)]


def _observe(resource: Resource, ctx: PluginContext, now: datetime) -> Transition:
    age = now - resource.created_at
    outcome = resource.outcome
    if age < RUNNING_AFTER:
        return Transition(phase_info_queued(now, 0, MSG_SUBMITTED))
    if age < FINISHED_AFTER or isinstance(outcome, RunForever | RejectLaunch):
        return Transition(phase_info_running(now, 0, None))
    if isinstance(outcome, Succeed):
        written = ctx.output_writer.write_outputs(outcome.outputs)
        if not written.map(lambda _: True).value_or(False):
            raise RuntimeError(f"failed to write outputs: {written.failure().message}")
        return Transition(phase_info_success(now, None))
    return Transition(_failure(outcome, now))


def _failure(outcome: Fail, now: datetime) -> Any:
    match (outcome.kind is ErrorKind.SYSTEM, outcome.retryable):
        case (False, True):
            return phase_info_retryable_failure(now, outcome.code, outcome.message, None)
        case (False, False):
            return phase_info_failure(now, outcome.code, outcome.message, None)
        case (True, True):
            return phase_info_system_retryable_failure(now, outcome.code, outcome.message, None)
    return phase_info_system_failure(now, outcome.code, outcome.message, None)


class ClusterPlugin(ScriptedPlugin):
    """A :class:`~taskaction_core.testing.fakes.ScriptedPlugin` whose every Handle asks the :class:`Cluster`.

    It keeps the scripted plugin's fault injection, call log and overlap detection; a successful Abort deletes the
    resource and a successful Finalize marks it finalized.
    """

    def __init__(self, cluster: Cluster, plugin_id: str = PLUGIN_ID) -> None:
        self.cluster = cluster
        super().__init__(plugin_id, [cluster.handle])

    def abort(self, ctx: PluginContext) -> None:
        super().abort(ctx)
        self.cluster.delete(ctx.facts)

    def finalize(self, ctx: PluginContext) -> None:
        super().finalize(ctx)
        self.cluster.finalize(ctx.facts)


# --------------------------------------------------------------------------------------------------------------------
# The world


def _no_sleep(_: float) -> None:
    """The world's time is the manual clock; the ~10 ms conflict-retry pause (R66) is not waited for."""


@dataclass
class World:
    """Every port as an in-memory fake, the cluster behind the plugin, and the policy."""

    clock: ManualClock
    store: InMemoryTaskActionStore
    data: InMemoryDataStore
    catalog: InMemoryCatalog
    events: RecordingEventSink
    recorder: RecordingRecorder
    cluster: Cluster
    plugin: ClusterPlugin
    plugins: PluginRegistry
    secrets: DictSecretManager
    resources: QuotaResourceManager
    policy: Policy

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
            self.secrets,
            self.resources,
            catalog,
            sleep=_no_sleep,
            after_call=after_call,
        )

    # -- other clients ---------------------------------------------------------------------------------------------

    @contextmanager
    def faults_paused(self) -> Iterator[None]:
        """Injected faults model the controller's connection to its ports; other clients (the actions service, a
        user deleting a run) act with them paused. Calls made meanwhile are not counted in the fakes' logs."""
        fakes: list[Any] = [self.store, self.data, self.catalog, self.events, self.recorder, self.plugin]
        saved = [fake.faults for fake in fakes]
        for fake, faults in zip(fakes, saved, strict=True):
            fake.faults = type(faults)(faults.methods)
        try:
            yield
        finally:
            for fake, faults in zip(fakes, saved, strict=True):
                fake.faults = faults

    def create(self, task_action: TaskAction, inputs: bytes | None = None) -> None:
        """Create the object (the actions service), writing ``inputs`` to its ``inputUri`` first if given."""
        with self.faults_paused():
            if inputs is not None:
                self.data.write(task_action.spec.input_uri, inputs).unwrap()
            self.store.create(task_action).unwrap()

    def delete(self, key: Key) -> None:
        """Delete the object (a user, the GC or a parent cascade): with the finalizer on, only marks it (R26)."""
        with self.faults_paused():
            self.store.delete(*key).unwrap()

    def signal(self, key: Key, value: bytes, by: str) -> None:
        """The actions service's Signal RPC: writes only the signal fields (R78)."""
        with self.faults_paused():
            current = self.store.get(*key).unwrap()
            status = replace(current.status, signal_value=value, signalled_by=by, signalled_at=self.clock.now())
            self.store.update_status(replace(current, status=status)).unwrap()

    # -- reading the world -------------------------------------------------------------------------------------------

    def get(self, key: Key) -> TaskAction | None:
        """The stored object, read without a port call (no faults, no call count)."""
        for task_action in self.store.objects():
            if (task_action.metadata.namespace, task_action.metadata.name) == key:
                return task_action
        return None


def new_world(
    *,
    policy: Policy | None = None,
    scripts: Mapping[str, Sequence[AttemptScript]] | None = None,
    default_plugin: bool = True,
    start: datetime = T0,
) -> World:
    """A world at ``start`` with the cluster plugin registered for ``python`` (and as the default)."""
    clock = ManualClock(start)
    data = InMemoryDataStore()
    cluster = Cluster(clock, scripts, default=((Succeed(OUTPUTS),),))
    plugin = ClusterPlugin(cluster)
    plugins = PluginRegistry()
    plugins.register(plugin, ["python"], default=default_plugin)
    return World(
        clock=clock,
        store=InMemoryTaskActionStore(clock),
        data=data,
        catalog=InMemoryCatalog(data, clock),
        events=RecordingEventSink(),
        recorder=RecordingRecorder(clock),
        cluster=cluster,
        plugin=plugin,
        plugins=plugins,
        secrets=DictSecretManager(),
        resources=QuotaResourceManager(100),
        policy=policy or Policy(),
    )


# --------------------------------------------------------------------------------------------------------------------
# Driving


DEFAULT_MAX_PASSES: Final = 60
BACKOFF_BASE: Final = timedelta(milliseconds=5)
BACKOFF_MAX: Final = timedelta(seconds=1000)


def error_backoff(consecutive_failures: int) -> timedelta:
    """controller-runtime's per-key backoff after ``FAIL``: 5 ms doubling per consecutive failure, at most 1000 s."""
    exponent = min(consecutive_failures - 1, 32)
    delay: timedelta = min(BACKOFF_BASE * (2**exponent), BACKOFF_MAX)
    return delay


class StopReason(Enum):
    QUIESCENT = "quiescent"
    """Nothing is scheduled: every key returned Done without writing, or is gone."""
    UNTIL = "until"
    MAX_PASSES = "max_passes"


@dataclass(frozen=True, slots=True)
class DriveReport:
    passes: tuple[PassReport, ...]
    stop: StopReason

    @property
    def quiescent(self) -> bool:
        return self.stop is StopReason.QUIESCENT


class _Schedule:
    """The work queue: when each key is due next, FIFO among keys due at the same instant."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._due: dict[Key, tuple[datetime, int]] = {}
        self._failures: Counter[Key] = Counter()
        self._order = itertools.count()

    def add(self, key: Key, due: datetime) -> None:
        self._due[key] = (due, next(self._order))

    def pop(self) -> Key | None:
        """The next due key, moving the clock forward to its time; None when nothing is scheduled."""
        if not self._due:
            return None
        (due, _), key = heapq.nsmallest(1, ((when, key) for key, when in self._due.items()))[0]
        del self._due[key]
        now = self._clock.now()
        if due > now:
            self._clock.advance(due - now)
        return key

    def settle(self, key: Key, result: PassResult, wrote: bool) -> None:
        """Schedule ``key`` after a pass: by its result, and at once if the pass wrote to the object (R29)."""
        now = self._clock.now()
        due: datetime | None = None
        if isinstance(result, Failed):
            self._failures[key] += 1
            due = now + error_backoff(self._failures[key])
        else:
            self._failures[key] = 0
            if isinstance(result, RequeueAfter):
                due = now + result.after
        if wrote:
            due = now
        if due is not None:
            self.add(key, due)


def drive(
    world: World,
    key: Key,
    max_passes: int = DEFAULT_MAX_PASSES,
    *,
    until: Callable[[World], bool] | None = None,
    after_call: Callable[[str], None] | None = None,
    ports: Ports | None = None,
) -> DriveReport:
    """Reconcile ``key`` until quiescent, until ``until(world)`` holds, or for at most ``max_passes`` passes."""
    return drive_keys(world, (key,), max_passes, until=until, after_call=after_call, ports=ports)


def drive_keys(
    world: World,
    keys: Sequence[Key],
    max_passes: int = DEFAULT_MAX_PASSES,
    *,
    until: Callable[[World], bool] | None = None,
    after_call: Callable[[str], None] | None = None,
    ports: Ports | None = None,
) -> DriveReport:
    """:func:`drive` for several keys sharing one clock; all start due now (a fresh process lists everything).

    A :class:`SimulatedCrash` raised by ``after_call`` propagates: the process died mid-pass.
    """
    ports = ports or world.ports(after_call)
    schedule = _Schedule(world.clock)
    for key in keys:
        schedule.add(key, world.clock.now())
    passes: list[PassReport] = []
    while len(passes) < max_passes:
        if until is not None and until(world):
            return DriveReport(tuple(passes), StopReason.UNTIL)
        due = schedule.pop()
        if due is None:
            return DriveReport(tuple(passes), StopReason.QUIESCENT)
        before = _revision(world, due)
        report = run_pass(ports, world.policy, *due)
        passes.append(report)
        schedule.settle(due, report.result, wrote=_revision(world, due) != before)
    stop = StopReason.UNTIL if until is not None and until(world) else StopReason.MAX_PASSES
    return DriveReport(tuple(passes), stop)


def _revision(world: World, key: Key) -> str | None:
    found = world.get(key)
    return found.metadata.resource_version if found is not None else None


# --------------------------------------------------------------------------------------------------------------------
# End states


@dataclass(frozen=True, slots=True)
class EndState:
    """What one TaskAction left in the world: its stored object (if any) and its ActionEvents in the sink."""

    exists: bool
    conditions: tuple[tuple[str, str, str], ...] = ()
    """(type, status, reason) in list order."""
    history: tuple[str, ...] = ()
    error: ErrorState | None = None
    plugin_phase: str = ""
    attempts: int = 0
    cache_status: CacheStatus = CacheStatus.CACHE_DISABLED
    finalizer: bool = False
    gc_labels: bool = False
    signalled_by: str = ""
    events: tuple[tuple[int, ActionPhase], ...] = ()
    """(attempt, phase) of every stored event, in arrival order."""

    @property
    def terminal_condition(self) -> tuple[str, str] | None:
        """(type, reason) of the True Succeeded/Failed condition, if any (R7)."""
        for type_, status, reason in self.conditions:
            if status == "True" and type_ in ("Succeeded", "Failed"):
                return type_, reason
        return None


@dataclass(frozen=True, slots=True)
class WorldEnd:
    """The end state of a whole world."""

    actions: Mapping[Key, EndState]
    reservations: int = 0
    """Cache reservations still held."""
    cache_entries: int = 0
    live_resources: frozenset[str] = frozenset()


def end_state(world: World, key: Key) -> EndState:
    """The :class:`EndState` of ``key`` (read without port calls)."""
    events = tuple((e.attempt, e.phase) for e in world.events.events if e.id.name == key[1])
    found = world.get(key)
    if found is None:
        return EndState(exists=False, events=events)
    status, meta = found.status, found.metadata
    return EndState(
        exists=True,
        conditions=tuple((str(c.type), str(c.status), str(c.reason)) for c in status.conditions),
        history=tuple(str(entry.phase) for entry in status.phase_history),
        error=status.error_state,
        plugin_phase=status.plugin_phase,
        attempts=status.attempts,
        cache_status=CacheStatus(status.cache_status),
        finalizer=FINALIZER in meta.finalizers,
        gc_labels=meta.labels.get(LABEL_TERMINATION_STATUS) == TERMINATED
        and bool(meta.labels.get(LABEL_COMPLETED_TIME)),
        signalled_by=status.signalled_by,
        events=events,
    )


def _has_gc_labels(task_action: TaskAction) -> bool:
    labels = task_action.metadata.labels
    return labels.get(LABEL_TERMINATION_STATUS) == TERMINATED and bool(labels.get(LABEL_COMPLETED_TIME))


def world_end(world: World, keys: Sequence[Key]) -> WorldEnd:
    return WorldEnd(
        actions={key: end_state(world, key) for key in keys},
        reservations=len(world.catalog.reservations()),
        cache_entries=len(world.catalog.entries()),
        live_resources=world.cluster.live(),
    )


_PLUGIN_PHASES: Final = {phase.wire_name: phase for phase in PluginPhase}


def lost_events(world: World) -> list[str]:
    """Task phases the store shows without the ActionEvent that reports them (R65: the event is durable first).

    Empty when nothing is lost. Skips phases that are never reported by an event: none yet (``""``), and the
    Undefined phase.
    """
    recorded = {(e.id.name, e.attempt, e.phase) for e in world.events.events}
    lost = []
    for task_action in world.store.objects():
        phase = _PLUGIN_PHASES.get(task_action.status.plugin_phase)
        if phase is None or phase is PluginPhase.UNDEFINED:
            continue
        attempt = task_action.status.attempts or 1
        wanted = (task_action.spec.action_name, attempt, to_action_phase(phase))
        if wanted not in recorded:
            lost.append(f"{task_action.metadata.name}: {phase.wire_name} of attempt {attempt} has no event")
    return lost


# --------------------------------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True, slots=True)
class DriveStep:
    """Reconcile ``keys`` until quiescent (or until ``until`` holds)."""

    keys: tuple[Key, ...]
    until: Callable[[World], bool] | None = None
    max_passes: int = DEFAULT_MAX_PASSES


@dataclass(frozen=True, slots=True)
class Act:
    """Another client changes the world (faults paused, see :meth:`World.faults_paused`)."""

    description: str
    apply: Callable[[World], None]


Step = DriveStep | Act


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named story: a fresh world, its steps, and the end state the spec promises."""

    name: str
    rules: str
    """The spec rules and exit paths it exercises."""
    build: Callable[[], World]
    steps: tuple[Step, ...]
    expected: WorldEnd

    @property
    def keys(self) -> tuple[Key, ...]:
        return tuple(self.expected.actions)


class SimulatedCrash(BaseException):
    """The process died right after a port call (design.md §8, crash injection).

    A ``BaseException``, like ``SystemExit``: no ``except Exception`` in an adapter, plugin or driver may survive
    it, as nothing survives a real crash.
    """


class CallCounter:
    """An ``after_call`` hook counting every question and effect the interpreter performs; with ``crash_at``
    set, it raises :class:`SimulatedCrash` right after that call (1-based)."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.crash_at = crash_at
        self.calls: list[str] = []

    @property
    def fired(self) -> bool:
        return self.crash_at is not None and len(self.calls) >= self.crash_at

    def __call__(self, name: str) -> None:
        self.calls.append(name)
        if len(self.calls) == self.crash_at:
            raise SimulatedCrash(f"crashed after call {self.crash_at} ({name})")


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    world: World
    calls: tuple[str, ...]
    """Every question and effect performed before the crash (all of them without one)."""
    end: WorldEnd
    stops: tuple[StopReason, ...]
    """Why each drive ended, in order (a crashed drive is not listed; its restart is)."""


def run_scenario(
    scenario: Scenario,
    crash_at: int | None = None,
    on_crash: Callable[[World], None] | None = None,
) -> ScenarioRun:
    """Play ``scenario``. With ``crash_at``, the process dies after that call; ``on_crash`` inspects the world at
    that moment, then a fresh driver (new ports, same world) carries on with the interrupted step and the rest."""
    world = scenario.build()
    counter = CallCounter(crash_at)
    stops: list[StopReason] = []
    for step in scenario.steps:
        if isinstance(step, Act):
            step.apply(world)
            continue
        hook = None if counter.fired else counter
        try:
            report = drive_keys(world, step.keys, step.max_passes, until=step.until, after_call=hook)
        except SimulatedCrash:
            if on_crash is not None:
                on_crash(world)
            report = drive_keys(world, step.keys, step.max_passes, until=step.until)
        stops.append(report.stop)
    return ScenarioRun(world, tuple(counter.calls), world_end(world, scenario.keys), tuple(stops))


# -- builders ---------------------------------------------------------------------------------------------------------


def _inputs(x: int) -> bytes:
    inputs: Any = common_pb2.Inputs()
    entry = inputs.literals.add()
    entry.name = "x"
    entry.value.scalar.primitive.integer = x
    return bytes(inputs.SerializeToString(deterministic=True))


def _outputs(o0: int) -> bytes:
    outputs: Any = literals_pb2.LiteralMap()
    outputs.literals["o0"].scalar.primitive.integer = o0
    return bytes(outputs.SerializeToString(deterministic=True))


INPUTS: Final = _inputs(1)
"""A serialized ``task.Inputs`` {x: 1}: the fake catalog hashes inputs into its key (R97)."""
OUTPUTS: Final = _outputs(2)
"""What a succeeding resource writes to ``outputs.pb`` (a serialized ``LiteralMap`` {o0: 2})."""


def a_task(key: Key, **options: Any) -> TaskAction:
    """A valid task TaskAction without the finalizer, its action name = its name, inputs under its own prefix.

    ``options`` go to :func:`~taskaction_core.testing.builders.a_task_action` (``cacheable``, ``retries``...), and
    ``spec`` may hold a dict of spec field overrides.
    """
    spec_changes = options.pop("spec", {})
    namespace, name = key
    task_action = a_task_action(name=name, namespace=namespace, with_finalizer=False, **options)
    changes = {"action_name": name, "input_uri": f"s3://bucket/run/{name}/inputs.pb", **spec_changes}
    spec = replace(task_action.spec, **changes)
    return replace(task_action, metadata=replace(task_action.metadata, uid=""), spec=spec)


def a_condition(key: Key, *, timeout: timedelta | None = None, empty_spec: bool = False) -> TaskAction:
    condition = a_condition_action(name=key[1], timeout=timeout)
    spec = replace(condition.spec, condition_spec=b"") if empty_spec else condition.spec
    return replace(condition, metadata=replace(condition.metadata, resource_version="", uid=""), spec=spec)


def _world_with(*task_actions: TaskAction, **world_options: Any) -> Callable[[], World]:
    def build() -> World:
        world = new_world(**world_options)
        for task_action in task_actions:
            has_inputs = task_action.spec.action_type != "condition" and task_action.spec.input_uri
            world.create(task_action, INPUTS if has_inputs else None)
        return world

    return build


def _phase_is(key: Key, phase: PluginPhase) -> Callable[[World], bool]:
    def reached(world: World) -> bool:
        found = world.get(key)
        return found is not None and found.status.plugin_phase == phase.wire_name

    return reached


def _clock_at(when: datetime) -> Callable[[World], bool]:
    return lambda world: world.clock.now() >= when


# -- expected end states ----------------------------------------------------------------------------------------------

_SUCCEEDED: Final = (("Progressing", "False", "Completed"), ("Succeeded", "True", "Completed"))
_FAILED: Final = (("Progressing", "False", "PermanentFailure"), ("Failed", "True", "PermanentFailure"))
Q, WFR, R, S, F, A = (
    ActionPhase.QUEUED,
    ActionPhase.WAITING_FOR_RESOURCES,
    ActionPhase.RUNNING,
    ActionPhase.SUCCEEDED,
    ActionPhase.FAILED,
    ActionPhase.ABORTED,
)
_RAN_TO_SUCCESS: Final = EndState(
    exists=True,
    conditions=_SUCCEEDED,
    history=("Queued", "Executing", "Completed"),
    plugin_phase="PhaseSuccess",
    attempts=1,
    finalizer=True,
    gc_labels=True,
    events=((1, Q), (1, R), (1, S)),
)
"""R41, R45, R47: a plain run; the finalizer stays on a terminal action (R13) and its resource is kept (Q3)."""

USER_ERROR: Final = Fail("UserError", "division by zero")
CONNECTION_REFUSED: Final = "connection refused"
SYSTEM_CEILING_MESSAGE: Final = f'plugin "{PLUGIN_ID}" failed with system error 4 times: {CONNECTION_REFUSED}'
NON_RETRYABLE_MESSAGE: Final = "[BadTaskSpecification] container image is malformed"
TIMEOUT: Final = timedelta(seconds=60)
TIMED_OUT_MESSAGE: Final = "condition timed out after 1m0s without a signal"
INVALID_SPEC_MESSAGE: Final = 'condition action "cond" has empty conditionSpec'
MISSING_FIELDS_MESSAGE: Final = "required spec fields are empty: [taskType inputUri]"
SIGNAL: Final = b"\x0a\x02\x08\x01"


def _scenarios() -> tuple[Scenario, ...]:
    drive_ta, drive_tb, drive_cond = DriveStep((TA,)), DriveStep((TB,)), DriveStep((COND,))
    delete_ta = Act("delete ta", lambda world: world.delete(TA))
    return (
        Scenario(
            "success",
            "R30–R48, X12, X22, X10",
            _world_with(a_task(TA)),
            (drive_ta,),
            WorldEnd({TA: _RAN_TO_SUCCESS}, live_resources=frozenset({"ta-0"})),
        ),
        Scenario(
            "cache_hit",
            "R52 step 2 (hit short-circuits the plugin), R54 (POPULATED), R97 (inputs hashed)",
            _world_with(a_task(TA, cacheable=True)),
            (drive_ta, Act("create tb", lambda world: world.create(a_task(TB, cacheable=True), INPUTS)), drive_tb),
            WorldEnd(
                {
                    TA: replace(_RAN_TO_SUCCESS, cache_status=CacheStatus.CACHE_POPULATED),
                    TB: replace(
                        _RAN_TO_SUCCESS, history=("Completed",), cache_status=CacheStatus.CACHE_HIT, events=((1, S),)
                    ),
                },
                cache_entries=1,
                live_resources=frozenset({"ta-0"}),
            ),
        ),
        Scenario(
            "serialized_cache",
            "R52 step 3 (WaitingForCache while another owner holds the reservation), R54, R56",
            _world_with(a_task(TA, cacheable=True, serializable=True), a_task(TB, cacheable=True, serializable=True)),
            (DriveStep((TA, TB)),),
            WorldEnd(
                {
                    TA: replace(_RAN_TO_SUCCESS, cache_status=CacheStatus.CACHE_POPULATED),
                    TB: replace(
                        _RAN_TO_SUCCESS,
                        history=("Queued", "Completed"),
                        cache_status=CacheStatus.CACHE_HIT,
                        events=((1, WFR), (1, S)),
                    ),
                },
                cache_entries=1,
                live_resources=frozenset({"ta-0"}),
            ),
        ),
        Scenario(
            "user_retry_then_success",
            "R40 in-place restart, D2 (the failed attempt is reported), R44, R105",
            _world_with(a_task(TA, retries=1), scripts={"ta": ((USER_ERROR,), (Succeed(OUTPUTS),))}),
            (drive_ta,),
            WorldEnd(
                {
                    TA: replace(
                        _RAN_TO_SUCCESS,
                        history=("Queued", "Executing", "RetryableFailure", "Queued", "Executing", "Completed"),
                        error=ErrorState("UserError", "USER", "division by zero"),
                        attempts=2,
                        events=((1, Q), (1, R), (1, F), (2, Q), (2, R), (2, S)),
                    )
                },
                live_resources=frozenset({"ta-1"}),
            ),
        ),
        Scenario(
            "retries_exhausted",
            "R40 retries exhausted → PermanentFailure with the attempt's error, R41",
            _world_with(a_task(TA, retries=1), scripts={"ta": ((USER_ERROR,),)}),
            (drive_ta,),
            WorldEnd(
                {
                    TA: replace(
                        _RAN_TO_SUCCESS,
                        conditions=_FAILED,
                        history=("Queued", "Executing", "RetryableFailure", "Queued", "Executing", "PermanentFailure"),
                        error=ErrorState("UserError", "USER", "division by zero"),
                        plugin_phase="PhasePermanentFailure",
                        attempts=2,
                        events=((1, Q), (1, R), (1, F), (2, Q), (2, R), (2, F)),
                    )
                },
                live_resources=frozenset({"ta-1"}),
            ),
        ),
        Scenario(
            "system_failure_ceiling",
            "R57 (4th consecutive system error), R60, R61, X17, X16, D3, D4",
            _world_with(a_task(TA), scripts={"ta": ((RejectLaunch(CONNECTION_REFUSED),),)}),
            (drive_ta,),
            WorldEnd(
                {
                    TA: EndState(
                        exists=True,
                        conditions=_FAILED,
                        history=("PermanentFailure",),
                        error=ErrorState("MaxSystemFailuresExceeded", "SYSTEM", SYSTEM_CEILING_MESSAGE),
                        plugin_phase="PhasePermanentFailure",
                        finalizer=True,
                        gc_labels=True,
                        events=((1, F),),
                    )
                }
            ),
        ),
        Scenario(
            "non_retryable_code",
            "R57 step 1, R58 (BadTaskSpecification fails at once, kind USER), X15",
            _world_with(
                a_task(TA),
                scripts={"ta": ((RejectLaunch("container image is malformed", "BadTaskSpecification"),),)},
            ),
            (drive_ta,),
            WorldEnd(
                {
                    TA: EndState(
                        exists=True,
                        conditions=_FAILED,
                        history=("PermanentFailure",),
                        error=ErrorState("BadTaskSpecification", "USER", NON_RETRYABLE_MESSAGE),
                        plugin_phase="PhasePermanentFailure",
                        finalizer=True,
                        gc_labels=True,
                        events=((1, F),),
                    )
                }
            ),
        ),
        Scenario(
            "system_retryable_reset",
            "R38 (SYSTEM retryable phase), R62 (abort, clear plugin state, same name: Q25), R57 below the ceiling",
            _world_with(
                a_task(TA), scripts={"ta": ((Fail("NodeLost", "node died", ErrorKind.SYSTEM), Succeed(OUTPUTS)),)}
            ),
            (drive_ta,),
            WorldEnd(
                {TA: replace(_RAN_TO_SUCCESS, history=("Queued", "Executing", "Queued", "Executing", "Completed"))},
                live_resources=frozenset({"ta-0"}),
            ),
        ),
        Scenario(
            "abort_while_running",
            "R26, R85–R91 (Abort, Finalize, release the reservation, ABORTED event, remove the finalizer), X9",
            _world_with(a_task(TA, cacheable=True, serializable=True), scripts={"ta": ((RunForever(),),)}),
            (DriveStep((TA,), until=_phase_is(TA, PluginPhase.RUNNING)), delete_ta, drive_ta),
            WorldEnd({TA: EndState(exists=False, events=((1, Q), (1, R), (1, A)))}),
        ),
        Scenario(
            "delete_terminal",
            "R26 before R27, D1 (cleanup without an ABORTED event), R91",
            _world_with(a_task(TA)),
            (drive_ta, delete_ta, drive_ta),
            WorldEnd({TA: EndState(exists=False, events=((1, Q), (1, R), (1, S)))}),
        ),
        Scenario(
            "condition_signalled",
            "R78, R79 (signal), R82 (paused, no deadline: DONE), R83 (selective write keeps the signal), X23, X24",
            _world_with(a_condition(COND)),
            (drive_cond, Act("signal cond", lambda world: world.signal(COND, SIGNAL, "alice")), drive_cond),
            WorldEnd(
                {
                    COND: EndState(
                        exists=True,
                        conditions=(("Progressing", "False", "Signaled"), ("Succeeded", "True", "Signaled")),
                        history=("Paused", "Signaled"),
                        gc_labels=True,
                        signalled_by="alice",
                    )
                }
            ),
        ),
        Scenario(
            "condition_timed_out",
            "R80 (deadline from creationTimestamp), R81, R82 (AFTER(deadline − now)), X23",
            _world_with(a_condition(COND, timeout=TIMEOUT)),
            (drive_cond,),
            WorldEnd(
                {
                    COND: EndState(
                        exists=True,
                        conditions=(("Progressing", "False", "TimedOut"), ("Failed", "True", "TimedOut")),
                        history=("Paused", "TimedOut"),
                        error=ErrorState("ConditionTimedOut", "USER", TIMED_OUT_MESSAGE),
                        gc_labels=True,
                    )
                }
            ),
        ),
        Scenario(
            "condition_invalid_spec",
            "R80 (empty conditionSpec: InvalidSpec, no history entry), X23",
            _world_with(a_condition(COND, empty_spec=True)),
            (drive_cond,),
            WorldEnd(
                {
                    COND: EndState(
                        exists=True,
                        conditions=(("Progressing", "False", "InvalidSpec"), ("Failed", "True", "InvalidSpec")),
                        error=ErrorState("InvalidSpec", "USER", INVALID_SPEC_MESSAGE),
                        gc_labels=True,
                    )
                }
            ),
        ),
        Scenario(
            "validation_missing_fields",
            "R30 (InvalidSpec, [Failed, Progressing] order, no finalizer), R120, X11, then R27",
            _world_with(a_task(TA, spec={"task_type": "", "input_uri": ""})),
            (drive_ta,),
            WorldEnd(
                {
                    TA: EndState(
                        exists=True,
                        conditions=(("Failed", "True", "InvalidSpec"), ("Progressing", "False", "InvalidSpec")),
                        gc_labels=True,
                    )
                }
            ),
        ),
        Scenario(
            "validation_plugin_not_found",
            "R30 (PluginNotFound), R100 (no default plugin), R120, X11",
            _world_with(a_task(TA, spec={"task_type": "spark"}), default_plugin=False),
            (drive_ta,),
            WorldEnd(
                {
                    TA: EndState(
                        exists=True,
                        conditions=(("Failed", "True", "PluginNotFound"), ("Progressing", "False", "PluginNotFound")),
                        gc_labels=True,
                    )
                }
            ),
        ),
        Scenario(
            "running_forever",
            "R48 (AFTER(rd) on every steady pass), R110 (rd = 10 s)",
            _world_with(a_task(TA), scripts={"ta": ((RunForever(),),)}),
            (DriveStep((TA,), until=_clock_at(T0 + timedelta(seconds=60))),),
            WorldEnd(
                {
                    TA: EndState(
                        exists=True,
                        conditions=(("Progressing", "True", "Executing"),),
                        history=("Queued", "Executing"),
                        plugin_phase="PhaseRunning",
                        attempts=1,
                        finalizer=True,
                        events=((1, Q), (1, R)),
                    )
                },
                live_resources=frozenset({"ta-0"}),
            ),
        ),
    )


SCENARIOS: Final[tuple[Scenario, ...]] = _scenarios()
"""The catalogue, in a stable order."""
SCENARIOS_BY_NAME: Final[Mapping[str, Scenario]] = {scenario.name: scenario for scenario in SCENARIOS}

__all__ = [
    "COND",
    "INPUTS",
    "OUTPUTS",
    "SCENARIOS",
    "SCENARIOS_BY_NAME",
    "SIGNAL",
    "TA",
    "TB",
    "Act",
    "AttemptScript",
    "CallCounter",
    "Cluster",
    "ClusterPlugin",
    "DriveReport",
    "DriveStep",
    "EndState",
    "Fail",
    "Key",
    "Outcome",
    "RejectLaunch",
    "RunForever",
    "Scenario",
    "ScenarioRun",
    "SimulatedCrash",
    "StopReason",
    "Succeed",
    "World",
    "WorldEnd",
    "a_condition",
    "a_task",
    "drive",
    "drive_keys",
    "end_state",
    "error_backoff",
    "lost_events",
    "new_world",
    "run_scenario",
    "world_end",
]
