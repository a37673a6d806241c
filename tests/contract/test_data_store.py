"""Contract of the data store port (R55, R95, R103, R104).

Runs against every adapter in :data:`DATA_STORE_FACTORIES`.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable

import pytest

from taskaction_core.adapters.fsspec_store import FsspecDataStore
from taskaction_core.interpreter.ports import DataErrorKind, DataStore
from taskaction_core.testing.fakes import InMemoryDataStore

DATA_STORE_FACTORIES: dict[str, Callable[[], DataStore]] = {
    "in-memory": InMemoryDataStore,
    "fsspec-local-files": lambda: FsspecDataStore(mounts={"mem://": tempfile.mkdtemp(prefix="ta-contract-") + "/"}),
    "fsspec-memory": lambda: FsspecDataStore(mounts={"mem://": f"memory://{uuid.uuid4().hex}/"}),
}

URI = "mem://bucket/run/a/1/outputs.pb"


@pytest.fixture(params=sorted(DATA_STORE_FACTORIES))
def data_store(request: pytest.FixtureRequest) -> DataStore:
    return DATA_STORE_FACTORIES[request.param]()


def test_data_store_read_missing_is_not_found(data_store: DataStore) -> None:
    assert data_store.read(URI).failure().kind is DataErrorKind.NOT_FOUND


def test_data_store_write_then_read_round_trips(data_store: DataStore) -> None:
    data_store.write(URI, b"\x00bytes\xff").unwrap()
    assert data_store.read(URI).unwrap() == b"\x00bytes\xff"


def test_data_store_write_overwrites(data_store: DataStore) -> None:
    data_store.write(URI, b"first").unwrap()
    data_store.write(URI, b"second").unwrap()
    assert data_store.read(URI).unwrap() == b"second"


def test_data_store_empty_blob_exists(data_store: DataStore) -> None:
    data_store.write(URI, b"").unwrap()
    assert data_store.exists(URI).unwrap() is True
    assert data_store.read(URI).unwrap() == b""


def test_data_store_exists_reflects_writes_and_deletes(data_store: DataStore) -> None:
    assert data_store.exists(URI).unwrap() is False
    data_store.write(URI, b"x").unwrap()
    assert data_store.exists(URI).unwrap() is True
    data_store.delete(URI).unwrap()
    assert data_store.exists(URI).unwrap() is False


def test_data_store_delete_missing_succeeds(data_store: DataStore) -> None:
    assert data_store.delete(URI).unwrap() is None


def test_data_store_uris_are_distinct_keys(data_store: DataStore) -> None:
    data_store.write(URI, b"outputs").unwrap()
    assert data_store.read(URI.replace("outputs.pb", "error.pb")).failure().kind is DataErrorKind.NOT_FOUND
