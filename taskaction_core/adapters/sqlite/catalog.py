"""The cache service on SQLite (R92–R98), with explicit NotFound/AlreadyExists outcomes (D9, Q10).

Theory of operation. Entries and reservations are rows keyed by
:func:`~taskaction_core.adapters.catalog_key.derive_catalog_key`, the same key function as the in-memory fake, so
two CacheKeys that differ only in the task version, or in an input listed in ``cache_ignore_input_vars``, share an
entry and a reservation (R97, Q24). The key is not byte-compatible with Flyte's Go cache service, and is not meant to
be: it only has to agree between the processes sharing this file.

- ``get`` (R93): NOT_FOUND on a miss and when the entry was last updated longer ago than ``max_cache_age``.
- ``put`` (R95): the outputs file's bytes are read from the data store at Put time and copied into the row, so a
  later overwrite of the file does not change the entry. ``INSERT ... ON CONFLICT DO NOTHING``: an existing entry is
  ALREADY_EXISTS and is never overwritten, whichever process wrote it.
- ``get_or_extend_reservation`` (R94): in one ``BEGIN IMMEDIATE`` transaction, read the holder and either return it
  unchanged (another owner, unexpired) or (re)grant it to the caller with expiry ``now + effective heartbeat ×
  grace multiplier``. A reservation whose ``expires_at`` is strictly before now has expired (Go's
  ``expiresAt.Before(now)``), so at exactly ``expires_at`` the holder still owns it. Concurrent takers in several
  processes are serialized by the write lock: exactly one wins and the others are told who did.
- ``release_reservation`` (R96): deletes the row only when the caller owns it; absent or foreign is a no-op.

"now" comes from the injected clock, so every process sharing a file should use a clock that agrees (the system
clock on one machine). Storage failures are OTHER failures carrying the SQLite error text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, TypeVar

from returns.result import Failure, Result, Success

from taskaction_core.adapters.catalog_key import derive_catalog_key, identifier_text
from taskaction_core.adapters.serialization import format_time, parse_time
from taskaction_core.adapters.sqlite.db import Database, is_unavailable
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.ports import CatalogLimits, CatalogReservation, Clock, DataErrorKind, DataStore
from taskaction_core.observations import CacheHit, CatalogErrorKind, CatalogFailure

__all__ = ["SqliteCatalog", "metadata_key_map"]

T = TypeVar("T")

_MICROSECOND: Final = timedelta(microseconds=1)


class SqliteCatalog:
    """The SQLite :class:`~taskaction_core.interpreter.ports.Catalog`. Thread- and process-safe.

    Like the fake, it reads output files and inputs through ``data_store`` and takes "now" from ``clock``.
    """

    def __init__(
        self, database: Database, data_store: DataStore, clock: Clock, limits: CatalogLimits | None = None
    ) -> None:
        self._database = database
        self._data_store = data_store
        self._clock = clock
        self._limits = limits or CatalogLimits()

    @property
    def limits(self) -> CatalogLimits:
        return self._limits

    def get(self, key: CacheKey) -> Result[CacheHit, CatalogFailure]:
        return derive_catalog_key(key, self._data_store).bind(lambda k: self._guarded(lambda: self._lookup(k)))

    def put(self, key: CacheKey, output_uri: str, metadata: CacheMetadata) -> Result[None, CatalogFailure]:
        outputs = self._data_store.read(output_uri)
        if not isinstance(outputs, Success):
            problem = outputs.failure()
            if problem.kind is DataErrorKind.NOT_FOUND:
                text = f"output file does not exist for {identifier_text(key.identifier)}"
                return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, text))
            return Failure(CatalogFailure(CatalogErrorKind.OTHER, f"failed to read {output_uri}: {problem.message}"))
        now = self._clock.now()
        return derive_catalog_key(key, self._data_store).bind(
            lambda k: self._guarded(lambda: self._insert(k, outputs.unwrap(), metadata_key_map(key, metadata), now))
        )

    def get_or_extend_reservation(
        self, key: CacheKey, owner_id: str, heartbeat: timedelta
    ) -> Result[CatalogReservation, CatalogFailure]:
        if not owner_id or not key.identifier.name:
            return Failure(CatalogFailure(CatalogErrorKind.OTHER, "invalid argument: empty reservation key or owner"))
        return derive_catalog_key(key, self._data_store).bind(
            lambda k: self._guarded(lambda: Success(self._reserve(k, owner_id, heartbeat)))
        )

    def release_reservation(self, key: CacheKey, owner_id: str) -> Result[None, CatalogFailure]:
        return derive_catalog_key(key, self._data_store).bind(
            lambda k: self._guarded(lambda: self._release(k, owner_id))
        )

    # -- internals -----------------------------------------------------------------------------------------------------

    def _guarded(self, operation: Callable[[], Result[T, CatalogFailure]]) -> Result[T, CatalogFailure]:
        try:
            return operation()
        except sqlite3.Error as error:
            if not is_unavailable(error):
                raise
            return Failure(CatalogFailure(CatalogErrorKind.OTHER, f"sqlite catalog {self._database.path}: {error}"))

    def _lookup(self, catalog_key: str) -> Result[CacheHit, CatalogFailure]:
        now = self._clock.now()
        with self._database.read() as connection:
            row = connection.execute(
                "SELECT outputs, last_updated FROM catalog_entries WHERE key = ?", (catalog_key,)
            ).fetchone()
        if row is None:
            return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, f"no cache entry for key {catalog_key}"))
        max_age = self._limits.max_cache_age
        if max_age > timedelta(0) and now - _stored_time(row[1], catalog_key) > max_age:
            return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "artifact over age limit"))
        return Success(CacheHit(outputs=bytes(row[0])))

    def _insert(
        self, catalog_key: str, outputs: bytes, metadata: dict[str, str], now: datetime
    ) -> Result[None, CatalogFailure]:
        with self._database.write() as connection:
            inserted = connection.execute(
                "INSERT INTO catalog_entries (key, outputs, metadata, last_updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (catalog_key, outputs, json.dumps(metadata, sort_keys=True), format_time(now)),
            ).rowcount
        if inserted == 0:
            text = f"cache entry already exists for key {catalog_key}"
            return Failure(CatalogFailure(CatalogErrorKind.ALREADY_EXISTS, text))
        return Success(None)

    def _reserve(self, catalog_key: str, owner_id: str, heartbeat: timedelta) -> CatalogReservation:
        """R94 in one write transaction. "now" is read once the transaction holds the write lock: read before, it
        would be as old as the wait for the lock (under load, a large part of a 1 s heartbeat's 3 s lease), so a
        holder would be granted a lease already partly spent, and a taker would judge expiry by a past time."""
        with self._database.write() as connection:
            now = self._clock.now()
            row = connection.execute(
                "SELECT owner_id, heartbeat_microseconds, expires_at FROM catalog_reservations WHERE key = ?",
                (catalog_key,),
            ).fetchone()
            if row is not None:
                held = CatalogReservation(str(row[0]), int(row[1]) * _MICROSECOND, _stored_time(row[2], catalog_key))
                if held.owner_id != owner_id and not held.expires_at < now:
                    return held
            effective = self._limits.effective_heartbeat(heartbeat)
            granted = CatalogReservation(owner_id, effective, now + effective * self._limits.grace_multiplier)
            connection.execute(
                "INSERT INTO catalog_reservations (key, owner_id, heartbeat_microseconds, expires_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET owner_id = excluded.owner_id,"
                " heartbeat_microseconds = excluded.heartbeat_microseconds, expires_at = excluded.expires_at",
                (catalog_key, owner_id, effective // _MICROSECOND, format_time(granted.expires_at)),
            )
            return granted

    def _release(self, catalog_key: str, owner_id: str) -> Result[None, CatalogFailure]:
        with self._database.write() as connection:
            connection.execute(
                "DELETE FROM catalog_reservations WHERE key = ? AND owner_id = ?", (catalog_key, owner_id)
            )
        return Success(None)


def metadata_key_map(key: CacheKey, metadata: CacheMetadata) -> dict[str, str]:
    """R95: the key map Put stores with an entry (kept for inspection; lookups never read it)."""
    execution = metadata.task_execution_id
    return {
        "task-version": key.identifier.version,
        "exec-project": execution.project,
        "exec-domain": execution.domain,
        "execution-name": execution.run_name,
        "exec-node": execution.node_id,
        "exec-attempt": str(execution.retry_attempt),
        "exec-org": key.identifier.org,
        "created-at": format_time(metadata.created_at),
    }


def _stored_time(value: object, catalog_key: str) -> datetime:
    parsed = parse_time(str(value))
    if parsed is None:
        raise sqlite3.DatabaseError(f"catalog row {catalog_key} holds an unreadable time {value!r}")
    return parsed
