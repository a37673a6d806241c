"""Kubernetes-style Warning events on TaskActions, kept in SQLite and logged (R120–R123).

Theory of operation. Identical events (same object, type, reason, action and note) are aggregated the way the
Kubernetes event correlator deduplicates them, like the recording fake: one row whose ``count`` grows and whose
``last_time`` moves, written with one ``INSERT ... ON CONFLICT DO UPDATE`` so that processes sharing the file
aggregate into the same row. The correlator's second stage (merging *similar* events after ten of them) is not
modelled.

Every warning is also logged at WARNING level on :data:`LOGGER` (``taskaction_core.events``), so a deployment without
anyone reading the table still sees them. The port is fire and forget (R121: Go never checks the recorder): a
storage failure is logged at ERROR level, counted in :attr:`SqliteRecorder.dropped`, and never raised.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from taskaction_core.adapters.serialization import format_time, parse_time
from taskaction_core.adapters.sqlite.db import Database, is_unavailable
from taskaction_core.interpreter.ports import Clock

__all__ = ["LOGGER", "WARNING", "SqliteRecorder", "StoredWarning"]

WARNING: Final = "Warning"
LOGGER: Final = logging.getLogger("taskaction_core.events")

_UPSERT: Final = (
    "INSERT INTO warnings (namespace, name, type, reason, action, note, count, first_time, last_time)"
    " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (namespace, name, type, reason, action, note)"
    " DO UPDATE SET count = count + 1, last_time = excluded.last_time"
)
_COLUMNS: Final = "namespace, name, reason, action, note, count, first_time, last_time, type"


@dataclass(frozen=True, slots=True)
class StoredWarning:
    """One aggregated Kubernetes event on a TaskAction (R120–R123); the fields of the fake's ``RecordedWarning``."""

    namespace: str
    name: str
    reason: str
    action: str
    note: str
    count: int
    first_time: datetime
    last_time: datetime
    type: str = WARNING


class SqliteRecorder:
    """The SQLite :class:`~taskaction_core.interpreter.ports.Recorder`. Thread- and process-safe; never raises for
    storage failures."""

    def __init__(self, database: Database, clock: Clock, logger: logging.Logger = LOGGER) -> None:
        self._database = database
        self._clock = clock
        self._logger = logger
        self._lock = threading.Lock()
        self._dropped = 0

    def warn(self, namespace: str, name: str, reason: str, action: str, note: str) -> None:
        self._logger.warning("%s %s/%s %s (%s): %s", WARNING, namespace, name, reason, action, note)
        moment = format_time(self._clock.now())
        try:
            with self._database.write() as connection:
                connection.execute(_UPSERT, (namespace, name, WARNING, reason, action, note, moment, moment))
        except sqlite3.Error as error:
            if not is_unavailable(error):
                raise
            with self._lock:
                self._dropped += 1
            self._logger.error("could not store the %s event on %s/%s: %s", reason, namespace, name, error)

    @property
    def events(self) -> tuple[StoredWarning, ...]:
        """Every aggregated event, in order of first occurrence. Raises on a storage failure (a reader's call)."""
        return self._select("", ())

    def events_for(self, namespace: str, name: str) -> tuple[StoredWarning, ...]:
        """The events of one TaskAction, in order of first occurrence (what ``taskaction describe`` shows)."""
        return self._select("WHERE namespace = ? AND name = ?", (namespace, name))

    def with_reason(self, reason: str) -> tuple[StoredWarning, ...]:
        return self._select("WHERE reason = ?", (reason,))

    @property
    def dropped(self) -> int:
        """Warnings logged but not stored because the file could not be written."""
        with self._lock:
            return self._dropped

    def _select(self, where: str, parameters: tuple[str, ...]) -> tuple[StoredWarning, ...]:
        with self._database.read() as connection:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM warnings {where} ORDER BY seq", parameters).fetchall()
        return tuple(_warning(row) for row in rows)


def _warning(row: tuple[object, ...]) -> StoredWarning:
    namespace, name, reason, action, note, count, first_time, last_time, type_ = row
    return StoredWarning(
        namespace=str(namespace),
        name=str(name),
        reason=str(reason),
        action=str(action),
        note=str(note),
        count=int(str(count)),
        first_time=_time(first_time),
        last_time=_time(last_time),
        type=str(type_),
    )


def _time(value: object) -> datetime:
    parsed = parse_time(str(value))
    if parsed is None:
        raise sqlite3.DatabaseError(f"warnings row holds an unreadable time {value!r}")
    return parsed
