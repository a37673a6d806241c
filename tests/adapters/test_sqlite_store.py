"""What the SQLite TaskAction store adds to the shared contract (tests/contract/test_store.py): one file seen by
several handles, persistence, the change feed, and storage failures as UNAVAILABLE."""

from __future__ import annotations

import json
import logging
from dataclasses import fields, replace
from datetime import timedelta

import pytest
from pyrsistent import pmap, pvector

from taskaction_core.adapters.serialization import to_wire
from taskaction_core.adapters.sqlite import Database, SqliteTaskActionStore
from taskaction_core.adapters.sqlite.store import _with_metadata, _with_revision, _with_status
from taskaction_core.interpreter.ports import StoreErrorKind, WatchEventType
from taskaction_core.records import (
    FINALIZER,
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    ObjectMeta,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)
from taskaction_core.testing.fakes import ManualClock
from tests.adapters.factories import FAST_POLL, fresh_database_path


def a_new_task_action(name: str = "ta", labels: dict[str, str] | None = None) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name=name, namespace="default", labels=pmap(labels or {})),
        spec=TaskActionSpec(run_name="run", project="p", domain="d", action_name=name, task_type="python-task"),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def open_store(path: str, clock: ManualClock, **options: int) -> SqliteTaskActionStore:
    return SqliteTaskActionStore(
        Database(path, busy_timeout=timedelta(milliseconds=50)), clock, poll_interval=FAST_POLL, **options
    )


@pytest.fixture
def path() -> str:
    return str(fresh_database_path())


def test_sqlite_store_two_handles_on_one_file_share_objects_and_versions(path: str, clock: ManualClock) -> None:
    one, other = open_store(path, clock), open_store(path, clock)
    created = one.create(a_new_task_action()).unwrap()
    assert other.get("default", "ta").unwrap() == created
    updated = other.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    stale = replace(created, status=TaskActionStatus(attempts=9))
    assert one.update_status(stale).failure().kind is StoreErrorKind.CONFLICT
    assert one.get("default", "ta").unwrap() == updated


def test_sqlite_store_watch_sees_writes_through_another_handle(path: str, clock: ManualClock) -> None:
    watching, writing = open_store(path, clock), open_store(path, clock)
    watch = watching.watch()
    created = writing.create(a_new_task_action()).unwrap()
    event = watch.get(5)
    assert event is not None
    assert (event.type, event.name, event.resource_version) == (
        WatchEventType.ADDED,
        "ta",
        created.metadata.resource_version,
    )
    watch.close()


def test_sqlite_store_reopened_file_keeps_objects_and_version_counter(path: str, clock: ManualClock) -> None:
    first = open_store(path, clock)
    created = first.create(a_new_task_action()).unwrap()
    reopened = open_store(path, clock)
    assert reopened.get("default", "ta").unwrap() == created
    assert reopened.resource_version == created.metadata.resource_version
    second = reopened.create(a_new_task_action("b")).unwrap()
    assert int(second.metadata.resource_version) == int(created.metadata.resource_version) + 1


def test_sqlite_store_row_holds_the_wire_document(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    created = store.create(a_new_task_action(labels={"a": "b"})).unwrap()
    row = Database(path).connection().execute("SELECT resource_version, document FROM task_actions").fetchone()
    assert row[0] == int(created.metadata.resource_version)
    assert json.loads(row[1]) == to_wire(created)


def test_sqlite_store_label_index_follows_patches_and_deletes(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    store.create(a_new_task_action("a", {LABEL_TERMINATION_STATUS: "terminated"})).unwrap()
    store.create(a_new_task_action("b")).unwrap()
    selector: dict[str, str | None] = {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: None}
    assert store.list(None, selector).unwrap().items == ()
    store.patch_labels("default", "a", {LABEL_COMPLETED_TIME: "2026-01-01.00-00"}).unwrap()
    store.patch_labels("default", "b", {LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "x"}).unwrap()
    assert [ta.metadata.name for ta in store.list(None, selector).unwrap().items] == ["a", "b"]
    store.patch_labels("default", "a", {LABEL_COMPLETED_TIME: None}).unwrap()
    store.delete("default", "b").unwrap()
    assert store.list(None, selector).unwrap().items == ()
    rows = Database(path).connection().execute("SELECT namespace, name, key FROM task_action_labels").fetchall()
    assert rows == [("default", "a", LABEL_TERMINATION_STATUS)]


def test_sqlite_store_change_feed_records_one_row_per_write(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    created = store.create(a_new_task_action()).unwrap()
    store.update(created).unwrap()  # no-op: no row
    store.patch_labels("default", "ta", {"a": "b"}).unwrap()
    store.delete("default", "ta").unwrap()
    rows = Database(path).connection().execute("SELECT resource_version, type FROM changes").fetchall()
    first = int(created.metadata.resource_version)
    assert rows == [(first, "ADDED"), (first + 1, "MODIFIED"), (first + 2, "DELETED")]


def test_sqlite_store_change_feed_is_pruned_to_retention(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock, change_retention=2)
    for index in range(5):
        store.create(a_new_task_action(f"ta-{index}")).unwrap()
    versions = Database(path).connection().execute("SELECT resource_version FROM changes").fetchall()
    assert versions == [(4,), (5,)]


def test_sqlite_store_watch_behind_retention_logs_missed_versions_and_continues(
    path: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(path, clock, change_retention=2)
    watch = store.watch()
    for index in range(4):
        store.create(a_new_task_action(f"ta-{index}")).unwrap()
    with caplog.at_level(logging.ERROR):
        names = [event.name for event in iter(lambda: watch.get(0.01), None)]
    assert names == ["ta-2", "ta-3"]
    assert "resourceVersions 1..2 were missed" in caplog.text


def test_sqlite_store_locked_file_is_unavailable(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    holder = Database(path)
    with holder.write():
        result = store.create(a_new_task_action())
    assert result.failure().kind is StoreErrorKind.UNAVAILABLE
    assert "locked" in result.failure().message
    assert store.create(a_new_task_action()).unwrap().metadata.name == "ta"


def test_sqlite_store_locked_file_fails_a_status_write_as_unavailable(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    created = store.create(a_new_task_action()).unwrap()
    written = replace(created, status=TaskActionStatus(attempts=1))
    with Database(path).write():
        result = store.update_status(written)
    assert result.failure().kind is StoreErrorKind.UNAVAILABLE
    assert store.update_status(written).unwrap().status.attempts == 1


def test_sqlite_store_unreadable_row_is_unavailable_naming_the_object(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    store.create(a_new_task_action()).unwrap()
    with Database(path).write() as connection:
        connection.execute("""UPDATE task_actions SET document = '{"metadata": {"name": 7}}'""")
    failure = store.get("default", "ta").failure()
    assert failure.kind is StoreErrorKind.UNAVAILABLE
    assert failure.message == (
        "stored taskactions.flyte.org default/ta is unreadable: metadata.name: expected a string, got integer 7"
    )
    assert store.list(None, {}).failure().kind is StoreErrorKind.UNAVAILABLE


def test_sqlite_store_finalizer_flow_keeps_generation_and_deletes_last(path: str, clock: ManualClock) -> None:
    store = open_store(path, clock)
    created = store.create(a_new_task_action()).unwrap()
    with_finalizer = replace(created, metadata=replace(created.metadata, finalizers=pvector([FINALIZER])))
    store.update(with_finalizer).unwrap()
    store.delete("default", "ta").unwrap()
    marked = store.get("default", "ta").unwrap()
    assert marked.metadata.generation == 2
    assert marked.metadata.deletion_timestamp == clock.now()
    store.update(replace(marked, metadata=replace(marked.metadata, finalizers=pvector()))).unwrap()
    assert store.get("default", "ta").failure().kind is StoreErrorKind.NOT_FOUND
    assert store.objects() == ()


def test_sqlite_store_negative_limit_is_a_programmer_error(path: str, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="limit"):
        open_store(path, clock).list(None, {}, limit=-1)


@pytest.mark.parametrize("token", ["e30=", "WyJhIl0=", "WzEsMl0="])
def test_sqlite_store_well_formed_foreign_token_is_invalid(path: str, clock: ManualClock, token: str) -> None:
    result = open_store(path, clock).list(None, {}, continue_token=token)
    assert result.failure().kind is StoreErrorKind.INVALID


def test_sqlite_store_zero_retention_is_a_programmer_error(path: str, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="change_retention"):
        open_store(path, clock, change_retention=0)


def test_sqlite_store_field_replacers_equal_dataclasses_replace() -> None:
    """The store's cheap one-field replace copies every other field, whatever their values."""
    stamp = ManualClock().now()
    meta = ObjectMeta(
        name="n",
        namespace="ns",
        uid="u",
        labels=pmap({"l": "1"}),
        annotations=pmap({"a": "2"}),
        finalizers=pvector([FINALIZER]),
        deletion_timestamp=stamp,
        creation_timestamp=stamp,
        resource_version="4",
        generation=3,
    )
    assert all(getattr(meta, f.name) != f.default for f in fields(ObjectMeta))  # every field set: none hides
    task_action = TaskAction(meta, a_new_task_action().spec, TaskActionStatus(attempts=2))
    status = TaskActionStatus(attempts=5)

    assert _with_revision(meta, "9") == replace(meta, resource_version="9")
    assert _with_status(task_action, status) == replace(task_action, status=status)
    assert _with_metadata(task_action, _with_revision(meta, "9")) == replace(
        task_action, metadata=replace(meta, resource_version="9")
    )
