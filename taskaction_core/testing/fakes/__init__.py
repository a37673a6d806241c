"""In-memory fakes of every port, with fault injection (design.md §7). All are thread-safe.

Each fake has a ``faults`` attribute (:class:`~taskaction_core.testing.faults.Faults`) to script failures, lost
acknowledgements and latency per method, and diagnostic readers that are not port calls.
"""

from taskaction_core.testing.fakes.catalog import CatalogEntry, InMemoryCatalog
from taskaction_core.testing.fakes.catalog_key import derive_catalog_key
from taskaction_core.testing.fakes.clock import ManualClock
from taskaction_core.testing.fakes.data_store import InMemoryDataStore
from taskaction_core.testing.fakes.events import RecordedWarning, RecordingEventSink, RecordingRecorder
from taskaction_core.testing.fakes.managers import DictSecretManager, QuotaResourceManager
from taskaction_core.testing.fakes.plugin import (
    ConcurrentCall,
    ConcurrentCallDetected,
    HandleStep,
    PluginCall,
    PutState,
    ResetState,
    ScriptedPlugin,
    Step,
)
from taskaction_core.testing.fakes.store import InMemoryTaskActionStore, InMemoryWatch

__all__ = [
    "CatalogEntry",
    "ConcurrentCall",
    "ConcurrentCallDetected",
    "DictSecretManager",
    "HandleStep",
    "InMemoryCatalog",
    "InMemoryDataStore",
    "InMemoryTaskActionStore",
    "InMemoryWatch",
    "ManualClock",
    "PluginCall",
    "PutState",
    "QuotaResourceManager",
    "RecordedWarning",
    "RecordingEventSink",
    "RecordingRecorder",
    "ResetState",
    "ScriptedPlugin",
    "Step",
    "derive_catalog_key",
]
