"""Several processes on one SQLite file (spawned, so nothing is inherited): no lost update, watches see each other.

This is the claim of the embedded default that threads cannot test: the resourceVersion precondition (R66) and the
change feed behind watches (R29) hold across processes, because every read-modify-write is one BEGIN IMMEDIATE
transaction and every write appends to ``changes`` in the same transaction.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.adapters.sqlite import Database, SqliteTaskActionStore
from taskaction_core.interpreter.ports import WatchEventType
from tests.adapters.factories import FAST_POLL, fresh_database_path
from tests.adapters.multiprocess_workers import (
    NAMESPACE,
    Report,
    a_new_task_action,
    create_objects,
    increment_attempts,
    watch_for,
)

PER_PROCESS = 150
TIMEOUT = 120.0

SPAWN = multiprocessing.get_context("spawn")


def collect(results: Queue[Report], processes: Sequence[SpawnProcess]) -> list[Report]:
    """One report per process, then wait for them to exit; a child's exception fails the test with its text."""
    reports = [results.get(timeout=TIMEOUT) for _ in processes]
    for process in processes:
        process.join(timeout=TIMEOUT)
    errors = [value for tag, value in reports if tag == "error"]
    assert errors == []
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return reports


def test_sqlite_store_two_processes_conflict_retrying_lose_no_increment() -> None:
    path = str(fresh_database_path())
    store = SqliteTaskActionStore(Database(path), SystemClock(), poll_interval=FAST_POLL)
    store.create(a_new_task_action("counter")).unwrap()
    watch = store.watch()
    results: Queue[Report] = SPAWN.Queue()
    lockstep = SPAWN.Barrier(2)
    workers = [
        SPAWN.Process(target=increment_attempts, args=(path, "counter", PER_PROCESS, lockstep, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    reports = collect(results, workers)

    assert store.get(NAMESPACE, "counter").unwrap().status.attempts == 2 * PER_PROCESS
    conflicts = [value for _, value in reports]
    assert all(isinstance(count, int) for count in conflicts)
    assert sum(count for count in conflicts if isinstance(count, int)) >= 1  # the lockstep first write
    events = [event for event in iter(lambda: watch.get(0.05), None)]
    assert [event.type for event in events] == [WatchEventType.MODIFIED] * (2 * PER_PROCESS)
    versions = [int(event.resource_version) for event in events]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    watch.close()


def test_sqlite_store_watch_in_parent_sees_writes_of_child_process() -> None:
    path = str(fresh_database_path())
    store = SqliteTaskActionStore(Database(path), SystemClock(), poll_interval=FAST_POLL)
    watch = store.watch()
    results: Queue[Report] = SPAWN.Queue()
    go = SPAWN.Event()
    names = [f"child-{index}" for index in range(5)]
    writer = SPAWN.Process(target=create_objects, args=(path, names, go, results))
    writer.start()
    go.set()
    seen: list[tuple[WatchEventType, str]] = []
    while len(seen) < len(names) and (event := watch.get(TIMEOUT)) is not None:
        seen.append((event.type, event.name))
    collect(results, [writer])
    assert seen == [(WatchEventType.ADDED, name) for name in names]
    watch.close()


def test_sqlite_store_watch_in_child_process_sees_writes_of_parent() -> None:
    path = str(fresh_database_path())
    store = SqliteTaskActionStore(Database(path), SystemClock(), poll_interval=FAST_POLL)
    results: Queue[Report] = SPAWN.Queue()
    ready = SPAWN.Event()
    names = [f"parent-{index}" for index in range(5)]
    watcher = SPAWN.Process(target=watch_for, args=(path, len(names), ready, results))
    watcher.start()
    assert ready.wait(TIMEOUT)
    for name in names:
        store.create(a_new_task_action(name)).unwrap()
    assert collect(results, [watcher]) == [("seen", names)]
