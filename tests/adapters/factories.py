"""Factories that put the SQLite adapters into the contract suites (``tests/contract``): one fresh file per call.

Files live in one temporary directory per test session, removed when the interpreter exits. Watches poll every
5 ms so the watch contract tests stay fast.
"""

from __future__ import annotations

import itertools
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Final

from taskaction_core.adapters.sqlite import (
    Database,
    SqliteCatalog,
    SqliteEventSink,
    SqliteTaskActionStore,
)
from taskaction_core.interpreter.ports import CatalogLimits, Clock, DataStore

FAST_POLL: Final = timedelta(milliseconds=5)

_DIRECTORY = tempfile.TemporaryDirectory(prefix="taskaction-sqlite-")
_NUMBERS = itertools.count()


def fresh_database_path() -> Path:
    return Path(_DIRECTORY.name) / f"db-{next(_NUMBERS)}.sqlite"


def fresh_database() -> Database:
    return Database(fresh_database_path())


def sqlite_store(clock: Clock) -> SqliteTaskActionStore:
    return SqliteTaskActionStore(fresh_database(), clock, poll_interval=FAST_POLL)


def sqlite_catalog(data_store: DataStore, clock: Clock, limits: CatalogLimits) -> SqliteCatalog:
    return SqliteCatalog(fresh_database(), data_store, clock, limits)


def sqlite_event_sink() -> SqliteEventSink:
    return SqliteEventSink(fresh_database())
