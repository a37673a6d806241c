"""Recording fakes for the two kinds of events: ActionEvents (event sink) and Kubernetes Warning events (recorder)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from threading import Lock
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent
from taskaction_core.interpreter.ports import Clock
from taskaction_core.observations import PortFailure
from taskaction_core.testing.faults import Faults

EVENT_SINK_METHODS: Final = ("record",)
RECORDER_METHODS: Final = ("warn",)
WARNING: Final = "Warning"


class RecordingEventSink:
    """The fake :class:`~taskaction_core.interpreter.ports.EventSink`, with the run service's dedup (R114).

    A batch is all-or-nothing (R113). Within and across batches the first event per ``dedup_key`` is kept and later
    ones are dropped and counted in :attr:`duplicates_dropped`, even when their content differs (Q11). A failure
    queued with ``applied=True`` stores the batch and still reports failure: the at-least-once case where the
    caller re-sends an event that is already durable.
    """

    def __init__(self) -> None:
        self.faults: Faults[PortFailure] = Faults(EVENT_SINK_METHODS)
        self._lock = Lock()
        self._events: list[ActionEvent] = []
        self._keys: set[Hashable] = set()
        self._batch_sizes: list[int] = []
        self._duplicates = 0

    def record(self, events: Sequence[ActionEvent]) -> Result[None, PortFailure]:
        if error := self.faults.enter("record"):
            return Failure(error)
        with self._lock:
            self._batch_sizes.append(len(events))
            for event in events:
                key = event.dedup_key
                if key in self._keys:
                    self._duplicates += 1
                    continue
                self._keys.add(key)
                self._events.append(event)
        if error := self.faults.after("record"):
            return Failure(error)
        return Success(None)

    @property
    def events(self) -> tuple[ActionEvent, ...]:
        """The stored events (first write per dedup key), in arrival order."""
        with self._lock:
            return tuple(self._events)

    @property
    def duplicates_dropped(self) -> int:
        with self._lock:
            return self._duplicates

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The size of every batch that reached the store, in order (failed batches are not listed)."""
        with self._lock:
            return tuple(self._batch_sizes)


@dataclass(frozen=True, slots=True)
class RecordedWarning:
    """One aggregated Kubernetes event on a TaskAction (R120–R123)."""

    namespace: str
    name: str
    reason: str
    action: str
    note: str
    count: int
    first_time: datetime
    last_time: datetime
    type: str = WARNING


class RecordingRecorder:
    """The fake :class:`~taskaction_core.interpreter.ports.Recorder`.

    Identical events (same object, type, reason, action and note) are aggregated the way the Kubernetes event
    correlator deduplicates them: one event whose ``count`` grows and whose ``last_time`` moves. The correlator's
    second stage (merging *similar* events with different notes after ten of them) is not modelled. An injected
    failure drops the event, as a real recorder does when the API server refuses it; :attr:`dropped` counts those.
    """

    def __init__(self, clock: Clock) -> None:
        self.faults: Faults[PortFailure] = Faults(RECORDER_METHODS)
        self._clock = clock
        self._lock = Lock()
        self._events: dict[tuple[str, ...], RecordedWarning] = {}
        self._dropped = 0

    def warn(self, namespace: str, name: str, reason: str, action: str, note: str) -> None:
        if self.faults.enter("warn") is not None:
            with self._lock:
                self._dropped += 1
            return
        now = self._clock.now()
        key = (namespace, name, WARNING, reason, action, note)
        with self._lock:
            seen = self._events.get(key)
            if seen is None:
                self._events[key] = RecordedWarning(namespace, name, reason, action, note, 1, now, now)
            else:
                self._events[key] = replace(seen, count=seen.count + 1, last_time=now)

    @property
    def events(self) -> tuple[RecordedWarning, ...]:
        """Aggregated events in order of first occurrence."""
        with self._lock:
            return tuple(self._events.values())

    def with_reason(self, reason: str) -> tuple[RecordedWarning, ...]:
        return tuple(event for event in self.events if event.reason == reason)

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped
