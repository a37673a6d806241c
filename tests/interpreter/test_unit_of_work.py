"""The pass's unit of work (``Ports.unit_of_work``): consecutive store writes share one scope, which ends before any
other port call and before the R66 back-off, and whose failed commit fails the pass.

The first half checks where the driver opens and ends units with a recording unit over the in-memory fakes; the
second half runs the same passes over the SQLite adapters sharing one :class:`Database`, where the unit is one
``BEGIN IMMEDIATE`` transaction, and checks what another connection to the file sees (R65, R66, R114).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector
from returns.result import Success

from taskaction_core.adapters.sqlite import Database, SqliteEventSink, SqliteRecorder, SqliteTaskActionStore
from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Decision, Done
from taskaction_core.effects import (
    AbortPlugin,
    FailPass,
    FinalEffect,
    FinalizePlugin,
    Log,
    LogLevel,
    PatchLabels,
    PersistStatus,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    StatusScope,
)
from taskaction_core.interpreter import driver
from taskaction_core.interpreter.driver import Failed, PassReport, Ports, run_pass
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import PluginProperties
from taskaction_core.observations import PortFailure
from taskaction_core.phase_info import Transition, phase_info_running
from taskaction_core.policy import Policy
from taskaction_core.reconcile.action_events import build_action_event
from taskaction_core.reconcile.cache import build_task_cache_config
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.records import Condition, TaskAction, TaskActionStatus
from taskaction_core.testing.builders import T0
from taskaction_core.testing.scenarios import TA, SimulatedCrash, World, a_task, new_world
from tests.adapters.factories import fresh_database
from tests.interpreter.test_driver import ScriptedCore

PROBE = "probe-plugin"


class RecordingUnits:
    """A ``unit_of_work`` factory logging when units open and end; ``fail_commit`` makes their normal exit raise."""

    def __init__(self, log: list[str], fail_commit: Exception | None = None) -> None:
        self.log = log
        self.fail_commit = fail_commit

    def __call__(self) -> AbstractContextManager[object]:
        return self._unit()

    @contextmanager
    def _unit(self) -> Iterator[None]:
        self.log.append("open")
        try:
            yield
        except BaseException:
            self.log.append("abandon")
            raise
        if self.fail_commit is not None:
            self.log.append("commit failed")
            raise self.fail_commit
        self.log.append("commit")


class ProbePlugin:
    """A plugin whose Abort and Finalize run ``probe`` (to look at the world while a plugin call is in progress)."""

    def __init__(self, probe: Callable[[str], None]) -> None:
        self._probe = probe

    @property
    def id(self) -> str:
        return PROBE

    @property
    def properties(self) -> PluginProperties:
        return PluginProperties()

    def handle(self, ctx: PluginContext) -> Transition:
        return Transition(phase_info_running(T0, 0, None))

    def abort(self, ctx: PluginContext) -> None:
        self._probe("abort")

    def finalize(self, ctx: PluginContext) -> None:
        self._probe("finalize")


def _task(world: World) -> TaskAction:
    """TA as created in ``world``'s in-memory store."""
    found = world.get(TA)
    assert found is not None
    return found


def _world() -> World:
    world = new_world()
    world.create(a_task(TA, cacheable=True, serializable=True), b"")
    return world


def _facts(task_action: TaskAction) -> TaskExecutionContext:
    return build_task_execution_context(task_action, Policy()).unwrap()


def _event(task_action: TaskAction) -> RecordActionEvent:
    return RecordActionEvent(build_action_event(task_action, phase_info_running(T0, 0, None), T0, ""), FailPass())


def _status() -> TaskActionStatus:
    return replace(TaskActionStatus(), conditions=pvector([Condition("Progressing", "True", "Queued", "q", T0)]))


def _persist(task_action: TaskAction, *, retry: bool = True, resource_version: str | None = None) -> PersistStatus:
    rv = task_action.metadata.resource_version if resource_version is None else resource_version
    return PersistStatus(_status(), StatusScope.WHOLE, retry, rv, FailPass())


def _labels() -> PatchLabels:
    return PatchLabels(pmap({"flyte.org/termination-status": "terminated"}), FailPass())


def _decide(
    monkeypatch: pytest.MonkeyPatch, ports: Ports, task_action: TaskAction, effects: Sequence[FinalEffect]
) -> PassReport:
    monkeypatch.setattr(driver, "reconcile", ScriptedCore([Decision(task_action, tuple(effects), Done())]))
    return run_pass(ports, Policy(), *TA)


def _recorded(world: World, log: list[str], **options: Exception) -> Ports:
    """The world's ports with units, effects (``after_call``) and back-off sleeps all logged into ``log``."""
    units = RecordingUnits(log, options.get("fail_commit"))
    return replace(world.ports(after_call=log.append), unit_of_work=units, sleep=lambda _: log.append("sleep"))


# --------------------------------------------------------------------------------------------------------------------
# Where the driver opens and ends units


def test_run_pass_event_status_and_labels_share_one_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    task = _task(world)

    report = _decide(monkeypatch, _recorded(world, log), task, [_event(task), _persist(task), _labels()])

    assert report.result == Done()
    assert log == ["open", "RecordActionEvent", "PersistStatus", "PatchLabels", "commit"]


@pytest.mark.parametrize("call", ["AbortPlugin", "FinalizePlugin", "ReleaseReservation"])
def test_run_pass_other_port_call_commits_the_unit_before_it(monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    world, log = _world(), list[str]()
    world.plugins.register(ProbePlugin(log.append), ["probe"])
    task = _task(world)
    config = build_task_cache_config(task).unwrap()
    assert config is not None
    middle: dict[str, FinalEffect] = {
        "AbortPlugin": AbortPlugin(PROBE, _facts(task), FailPass()),
        "FinalizePlugin": FinalizePlugin(PROBE, _facts(task), FailPass()),
        "ReleaseReservation": ReleaseReservation(config.key, config.owner_id, FailPass()),
    }

    _decide(monkeypatch, _recorded(world, log), task, [_event(task), middle[call], _persist(task)])

    probe = {"AbortPlugin": ["abort"], "FinalizePlugin": ["finalize"], "ReleaseReservation": []}[call]
    assert log == ["open", "RecordActionEvent", "commit", *probe, call, "open", "PersistStatus", "commit"]


def test_run_pass_warnings_and_logs_stay_inside_the_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    task = _task(world)
    effects: list[FinalEffect] = [
        _event(task),
        RecordWarning("R", "A", "note"),
        Log(LogLevel.INFO, "hello"),
        _persist(task),
    ]

    _decide(monkeypatch, _recorded(world, log), task, effects)

    assert log == ["open", "RecordActionEvent", "RecordWarning", "Log", "PersistStatus", "commit"]


def test_run_pass_without_store_writes_opens_no_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()

    report = _decide(monkeypatch, _recorded(world, log), _task(world), [Log(LogLevel.INFO, "hello")])

    assert (report.result, log) == (Done(), ["Log"])


def test_run_pass_status_conflict_commits_the_event_before_the_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    task = _task(world)
    world.store.faults.conflict_next("update_status")

    report = _decide(monkeypatch, _recorded(world, log), task, [_event(task), _persist(task)])

    assert report.result == Done()
    assert log == ["open", "RecordActionEvent", "commit", "sleep", "open", "PersistStatus", "commit"]
    assert report.effects_performed == ("RecordActionEvent", "PersistStatus")


def test_run_pass_failed_event_stops_the_status_and_commits_what_came_before(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    task = _task(world)
    world.events.faults.fail_next("record", PortFailure("sink down"))

    report = _decide(monkeypatch, _recorded(world, log), task, [_labels(), _event(task), _persist(task)])

    assert report.result == Failed("RecordActionEvent: sink down")
    assert log == ["open", "PatchLabels", "RecordActionEvent", "commit"]
    assert _task(world).status == task.status


def test_run_pass_failed_commit_fails_the_pass_and_reports_none_of_its_effects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, log = _world(), list[str]()
    world.plugins.register(ProbePlugin(log.append), ["probe"])
    task = _task(world)
    ports = _recorded(world, log, fail_commit=OSError("disk full"))
    effects: list[FinalEffect] = [AbortPlugin(PROBE, _facts(task), FailPass()), _event(task), _persist(task)]

    report = _decide(monkeypatch, ports, task, effects)

    assert report.result == Failed("commit: OSError: disk full")
    assert report.effects_performed == ("AbortPlugin",)
    assert log == ["abort", "AbortPlugin", "open", "RecordActionEvent", "PersistStatus", "commit failed"]


def test_run_pass_failed_commit_before_a_plugin_call_skips_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    world.plugins.register(ProbePlugin(log.append), ["probe"])
    task = _task(world)
    ports = _recorded(world, log, fail_commit=OSError("disk full"))

    report = _decide(monkeypatch, ports, task, [_event(task), AbortPlugin(PROBE, _facts(task), FailPass())])

    assert report.result == Failed("commit: OSError: disk full")
    assert (report.effects_performed, log) == ((), ["open", "RecordActionEvent", "commit failed"])


def test_run_pass_unit_that_cannot_open_fails_the_pass_before_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    task = _task(world)

    def broken() -> AbstractContextManager[object]:
        raise_on_enter: AbstractContextManager[object] = _RaisingOnEnter()
        return raise_on_enter

    report = _decide(monkeypatch, replace(world.ports(), unit_of_work=broken), task, [_event(task), _persist(task)])

    assert report.result == Failed("unit of work: OSError: no connection")
    assert (report.effects_performed, world.events.events) == ((), ())


class _RaisingOnEnter(AbstractContextManager[object]):
    def __enter__(self) -> object:
        raise OSError("no connection")

    def __exit__(self, *exc: object) -> None:
        raise AssertionError("a unit that did not open is never ended")


def test_run_pass_crash_inside_a_unit_abandons_it(monkeypatch: pytest.MonkeyPatch) -> None:
    world, log = _world(), list[str]()
    task = _task(world)

    def crash_after_event(name: str) -> None:
        log.append(name)
        if name == "RecordActionEvent":
            raise SimulatedCrash

    ports = replace(world.ports(after_call=crash_after_event), unit_of_work=RecordingUnits(log))
    with pytest.raises(SimulatedCrash):
        _decide(monkeypatch, ports, task, [_event(task), _persist(task)])

    assert log == ["open", "RecordActionEvent", "abandon"]


# --------------------------------------------------------------------------------------------------------------------
# Over SQLite: one transaction, seen from another connection


@dataclass(frozen=True)
class SqliteWorld:
    """TA in a SQLite store; ports with the store, event sink and recorder on that file, and its unit of work."""

    database: Database
    store: SqliteTaskActionStore
    events: SqliteEventSink
    ports: Ports

    def stored(self) -> TaskAction:
        return self.store.get(*TA).unwrap()

    def observe(self, sql: str) -> int:
        """What a second connection to the file sees: committed rows only."""
        observer = sqlite3.connect(self.database.path)
        try:
            return int(observer.execute(sql).fetchone()[0])
        finally:
            observer.close()

    def committed_events(self) -> int:
        return self.observe("SELECT count(*) FROM action_events")

    def committed_revision(self) -> int:
        return self.observe("SELECT value FROM counters WHERE name = 'resource_version'")

    def write_lock_free(self) -> bool:
        """Whether another process could write now (it takes the file's write lock without waiting)."""
        other = sqlite3.connect(self.database.path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()


def _sqlite_world(world: World) -> SqliteWorld:
    database = fresh_database()
    store = SqliteTaskActionStore(database, world.clock)
    sink = SqliteEventSink(database)
    created = _task(world)
    store.create(replace(created, metadata=replace(created.metadata, resource_version=""))).unwrap()
    ports = replace(
        world.ports(),
        store=store,
        events=sink,
        recorder=SqliteRecorder(database, world.clock),
        unit_of_work=database.unit_of_work,
    )
    return SqliteWorld(database, store, sink, ports)


def test_sqlite_pass_event_status_and_labels_commit_in_one_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = _sqlite_world(_world())
    seen: list[tuple[str, int, int]] = []

    def look(name: str) -> None:
        seen.append((name, sqlite.committed_events(), sqlite.committed_revision()))

    task = sqlite.stored()
    statements: list[str] = []
    sqlite.database.connection().set_trace_callback(statements.append)
    ports = replace(sqlite.ports, after_call=look)

    report = _decide(monkeypatch, ports, task, [_event(task), _persist(task), _labels()])

    assert report.result == Done()
    assert seen == [("RecordActionEvent", 0, 1), ("PersistStatus", 0, 1), ("PatchLabels", 0, 1)]
    assert (sqlite.committed_events(), sqlite.committed_revision()) == (1, 3)
    assert (statements.count("BEGIN IMMEDIATE"), statements.count("COMMIT")) == (1, 1)
    assert sqlite.stored().status == _status()


def test_sqlite_pass_event_stays_recorded_when_the_status_write_conflicts(monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = _sqlite_world(_world())
    task = sqlite.stored()
    sqlite.store.patch_labels(*TA, {"other": "writer"}).unwrap()  # the pass's read is now stale

    report = _decide(monkeypatch, sqlite.ports, task, [_event(task), _persist(task, retry=False)])

    assert isinstance(report.result, Failed)
    assert "Conflict" in report.result.error
    assert sqlite.committed_events() == 1  # R114: the first write of this key is kept; a later pass re-sends it
    assert sqlite.stored().status == task.status
    assert not sqlite.database.connection().in_transaction


def test_sqlite_pass_conflict_back_off_holds_no_lock_and_the_retry_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = _sqlite_world(_world())
    during_sleep: list[tuple[bool, int]] = []

    def sleep(_: float) -> None:
        during_sleep.append((sqlite.write_lock_free(), sqlite.committed_events()))

    task = sqlite.stored()
    sqlite.store.patch_labels(*TA, {"other": "writer"}).unwrap()

    report = _decide(monkeypatch, replace(sqlite.ports, sleep=sleep), task, [_event(task), _persist(task)])

    assert report.result == Done()
    assert during_sleep == [(True, 1)]
    assert sqlite.stored().status == _status()


def test_sqlite_pass_failed_commit_fails_the_pass_with_nothing_persisted(monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = _sqlite_world(_world())
    task = sqlite.stored()
    revision = sqlite.committed_revision()

    @contextmanager
    def unit_whose_commit_fails() -> Iterator[None]:
        with sqlite.database.unit_of_work():
            yield
            with sqlite.database.write() as connection:  # a deferred constraint: only COMMIT finds it broken
                connection.execute("PRAGMA defer_foreign_keys = ON")
                connection.execute("INSERT INTO task_action_labels VALUES ('no', 'such', 'object', 'x')")

    ports = replace(sqlite.ports, unit_of_work=unit_whose_commit_fails)
    report = _decide(monkeypatch, ports, task, [_event(task), _persist(task), _labels()])

    assert report.result == Failed("commit: IntegrityError: FOREIGN KEY constraint failed")
    assert report.effects_performed == ()
    assert (sqlite.committed_events(), sqlite.committed_revision()) == (0, revision)
    assert sqlite.stored() == task
    assert sqlite.write_lock_free()


def test_sqlite_pass_plugin_call_runs_with_the_event_committed_and_no_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    sqlite = _sqlite_world(world)
    probes: list[tuple[str, bool, int]] = []

    def probe(call: str) -> None:
        probes.append((call, sqlite.write_lock_free(), sqlite.committed_events()))

    world.plugins.register(ProbePlugin(probe), ["probe"])
    task = sqlite.stored()
    effects: list[FinalEffect] = [_event(task), AbortPlugin(PROBE, _facts(task), FailPass()), _persist(task)]

    report = _decide(monkeypatch, sqlite.ports, task, effects)

    assert report.result == Done()
    assert probes == [("abort", True, 1)]
    assert sqlite.stored().status == _status()


def test_sqlite_pass_crash_inside_the_unit_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash_after_status(name: str) -> None:
        if name == "PersistStatus":
            raise SimulatedCrash

    sqlite = _sqlite_world(_world())
    task = sqlite.stored()

    with pytest.raises(SimulatedCrash):
        _decide(monkeypatch, replace(sqlite.ports, after_call=crash_after_status), task, [_event(task), _persist(task)])

    assert (sqlite.committed_events(), sqlite.stored()) == (0, task)
    assert sqlite.write_lock_free()


def test_sqlite_pass_without_unit_of_work_commits_each_write(monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = _sqlite_world(_world())
    task = sqlite.stored()
    statements: list[str] = []
    sqlite.database.connection().set_trace_callback(statements.append)
    ports = replace(sqlite.ports, unit_of_work=nullcontext)

    report = _decide(monkeypatch, ports, task, [_event(task), _persist(task), _labels()])

    assert report.result == Done()
    assert statements.count("COMMIT") == 3


def test_sqlite_passes_of_the_real_core_write_once_per_pass() -> None:
    """A task driven to Succeeded by the real core over SQLite: every pass that writes commits exactly once, and
    every phase the store shows has its event (R65)."""
    world = new_world()
    world.create(a_task(TA), b"")
    sqlite = _sqlite_world(world)
    commits: list[int] = []
    for _ in range(12):
        statements: list[str] = []
        sqlite.database.connection().set_trace_callback(statements.append)
        report = run_pass(sqlite.ports, world.policy, *TA)
        writes = [e for e in report.effects_performed if e in ("RecordActionEvent", "PersistStatus", "PatchLabels")]
        commits.append(statements.count("COMMIT") if writes else -1)
        world.clock.advance(timedelta(seconds=30))
        if sqlite.stored().metadata.labels.get("flyte.org/termination-status") == "terminated":
            break
    status = sqlite.stored().status
    assert status.conditions[-1].type == "Succeeded"
    assert [c for c in commits if c != -1] and all(c in (-1, 1) for c in commits)
    phases = {(e.attempt, e.phase.name) for e in sqlite.events.events}
    assert (1, "SUCCEEDED") in phases
    assert isinstance(sqlite.store.get(*TA), Success)


def test_sqlite_pass_watch_on_another_handle_sees_each_write_of_the_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    """R29: the change feed carries every write of a unit, in order, to watchers of other handles (other processes
    open their own ``Database`` on the file, as this one does)."""
    world = _world()
    sqlite = _sqlite_world(world)
    other = SqliteTaskActionStore(Database(sqlite.database.path), world.clock, poll_interval=timedelta(milliseconds=5))
    watch = other.watch()
    task = sqlite.stored()

    _decide(monkeypatch, sqlite.ports, task, [_event(task), _persist(task), _labels()])

    seen = [(event.type.value, event.name, event.resource_version) for event in iter(lambda: watch.get(0.05), None)]
    watch.close()
    assert seen == [("MODIFIED", "ta", "2"), ("MODIFIED", "ta", "3")]
    assert other.get(*TA).unwrap() == sqlite.stored()
