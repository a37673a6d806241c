"""Entry points for the processes of ``test_sqlite_multiprocess.py`` (spawned: they import this module afresh).

Each worker reports one tuple on ``results``; an exception is reported as ``("error", repr)`` so the parent fails with
the child's reason instead of timing out.
"""

from __future__ import annotations

from dataclasses import replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event

from returns.result import Success

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.adapters.sqlite import Database, SqliteTaskActionStore
from taskaction_core.interpreter.ports import StoreErrorKind
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionSpec
from tests.adapters.factories import FAST_POLL

NAMESPACE = "default"

Report = tuple[str, object]
"""What a worker puts on its results queue: a tag and a value."""


def a_new_task_action(name: str) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name=name, namespace=NAMESPACE),
        spec=TaskActionSpec(run_name="run", project="p", domain="d", action_name=name, task_type="python-task"),
    )


def open_store(path: str) -> SqliteTaskActionStore:
    return SqliteTaskActionStore(Database(path), SystemClock(), poll_interval=FAST_POLL)


def increment_attempts(path: str, name: str, count: int, lockstep: Barrier, results: Queue[Report]) -> None:
    """``count`` read-modify-write increments of ``status.attempts`` with conflict retry (R66's loop, unbounded).

    The first read is followed by a barrier shared with the other worker, so both hold the same resourceVersion
    when they first write: one of them must see CONFLICT. Reports ``("conflicts", n)``.
    """
    try:
        store = open_store(path)
        conflicts = 0
        for index in range(count):
            while True:
                current = store.get(NAMESPACE, name).unwrap()
                if index == 0 and conflicts == 0:
                    lockstep.wait(timeout=60)
                bumped = replace(current.status, attempts=current.status.attempts + 1)
                written = store.update_status(replace(current, status=bumped))
                if isinstance(written, Success):
                    break
                if written.failure().kind is not StoreErrorKind.CONFLICT:
                    raise RuntimeError(f"unexpected store failure: {written.failure()}")
                conflicts += 1
        results.put(("conflicts", conflicts))
    except BaseException as error:
        results.put(("error", repr(error)))
        raise


def create_objects(path: str, names: list[str], go: Event, results: Queue[Report]) -> None:
    """Create ``names`` in order once ``go`` is set. Reports ``("created", len(names))``."""
    try:
        store = open_store(path)
        if not go.wait(timeout=60):
            raise TimeoutError("never told to go")
        for name in names:
            store.create(a_new_task_action(name)).unwrap()
        results.put(("created", len(names)))
    except BaseException as error:
        results.put(("error", repr(error)))
        raise


def watch_for(path: str, count: int, ready: Event, results: Queue[Report]) -> None:
    """Open a watch, set ``ready``, then report ``("seen", names)`` of the first ``count`` events (60 s at most)."""
    try:
        watch = open_store(path).watch()
        ready.set()
        names: list[str] = []
        while len(names) < count:
            event = watch.get(60)
            if event is None:
                break
            names.append(event.name)
        watch.close()
        results.put(("seen", names))
    except BaseException as error:
        results.put(("error", repr(error)))
        raise
