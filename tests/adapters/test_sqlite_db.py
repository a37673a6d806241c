"""The SQLite file under the embedded adapters: pragmas, migrations, transactions, connections per thread."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from taskaction_core.adapters.sqlite.db import MIGRATIONS, Database, SchemaTooNewError, Synchronous, is_unavailable
from tests.adapters.factories import fresh_database_path


def test_database_open_enables_wal_and_settings() -> None:
    database = Database(fresh_database_path(), busy_timeout=timedelta(milliseconds=1500))
    connection = database.connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_database_full_synchronous_is_applied() -> None:
    database = Database(fresh_database_path(), synchronous=Synchronous.FULL)
    assert database.connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_database_open_applies_every_migration_once() -> None:
    path = fresh_database_path()
    first = Database(path)
    assert first.schema_version() == len(MIGRATIONS)
    second = Database(path)
    assert second.schema_version() == len(MIGRATIONS)
    counters = second.connection().execute("SELECT name, value FROM counters").fetchall()
    assert counters == [("resource_version", 0)]


def test_database_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    Database(path).connection().execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(SchemaTooNewError, match="newer than this library"):
        Database(path)


@pytest.mark.parametrize("path", ["", ":memory:", "file::memory:?cache=shared"])
def test_database_in_memory_path_is_rejected(path: str) -> None:
    with pytest.raises(ValueError, match="need a file"):
        Database(path)


def test_database_write_block_raising_rolls_back() -> None:
    database = Database(fresh_database_path())
    with pytest.raises(RuntimeError, match="abandon"), database.write() as connection:
        connection.execute("UPDATE counters SET value = 99")
        raise RuntimeError("abandon")
    assert database.connection().execute("SELECT value FROM counters").fetchone()[0] == 0
    assert not database.connection().in_transaction


def test_database_write_block_commits() -> None:
    database = Database(fresh_database_path())
    with database.write() as connection:
        connection.execute("UPDATE counters SET value = 7")
    assert Database(database.path).connection().execute("SELECT value FROM counters").fetchone()[0] == 7


def test_database_write_waits_out_busy_timeout_then_fails() -> None:
    path = fresh_database_path()
    holder = Database(path)
    waiter = Database(path, busy_timeout=timedelta(milliseconds=50))
    with holder.write(), pytest.raises(sqlite3.OperationalError, match="locked"), waiter.write():
        pass
    assert not waiter.connection().in_transaction


def test_database_writer_of_this_process_waits_on_the_in_process_lock_then_fails() -> None:
    database = Database(fresh_database_path(), busy_timeout=timedelta(milliseconds=50))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.write():
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    try:
        with pytest.raises(sqlite3.OperationalError, match=r"locked \(by another writer"), database.write():
            pass
    finally:
        release.set()
        holder.join()
    with database.write() as connection:  # the lock was released with the holder's transaction
        connection.execute("UPDATE counters SET value = 3")
    assert database.connection().execute("SELECT value FROM counters").fetchone()[0] == 3


def test_database_nested_write_on_one_thread_fails_instead_of_deadlocking() -> None:
    database = Database(fresh_database_path(), busy_timeout=timedelta(seconds=30))
    inner = pytest.raises(sqlite3.OperationalError, match="within a transaction")
    with database.write(), inner, database.write():
        pass
    assert not database.connection().in_transaction


def test_database_write_of_another_thread_runs_after_the_holder_commits() -> None:
    database = Database(fresh_database_path())
    seen: list[int] = []
    started = threading.Event()

    def write_after() -> None:
        started.set()
        with database.write() as connection:
            seen.append(int(connection.execute("SELECT value FROM counters").fetchone()[0]))

    with database.write() as connection:
        connection.execute("UPDATE counters SET value = 11")
        waiter = threading.Thread(target=write_after)
        waiter.start()
        started.wait()
    waiter.join()
    assert seen == [11]


def test_database_read_is_not_blocked_by_a_writer() -> None:
    path = fresh_database_path()
    writer = Database(path)
    reader = Database(path, busy_timeout=timedelta(milliseconds=50))
    with writer.write() as connection:
        connection.execute("UPDATE counters SET value = 5")
        with reader.read() as snapshot:
            assert snapshot.execute("SELECT value FROM counters").fetchone()[0] == 0


def test_database_connection_is_one_per_thread() -> None:
    database = Database(fresh_database_path())
    mine = database.connection()
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(database.connection()))
    worker.start()
    worker.join()
    assert database.connection() is mine
    assert theirs[0] is not mine


def test_database_close_closes_every_thread_connection_and_reopens_lazily() -> None:
    database = Database(fresh_database_path())
    first = database.connection()
    database.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.execute("SELECT 1")
    assert database.connection() is not first
    assert database.schema_version() == len(MIGRATIONS)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.DatabaseError("file is not a database"), True),
        (sqlite3.ProgrammingError("misuse"), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
        (sqlite3.InterfaceError("bad parameter"), False),
    ],
)
def test_is_unavailable_tells_the_world_from_bugs(error: sqlite3.Error, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable
