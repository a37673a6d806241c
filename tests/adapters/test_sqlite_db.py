"""The SQLite file under the embedded adapters: pragmas, migrations, transactions, connections per thread."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from taskaction_core.adapters.sqlite.db import MIGRATIONS, Database, SchemaTooNewError, Synchronous, is_unavailable
from tests.adapters.factories import fresh_database, fresh_database_path


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


def _new_file_locked_by_another_connection() -> tuple[Path, sqlite3.Connection]:
    """A new file still in the rollback journal mode, its write lock held: opening it as a Database must switch it to
    WAL, which SQLite refuses at once (SQLITE_BUSY without calling the busy handler) while the lock is held."""
    path = fresh_database_path()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE elsewhere (value INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO elsewhere VALUES (1)")
    return path, holder


def test_database_open_of_a_new_file_retries_the_wal_switch_until_the_lock_is_free() -> None:
    # The CI failure of eight threads opening one new file: a Database raced another's switch to WAL.
    path, holder = _new_file_locked_by_another_connection()
    opened: list[Database] = []
    opener = threading.Thread(target=lambda: opened.append(Database(path)))
    opener.start()
    opener.join(timeout=0.2)
    assert opener.is_alive()  # still retrying, not failed
    holder.execute("COMMIT")
    opener.join(timeout=10)
    assert len(opened) == 1
    assert opened[0].connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert opened[0].schema_version() == len(MIGRATIONS)
    holder.close()


def test_database_open_gives_up_the_wal_switch_after_the_busy_timeout() -> None:
    path, holder = _new_file_locked_by_another_connection()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        Database(path, busy_timeout=timedelta(milliseconds=50))
    holder.close()


def test_database_concurrent_opens_of_a_new_file_all_succeed() -> None:
    errors: list[sqlite3.Error] = []
    for _ in range(20):
        path = fresh_database_path()

        def open_it(path: Path = path) -> None:
            try:
                Database(path)
            except sqlite3.Error as error:
                errors.append(error)

        openers = [threading.Thread(target=open_it) for _ in range(8)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(timeout=30)
    assert errors == []


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


def _observe(database: Database, sql: str) -> int:
    """What a second connection to the file sees (committed data only)."""
    observer = sqlite3.connect(database.path)
    try:
        return int(observer.execute(sql).fetchone()[0])
    finally:
        observer.close()


def _counter(database: Database) -> int:
    return _observe(database, "SELECT value FROM counters")


def _set_counter(database: Database, value: int) -> None:
    with database.write() as connection:
        connection.execute("UPDATE counters SET value = ?", (value,))


def _warnings(database: Database) -> int:
    return _observe(database, "SELECT count(*) FROM warnings")


def _add_warning(database: Database, note: str) -> None:
    with database.write() as connection:
        connection.execute(
            "INSERT INTO warnings (namespace, name, type, reason, action, note, count, first_time, last_time)"
            " VALUES ('ns', 'n', 'Warning', 'r', 'a', ?, 1, 't', 't')",
            (note,),
        )


def _rollback_trigger(database: Database) -> None:
    """A warning noted ``boom`` makes SQLite roll back the whole transaction (as it does for SQLITE_FULL)."""
    database.connection().execute(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.warnings WHEN NEW.note = 'boom'"
        " BEGIN SELECT RAISE(ROLLBACK, 'boom'); END"
    )


def _break_commit(database: Database) -> None:
    """Join the open transaction with a deferred foreign-key violation: its COMMIT will fail."""
    with database.write() as connection:
        connection.execute("PRAGMA defer_foreign_keys = ON")
        connection.execute("INSERT INTO task_action_labels VALUES ('no', 'such', 'object', 'x')")


def test_database_nested_write_joins_the_outer_transaction() -> None:
    database = fresh_database()
    with database.write():
        _set_counter(database, 4)
        _add_warning(database, "inner")
        assert (_counter(database), _warnings(database)) == (0, 0)  # not visible before the outer commit
    assert (_counter(database), _warnings(database)) == (4, 1)
    assert not database.connection().in_transaction


def test_database_nested_write_raising_rolls_back_only_itself() -> None:
    database = fresh_database()
    with database.write():
        _add_warning(database, "kept")
        with pytest.raises(RuntimeError, match="inner"), database.write() as connection:
            connection.execute("UPDATE counters SET value = 9")
            raise RuntimeError("inner")
    assert (_counter(database), _warnings(database)) == (0, 1)


def test_database_outer_write_raising_rolls_back_committed_inner_writes() -> None:
    database = fresh_database()
    with pytest.raises(RuntimeError, match="outer"), database.write():
        _set_counter(database, 4)
        raise RuntimeError("outer")
    assert _counter(database) == 0


def test_database_unit_of_work_commits_every_write_once_at_its_end() -> None:
    database = fresh_database()
    with database.unit_of_work():
        _set_counter(database, 2)
        _add_warning(database, "one")
        assert database.connection().in_transaction
        assert (_counter(database), _warnings(database)) == (0, 0)
    assert (_counter(database), _warnings(database)) == (2, 1)
    assert not database.connection().in_transaction


def test_database_unit_of_work_without_writes_takes_no_lock() -> None:
    database = Database(fresh_database_path(), busy_timeout=timedelta(milliseconds=50))
    other: list[BaseException] = []

    def write_elsewhere() -> None:
        try:
            _set_counter(database, 6)
        except BaseException as error:  # reported to the test thread
            other.append(error)

    with database.unit_of_work():
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join()
        assert not database.connection().in_transaction
    assert (other, _counter(database)) == ([], 6)


def test_database_unit_of_work_holds_the_write_lock_from_its_first_write() -> None:
    database = Database(fresh_database_path(), busy_timeout=timedelta(milliseconds=50))
    other: list[BaseException] = []

    def write_elsewhere() -> None:
        try:
            _set_counter(database, 6)
        except sqlite3.OperationalError as error:
            other.append(error)

    with database.unit_of_work():
        _set_counter(database, 1)
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join()
    assert [str(error) for error in other] == ["database is locked (by another writer of this process)"]
    assert _counter(database) == 1


def test_database_unit_of_work_failed_write_is_undone_and_the_rest_commits() -> None:
    database = fresh_database()
    with database.unit_of_work():
        _add_warning(database, "kept")
        with pytest.raises(sqlite3.IntegrityError):
            _add_warning(database, "kept")  # the UNIQUE key: this write alone fails
        _set_counter(database, 3)
    assert (_counter(database), _warnings(database)) == (3, 1)


def test_database_unit_of_work_failed_first_write_is_undone_and_the_next_begins_anew() -> None:
    database = fresh_database()
    _add_warning(database, "taken")
    with database.unit_of_work():
        with pytest.raises(sqlite3.IntegrityError):
            _add_warning(database, "taken")
        assert not database.connection().in_transaction
        _set_counter(database, 3)
    assert (_counter(database), _warnings(database)) == (3, 1)


def test_database_unit_of_work_raising_rolls_everything_back() -> None:
    database = fresh_database()
    with pytest.raises(RuntimeError, match="crash"), database.unit_of_work():
        _set_counter(database, 3)
        _add_warning(database, "lost")
        raise RuntimeError("crash")
    assert (_counter(database), _warnings(database)) == (0, 0)
    assert not database.connection().in_transaction
    _set_counter(database, 5)  # the write lock was released
    assert _counter(database) == 5


def test_database_unit_of_work_failed_commit_raises_and_keeps_nothing() -> None:
    database = fresh_database()
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), database.unit_of_work():
        _set_counter(database, 3)
        _add_warning(database, "lost")
        _break_commit(database)
    assert (_counter(database), _warnings(database)) == (0, 0)
    assert not database.connection().in_transaction
    _set_counter(database, 5)
    assert _counter(database) == 5


def test_database_unit_of_work_rolled_back_by_sqlite_fails_every_later_write_and_its_end() -> None:
    database = fresh_database()
    _rollback_trigger(database)
    with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite"), database.unit_of_work():
        _set_counter(database, 3)
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            _add_warning(database, "boom")
        with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite: IntegrityError: boom"):
            _add_warning(database, "after")
    assert (_counter(database), _warnings(database)) == (0, 0)
    assert not database.connection().in_transaction


def test_database_write_rolled_back_by_sqlite_under_a_nested_write_fails_at_commit() -> None:
    database = fresh_database()
    _rollback_trigger(database)
    with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite"), database.write():
        _set_counter(database, 3)
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            _add_warning(database, "boom")
    assert _counter(database) == 0


def test_database_nested_write_whose_release_fails_loses_the_transaction() -> None:
    """A block that ends the whole transaction itself (as SQLite does under it for SQLITE_FULL) leaves nothing to
    release: the nested write fails, and so do every later write and the end of the scope."""
    database = fresh_database()
    with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite"), database.unit_of_work():
        _set_counter(database, 3)
        with pytest.raises(sqlite3.OperationalError, match="no such savepoint"), database.write() as connection:
            connection.execute("ROLLBACK")
        with pytest.raises(sqlite3.OperationalError, match="rolled back by SQLite: OperationalError"):
            _add_warning(database, "after")
    assert (_counter(database), _warnings(database)) == (0, 0)
    assert not database.connection().in_transaction


def test_database_nested_unit_of_work_joins_the_enclosing_one() -> None:
    database = fresh_database()
    with database.unit_of_work():
        _set_counter(database, 1)
        with database.unit_of_work():
            _add_warning(database, "inner")
        assert _warnings(database) == 0
    assert (_counter(database), _warnings(database)) == (1, 1)


def test_database_read_inside_a_write_scope_sees_its_writes() -> None:
    database = fresh_database()
    with database.unit_of_work():
        _set_counter(database, 8)
        with database.read() as connection:
            assert connection.execute("SELECT value FROM counters").fetchone()[0] == 8
    assert _counter(database) == 8


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


class _CountingConnection(sqlite3.Connection):
    statements: list[str]

    def execute(self, sql: str, parameters: object = (), /) -> sqlite3.Cursor:
        self.__dict__.setdefault("statements", []).append(sql)
        return super().execute(sql, parameters)  # type: ignore[arg-type]


def test_database_factory_is_the_class_of_every_connection() -> None:
    database = Database(fresh_database_path(), factory=_CountingConnection)
    mine = database.connection()
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(database.connection()))
    worker.start()
    worker.join()
    assert isinstance(mine, _CountingConnection) and isinstance(theirs[0], _CountingConnection)
    with database.write() as connection:
        connection.execute("UPDATE counters SET value = 5")
    assert mine.statements[-3:] == ["BEGIN IMMEDIATE", "UPDATE counters SET value = 5", "COMMIT"]
    assert database.connection().execute("SELECT value FROM counters").fetchone()[0] == 5


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
