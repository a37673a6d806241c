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
busy timeout. A fork's child gets a fresh lock.

Write scopes nest. A ``write`` opened while this thread already holds a write transaction on the same
:class:`Database` joins it as a ``SAVEPOINT``: the inner block's writes become durable with the outer transaction,
and an inner block that raises rolls back only itself (``ROLLBACK TO``), so its caller can report the failure and
the outer transaction goes on. :meth:`Database.unit_of_work` opens such an outer scope lazily: nothing happens until
the first ``write`` inside it begins the ``BEGIN IMMEDIATE`` transaction, every later ``write`` of the thread joins
it, and the transaction commits when the block ends (or rolls back when it raises). The interpreter opens one around
the store writes of a pass (``Ports.unit_of_work``), so the ActionEvent, the status and the label patch of a pass
cost one commit instead of three. A unit holds the write lock from its first write to its end: callers keep slow
work (plugin calls, sleeps) outside it. When SQLite itself rolls the whole transaction back under an inner block
(it does for SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM), every later write of the scope and its end fail, so no
caller believes a write is durable that was undone.

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
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from types import TracebackType
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
_WAL_RETRY_FIRST_PAUSE: Final = 0.001
_WAL_RETRY_LAST_PAUSE: Final = 0.05


class _Process:
    """This process's id, read once and again in a fork's child (``os.getpid`` is a system call per write)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self.pid = os.getpid()


_process: Final = _Process()


class Database:
    """A SQLite file used by several adapters, threads and processes (see the module docstring).

    Opening it creates the file if needed, switches it to WAL and applies pending migrations. ``factory`` is the
    ``sqlite3.Connection`` class of every connection it opens (``sqlite3.connect``'s ``factory``), for a subclass that
    traces or counts statements; the adapters need nothing beyond the base class. Raises
    :class:`SchemaTooNewError` for a file from a newer schema, ``sqlite3.Error`` when the file cannot be opened, and
    ValueError for an in-memory path (each connection would see its own empty database).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: timedelta = DEFAULT_BUSY_TIMEOUT,
        synchronous: Synchronous = Synchronous.NORMAL,
        factory: type[sqlite3.Connection] = sqlite3.Connection,
    ) -> None:
        self._path = os.fspath(path)
        if self._path in ("", ":memory:") or self._path.startswith("file::memory:"):
            raise ValueError("the SQLite adapters need a file: every thread and process opens its own connection")
        self._busy_timeout = busy_timeout
        self._synchronous = synchronous
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._writers = (_process.pid, threading.Lock())
        self._enable_wal()
        self._migrate()

    @property
    def path(self) -> str:
        return self._path

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after ``fork``)."""
        opened: tuple[int, sqlite3.Connection] | None = getattr(self._local, "opened", None)
        if opened is not None and opened[0] == _process.pid:
            return opened[1]
        connection = self._open()
        self._local.opened = (_process.pid, connection)
        with self._lock:
            self._connections.append(connection)
        return connection

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write scope: committed when the block ends, rolled back when it raises (module docstring).

        Outermost, it is a ``BEGIN IMMEDIATE`` transaction. Inside another write scope or a :meth:`unit_of_work` of
        this thread it is a ``SAVEPOINT`` of that transaction: durable when the outer scope commits, and undone alone
        when the block raises. Writers of this process take the in-process writer lock first; one that waits for it
        longer than the busy timeout fails like a writer that waits for the file lock: ``OperationalError``,
        "database is locked".
        """
        return _Write(self)

    def unit_of_work(self) -> AbstractContextManager[None]:
        """One transaction for every :meth:`write` of this thread inside the block (module docstring).

        The transaction begins with the first write (a block that writes nothing costs nothing) and commits when the
        block ends; a failed ``COMMIT`` raises ``sqlite3.Error`` and leaves nothing of the block durable. A block that
        raises rolls everything back. Inside another unit or write scope it simply joins the enclosing one.
        """
        return _UnitOfWork(self)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement in the block sees the same snapshot. Inside a write scope of this
        thread it reads that transaction (its own writes included)."""
        transaction = self._scope().transaction
        if transaction is not None:
            yield transaction.connection
            return
        connection = self.connection()
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            if connection.in_transaction:  # a read has nothing to commit: ending it only releases the snapshot
                connection.execute("COMMIT")

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

    def _scope(self) -> _Scope:
        """This thread's write scope (a fork's child starts with none: a transaction never crosses ``fork``)."""
        scope: _Scope | None = getattr(self._local, "scope", None)
        if scope is None or scope.pid != _process.pid:
            scope = self._local.scope = _Scope(_process.pid)
        return scope

    def _begin(self, scope: _Scope) -> _Transaction:
        writer = self._writer()
        if not writer.acquire(timeout=self._busy_timeout.total_seconds()):
            raise sqlite3.OperationalError("database is locked (by another writer of this process)")
        try:
            connection = self.connection()
            connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        scope.transaction = _Transaction(connection)
        return scope.transaction

    def _end(self, scope: _Scope, *, commit: bool) -> None:
        """Commit or roll back the scope's transaction, if one was begun, and release the write lock."""
        transaction, scope.transaction = scope.transaction, None
        if transaction is None:
            return
        connection = transaction.connection
        try:
            if commit:
                if transaction.lost is not None:
                    raise sqlite3.OperationalError(f"the transaction was rolled back by SQLite: {transaction.lost}")
                connection.execute("COMMIT")
        finally:
            try:
                # SQLite may already have rolled back (e.g. SQLITE_FULL); a failed COMMIT leaves the transaction
                # open. Either way the connection must leave here outside any transaction, or the next BEGIN fails.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            finally:
                self._writer().release()

    def _writer(self) -> threading.Lock:
        """This process's writer lock (a lock must not cross ``fork`` either: a child gets a fresh one)."""
        pid, writer = self._writers
        if pid == _process.pid:
            return writer
        with self._lock:
            if self._writers[0] != _process.pid:
                self._writers = (_process.pid, threading.Lock())
            return self._writers[1]

    def _open(self) -> sqlite3.Connection:
        seconds = self._busy_timeout.total_seconds()
        connection = sqlite3.connect(
            self._path, timeout=seconds, isolation_level=None, check_same_thread=False, factory=self._factory
        )
        connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        connection.execute(f"PRAGMA synchronous = {self._synchronous.value}")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    def _enable_wal(self) -> None:
        """WAL is a property of the file (it persists), so asking again on an existing file is a no-op.

        Switching a new file needs its exclusive lock. When another connection holds or is taking a lock on it (a
        second process or thread opening the same new file), SQLite may answer SQLITE_BUSY at once, without calling
        the busy handler, because waiting could deadlock; so the switch is retried here, in growing sleeps, until the
        busy timeout has passed.
        """
        connection = self.connection()
        deadline = time.monotonic() + self._busy_timeout.total_seconds()
        pause = _WAL_RETRY_FIRST_PAUSE
        while True:
            try:
                mode = str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                break
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _WAL_RETRY_LAST_PAUSE)
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


@dataclass(slots=True)
class _Transaction:
    """A write transaction this thread holds, with the write lock."""

    connection: sqlite3.Connection
    savepoints: int = 0
    lost: str | None = None
    """Why SQLite rolled the whole transaction back under a savepoint; the scope can then only fail."""


@dataclass(slots=True)
class _Scope:
    """This thread's write scope on one :class:`Database`: its open transaction, and whether a unit of work is open."""

    pid: int
    transaction: _Transaction | None = None
    unit: bool = False


# The scopes are small classes rather than @contextmanager generators: every pass opens a unit of work and two or
# three write scopes, and a generator-based context manager costs several times a class's __enter__/__exit__.


class _Write:
    """:meth:`Database.write`: the outermost write begins the transaction, a nested one is a savepoint of it."""

    __slots__ = ("_database", "_savepoint", "_scope")

    def __init__(self, database: Database) -> None:
        self._database = database

    def __enter__(self) -> sqlite3.Connection:
        scope = self._scope = self._database._scope()
        if scope.transaction is not None:
            self._savepoint: _Savepoint | None = _Savepoint(scope.transaction)
            return self._savepoint.enter()
        self._savepoint = None
        return self._database._begin(scope).connection

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._savepoint is not None:
            self._savepoint.exit(error)
        elif error is not None:
            # The write that began the transaction needs no savepoint: undoing it is undoing the transaction (in a
            # unit of work, the next write begins a new one).
            self._database._end(self._scope, commit=False)
        elif not self._scope.unit:
            self._database._end(self._scope, commit=True)


class _UnitOfWork:
    """:meth:`Database.unit_of_work`: writes of the thread join one transaction, which ends with the block."""

    __slots__ = ("_database", "_scope")

    def __init__(self, database: Database) -> None:
        self._database = database

    def __enter__(self) -> None:
        scope = self._database._scope()
        if scope.unit or scope.transaction is not None:  # inside another unit or write scope: join it
            self._scope: _Scope | None = None
            return
        scope.unit = True
        self._scope = scope

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        scope = self._scope
        if scope is None:
            return
        scope.unit = False
        self._database._end(scope, commit=error is None)


class _Savepoint:
    """A nested write scope: released into ``transaction`` when the block ends, rolled back alone when it raises."""

    __slots__ = ("_name", "_transaction")

    def __init__(self, transaction: _Transaction) -> None:
        self._transaction = transaction
        self._name = f"write_{transaction.savepoints}"

    def enter(self) -> sqlite3.Connection:
        transaction = self._transaction
        if transaction.lost is not None:
            raise sqlite3.OperationalError(f"the transaction was rolled back by SQLite: {transaction.lost}")
        transaction.connection.execute(f"SAVEPOINT {self._name}")
        transaction.savepoints += 1
        return transaction.connection

    def exit(self, error: BaseException | None) -> None:
        """Release the savepoint, or undo it when the block raised ``error`` (or the release itself fails)."""
        try:
            if error is None:
                try:
                    self._transaction.connection.execute(f"RELEASE {self._name}")
                    return
                except BaseException as failed:
                    self._undo(failed)
                    raise
            self._undo(error)
        finally:
            self._transaction.savepoints -= 1

    def _undo(self, error: BaseException) -> None:
        transaction = self._transaction
        connection = transaction.connection
        if connection.in_transaction:
            connection.execute(f"ROLLBACK TO {self._name}")
            connection.execute(f"RELEASE {self._name}")
        elif transaction.lost is None:
            transaction.lost = f"{type(error).__name__}: {error}"
