"""The change-feed watch of the SQLite store (R29): polls ``changes`` for rows newer than the last one it returned.

See :mod:`~taskaction_core.adapters.sqlite.store` for the feed's guarantees (no holes, increasing resourceVersions,
pruned to the store's retention).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from datetime import timedelta
from typing import Final

from taskaction_core.adapters.sqlite.db import Database, is_unavailable
from taskaction_core.interpreter.ports import WatchEvent, WatchEventType

__all__ = ["SqliteWatch"]

_WATCH_BATCH: Final = 500
_NEW_CHANGES: Final = (
    "SELECT resource_version, type, namespace, name FROM changes"
    " WHERE resource_version > ? ORDER BY resource_version LIMIT ?"
)
_EVENT_TYPES: Final = {kind.value: kind for kind in WatchEventType}
"""The stored ``type`` text → its enum member: a dict lookup, where ``WatchEventType(text)`` goes through the enum
machinery for every row."""

_log = logging.getLogger("taskaction_core.adapters.sqlite.store")  # the logger it had inside store.py


class SqliteWatch:
    """A :class:`~taskaction_core.interpreter.ports.Watch` polling the ``changes`` table. Thread-safe.

    Sees the writes of every process using the file, in resourceVersion order, from ``after`` on.
    """

    def __init__(self, database: Database, after: int, poll_interval: timedelta) -> None:
        self._database = database
        self._after = after
        self._poll_seconds = poll_interval.total_seconds()
        self._buffer: deque[WatchEvent] = deque()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def get(self, timeout: float | None = None) -> WatchEvent | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed.is_set():
            event = self._next()
            if event is not None:
                return event
            wait = self._poll_seconds if deadline is None else min(self._poll_seconds, deadline - time.monotonic())
            if wait <= 0:
                return None
            self._closed.wait(wait)
        return None

    def close(self) -> None:
        self._closed.set()

    def _next(self) -> WatchEvent | None:
        with self._lock:
            if not self._buffer:
                self._buffer.extend(self._poll())
            return self._buffer.popleft() if self._buffer else None

    def _poll(self) -> list[WatchEvent]:
        """New rows of ``changes``; a failed read is logged and retried at the next poll (reads rarely fail in WAL)."""
        try:
            # One statement outside an explicit transaction reads one snapshot (SQLite autocommit), as the store's
            # get does: a poll is one statement, not BEGIN, SELECT and COMMIT.
            rows = self._database.connection().execute(_NEW_CHANGES, (self._after, _WATCH_BATCH)).fetchall()
        except sqlite3.Error as error:
            if not is_unavailable(error):
                raise
            _log.warning("watch on %s: polling the change feed failed, retrying: %s", self._database.path, error)
            return []
        if rows and int(rows[0][0]) != self._after + 1:
            _log.error(
                "watch on %s fell behind the change feed's retention: resourceVersions %d..%d were missed; relist",
                self._database.path,
                self._after + 1,
                int(rows[0][0]) - 1,
            )
        if rows:
            self._after = int(rows[-1][0])
        return [WatchEvent(_EVENT_TYPES[kind], namespace, name, str(rv)) for rv, kind, namespace, name in rows]
