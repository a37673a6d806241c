"""The ActionEvent sink on SQLite, with the run service's dedup (R113, R114, Q11).

Theory of operation. Each event becomes one row of ``action_events`` whose unique key is the run service's primary
key (project, domain, run_name, name, attempt, phase, version), inserted with ``ON CONFLICT DO NOTHING``: the
first write for a key wins and later events with that key are dropped silently, whatever their content, within a
batch and across batches and processes. A batch is one transaction, so it has one fate (R113): every event is
durable, or the call fails and none is.

The row keeps the event as ``flyteidl2.workflow.ActionEvent`` bytes (:func:`~taskaction_core.idl.
encode_action_event_bytes`), the form the run service receives; reading decodes them back. Protobuf cannot tell an
absent repeated field from an empty one, so an event recorded with an empty ``cluster_events`` list reads back with
``cluster_events=None``, exactly as the run service would see it. ``seq`` keeps arrival order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.adapters.sqlite.db import Database, is_unavailable
from taskaction_core.idl import decode_action_event_bytes, encode_action_event_bytes
from taskaction_core.observations import PortFailure

__all__ = ["SqliteEventSink"]

_INSERT: Final = (
    "INSERT INTO action_events (project, domain, run_name, name, attempt, phase, version, event)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (project, domain, run_name, name, attempt, phase, version) DO NOTHING"
)


_RECORDED: Final[Result[None, PortFailure]] = Success(None)


def _row(event: ActionEvent) -> tuple[str, str, str, str, int, int, int, bytes]:
    """The ``action_events`` row of ``event``: its R114 key, then its flyteidl2 bytes (encoded before the write
    begins, so the write lock is not held while protobuf runs)."""
    return (*event.dedup_key, encode_action_event_bytes(event))


class SqliteEventSink:
    """The SQLite :class:`~taskaction_core.interpreter.ports.EventSink`. Thread- and process-safe."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(self, events: Sequence[ActionEvent]) -> Result[None, PortFailure]:
        if not events:
            return _RECORDED
        try:
            if len(events) == 1:  # the driver's direct mode (R115): one event per call, cheaper than executemany
                row = _row(events[0])
                with self._database.write() as connection:
                    connection.execute(_INSERT, row)
            else:
                rows = [_row(event) for event in events]
                with self._database.write() as connection:
                    connection.executemany(_INSERT, rows)
        except sqlite3.Error as error:
            if not is_unavailable(error):
                raise
            return Failure(PortFailure(f"sqlite event sink {self._database.path}: {error}"))
        return _RECORDED

    def events_for(self, action: ActionId) -> Result[tuple[ActionEvent, ...], PortFailure]:
        """The stored events of one action, every attempt, in arrival order (what ``taskaction events`` prints)."""
        return self._select(
            "WHERE project = ? AND domain = ? AND run_name = ? AND name = ?",
            (action.project, action.domain, action.run_name, action.name),
        )

    @property
    def events(self) -> tuple[ActionEvent, ...]:
        """Every stored event (the first write per dedup key), in arrival order. Raises on a storage failure."""
        return self._select("", ()).unwrap()

    def _select(self, where: str, parameters: tuple[str, ...]) -> Result[tuple[ActionEvent, ...], PortFailure]:
        try:
            with self._database.read() as connection:
                rows = connection.execute(f"SELECT seq, event FROM action_events {where} ORDER BY seq", parameters)
                encoded = [(int(seq), bytes(event)) for seq, event in rows]
        except sqlite3.Error as error:
            if not is_unavailable(error):
                raise
            return Failure(PortFailure(f"sqlite event sink {self._database.path}: {error}"))
        decoded: list[ActionEvent] = []
        for seq, data in encoded:
            event = decode_action_event_bytes(data)
            if not isinstance(event, Success):
                return Failure(PortFailure(f"stored action event #{seq} is unreadable: {event.failure().message}"))
            decoded.append(event.unwrap())
        return Success(tuple(decoded))
