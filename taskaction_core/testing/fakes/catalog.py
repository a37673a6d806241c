"""An in-memory cache service (R92–R98) with explicit NotFound/AlreadyExists outcomes (D9).

Entries hold the bytes of the outputs file at Put time and the time they were written; reservations hold their owner
and expiry. Both are keyed by :func:`~taskaction_core.adapters.catalog_key.derive_catalog_key`, so two
CacheKeys that differ only in the task version, or in an input listed in ``cache_ignore_input_vars``, share an
entry and a reservation, as with the real service.

A reservation whose ``expires_at`` is strictly before now has expired (the Go managers compare
``expiresAt.Before(now)``), so at exactly ``expires_at`` the holder still owns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.adapters.catalog_key import derive_catalog_key, identifier_text
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.ports import (
    CatalogLimits,
    CatalogReservation,
    Clock,
    DataErrorKind,
    DataStore,
)
from taskaction_core.observations import CacheHit, CatalogErrorKind, CatalogFailure
from taskaction_core.testing.faults import Faults

CATALOG_METHODS: Final = ("get", "put", "get_or_extend_reservation", "release_reservation")

__all__ = ["CATALOG_METHODS", "CatalogEntry", "InMemoryCatalog", "identifier_text"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One cached artifact."""

    outputs: bytes
    metadata: CacheMetadata
    last_updated: datetime


class InMemoryCatalog:
    """The fake :class:`~taskaction_core.interpreter.ports.Catalog`. Thread-safe.

    It reads output files and inputs through ``data_store`` (as the real client does) and takes "now" from
    ``clock``. :meth:`entries` and :meth:`reservations` read the state for assertions without counting as calls.
    """

    def __init__(self, data_store: DataStore, clock: Clock, limits: CatalogLimits | None = None) -> None:
        self.faults: Faults[CatalogFailure] = Faults(CATALOG_METHODS)
        self._data_store = data_store
        self._clock = clock
        self._limits = limits or CatalogLimits()
        self._lock = Lock()
        self._entries: dict[str, CatalogEntry] = {}
        self._reservations: dict[str, CatalogReservation] = {}

    @property
    def limits(self) -> CatalogLimits:
        return self._limits

    def get(self, key: CacheKey) -> Result[CacheHit, CatalogFailure]:
        if error := self.faults.enter("get"):
            return Failure(error)
        return derive_catalog_key(key, self._data_store).bind(self._lookup)

    def put(self, key: CacheKey, output_uri: str, metadata: CacheMetadata) -> Result[None, CatalogFailure]:
        if error := self.faults.enter("put"):
            return Failure(error)
        outputs = self._data_store.read(output_uri)
        if not isinstance(outputs, Success):
            problem = outputs.failure()
            if problem.kind is DataErrorKind.NOT_FOUND:
                text = f"output file does not exist for {identifier_text(key.identifier)}"
                return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, text))
            return Failure(CatalogFailure(CatalogErrorKind.OTHER, f"failed to read {output_uri}: {problem.message}"))
        entry = CatalogEntry(outputs.unwrap(), metadata, self._clock.now())
        stored = derive_catalog_key(key, self._data_store).bind(lambda k: self._insert(k, entry))
        if isinstance(stored, Success) and (error := self.faults.after("put")):
            return Failure(error)
        return stored

    def get_or_extend_reservation(
        self, key: CacheKey, owner_id: str, heartbeat: timedelta
    ) -> Result[CatalogReservation, CatalogFailure]:
        if error := self.faults.enter("get_or_extend_reservation"):
            return Failure(error)
        if not owner_id or not key.identifier.name:
            return Failure(CatalogFailure(CatalogErrorKind.OTHER, "invalid argument: empty reservation key or owner"))
        reserved = derive_catalog_key(key, self._data_store).map(lambda k: self._reserve(k, owner_id, heartbeat))
        if isinstance(reserved, Success) and (error := self.faults.after("get_or_extend_reservation")):
            return Failure(error)
        return reserved

    def release_reservation(self, key: CacheKey, owner_id: str) -> Result[None, CatalogFailure]:
        if error := self.faults.enter("release_reservation"):
            return Failure(error)
        return derive_catalog_key(key, self._data_store).map(lambda k: self._release(k, owner_id))

    # -- diagnostics -----------------------------------------------------------------------------------------------

    def entries(self) -> dict[str, CatalogEntry]:
        with self._lock:
            return dict(self._entries)

    def reservations(self) -> dict[str, CatalogReservation]:
        with self._lock:
            return dict(self._reservations)

    # -- internals -------------------------------------------------------------------------------------------------

    def _lookup(self, catalog_key: str) -> Result[CacheHit, CatalogFailure]:
        now = self._clock.now()
        with self._lock:
            entry = self._entries.get(catalog_key)
        if entry is None:
            return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, f"no cache entry for key {catalog_key}"))
        max_age = self._limits.max_cache_age
        if max_age > timedelta(0) and now - entry.last_updated > max_age:
            return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "artifact over age limit"))
        return Success(CacheHit(outputs=entry.outputs))

    def _insert(self, catalog_key: str, entry: CatalogEntry) -> Result[None, CatalogFailure]:
        with self._lock:
            if catalog_key in self._entries:
                text = f"cache entry already exists for key {catalog_key}"
                return Failure(CatalogFailure(CatalogErrorKind.ALREADY_EXISTS, text))
            self._entries[catalog_key] = entry
        return Success(None)

    def _reserve(self, catalog_key: str, owner_id: str, heartbeat: timedelta) -> CatalogReservation:
        now = self._clock.now()
        with self._lock:
            held = self._reservations.get(catalog_key)
            if held is not None and held.owner_id != owner_id and not held.expires_at < now:
                return held
            effective = self._limits.effective_heartbeat(heartbeat)
            granted = CatalogReservation(owner_id, effective, now + effective * self._limits.grace_multiplier)
            self._reservations[catalog_key] = granted
            return granted

    def _release(self, catalog_key: str, owner_id: str) -> None:
        with self._lock:
            held = self._reservations.get(catalog_key)
            if held is not None and held.owner_id == owner_id:
                del self._reservations[catalog_key]
