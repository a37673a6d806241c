"""The recorder fake aggregates Kubernetes Warning events (R120–R123); the manual clock is the only time source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.interpreter.ports import Clock, Recorder
from taskaction_core.testing.fakes import ManualClock, RecordedWarning, RecordingRecorder

T0 = datetime(2026, 3, 1, tzinfo=UTC)

CLOCK_FACTORIES: dict[str, Callable[[datetime], Clock]] = {
    "manual": ManualClock,
    "system": lambda _start: SystemClock(),
}


def test_recorder_identical_warnings_aggregate_with_count_and_times() -> None:
    clock = ManualClock(T0)
    recorder = RecordingRecorder(clock)
    port: Recorder = recorder
    port.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    clock.advance(timedelta(seconds=10))
    port.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    assert recorder.events == (
        RecordedWarning(
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
def test_recorder_different_warnings_stay_separate(other: tuple[str, str, str, str, str]) -> None:
    recorder = RecordingRecorder(ManualClock(T0))
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "boom")
    recorder.warn(*other)
    assert [event.count for event in recorder.events] == [1, 1]


def test_recorder_with_reason_filters() -> None:
    recorder = RecordingRecorder(ManualClock(T0))
    recorder.warn("default", "a", "FailedValidation", "ValidatingTaskAction", "x")
    recorder.warn("default", "a", "FailedPluginHandle", "HandlingPlugin", "y")
    assert [event.note for event in recorder.with_reason("FailedPluginHandle")] == ["y"]


@pytest.fixture(params=sorted(CLOCK_FACTORIES))
def clock(request: pytest.FixtureRequest) -> Clock:
    return CLOCK_FACTORIES[request.param](T0)


def test_clock_now_is_aware_utc(clock: Clock) -> None:
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0


def test_manual_clock_advance_and_set() -> None:
    clock = ManualClock(T0)
    assert clock.advance(timedelta(seconds=90)) == T0 + timedelta(seconds=90)
    clock.set(T0 - timedelta(days=1))
    assert clock.now() == T0 - timedelta(days=1)


def test_manual_clock_converts_other_zones_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    clock = ManualClock(datetime(2026, 3, 1, 2, 0, tzinfo=plus_two))
    assert clock.now() == T0
    assert clock.now().tzinfo == UTC


def test_manual_clock_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 3, 1))


def test_manual_clock_rejects_negative_advance() -> None:
    with pytest.raises(ValueError, match="negative"):
        ManualClock(T0).advance(timedelta(seconds=-1))
