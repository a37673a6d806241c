"""The TaskAction store on SQLite, with the Kubernetes API semantics of the in-memory fake (R24, R29, R66, R118).

Theory of operation. ``task_actions`` holds each object as its JSON document (:func:`~taskaction_core.adapters.
serialization.to_json`, the one wire shape) next to its resourceVersion; ``task_action_labels`` indexes the labels
for selectors; ``counters`` holds the store-wide resourceVersion; ``changes`` is the change feed. Every write is one
``BEGIN IMMEDIATE`` transaction (:meth:`Database.write`) that reads the stored object, checks the precondition,
computes the new object, takes the next resourceVersion, writes the row *and* appends one row to ``changes`` (the
label index is rewritten only when the labels changed). Writers are serialized by SQLite's file lock, so across
threads and processes:

- a precondition can never pass for two writers holding the same resourceVersion (CONFLICT for the second, R66);
- resourceVersions are committed in increasing order and the feed has no holes: change N+1 never becomes visible
  before change N, so a reader that remembers the last version it saw misses nothing.

Reads: a ``get`` is one ``SELECT`` outside any explicit transaction (a single statement reads one snapshot). Stored
documents are decoded through a :class:`~taskaction_core.adapters.sqlite.cache.DocumentCache` (``cache_size``
objects, default 4,096; 0 disables it): every read and write still goes to the file, but a document whose text was
decoded or written before is not decoded again, which keeps a reconcile pass from paying for JSON decoding twice.
The cache cannot serve a stale object: a hit needs the stored text to be equal to the cached one.

Writes read the row only when they must. The object last seen for the key (read or written by this store) is what
the row holds exactly when the row's text is still the cached text, so a write first computes its change from that
object and commits it with the text as a guard: ``UPDATE ... WHERE namespace = ? AND name = ? AND document = ?`` (a
``DELETE`` likewise). Everything the write decided (the precondition, the new document, whether the labels changed)
is then what reading the row would have given. When the guard matches no row (another handle, process or hand edit
wrote it) the resourceVersion just taken is given back and the write reads the row and starts again; so does a write
whose change from the cached object is no write at all (a failed precondition, nothing changed), since such an outcome
must come from the row itself. A pass's status write, right after the pass read its object, is thus one statement
shorter than read-check-write.

Semantics shared with the fake and pinned by ``tests/contract/test_store.py``: ``update`` writes labels,
annotations, finalizers and spec, ``update_status`` only the status, ``patch_labels`` merges labels without
precondition, ``create`` drops the status, a write that changes nothing is not a write (no new resourceVersion, no
change row), ``delete`` of an object with finalizers only sets ``deletionTimestamp`` (and bumps the generation), and
removing the last finalizer of such an object deletes it. Lists are ordered by (namespace, name) and paged with an
opaque continue token; like the fake, a continued list reads the current state rather than a snapshot.

Watches (:class:`SqliteWatch`) poll ``changes`` every ``poll_interval`` (default 50 ms) for rows newer than the last
one they returned, so another process's write is seen within about one poll interval of its commit; a ``get`` that
finds events already committed returns at once. ``changes`` keeps the newest ``change_retention`` rows (default
100,000), pruned in each write transaction; a watch that falls further behind logs an error naming the missed
versions and carries on (where the API server would answer 410 Gone and the informer would relist).

Failures: a lock held past the busy timeout, an I/O error, or an unreadable stored document is UNAVAILABLE (the
caller retries); bugs in the SQL propagate as exceptions.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final, TypeVar

from returns.result import Failure, Result, Success

from taskaction_core.adapters.apiserver import (
    RESOURCE,
    Key,
    already_exists,
    apply_labels,
    apply_update,
    check_precondition,
    decode_continue_token,
    encode_continue_token,
    not_found,
)
from taskaction_core.adapters.serialization import from_json, to_json
from taskaction_core.adapters.sqlite.cache import DocumentCache
from taskaction_core.adapters.sqlite.db import Database, is_unavailable
from taskaction_core.adapters.sqlite.watch import SqliteWatch
from taskaction_core.interpreter.ports import Clock, Page, StoreError, StoreErrorKind, WatchEventType
from taskaction_core.interpreter.replacing import FieldReplacer
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionStatus

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CHANGE_RETENTION",
    "DEFAULT_POLL_INTERVAL",
    "SqliteTaskActionStore",
    "SqliteWatch",
]

DEFAULT_POLL_INTERVAL: Final = timedelta(milliseconds=50)
DEFAULT_CHANGE_RETENTION: Final = 100_000
DEFAULT_CACHE_SIZE: Final = 4_096

_SELECT_DOCUMENT: Final = "SELECT document FROM task_actions WHERE namespace = ? AND name = ?"
_NEXT_REVISION: Final = "UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value"
_PREVIOUS_REVISION: Final = "UPDATE counters SET value = value - 1 WHERE name = 'resource_version'"
_UPSERT: Final = (
    "INSERT INTO task_actions (namespace, name, resource_version, document) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (namespace, name) DO UPDATE"
    " SET resource_version = excluded.resource_version, document = excluded.document"
)
_UPDATE_GUARDED: Final = (
    "UPDATE task_actions SET resource_version = ?, document = ? WHERE namespace = ? AND name = ? AND document = ?"
)
_DELETE: Final = "DELETE FROM task_actions WHERE namespace = ? AND name = ?"
_DELETE_GUARDED: Final = "DELETE FROM task_actions WHERE namespace = ? AND name = ? AND document = ?"
_APPEND_CHANGE: Final = "INSERT INTO changes (resource_version, type, namespace, name) VALUES (?, ?, ?, ?)"
_PRUNE_CHANGES: Final = "DELETE FROM changes WHERE resource_version <= ?"

T = TypeVar("T")


class _UnreadableObject(Exception):
    """A stored document that :func:`from_json` rejects: the file was edited or corrupted outside this adapter."""


class SqliteTaskActionStore:
    """The SQLite :class:`~taskaction_core.interpreter.ports.TaskActionStore`. Thread- and process-safe.

    ``clock`` stamps creationTimestamp and deletionTimestamp, as the API server's clock does.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        poll_interval: timedelta = DEFAULT_POLL_INTERVAL,
        change_retention: int = DEFAULT_CHANGE_RETENTION,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if change_retention < 1:
            raise ValueError(f"change_retention must be at least 1, got {change_retention}")
        if cache_size < 0:
            raise ValueError(f"cache_size must not be negative, got {cache_size}")
        self._database = database
        self._documents = DocumentCache(cache_size)
        self._clock = clock
        self._poll_interval = poll_interval
        self._retention = change_retention

    # -- port ----------------------------------------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> Result[TaskAction, StoreError]:
        try:  # one statement outside any explicit transaction reads one consistent snapshot (SQLite autocommit)
            return _as_result(self._find(self._database.connection(), (namespace, name)))
        except (_UnreadableObject, sqlite3.Error) as error:  # inlined _guarded: the get of every pass
            return self._unavailable(error)

    def list(
        self,
        namespace: str | None,
        label_selector: Mapping[str, str | None],
        limit: int = 0,
        continue_token: str = "",
    ) -> Result[Page, StoreError]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        after = decode_continue_token(continue_token)
        if after is None:
            return Failure(StoreError(StoreErrorKind.INVALID, f"invalid continue token {continue_token!r}"))
        sql, parameters = _list_query(namespace, label_selector, after, limit)

        def read() -> Result[Page, StoreError]:
            with self._database.read() as connection:
                rows = connection.execute(sql, parameters).fetchall()
            items = tuple(self._decoded((str(ns), str(name)), str(document)) for ns, name, document in rows)
            if limit and len(items) > limit:
                last = items[limit - 1].metadata
                return Success(Page(items[:limit], encode_continue_token((last.namespace, last.name))))
            return Success(Page(items))

        return self._guarded(read)

    def create(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        meta = task_action.metadata
        if not meta.name or not meta.namespace:
            return Failure(StoreError(StoreErrorKind.INVALID, "metadata.name and metadata.namespace are required"))
        if meta.resource_version:
            message = "resourceVersion should not be set on objects to be created"
            return Failure(StoreError(StoreErrorKind.INVALID, message))
        new = TaskAction(
            metadata=replace(
                meta,
                uid=str(uuid.uuid4()),
                creation_timestamp=self._clock.now(),
                deletion_timestamp=None,
                generation=1,
            ),
            spec=task_action.spec,
            status=TaskActionStatus(),
        )

        def write(connection: sqlite3.Connection) -> TaskAction | StoreError:
            if _exists(connection, (meta.namespace, meta.name)):
                return already_exists(meta.name)
            return self._commit_unguarded(connection, _Change(None, new, WatchEventType.ADDED))

        try:
            with self._database.write() as connection:
                outcome = write(connection)
        except (_UnreadableObject, sqlite3.Error) as error:
            return self._unavailable(error)
        return _as_result(outcome)

    def update(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        def change(stored: TaskAction | StoreError) -> _Change | TaskAction | StoreError:
            found = check_precondition(stored, task_action)
            if isinstance(found, StoreError):
                return found
            candidate = apply_update(found, task_action)
            if isinstance(candidate, StoreError) or candidate == found:
                return candidate
            deleting = found.metadata.deletion_timestamp is not None and not candidate.metadata.finalizers
            return _Change(found, candidate, WatchEventType.DELETED if deleting else WatchEventType.MODIFIED)

        return self._write(_key(task_action), change)

    def update_status(self, task_action: TaskAction) -> Result[TaskAction, StoreError]:
        status = task_action.status

        def change(stored: TaskAction | StoreError) -> _Change | TaskAction | StoreError:
            found = check_precondition(stored, task_action)
            if isinstance(found, StoreError):
                return found
            if status == found.status:  # only the status is written: an equal status changes nothing
                return found
            return _Change(found, _with_status(found, status), WatchEventType.MODIFIED)

        return self._write(_key(task_action), change)

    def patch_labels(
        self, namespace: str, name: str, labels: Mapping[str, str | None]
    ) -> Result[TaskAction, StoreError]:
        def change(found: TaskAction | StoreError) -> _Change | TaskAction | StoreError:
            if isinstance(found, StoreError):
                return found
            candidate = apply_labels(found, labels)
            if candidate == found:  # a write that changes nothing is not a write (as the API server)
                return found
            return _Change(found, candidate, WatchEventType.MODIFIED)

        return self._write((namespace, name), change)

    def delete(self, namespace: str, name: str) -> Result[None, StoreError]:
        now = self._clock.now()

        def change(found: TaskAction | StoreError) -> _Change | TaskAction | StoreError:
            if isinstance(found, StoreError):
                return found
            meta = found.metadata
            if not meta.finalizers:
                return _Change(found, found, WatchEventType.DELETED)
            if meta.deletion_timestamp is None:
                marked = replace(meta, deletion_timestamp=now, generation=meta.generation + 1)
                return _Change(found, replace(found, metadata=marked), WatchEventType.MODIFIED)
            return found

        return self._write((namespace, name), change).map(lambda _: None)

    def watch(self) -> SqliteWatch:
        """A watch from the current resourceVersion on. Raises ``sqlite3.Error`` if the file cannot be read."""
        with self._database.read() as connection:
            start = _current_revision(connection)
        return SqliteWatch(self._database, start, self._poll_interval)

    # -- diagnostics ---------------------------------------------------------------------------------------------------

    def objects(self) -> tuple[TaskAction, ...]:
        """Every stored object, ordered by (namespace, name). Raises on a storage failure (a test helper)."""
        return self.list(None, {}).unwrap().items

    @property
    def resource_version(self) -> str:
        """The store's current resourceVersion ("0" before the first write)."""
        with self._database.read() as connection:
            return str(_current_revision(connection))

    # -- internals -----------------------------------------------------------------------------------------------------

    def _write(self, key: Key, change: _Compute) -> Result[TaskAction, StoreError]:
        """Apply ``change`` to the stored object in one ``BEGIN IMMEDIATE`` transaction (:meth:`_apply`). A StoreError
        outcome has written nothing."""
        try:
            with self._database.write() as connection:
                outcome = self._apply(connection, key, change)
        except (_UnreadableObject, sqlite3.Error) as error:
            return self._unavailable(error)
        return _as_result(outcome)

    def _apply(self, connection: sqlite3.Connection, key: Key, change: _Compute) -> TaskAction | StoreError:
        """``change`` computed from the stored object and committed, first from the cache without reading the row.

        The object last seen for ``key`` (:meth:`DocumentCache.last_seen`) is what the row holds when the row's text
        is still the cached text, so a change computed from it is committed with that text as a guard in the
        ``UPDATE``'s (or ``DELETE``'s) ``WHERE`` clause: the precondition, the label comparison and the new document
        are then exactly what reading the row would have given, one statement fewer. When the guard finds other text
        (another handle, process or hand edit wrote the row), or the change writes nothing (a failed precondition, no
        difference: outcomes that must be checked against the row itself), the row is read and ``change`` computed
        again from it, as if the cache had missed.
        """
        seen = self._documents.last_seen(key)
        if seen is not None:
            guessed = change(seen.task_action)
            if isinstance(guessed, _Change):
                stored = self._commit(connection, guessed, seen.document)
                if stored is not None:
                    return stored
        outcome = change(self._find(connection, key))
        return self._commit_unguarded(connection, outcome) if isinstance(outcome, _Change) else outcome

    def _guarded(self, operation: Callable[[], Result[T, StoreError]]) -> Result[T, StoreError]:
        try:
            return operation()
        except (_UnreadableObject, sqlite3.Error) as error:
            return self._unavailable(error)

    def _unavailable(self, error: _UnreadableObject | sqlite3.Error) -> Failure[StoreError]:
        """UNAVAILABLE for an unreadable row or a failure of the world; an SQL bug is re-raised."""
        if isinstance(error, _UnreadableObject):
            return Failure(StoreError(StoreErrorKind.UNAVAILABLE, str(error)))
        if not is_unavailable(error):
            raise error
        return Failure(StoreError(StoreErrorKind.UNAVAILABLE, f"sqlite store {self._database.path}: {error}"))

    def _find(self, connection: sqlite3.Connection, key: Key) -> TaskAction | StoreError:
        """The stored object, decoded through the cache (a document read before is not decoded again)."""
        row = connection.execute(_SELECT_DOCUMENT, key).fetchone()
        if row is None:
            return not_found(key[1])
        return self._decoded(key, str(row[0]))

    def _decoded(self, key: Key, document: str) -> TaskAction:
        cached = self._documents.get(key, document)
        if cached is not None:
            return cached
        decoded = _decode(document, key)
        self._documents.put(key, document, decoded)
        return decoded

    def _commit(self, connection: sqlite3.Connection, change: _Change, guard: str | None) -> TaskAction | None:
        """Store ``change.task_action`` (for DELETED, remove the row) under the next resourceVersion and append it to
        the feed; the label index is rewritten only when the labels differ from ``change.found`` (None for a create).

        With a ``guard``, the row is replaced only while its document is that text; when it is not, nothing is
        written (the resourceVersion taken is given back) and the result is None.
        """
        revision = int(connection.execute(_NEXT_REVISION).fetchall()[0][0])
        stored = change.task_action
        stored = _with_metadata(stored, _with_revision(stored.metadata, str(revision)))
        key = _key(stored)
        deleted = change.event_type is WatchEventType.DELETED
        document = "" if deleted else to_json(stored)
        if guard is None:
            connection.execute(_DELETE if deleted else _UPSERT, key if deleted else (*key, revision, document))
        else:
            parameters = (*key, guard) if deleted else (revision, document, *key, guard)
            if connection.execute(_DELETE_GUARDED if deleted else _UPDATE_GUARDED, parameters).rowcount != 1:
                connection.execute(_PREVIOUS_REVISION)
                return None
        found = change.found
        if deleted:
            self._documents.discard(key)
        else:
            if found is None or found.metadata.labels != stored.metadata.labels:
                _write_labels(connection, stored)
            self._documents.put(key, document, stored)
        connection.execute(_APPEND_CHANGE, (revision, change.event_type.value, *key))
        connection.execute(_PRUNE_CHANGES, (revision - self._retention,))
        return stored

    def _commit_unguarded(self, connection: sqlite3.Connection, change: _Change) -> TaskAction:
        stored = self._commit(connection, change, None)
        assert stored is not None  # only a guarded commit writes nothing
        return stored


@dataclass(frozen=True, slots=True)
class _Change:
    """A write to commit: the object to store, replacing ``found`` (None for a create), and its watch event."""

    found: TaskAction | None
    task_action: TaskAction
    event_type: WatchEventType


_Compute = Callable[[TaskAction | StoreError], _Change | TaskAction | StoreError]
"""A write's logic: from the stored object (or the error reading it), the change to commit, or the outcome to return
without writing (an error, or the stored object when nothing changes)."""


# -- reading and writing rows ----------------------------------------------------------------------------------------


# dataclasses.replace minus its per-call introspection (paid three times per status write)
_with_status: Final = FieldReplacer[TaskAction, TaskActionStatus](TaskAction, "status")
_with_metadata: Final = FieldReplacer[TaskAction, ObjectMeta](TaskAction, "metadata")
_with_revision: Final = FieldReplacer[ObjectMeta, str](ObjectMeta, "resource_version")


def _key(task_action: TaskAction) -> Key:
    return (task_action.metadata.namespace, task_action.metadata.name)


def _current_revision(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT value FROM counters WHERE name = 'resource_version'").fetchone()
    return int(row[0])


def _exists(connection: sqlite3.Connection, key: Key) -> bool:
    found = connection.execute("SELECT 1 FROM task_actions WHERE namespace = ? AND name = ?", key).fetchone()
    return found is not None


def _decode(document: str, key: Key) -> TaskAction:
    decoded = from_json(document)
    if isinstance(decoded, Failure):
        raise _UnreadableObject(f"stored {RESOURCE} {key[0]}/{key[1]} is unreadable: {decoded.failure()}")
    return decoded.unwrap()


def _write_labels(connection: sqlite3.Connection, task_action: TaskAction) -> None:
    key = _key(task_action)
    connection.execute("DELETE FROM task_action_labels WHERE namespace = ? AND name = ?", key)
    connection.executemany(
        "INSERT INTO task_action_labels (namespace, name, key, value) VALUES (?, ?, ?, ?)",
        [(*key, label, value) for label, value in task_action.metadata.labels.items()],
    )


def _list_query(
    namespace: str | None, selector: Mapping[str, str | None], after: Key, limit: int
) -> tuple[str, Sequence[object]]:
    """SQL for one page: rows after the token's key, in the namespace, matching every selector entry (R118:
    equality for a value, existence for None), one more than ``limit`` to tell whether another page follows."""
    clauses = ["(t.namespace, t.name) > (?, ?)"]
    parameters: list[object] = [*after]
    if namespace is not None:
        clauses.append("t.namespace = ?")
        parameters.append(namespace)
    for label, value in sorted(selector.items()):
        match = "l.key = ?" if value is None else "l.key = ? AND l.value = ?"
        clauses.append(
            "EXISTS (SELECT 1 FROM task_action_labels l"
            f" WHERE l.namespace = t.namespace AND l.name = t.name AND {match})"
        )
        parameters.extend([label] if value is None else [label, value])
    sql = f"SELECT t.namespace, t.name, t.document FROM task_actions t WHERE {' AND '.join(clauses)}"
    sql += " ORDER BY t.namespace, t.name"
    if limit:
        sql += " LIMIT ?"
        parameters.append(limit + 1)
    return sql, parameters


def _as_result(outcome: TaskAction | StoreError) -> Result[TaskAction, StoreError]:
    return Failure(outcome) if isinstance(outcome, StoreError) else Success(outcome)
