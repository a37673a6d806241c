"""One SQLite file shared by the embedded adapters: connections, pragmas, schema migrations and transactions.

Theory of operation. A :class:`Database` names a file; the store, catalog, event sink and recorder each take one
(they may share it). SQLite serializes writers with a file lock, which is what makes the file safe for several
threads *and several processes* at once, provided every read-modify-write happens in one ``BEGIN IMMEDIATE``
transaction (:meth:`Database.write`): the write lock is taken before the read, so two writers cannot both read the
same old row and both think their precondition held. A ``BEGIN DEFERRED`` transaction that reads first and writes
later may instead fail with SQLITE_BUSY at the upgrade without waiting, which is why no adapter uses one for writes.

Settings, applied to every connection:

- ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers, so watches and lists
  keep working during writes. WAL needs the file on a local file system (not NFS) because it uses shared memory.
- ``busy_timeout``: a writer that finds the lock taken waits up to this long (default 5 s) before the call fails
  (the adapters report it as a retryable failure: UNAVAILABLE for the store).
- ``synchronous=NORMAL`` (the default, :attr:`Synchronous.NORMAL`): in WAL mode a committed transaction survives a
  crash of the process, and the file is never corrupted, but the last commits may be lost if the *machine* loses
  power before the WAL is checkpointed. Controllers are level-based (the next pass recomputes from what is stored),
  so a lost last write is redone, like a lost acknowledgement. :attr:`Synchronous.FULL` fsyncs every commit when
  that is not acceptable.
- ``foreign_keys=ON``.

Writers of one process queue on an in-process lock (one per :class:`Database`) before ``BEGIN IMMEDIATE``. SQLite
alone would make a writer that finds the file locked poll in sleeps of 1 ms and up, so several threads of one
process writing at once would leave the lock idle while they sleep; with the in-process lock a waiting thread
wakes as soon as the previous writer commits. The file lock still serializes writers *across* processes, with the
busy timeout. The in-process lock is re-entrant, so a nested ``write`` fails at ``BEGIN`` (SQLite refuses a
transaction within a transaction) instead of deadlocking; a fork's child gets a fresh one.

Connections: one per thread (``threading.local``), opened lazily and re-opened in a forked child (a connection must
never cross ``fork``). ``isolation_level=None`` hands transaction control to :meth:`Database.write` and
:meth:`Database.read` instead of the ``sqlite3`` module's implicit transactions.

Migrations: :data:`MIGRATIONS` is append-only; ``PRAGMA user_version`` records how many have been applied. Opening a
file applies the missing ones in one ``BEGIN IMMEDIATE`` transaction, so processes opening a new file at the same
time do not race; a file written by a newer version of this library is refused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import Enum
from typing import Final

__all__ = ["MIGRATIONS", "Database", "SchemaTooNewError", "Synchronous", "is_unavailable"]


def is_unavailable(error: sqlite3.Error) -> bool:
    """Whether ``error`` comes from the world (a lock held past the busy timeout, a full or read-only disk, a
    corrupt file) rather than from a bug in the SQL (``ProgrammingError``, ``IntegrityError``, ...), which the
    adapters let propagate."""
    return isinstance(error, sqlite3.OperationalError) or type(error) is sqlite3.DatabaseError


class Synchronous(Enum):
    """The durability setting (``PRAGMA synchronous``); see the module docstring."""

    NORMAL = "NORMAL"
    FULL = "FULL"


class SchemaTooNewError(RuntimeError):
    """The file was migrated by a newer version of this library; reading it could misinterpret its tables."""


MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        # Store: one row per object (the JSON document of serialization.to_json), labels indexed for selectors,
        # the store-wide resourceVersion counter, and the change feed read by watches in every process.
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO counters (name, value) VALUES ('resource_version', 0)",
        """CREATE TABLE task_actions (
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            resource_version INTEGER NOT NULL,
            document TEXT NOT NULL,
            PRIMARY KEY (namespace, name)
        )""",
        """CREATE TABLE task_action_labels (
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (namespace, name, key),
            FOREIGN KEY (namespace, name) REFERENCES task_actions (namespace, name) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        "CREATE INDEX task_action_labels_by_key ON task_action_labels (key, value)",
        """CREATE TABLE changes (
            resource_version INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            namespace TEXT NOT NULL,
            name TEXT NOT NULL
        )""",
        # Catalog (R92-R97): entries never overwritten, reservations with their expiry.
        """CREATE TABLE catalog_entries (
            key TEXT PRIMARY KEY,
            outputs BLOB NOT NULL,
            metadata TEXT NOT NULL,
            last_updated TEXT NOT NULL
        )""",
        """CREATE TABLE catalog_reservations (
            key TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL,
            heartbeat_microseconds INTEGER NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        # Event sink (R114): the run service's primary key, first write wins; seq keeps arrival order.
        """CREATE TABLE action_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            project TEXT NOT NULL,
            domain TEXT NOT NULL,
            run_name TEXT NOT NULL,
            name TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            phase INTEGER NOT NULL,
            version INTEGER NOT NULL,
            event BLOB NOT NULL,
            UNIQUE (project, domain, run_name, name, attempt, phase, version)
        )""",
        # Recorder (R120-R123): Kubernetes-style events aggregated on identical content.
        """CREATE TABLE warnings (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            reason TEXT NOT NULL,
            action TEXT NOT NULL,
            note TEXT NOT NULL,
            count INTEGER NOT NULL,
            first_time TEXT NOT NULL,
            last_time TEXT NOT NULL,
            UNIQUE (namespace, name, type, reason, action, note)
        )""",
    ),
)
"""Append-only: migration ``i`` brings ``user_version`` from ``i`` to ``i + 1``. Never edit a released entry."""

DEFAULT_BUSY_TIMEOUT: Final = timedelta(seconds=5)


class Database:
    """A SQLite file used by several adapters, threads and processes (see the module docstring).

    Opening it creates the file if needed, switches it to WAL and applies pending migrations. Raises
    :class:`SchemaTooNewError` for a file from a newer schema, ``sqlite3.Error`` when the file cannot be opened, and
    ValueError for an in-memory path (each connection would see its own empty database).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: timedelta = DEFAULT_BUSY_TIMEOUT,
        synchronous: Synchronous = Synchronous.NORMAL,
    ) -> None:
        self._path = os.fspath(path)
        if self._path in ("", ":memory:") or self._path.startswith("file::memory:"):
            raise ValueError("the SQLite adapters need a file: every thread and process opens its own connection")
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._writers = (os.getpid(), threading.RLock())
        self._enable_wal()
        self._migrate()

    @property
    def path(self) -> str:
        return self._path

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after ``fork``)."""
        opened: tuple[int, sqlite3.Connection] | None = getattr(self._local, "opened", None)
        if opened is not None and opened[0] == os.getpid():
            return opened[1]
        connection = self._open()
        self._local.opened = (os.getpid(), connection)
        with self._lock:
            self._connections.append(connection)
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back when it raises.

        Writers of this process take the in-process writer lock first (see the module docstring); one that waits for
        it longer than the busy timeout fails like a writer that waits for the file lock: ``OperationalError``,
        "database is locked".
        """
        writer = self._writer()
        if not writer.acquire(timeout=self._busy_timeout.total_seconds()):
            raise sqlite3.OperationalError("database is locked (by another writer of this process)")
        try:
            with self._transaction("BEGIN IMMEDIATE") as connection:
                yield connection
        finally:
            writer.release()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement in the block sees the same snapshot."""
        with self._transaction("BEGIN") as connection:
            yield connection

    def schema_version(self) -> int:
        return int(self.connection().execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close every connection this object opened, in any thread. Only for shutdown: no call may be running."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    # -- internals ---------------------------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
        connection.execute(begin)
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back (e.g. SQLITE_FULL); a failed COMMIT leaves the transaction open.
            # Either way the connection must leave this block outside any transaction, or the next BEGIN fails.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _writer(self) -> threading.RLock:
        """This process's writer lock (a lock must not cross ``fork`` either: a child gets a fresh one)."""
        pid, writer = self._writers
        if pid == os.getpid():
            return writer
        with self._lock:
            if self._writers[0] != os.getpid():
                self._writers = (os.getpid(), threading.RLock())
            return self._writers[1]

    def _open(self) -> sqlite3.Connection:
        seconds = self._busy_timeout.total_seconds()
        connection = sqlite3.connect(self._path, timeout=seconds, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        connection.execute(f"PRAGMA synchronous = {self._synchronous.value}")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _enable_wal(self) -> None:
        """WAL is a property of the file (it persists), so asking again on an existing file is a no-op."""
        mode = str(self.connection().execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"{self._path}: cannot switch to WAL journal mode (got {mode!r})")

    def _migrate(self) -> None:
        with self.write() as connection:
            applied = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if applied > len(MIGRATIONS):
                raise SchemaTooNewError(
                    f"{self._path}: schema version {applied} is newer than this library's {len(MIGRATIONS)}"
                )
            for migration in MIGRATIONS[applied:]:
                for statement in migration:
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
