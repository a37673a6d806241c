"""The embedded default adapters on one SQLite file (design.md §7): store, catalog, event sink, recorder.

Open a :class:`Database` once per file and hand it to the adapters; several processes may open the same file::

    database = Database("taskaction.db")
    store = SqliteTaskActionStore(database, SystemClock())
    catalog = SqliteCatalog(database, data_store, SystemClock())

See :mod:`~taskaction_core.adapters.sqlite.db` for the concurrency and durability settings.
"""

from taskaction_core.adapters.sqlite.catalog import SqliteCatalog
from taskaction_core.adapters.sqlite.db import Database, SchemaTooNewError, Synchronous
from taskaction_core.adapters.sqlite.events import SqliteEventSink
from taskaction_core.adapters.sqlite.recorder import SqliteRecorder, StoredWarning
from taskaction_core.adapters.sqlite.store import SqliteTaskActionStore, SqliteWatch

__all__ = [
    "Database",
    "SchemaTooNewError",
    "SqliteCatalog",
    "SqliteEventSink",
    "SqliteRecorder",
    "SqliteTaskActionStore",
    "SqliteWatch",
    "StoredWarning",
    "Synchronous",
]
