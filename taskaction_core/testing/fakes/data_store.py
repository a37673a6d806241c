"""A dict-backed data store (design.md §7): inputs, ``outputs.pb`` and ``error.pb`` as bytes keyed by URI."""

from __future__ import annotations

from collections.abc import Mapping
from threading import Lock
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.interpreter.ports import DataError, DataErrorKind
from taskaction_core.testing.faults import Faults

DATA_STORE_METHODS: Final = ("read", "write", "exists", "delete")


class InMemoryDataStore:
    """The fake :class:`~taskaction_core.interpreter.ports.DataStore`. Thread-safe. URIs are compared verbatim."""

    def __init__(self, blobs: Mapping[str, bytes] | None = None) -> None:
        self.faults: Faults[DataError] = Faults(DATA_STORE_METHODS)
        self._lock = Lock()
        self._blobs: dict[str, bytes] = dict(blobs or {})

    def read(self, uri: str) -> Result[bytes, DataError]:
        if error := self.faults.enter("read"):
            return Failure(error)
        with self._lock:
            data = self._blobs.get(uri)
        if data is None:
            return Failure(DataError(DataErrorKind.NOT_FOUND, f"not found: {uri}"))
        return Success(data)

    def write(self, uri: str, data: bytes) -> Result[None, DataError]:
        if error := self.faults.enter("write"):
            return Failure(error)
        with self._lock:
            self._blobs[uri] = bytes(data)
        return self._acknowledge("write")

    def exists(self, uri: str) -> Result[bool, DataError]:
        if error := self.faults.enter("exists"):
            return Failure(error)
        with self._lock:
            return Success(uri in self._blobs)

    def delete(self, uri: str) -> Result[None, DataError]:
        if error := self.faults.enter("delete"):
            return Failure(error)
        with self._lock:
            self._blobs.pop(uri, None)
        return self._acknowledge("delete")

    def blobs(self) -> dict[str, bytes]:
        """A copy of every stored blob. Not a port call: no faults, no call count."""
        with self._lock:
            return dict(self._blobs)

    def _acknowledge(self, method: str) -> Result[None, DataError]:
        if error := self.faults.after(method):
            return Failure(error)
        return Success(None)
