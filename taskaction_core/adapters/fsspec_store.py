"""The real data store: any fsspec URL, with local files as the embedded default (design.md §5, §7).

Go: ``flytestdlib/storage`` (``ReadRaw``, ``WriteRaw``, ``Head``, ``Delete``) behind the reconciler's data store.

Theory of operation. A URI is first rewritten through the optional *mounts* (longest matching prefix wins), then:

- a plain path or a ``file://`` URL is a local file, handled with ``os`` directly. Writes are atomic: the bytes go to
  a temporary file in the same directory, are flushed to disk, and ``os.replace`` moves them into place, so a reader
  (another controller, the cache Put of R95) sees the old blob or the new one, never half of one. Parent directories
  are created on demand, like an object store's keys;
- anything else goes through ``fsspec.core.url_to_fs`` (``memory://``, ``s3://`` with s3fs installed, ...), with the
  per-protocol ``storage_options``.

Outcomes follow the port: a missing blob is ``NOT_FOUND`` (R95 and R102 act on it); every other failure, including
an unknown protocol or a directory where a blob was expected, is ``OTHER`` with the library's message. Deleting an
absent blob succeeds.

Mounts serve two purposes: running TaskActions whose URIs name a remote bucket against a local directory (mount
``s3://bucket/`` on ``/srv/flyte/``), and isolating tests (mount a scheme on a fresh temporary directory).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import fsspec  # type: ignore[import-untyped]
from returns.result import Failure, Result, Success

from taskaction_core.interpreter.ports import DataError, DataErrorKind

__all__ = ["FsspecDataStore", "local_path"]

_FILE_SCHEME: Final = "file://"
_T = TypeVar("_T")


def local_path(uri: str) -> Path | None:
    """The local path a URI names, or None when it is not local: plain paths and ``file://`` URLs are local."""
    if uri.startswith(_FILE_SCHEME):
        return Path(uri[len(_FILE_SCHEME) :])
    if "://" in uri:
        return None
    return Path(uri)


class FsspecDataStore:
    """The :class:`~taskaction_core.interpreter.ports.DataStore` over local files and any fsspec filesystem.

    Thread-safe (local operations are single system calls or an atomic rename; fsspec filesystems are thread-safe
    for these calls). Never raises: every failure is a :class:`DataError`.
    """

    def __init__(
        self,
        *,
        mounts: Mapping[str, str] | None = None,
        storage_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """``mounts`` maps URI prefixes to replacement prefixes; ``storage_options`` maps an fsspec protocol to the
        keyword arguments of its filesystem (credentials, endpoints)."""
        self._mounts = sorted((mounts or {}).items(), key=lambda item: len(item[0]), reverse=True)
        self._storage_options = {protocol: dict(options) for protocol, options in (storage_options or {}).items()}

    def resolve(self, uri: str) -> str:
        """The URI after the mounts: the longest matching prefix is replaced; unmatched URIs are unchanged."""
        for prefix, target in self._mounts:
            if uri.startswith(prefix):
                return target + uri[len(prefix) :]
        return uri

    def read(self, uri: str) -> Result[bytes, DataError]:
        resolved = self.resolve(uri)
        path = local_path(resolved)
        if path is not None:
            return _attempt(uri, path.read_bytes)
        return self._remote(uri, resolved, lambda fs, key: bytes(fs.cat_file(key)))

    def write(self, uri: str, data: bytes) -> Result[None, DataError]:
        resolved = self.resolve(uri)
        path = local_path(resolved)
        if path is not None:
            return _attempt(uri, lambda: _write_atomically(path, bytes(data)))
        return self._remote(uri, resolved, lambda fs, key: _pipe(fs, key, bytes(data)))

    def exists(self, uri: str) -> Result[bool, DataError]:
        resolved = self.resolve(uri)
        path = local_path(resolved)
        if path is not None:
            return _attempt(uri, path.is_file)
        return self._remote(uri, resolved, lambda fs, key: bool(fs.isfile(key)))

    def delete(self, uri: str) -> Result[None, DataError]:
        resolved = self.resolve(uri)
        path = local_path(resolved)
        if path is not None:
            return _attempt(uri, lambda: path.unlink(missing_ok=True))
        return self._remote(uri, resolved, _remove_if_present)

    def _remote(self, uri: str, resolved: str, call: Callable[[Any, str], _T]) -> Result[_T, DataError]:
        protocol = resolved.split("://", 1)[0]
        options = self._storage_options.get(protocol, {})

        def run() -> _T:
            filesystem, key = fsspec.core.url_to_fs(resolved, **options)
            return call(filesystem, key)

        return _attempt(uri, run)


def _attempt(uri: str, call: Callable[[], _T]) -> Result[_T, DataError]:
    """Run one storage call; a missing blob is NOT_FOUND, any other exception OTHER (the port never raises)."""
    try:
        return Success(call())
    except FileNotFoundError as error:
        return Failure(DataError(DataErrorKind.NOT_FOUND, f"not found: {uri}: {error}"))
    except Exception as error:  # the outside world: drivers raise anything
        return Failure(DataError(DataErrorKind.OTHER, f"{uri}: {type(error).__name__}: {error}"))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a flushed temporary sibling and ``os.replace`` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _pipe(filesystem: Any, key: str, data: bytes) -> None:
    """Write through fsspec; a hierarchical filesystem missing the parent directory gets it created, then retried."""
    try:
        filesystem.pipe_file(key, data)
    except FileNotFoundError:
        filesystem.makedirs(posixpath.dirname(key), exist_ok=True)
        filesystem.pipe_file(key, data)


def _remove_if_present(filesystem: Any, key: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        filesystem.rm_file(key)
