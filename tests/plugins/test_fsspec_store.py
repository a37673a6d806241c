"""The fsspec data store beyond the port contract: local files, atomic writes, mounts, fsspec URLs (R55, R103)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import fsspec  # type: ignore[import-untyped]
import pytest

from taskaction_core.adapters.fsspec_store import FsspecDataStore, local_path
from taskaction_core.interpreter.ports import DataErrorKind


@pytest.fixture
def store() -> FsspecDataStore:
    return FsspecDataStore()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/x/outputs.pb", Path("/data/x/outputs.pb")),
        ("relative/x", Path("relative/x")),
        ("file:///data/x", Path("/data/x")),
        ("s3://bucket/x", None),
        ("memory://x", None),
    ],
)
def test_local_path_recognises_plain_paths_and_file_urls(uri: str, expected: Path | None) -> None:
    assert local_path(uri) == expected


@pytest.mark.parametrize("as_url", [False, True])
def test_fsspec_store_local_write_creates_parent_directories(
    tmp_path: Path, store: FsspecDataStore, as_url: bool
) -> None:
    target = tmp_path / "run" / "a" / "1" / "outputs.pb"
    uri = target.as_uri() if as_url else str(target)
    store.write(uri, b"data").unwrap()
    assert target.read_bytes() == b"data"
    assert store.read(uri).unwrap() == b"data"


def test_fsspec_store_local_write_leaves_no_temporary_files(tmp_path: Path, store: FsspecDataStore) -> None:
    store.write(str(tmp_path / "x.pb"), b"one").unwrap()
    store.write(str(tmp_path / "x.pb"), b"two").unwrap()
    assert [path.name for path in tmp_path.iterdir()] == ["x.pb"]


def test_fsspec_store_readers_never_see_a_partial_write(tmp_path: Path, store: FsspecDataStore) -> None:
    uri = str(tmp_path / "blob")
    blobs = [b"a" * 200_000, b"b" * 300_000]
    store.write(uri, blobs[0]).unwrap()
    stop = threading.Event()
    seen: list[bytes] = []

    def writer() -> None:
        for index in range(40):
            store.write(uri, blobs[index % 2]).unwrap()
        stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not stop.is_set():
        seen.append(store.read(uri).unwrap())
    thread.join()
    assert seen
    assert all(data in blobs for data in seen)


def test_fsspec_store_reading_a_directory_is_other_not_not_found(tmp_path: Path, store: FsspecDataStore) -> None:
    error = store.read(str(tmp_path)).failure()
    assert error.kind is DataErrorKind.OTHER
    assert store.exists(str(tmp_path)).unwrap() is False


def test_fsspec_store_write_under_a_file_is_other(tmp_path: Path, store: FsspecDataStore) -> None:
    (tmp_path / "file").write_bytes(b"")
    assert store.write(str(tmp_path / "file" / "x"), b"x").failure().kind is DataErrorKind.OTHER


def test_fsspec_store_missing_local_blob_is_not_found(tmp_path: Path, store: FsspecDataStore) -> None:
    error = store.read(str(tmp_path / "nope")).failure()
    assert error.kind is DataErrorKind.NOT_FOUND
    assert str(tmp_path / "nope") in error.message
    assert store.delete(str(tmp_path / "nope")).unwrap() is None


def test_fsspec_store_memory_urls_go_through_fsspec(store: FsspecDataStore) -> None:
    uri = f"memory://{uuid.uuid4().hex}/a/outputs.pb"
    assert store.read(uri).failure().kind is DataErrorKind.NOT_FOUND
    store.write(uri, b"m").unwrap()
    assert store.exists(uri).unwrap() is True
    assert store.read(uri).unwrap() == b"m"
    store.delete(uri).unwrap()
    store.delete(uri).unwrap()
    assert store.exists(uri).unwrap() is False


def test_fsspec_store_unknown_protocol_is_other(store: FsspecDataStore) -> None:
    error = store.read("nosuchprotocol://bucket/x").failure()
    assert error.kind is DataErrorKind.OTHER
    assert error.message.startswith("nosuchprotocol://bucket/x: ")


def test_fsspec_store_mounts_rewrite_the_longest_matching_prefix(tmp_path: Path) -> None:
    store = FsspecDataStore(mounts={"s3://bucket/": f"{tmp_path}/all/", "s3://bucket/special/": f"{tmp_path}/sp/"})
    assert store.resolve("s3://bucket/run/x") == f"{tmp_path}/all/run/x"
    assert store.resolve("s3://bucket/special/x") == f"{tmp_path}/sp/x"
    assert store.resolve("gs://other/x") == "gs://other/x"
    store.write("s3://bucket/special/x", b"y").unwrap()
    assert (tmp_path / "sp" / "x").read_bytes() == b"y"


def test_fsspec_store_passes_storage_options_per_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    original = fsspec.core.url_to_fs

    def recording(url: str, **options: Any) -> Any:
        calls.append((url, options))
        return original(url)

    monkeypatch.setattr(fsspec.core, "url_to_fs", recording)
    store = FsspecDataStore(storage_options={"memory": {"token": "t"}, "s3": {"anon": True}})
    store.exists("memory://opts/x").unwrap()
    assert calls == [("memory://opts/x", {"token": "t"})]
