"""The SQLite store's decoded-object cache: a hit only for the exact stored text, bounded, newest revision kept;
and through the store, never a stale object whatever wrote the row (another handle, another process, a hand edit)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap

from taskaction_core.adapters.serialization import from_json, to_json
from taskaction_core.adapters.sqlite import Database, SqliteTaskActionStore
from taskaction_core.adapters.sqlite.cache import DocumentCache
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionSpec, TaskActionStatus
from taskaction_core.testing.fakes import ManualClock
from tests.adapters.factories import FAST_POLL, fresh_database_path

KEY = ("default", "ta")


def a_task_action(revision: str, attempts: int = 0) -> TaskAction:
    return TaskAction(
        metadata=ObjectMeta(name="ta", namespace="default", resource_version=revision, labels=pmap({"a": "b"})),
        spec=TaskActionSpec(run_name="run", project="p", domain="d", action_name="ta", task_type="python-task"),
        status=TaskActionStatus(attempts=attempts),
    )


def cached(cache: DocumentCache, task_action: TaskAction) -> str:
    document = to_json(task_action)
    cache.put((task_action.metadata.namespace, task_action.metadata.name), document, task_action)
    return document


# -- the cache alone ----------------------------------------------------------------------------------------------


def test_document_cache_same_text_returns_the_cached_object() -> None:
    cache = DocumentCache(4)
    task_action = a_task_action("3")
    document = cached(cache, task_action)
    assert cache.get(KEY, "".join(document)) is task_action  # an equal text, not only the same str object


def test_document_cache_other_text_for_the_key_misses() -> None:
    cache = DocumentCache(4)
    cached(cache, a_task_action("3"))
    assert cache.get(KEY, to_json(a_task_action("4"))) is None
    assert cache.get(KEY, to_json(a_task_action("3", attempts=1))) is None  # same revision, other content
    assert cache.get(("default", "other"), to_json(a_task_action("3"))) is None


def test_document_cache_older_revision_does_not_replace_newer() -> None:
    cache = DocumentCache(4)
    newer = a_task_action("5")
    newer_document = cached(cache, newer)
    cached(cache, a_task_action("4"))  # a slow reader that decoded an older row
    assert cache.get(KEY, newer_document) is newer


def test_document_cache_newer_revision_replaces_older() -> None:
    cache = DocumentCache(4)
    cached(cache, a_task_action("4"))
    newer = a_task_action("5")
    assert cache.get(KEY, cached(cache, newer)) is newer
    assert len(cache) == 1


def test_document_cache_evicts_least_recently_used_beyond_size() -> None:
    cache = DocumentCache(2)
    first, second, third = (replace(a_task_action("1"), metadata=ObjectMeta(name=n, namespace="ns")) for n in "abc")
    first_document, second_document = cached(cache, first), cached(cache, second)
    assert cache.get(("ns", "a"), first_document) is first  # "a" is now the most recently used
    third_document = cached(cache, third)
    assert cache.get(("ns", "b"), second_document) is None
    assert cache.get(("ns", "a"), first_document) is first
    assert cache.get(("ns", "c"), third_document) is third


def test_document_cache_last_seen_returns_the_entry_whatever_the_text() -> None:
    cache = DocumentCache(2)
    task_action = a_task_action("3")
    document = cached(cache, task_action)
    seen = cache.last_seen(KEY)
    assert seen is not None
    assert (seen.revision, seen.document, seen.task_action) == (3, document, task_action)
    assert cache.last_seen(("default", "other")) is None


def test_document_cache_last_seen_counts_as_a_use() -> None:
    cache = DocumentCache(2)
    first, second, third = (replace(a_task_action("1"), metadata=ObjectMeta(name=n, namespace="ns")) for n in "abc")
    cached(cache, first), cached(cache, second)
    assert cache.last_seen(("ns", "a")) is not None  # "b" is now the least recently used
    cached(cache, third)
    assert cache.last_seen(("ns", "b")) is None
    assert cache.last_seen(("ns", "a")) is not None


def test_document_cache_discard_forgets_the_key() -> None:
    cache = DocumentCache(4)
    document = cached(cache, a_task_action("3"))
    cache.discard(KEY)
    assert cache.get(KEY, document) is None


def test_document_cache_size_zero_caches_nothing() -> None:
    cache = DocumentCache(0)
    document = cached(cache, a_task_action("3"))
    assert cache.get(KEY, document) is None
    assert len(cache) == 0


def test_document_cache_negative_size_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="cache size"):
        DocumentCache(-1)


# -- through the store --------------------------------------------------------------------------------------------


def open_store(path: str, cache_size: int = 16) -> SqliteTaskActionStore:
    database = Database(path, busy_timeout=timedelta(milliseconds=500))
    return SqliteTaskActionStore(database, ManualClock(), poll_interval=FAST_POLL, cache_size=cache_size)


def a_new_task_action() -> TaskAction:
    return replace(a_task_action(""), status=TaskActionStatus())


def test_sqlite_store_get_after_own_write_returns_the_written_object_without_decoding() -> None:
    store = open_store(str(fresh_database_path()))
    created = store.create(a_new_task_action()).unwrap()
    written = store.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    assert store.get("default", "ta").unwrap() is written


def test_sqlite_store_get_after_another_handle_writes_returns_the_new_object() -> None:
    path = str(fresh_database_path())
    reader, writer = open_store(path), open_store(path)
    created = reader.create(a_new_task_action()).unwrap()
    assert reader.get("default", "ta").unwrap() is created  # cached by the reader
    written = writer.update_status(replace(created, status=TaskActionStatus(attempts=7))).unwrap()
    read = reader.get("default", "ta").unwrap()
    assert read == written
    assert read.status.attempts == 7


def test_sqlite_store_write_precondition_sees_another_handles_write() -> None:
    path = str(fresh_database_path())
    one, other = open_store(path), open_store(path)
    created = one.create(a_new_task_action()).unwrap()
    other.update_status(replace(created, status=TaskActionStatus(attempts=1))).unwrap()
    stale = one.update_status(replace(created, status=TaskActionStatus(attempts=2)))
    assert stale.failure().kind.value == "Conflict"
    fresh = one.get("default", "ta").unwrap()
    assert one.update_status(replace(fresh, status=TaskActionStatus(attempts=2))).unwrap().status.attempts == 2


def test_sqlite_store_row_edited_under_the_same_revision_is_decoded_again() -> None:
    """A cache keyed on the resourceVersion alone would return the old object here."""
    path = str(fresh_database_path())
    store = open_store(path)
    created = store.create(a_new_task_action()).unwrap()
    assert store.get("default", "ta").unwrap() is created
    edited = json.loads(to_json(created))
    edited["status"] = {"attempts": 3}
    with Database(path).write() as connection:
        connection.execute("UPDATE task_actions SET document = ?", (json.dumps(edited),))
    read = store.get("default", "ta").unwrap()
    assert read.status.attempts == 3
    assert read.metadata.resource_version == created.metadata.resource_version


def test_sqlite_store_list_reads_through_the_cache_and_sees_other_writers() -> None:
    path = str(fresh_database_path())
    store, other = open_store(path), open_store(path)
    created = store.create(a_new_task_action()).unwrap()
    assert store.list(None, {}).unwrap().items[0] is created
    written = other.update_status(replace(created, status=TaskActionStatus(attempts=4))).unwrap()
    assert store.list(None, {}).unwrap().items == (written,)


def test_sqlite_store_without_cache_decodes_every_read() -> None:
    store = open_store(str(fresh_database_path()), cache_size=0)
    created = store.create(a_new_task_action()).unwrap()
    read = store.get("default", "ta").unwrap()
    assert read == created
    assert read is not created


def test_sqlite_store_cached_write_equals_its_stored_document() -> None:
    """What the store caches for a write is what decoding the row gives (the round trip the cache relies on)."""
    path = str(fresh_database_path())
    store = open_store(path)
    created = store.create(a_new_task_action()).unwrap()
    written = store.update_status(replace(created, status=TaskActionStatus(attempts=2, plugin_phase="x"))).unwrap()
    document = Database(path).connection().execute("SELECT document FROM task_actions").fetchone()[0]
    assert from_json(document).unwrap() == written
    assert to_json(written) == document


def test_sqlite_store_negative_cache_size_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        open_store(str(fresh_database_path()), cache_size=-1)
