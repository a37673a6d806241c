"""The SQLite store's writes from the cached object: no second read of the row, and never a write computed from
anything but what the row holds (R66: the precondition and the new document are the row's, whoever wrote it last).

A write first computes its change from the object the store last saw for the key and commits it with that object's
document as a guard in the ``WHERE`` clause; when the row holds other text (another handle, another process, a hand
edit), or the change would write nothing, it reads the row and computes again. These tests write through a second
handle or by hand between the two, and check the outcome, the resourceVersion counter (a guarded write that finds
other text gives its resourceVersion back) and the change feed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector

from taskaction_core.adapters.serialization import to_json
from taskaction_core.adapters.sqlite import Database, SqliteTaskActionStore
from taskaction_core.interpreter.ports import StoreErrorKind
from taskaction_core.records import FINALIZER, ObjectMeta, TaskAction, TaskActionSpec, TaskActionStatus
from taskaction_core.testing.fakes import ManualClock
from tests.adapters.factories import FAST_POLL, fresh_database_path


def a_new_task_action(finalizers: tuple[str, ...] = ()) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name="ta", namespace="default", labels=pmap({"a": "b"}), finalizers=pvector(finalizers)),
        spec=TaskActionSpec(run_name="run", project="p", domain="d", action_name="ta", task_type="python-task"),
    )


def open_store(path: str, cache_size: int = 16) -> SqliteTaskActionStore:
    database = Database(path, busy_timeout=timedelta(milliseconds=500))
    return SqliteTaskActionStore(database, ManualClock(), poll_interval=FAST_POLL, cache_size=cache_size)


@pytest.fixture
def path() -> str:
    return str(fresh_database_path())


@contextmanager
def statements(store: SqliteTaskActionStore) -> Iterator[list[str]]:
    """The SQL the store runs in this thread inside the block."""
    connection = store._database.connection()
    seen: list[str] = []
    connection.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        connection.set_trace_callback(None)


def reads_of_the_row(seen: list[str]) -> int:
    return sum(1 for sql in seen if sql.startswith("SELECT document FROM task_actions"))


def feed(path: str) -> list[tuple[int, str]]:
    rows = Database(path).connection().execute("SELECT resource_version, type FROM changes").fetchall()
    return [(int(version), str(kind)) for version, kind in rows]


def hand_edit(path: str, edit: dict[str, object]) -> None:
    """Rewrite the stored document under the same resourceVersion, behind the store's back."""
    database = Database(path)
    document = json.loads(database.connection().execute("SELECT document FROM task_actions").fetchone()[0])
    with database.write() as connection:
        connection.execute("UPDATE task_actions SET document = ?", (json.dumps({**document, **edit}),))


# -- no second read ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("write", ["update_status", "update", "patch_labels", "delete"])
def test_sqlite_store_write_of_the_object_last_seen_reads_no_row(path: str, write: str) -> None:
    store = open_store(path)
    created = store.create(a_new_task_action()).unwrap()
    read = store.get("default", "ta").unwrap()
    with statements(store) as seen:
        match write:
            case "update_status":
                store.update_status(replace(read, status=TaskActionStatus(attempts=1))).unwrap()
            case "update":
                store.update(replace(read, metadata=replace(read.metadata, finalizers=pvector([FINALIZER])))).unwrap()
            case "patch_labels":
                store.patch_labels("default", "ta", {"x": "y"}).unwrap()
            case _:
                store.delete("default", "ta").unwrap()
    assert reads_of_the_row(seen) == 0
    assert feed(path)[-1][0] == int(created.metadata.resource_version) + 1


def test_sqlite_store_write_without_cache_reads_the_row(path: str) -> None:
    store = open_store(path, cache_size=0)
    created = store.create(a_new_task_action()).unwrap()
    with statements(store) as seen:
        store.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    assert reads_of_the_row(seen) == 1


# -- the row decides -----------------------------------------------------------------------------------------------


def test_sqlite_store_stale_status_write_after_another_handle_is_a_conflict_taking_no_revision(path: str) -> None:
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    written = other.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    stale = one.update_status(replace(created, status=TaskActionStatus(attempts=2)))
    assert stale.failure().kind is StoreErrorKind.CONFLICT
    assert one.resource_version == written.metadata.resource_version  # the guarded write gave its version back
    assert one.get("default", "ta").unwrap() == written


def test_sqlite_store_unchanged_status_on_a_stale_object_is_still_a_conflict(path: str) -> None:
    """Writing the cached status again would change nothing on the cached object; the row decides: conflict."""
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    other.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    assert one.update_status(created).failure().kind is StoreErrorKind.CONFLICT


def test_sqlite_store_status_write_after_another_handle_deleted_is_not_found(path: str) -> None:
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    other.delete("default", "ta").unwrap()
    missing = one.update_status(replace(created, status=TaskActionStatus(attempts=1)))
    assert missing.failure().kind is StoreErrorKind.NOT_FOUND
    assert one.resource_version == str(int(created.metadata.resource_version) + 1)


def test_sqlite_store_status_write_over_a_hand_edit_keeps_the_edited_metadata(path: str) -> None:
    """Same resourceVersion, other text: the precondition holds and the new object is built from the row."""
    store = open_store(path)
    created = store.create(a_new_task_action()).unwrap()
    hand_edit(path, {"metadata": {**json.loads(to_json(created))["metadata"], "labels": {"edited": "yes"}}})
    written = store.update_status(replace(created, status=TaskActionStatus(attempts=4))).unwrap()
    assert dict(written.metadata.labels) == {"edited": "yes"}
    assert written.status.attempts == 4
    assert store.get("default", "ta").unwrap() == written
    assert store.resource_version == str(int(created.metadata.resource_version) + 1)


def test_sqlite_store_label_patch_after_another_handle_merges_into_the_row(path: str) -> None:
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    other.update_status(replace(created, status=TaskActionStatus(attempts=5))).unwrap()
    patched = one.patch_labels("default", "ta", {"x": "y"}).unwrap()
    assert patched.status.attempts == 5
    assert dict(patched.metadata.labels) == {"a": "b", "x": "y"}
    assert one.list(None, {"x": "y"}).unwrap().items == (patched,)


def test_sqlite_store_delete_after_another_handle_deletes_the_row_once(path: str) -> None:
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    other.update_status(replace(created, status=TaskActionStatus(attempts=5))).unwrap()
    one.delete("default", "ta").unwrap()
    first = int(created.metadata.resource_version)
    assert feed(path) == [(first, "ADDED"), (first + 1, "MODIFIED"), (first + 2, "DELETED")]
    assert one.get("default", "ta").failure().kind is StoreErrorKind.NOT_FOUND


def test_sqlite_store_finalizer_removal_on_a_hand_edited_row_deletes_it(path: str) -> None:
    """The deletion is decided from the row: marked for deletion by hand, removing the last finalizer deletes it."""
    store = open_store(path)
    created = store.create(a_new_task_action((FINALIZER,))).unwrap()
    metadata = json.loads(to_json(created))["metadata"]
    hand_edit(path, {"metadata": {**metadata, "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    store.update(replace(created, metadata=replace(created.metadata, finalizers=pvector()))).unwrap()
    assert store.get("default", "ta").failure().kind is StoreErrorKind.NOT_FOUND
    assert feed(path)[-1] == (int(created.metadata.resource_version) + 1, "DELETED")
