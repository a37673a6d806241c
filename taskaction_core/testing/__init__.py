"""The testing toolkit shipped for users (design.md §1, §7): in-memory fakes of every port with fault injection.

Import the fakes from :mod:`taskaction_core.testing.fakes` (re-exported here) and the fault-injection mechanism from
:mod:`taskaction_core.testing.faults`. Nothing in the pure core imports this package.
"""

from taskaction_core.testing.fakes import (
    ConcurrentCallDetected,
    DictSecretManager,
    HandleStep,
    InMemoryCatalog,
    InMemoryDataStore,
    InMemoryTaskActionStore,
    ManualClock,
    PutState,
    QuotaResourceManager,
    RecordingEventSink,
    RecordingRecorder,
    ResetState,
    ScriptedPlugin,
)
from taskaction_core.testing.faults import Faults, StoreFaults

__all__ = [
    "ConcurrentCallDetected",
    "DictSecretManager",
    "Faults",
    "HandleStep",
    "InMemoryCatalog",
    "InMemoryDataStore",
    "InMemoryTaskActionStore",
    "ManualClock",
    "PutState",
    "QuotaResourceManager",
    "RecordingEventSink",
    "RecordingRecorder",
    "ResetState",
    "ScriptedPlugin",
    "StoreFaults",
]
