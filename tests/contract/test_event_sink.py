"""Contract of the event sink port: one batch one fate, first write per dedup key wins (R113, R114, Q11).

Runs against every adapter in :data:`EVENT_SINK_FACTORIES`. The suite reads back what was stored through
:class:`ReadableEventSink`, which every adapter under test provides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import pytest

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.interpreter.ports import EventSink
from taskaction_core.phases import ActionPhase
from taskaction_core.testing.fakes import RecordingEventSink
from tests.adapters.factories import sqlite_event_sink

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class ReadableEventSink(EventSink, Protocol):
    @property
    def events(self) -> tuple[ActionEvent, ...]: ...


EVENT_SINK_FACTORIES: dict[str, Callable[[], ReadableEventSink]] = {
    "recording": RecordingEventSink,
    "sqlite": sqlite_event_sink,
}


@pytest.fixture(params=sorted(EVENT_SINK_FACTORIES))
def sink(request: pytest.FixtureRequest) -> ReadableEventSink:
    return EVENT_SINK_FACTORIES[request.param]()


def an_event(
    name: str = "a", phase: ActionPhase = ActionPhase.RUNNING, version: int = 0, attempt: int = 1, cluster: str = ""
) -> ActionEvent:
    return ActionEvent(
        id=ActionId("p", "d", "run", name),
        attempt=attempt,
        phase=phase,
        version=version,
        updated_time=T0,
        reported_time=T0,
        cluster=cluster,
    )


def test_event_sink_records_batch_in_order(sink: ReadableEventSink) -> None:
    batch = [an_event("a"), an_event("b"), an_event("a", ActionPhase.SUCCEEDED)]
    sink.record(batch).unwrap()
    assert sink.events == tuple(batch)


def test_event_sink_empty_batch_succeeds(sink: ReadableEventSink) -> None:
    assert sink.record([]).unwrap() is None
    assert sink.events == ()


def test_event_sink_first_write_per_dedup_key_wins_across_batches(sink: ReadableEventSink) -> None:
    first = an_event(cluster="first")
    sink.record([first]).unwrap()
    sink.record([an_event(cluster="second")]).unwrap()
    assert sink.events == (first,)


def test_event_sink_duplicate_within_batch_is_dropped(sink: ReadableEventSink) -> None:
    first = an_event(cluster="first")
    sink.record([first, an_event(cluster="second"), an_event(version=1)]).unwrap()
    assert sink.events == (first, an_event(version=1))


@pytest.mark.parametrize(
    "different",
    [
        an_event(version=1),
        an_event(attempt=2),
        an_event(phase=ActionPhase.QUEUED),
        an_event(name="b"),
    ],
)
def test_event_sink_each_dedup_key_field_distinguishes_events(sink: ReadableEventSink, different: ActionEvent) -> None:
    sink.record([an_event(), different]).unwrap()
    assert len(sink.events) == 2


def test_recording_event_sink_counts_duplicates_and_batches() -> None:
    sink = RecordingEventSink()
    sink.record([an_event(), an_event()]).unwrap()
    sink.record([an_event()]).unwrap()
    assert sink.duplicates_dropped == 2
    assert sink.batch_sizes == (2, 1)
