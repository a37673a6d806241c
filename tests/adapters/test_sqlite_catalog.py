"""What the SQLite catalog adds to the shared contract (tests/contract/test_catalog.py): entries and reservations
shared by every handle on one file, one winner among concurrent takers, storage failures as OTHER."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from taskaction_core.adapters.sqlite import Database, SqliteCatalog
from taskaction_core.context import TaskExecutionId
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.ports import CatalogLimits, DataError, DataErrorKind
from taskaction_core.observations import CatalogErrorKind
from taskaction_core.template import Identifier
from taskaction_core.testing.fakes import InMemoryDataStore, ManualClock
from tests.adapters.factories import fresh_database_path

OUTPUTS_URI = "mem://bucket/run/a/1/outputs.pb"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = CacheKey(
    identifier=Identifier(resource_type=1, project="p", domain="d", name="my.task", version="v7"),
    cache_version="1.0",
    cache_ignore_input_vars=(),
    interface=b"",
    input_path="mem://bucket/run/a/inputs.pb",
)
METADATA = CacheMetadata(TaskExecutionId("p", "d", "run", "a", 2, None), T0)


@pytest.fixture
def path() -> str:
    return str(fresh_database_path())


@pytest.fixture
def data_store() -> InMemoryDataStore:
    return InMemoryDataStore({OUTPUTS_URI: b"outputs"})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def open_catalog(path: str, data_store: InMemoryDataStore, clock: ManualClock) -> SqliteCatalog:
    return SqliteCatalog(Database(path, busy_timeout=timedelta(milliseconds=50)), data_store, clock)


def test_sqlite_catalog_entry_put_by_one_handle_is_hit_for_another(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    open_catalog(path, data_store, clock).put(KEY, OUTPUTS_URI, METADATA).unwrap()
    other = open_catalog(path, data_store, clock)
    assert other.get(KEY).unwrap().outputs == b"outputs"
    assert other.put(KEY, OUTPUTS_URI, METADATA).failure().kind is CatalogErrorKind.ALREADY_EXISTS


def test_sqlite_catalog_put_stores_the_r95_key_map(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    open_catalog(path, data_store, clock).put(KEY, OUTPUTS_URI, METADATA).unwrap()
    row = Database(path).connection().execute("SELECT metadata, last_updated FROM catalog_entries").fetchone()
    assert json.loads(row[0]) == {
        "task-version": "v7",
        "exec-project": "p",
        "exec-domain": "d",
        "execution-name": "run",
        "exec-node": "a",
        "exec-attempt": "2",
        "exec-org": "",
        "created-at": "2026-03-01T00:00:00Z",
    }
    assert row[1] == "2026-03-01T00:00:00Z"


def test_sqlite_catalog_reservation_is_shared_between_handles(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    first, second = open_catalog(path, data_store, clock), open_catalog(path, data_store, clock)
    held = first.get_or_extend_reservation(KEY, "default/a", timedelta(seconds=10)).unwrap()
    assert second.get_or_extend_reservation(KEY, "default/b", timedelta(seconds=10)).unwrap() == held
    second.release_reservation(KEY, "default/b").unwrap()
    assert second.get_or_extend_reservation(KEY, "default/b", timedelta(seconds=10)).unwrap().owner_id == "default/a"
    first.release_reservation(KEY, "default/a").unwrap()
    assert second.get_or_extend_reservation(KEY, "default/b", timedelta(seconds=10)).unwrap().owner_id == "default/b"


def test_sqlite_catalog_concurrent_takers_agree_on_one_owner(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    owners: list[str] = []
    lock = threading.Lock()

    def take(owner: str) -> None:
        catalog = SqliteCatalog(Database(path), data_store, clock)
        reservation = catalog.get_or_extend_reservation(KEY, owner, timedelta(seconds=10)).unwrap()
        with lock:
            owners.append(reservation.owner_id)

    takers = [threading.Thread(target=take, args=(f"default/t{index}",)) for index in range(8)]
    for taker in takers:
        taker.start()
    for taker in takers:
        taker.join(timeout=30)
    assert len(owners) == 8
    assert len(set(owners)) == 1


class TransactionNotingClock:
    """A fixed clock that notes, at each read, whether the reading thread is inside a write transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.read_in_transaction: list[bool] = []

    def now(self) -> datetime:
        self.read_in_transaction.append(self.database.connection().in_transaction)
        return T0


def test_sqlite_catalog_reservation_reads_now_inside_its_write_transaction(
    path: str, data_store: InMemoryDataStore
) -> None:
    # Read before the write lock, "now" is as old as the wait for the lock: a holder's lease starts partly spent and
    # a taker judges expiry by a past time (a 1 s heartbeat's 3 s lease lapsed this way in a loaded SDK test run).
    database = Database(path)
    clock = TransactionNotingClock(database)
    catalog = SqliteCatalog(database, data_store, clock)
    assert catalog.get_or_extend_reservation(KEY, "default/a", timedelta(seconds=1)).unwrap().owner_id == "default/a"
    assert catalog.get_or_extend_reservation(KEY, "default/b", timedelta(seconds=1)).unwrap().owner_id == "default/a"
    assert clock.read_in_transaction == [True, True]


def test_sqlite_catalog_locked_file_is_other_failure(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    catalog = open_catalog(path, data_store, clock)
    with Database(path).write():
        failures = [
            catalog.put(KEY, OUTPUTS_URI, METADATA).failure(),
            catalog.get_or_extend_reservation(KEY, "default/a", timedelta(seconds=1)).failure(),
            catalog.release_reservation(KEY, "default/a").failure(),
        ]
    assert [failure.kind for failure in failures] == [CatalogErrorKind.OTHER] * 3
    assert all("locked" in failure.message for failure in failures)
    catalog.put(KEY, OUTPUTS_URI, METADATA).unwrap()


def test_sqlite_catalog_unreadable_output_file_is_other(
    path: str, data_store: InMemoryDataStore, clock: ManualClock
) -> None:
    catalog = open_catalog(path, data_store, clock)
    data_store.faults.fail_next("read", DataError(DataErrorKind.OTHER, "disk on fire"))
    failure = catalog.put(KEY, OUTPUTS_URI, METADATA).failure()
    assert failure.kind is CatalogErrorKind.OTHER
    assert failure.message == f"failed to read {OUTPUTS_URI}: disk on fire"


def test_sqlite_catalog_corrupt_expiry_is_other(path: str, data_store: InMemoryDataStore, clock: ManualClock) -> None:
    catalog = open_catalog(path, data_store, clock)
    catalog.get_or_extend_reservation(KEY, "default/a", timedelta(seconds=1)).unwrap()
    with Database(path).write() as connection:
        connection.execute("UPDATE catalog_reservations SET expires_at = 'soon'")
    failure = catalog.get_or_extend_reservation(KEY, "default/b", timedelta(seconds=1)).failure()
    assert failure.kind is CatalogErrorKind.OTHER
    assert "unreadable time 'soon'" in failure.message


def test_sqlite_catalog_keeps_its_limits(path: str, data_store: InMemoryDataStore, clock: ManualClock) -> None:
    limits = CatalogLimits(max_cache_age=timedelta(hours=1))
    assert SqliteCatalog(Database(path), data_store, clock, limits).limits == limits
    assert open_catalog(path, data_store, clock).limits == CatalogLimits()
