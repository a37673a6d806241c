"""The SQLite event sink and recorder beyond the shared contracts: flyteidl2 bytes on disk, queries by action, dedup
and aggregation across handles, logging, and storage failures (R113, R114, R120–R123)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from pyrsistent import pvector

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.adapters.sqlite import Database, SqliteEventSink, SqliteRecorder, StoredWarning
from taskaction_core.idl import encode_action_event_bytes
from taskaction_core.phases import ActionPhase
from taskaction_core.testing.fakes import ManualClock
from tests.adapters.factories import fresh_database_path

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def path() -> str:
    return str(fresh_database_path())


def an_event(name: str = "a", phase: ActionPhase = ActionPhase.RUNNING, cluster: str = "") -> ActionEvent:
    return ActionEvent(
        id=ActionId("p", "d", "run", name),
        attempt=1,
        phase=phase,
        version=0,
        updated_time=T0,
        reported_time=T0,
        cluster=cluster,
    )


def quick(path: str) -> Database:
    return Database(path, busy_timeout=timedelta(milliseconds=50))


# -- event sink ------------------------------------------------------------------------------------------------------


def test_sqlite_event_sink_stores_flyteidl2_bytes(path: str) -> None:
    event = an_event()
    SqliteEventSink(Database(path)).record([event]).unwrap()
    stored = Database(path).connection().execute("SELECT event FROM action_events").fetchone()[0]
    assert stored == encode_action_event_bytes(event)


def test_sqlite_event_sink_events_for_one_action_in_arrival_order(path: str) -> None:
    sink = SqliteEventSink(Database(path))
    sink.record([an_event("a", ActionPhase.QUEUED), an_event("b"), an_event("a", ActionPhase.SUCCEEDED)]).unwrap()
    found = sink.events_for(ActionId("p", "d", "run", "a")).unwrap()
    assert [event.phase for event in found] == [ActionPhase.QUEUED, ActionPhase.SUCCEEDED]
    assert sink.events_for(ActionId("p", "d", "other", "a")).unwrap() == ()


def test_sqlite_event_sink_first_write_wins_across_handles(path: str) -> None:
    first = an_event(cluster="first")
    SqliteEventSink(Database(path)).record([first]).unwrap()
    other = SqliteEventSink(Database(path))
    other.record([an_event(cluster="second")]).unwrap()
    assert other.events == (first,)


def test_sqlite_event_sink_empty_cluster_events_reads_back_absent(path: str) -> None:
    sink = SqliteEventSink(Database(path))
    event = ActionEvent(
        id=ActionId("p", "d", "run", "a"),
        attempt=1,
        phase=ActionPhase.RUNNING,
        version=0,
        updated_time=T0,
        reported_time=T0,
        cluster_events=pvector(),
    )
    sink.record([event]).unwrap()
    assert sink.events[0].cluster_events is None


def test_sqlite_event_sink_locked_file_fails_the_whole_batch(path: str) -> None:
    sink = SqliteEventSink(quick(path))
    with Database(path).write():
        failure = sink.record([an_event("a"), an_event("b")]).failure()
    assert "locked" in failure.message
    assert sink.events == ()


def test_sqlite_event_sink_batch_failing_midway_stores_nothing(path: str) -> None:
    sink = SqliteEventSink(Database(path))
    with Database(path).write() as connection:
        connection.execute(
            "CREATE TRIGGER refuse_b BEFORE INSERT ON action_events WHEN NEW.name = 'b'"
            " BEGIN SELECT RAISE(FAIL, 'refused'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="refused"):  # a constraint is a bug, so it raises
        sink.record([an_event("a"), an_event("b")])
    assert sink.events == ()


def test_sqlite_event_sink_corrupt_row_is_a_failure(path: str) -> None:
    sink = SqliteEventSink(Database(path))
    sink.record([an_event()]).unwrap()
    with Database(path).write() as connection:
        connection.execute("UPDATE action_events SET event = x'ffff'")
    failure = sink.events_for(ActionId("p", "d", "run", "a")).failure()
    assert failure.message.startswith("stored action event #1 is unreadable: ")


# -- recorder --------------------------------------------------------------------------------------------------------


def test_sqlite_recorder_identical_warnings_aggregate_with_count_and_times(path: str) -> None:
    clock = ManualClock(T0)
    recorder = SqliteRecorder(Database(path), clock)
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    clock.advance(timedelta(seconds=10))
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    assert recorder.events == (
        StoredWarning(
            "default", "a", "FailedPluginHandle", "HandlingPlugin", "boom", 2, T0, T0 + timedelta(seconds=10)
        ),
    )
    assert recorder.events[0].type == "Warning"


@pytest.mark.parametrize(
    "other",
    [
        ("default", "b", "FailedPluginHandle", "HandlingPlugin", "boom"),
        ("other", "a", "FailedPluginHandle", "HandlingPlugin", "boom"),
        ("default", "a", "FinalizationSkipped", "HandlingPlugin", "boom"),
        ("default", "a", "FailedPluginHandle", "FinalizingTaskAction", "boom"),
        ("default", "a", "FailedPluginHandle", "HandlingPlugin", "bang"),
    ],
)
def test_sqlite_recorder_different_warnings_stay_separate(path: str, other: tuple[str, str, str, str, str]) -> None:
    recorder = SqliteRecorder(Database(path), ManualClock(T0))
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    recorder.warn(*other)
    assert [event.count for event in recorder.events] == [1, 1]


def test_sqlite_recorder_handles_on_one_file_aggregate_into_one_event(path: str) -> None:
    clock = ManualClock(T0)
    for _ in range(3):
        SqliteRecorder(Database(path), clock).warn("default", "a", "FailedValidation", "ValidatingTaskAction", "x")
    assert [event.count for event in SqliteRecorder(Database(path), clock).events] == [3]


def test_sqlite_recorder_queries_by_object_and_reason(path: str) -> None:
    recorder = SqliteRecorder(Database(path), ManualClock(T0))
    recorder.warn("default", "a", "FailedValidation", "ValidatingTaskAction", "x")
    recorder.warn("default", "b", "FailedPluginHandle", "HandlingPlugin", "y")
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "z")
    assert [event.note for event in recorder.events_for("default", "a")] == ["x", "z"]
    assert [event.note for event in recorder.with_reason("FailedPluginHandle")] == ["y", "z"]


def test_sqlite_recorder_logs_each_warning(path: str, caplog: pytest.LogCaptureFixture) -> None:
    recorder = SqliteRecorder(Database(path), ManualClock(T0))
    with caplog.at_level(logging.WARNING, logger="taskaction_core.events"):
        recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
        recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    assert caplog.messages == ["Warning default/a FailedPluginHandle (HandlingPlugin): boom"] * 2


def test_sqlite_recorder_storage_failure_is_logged_counted_and_not_raised(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = SqliteRecorder(quick(path), ManualClock(T0))
    with caplog.at_level(logging.WARNING, logger="taskaction_core.events"), Database(path).write():
        recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    assert recorder.dropped == 1
    assert recorder.events == ()
    assert caplog.records[-1].levelno == logging.ERROR
    assert "could not store the FailedPluginHandle event on default/a" in caplog.messages[-1]
