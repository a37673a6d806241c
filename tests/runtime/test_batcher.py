"""The event batcher (R111–R115, Q28): batching by size and by time, one fate per batch, timeouts, backpressure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import pytest
from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.observations import PortFailure
from taskaction_core.phases import ActionPhase
from taskaction_core.runtime.batcher import (
    FLUSH_WORKERS,
    MAX_BATCH_DELAY,
    MAX_BATCH_SIZE,
    QUEUE_DEPTH,
    EventBatcher,
)
from taskaction_core.testing import RecordingEventSink
from taskaction_core.testing.builders import T0
from tests.runtime.fake_time import WAIT_TIMEOUT, FakeMonotonicClock

Outcome = Result[None, PortFailure]


def an_event(index: int) -> ActionEvent:
    return ActionEvent(ActionId("p", "d", "run1", f"a{index}"), 1, ActionPhase.RUNNING, 0, T0, T0)


def names(events: Sequence[ActionEvent]) -> list[str]:
    return [event.id.name for event in events]


class Caller:
    """One thread calling ``batcher.record``; :meth:`outcome` joins it."""

    def __init__(self, batcher: EventBatcher, events: Sequence[ActionEvent], timeout: float | None = None) -> None:
        self._result: list[Outcome] = []
        self._thread = threading.Thread(
            target=lambda: self._result.append(batcher.record(events, timeout=timeout)), daemon=True
        )
        self._thread.start()

    def outcome(self) -> Outcome:
        self._thread.join(WAIT_TIMEOUT)
        assert self._result, "the caller is still waiting"
        return self._result[0]


class GatedSink:
    """A sink whose ``record`` blocks until :attr:`release` is set; :attr:`entered` is set on each call."""

    def __init__(self) -> None:
        self.inner = RecordingEventSink()
        self.entered = threading.Event()
        self.release = threading.Event()

    def record(self, events: Sequence[ActionEvent]) -> Outcome:
        self.entered.set()
        assert self.release.wait(WAIT_TIMEOUT)
        return self.inner.record(events)


def eventually(predicate: Callable[[], bool]) -> None:
    """Poll a condition other threads will make true; fail after WAIT_TIMEOUT wall seconds."""
    give_up = time.monotonic() + WAIT_TIMEOUT
    while not predicate():
        assert time.monotonic() < give_up, "condition never became true"
        time.sleep(0.001)


@contextmanager
def batching(sink: RecordingEventSink | GatedSink, clock: FakeMonotonicClock, **options: int) -> Iterator[EventBatcher]:
    batcher = EventBatcher(sink, clock=clock, **options)
    batcher.start()
    try:
        yield batcher
    finally:
        if isinstance(sink, GatedSink):
            sink.release.set()
        batcher.stop(timeout=WAIT_TIMEOUT)


def accepted(batcher: EventBatcher, count: int) -> Callable[[], bool]:
    return lambda: batcher.stats().accepted == count


def callers_in_order(batcher: EventBatcher, events: Sequence[ActionEvent]) -> list[Caller]:
    """One caller per event, each started once the previous one's request was accepted: a known arrival order."""
    started: list[Caller] = []
    for event in events:
        expected = batcher.stats().accepted + 1
        started.append(Caller(batcher, [event]))
        eventually(accepted(batcher, expected))
    return started


# -- batching -----------------------------------------------------------------------------------------------------


def test_event_batcher_defaults_are_the_go_values() -> None:
    assert (MAX_BATCH_SIZE, MAX_BATCH_DELAY, FLUSH_WORKERS, QUEUE_DEPTH) == (400, 0.025, 32, 8192)


def test_event_batcher_closes_a_batch_at_400_events_without_waiting_for_the_timer() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    with batching(sink, clock) as batcher:  # the clock never moves: only the size can close the first batch
        first = [Caller(batcher, [an_event(i)]) for i in range(400)]
        assert all(isinstance(caller.outcome(), Success) for caller in first)
        assert list(sink.batch_sizes) == [400]

        last = Caller(batcher, [an_event(400)])
        clock.await_blocked(2, with_deadline=True)  # the last caller and the collector's 25 ms timer
        clock.advance(MAX_BATCH_DELAY)

        assert last.outcome() == Success(None)
        assert list(sink.batch_sizes) == [400, 1]


def test_event_batcher_flushes_a_partial_batch_when_25ms_pass() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    with batching(sink, clock) as batcher:
        callers = [Caller(batcher, [an_event(i)]) for i in range(3)]
        eventually(lambda: batcher.stats().accepted == 3)
        clock.await_blocked(4, with_deadline=True)

        clock.advance(0.024)
        clock.await_blocked(4, with_deadline=True, since=clock.monotonic())  # all re-checked the time: not yet
        assert list(sink.batch_sizes) == []
        clock.advance(0.001)

        assert [caller.outcome() for caller in callers] == [Success(None)] * 3
        assert list(sink.batch_sizes) == [3]


def test_event_batcher_sends_a_batch_in_arrival_order_in_one_call() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    with batching(sink, clock, max_batch_size=5) as batcher:
        callers = callers_in_order(batcher, [an_event(i) for i in (3, 1, 4, 0, 2)])

        assert [caller.outcome() for caller in callers] == [Success(None)] * 5
        assert sink.batch_sizes == (5,)
        assert names(sink.events) == ["a3", "a1", "a4", "a0", "a2"]


def test_event_batcher_never_splits_a_request_across_batches() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    with batching(sink, clock, max_batch_size=3) as batcher:  # the clock never moves: sizes close every batch
        pair = Caller(batcher, [an_event(0), an_event(1)])
        eventually(lambda: batcher.stats().accepted == 1)
        other_pair = Caller(batcher, [an_event(2), an_event(3)])  # 2 + 2 > 3: the first pair leaves alone
        assert pair.outcome() == Success(None)
        big = Caller(batcher, [an_event(i) for i in range(10, 15)])  # larger than a batch: a batch of its own

        assert other_pair.outcome() == Success(None)
        assert big.outcome() == Success(None)
        assert sorted(sink.batch_sizes) == [2, 2, 5]


# -- one fate per batch -------------------------------------------------------------------------------------------


def test_event_batcher_gives_a_failed_batch_s_error_to_every_caller() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    sink.faults.fail_next("record", PortFailure("run service: one event was invalid"))
    with batching(sink, clock, max_batch_size=3) as batcher:
        callers = [Caller(batcher, [an_event(i)]) for i in range(3)]
        outcomes = [caller.outcome() for caller in callers]

        assert outcomes == [Failure(PortFailure("run service: one event was invalid"))] * 3
        assert sink.events == ()
        assert batcher.stats().failed_batches == 1
        retried = [Caller(batcher, [an_event(i)]) for i in range(3)]  # R114: each caller's next pass re-sends
        assert [caller.outcome() for caller in retried] == [Success(None)] * 3


def test_event_batcher_sink_that_raises_fails_every_caller_of_the_batch() -> None:
    class Raising:
        def record(self, events: Sequence[ActionEvent]) -> Outcome:
            raise ConnectionError("connection reset")

    clock = FakeMonotonicClock()
    batcher = EventBatcher(Raising(), clock=clock, max_batch_size=2)
    with batcher:
        callers = [Caller(batcher, [an_event(i)]) for i in range(2)]

        reset = Failure(PortFailure("ConnectionError: connection reset"))
        assert [caller.outcome() for caller in callers] == [reset, reset]


# -- timeouts and backpressure ------------------------------------------------------------------------------------


def test_event_batcher_caller_timeout_fails_the_caller_but_the_event_may_still_be_sent() -> None:
    sink, clock = GatedSink(), FakeMonotonicClock()
    with batching(sink, clock, max_batch_size=1) as batcher:
        caller = Caller(batcher, [an_event(0)], timeout=1.0)
        assert sink.entered.wait(WAIT_TIMEOUT)
        clock.await_blocked(1, with_deadline=True)

        clock.advance(1.0)
        outcome = caller.outcome()
        sink.release.set()

        assert isinstance(outcome, Failure)
        assert "timed out after 1.0s" in outcome.failure().message
        eventually(lambda: batcher.stats().batches == 1)
        assert names(sink.inner.events) == ["a0"]  # Q28: sent after its caller gave up
        assert batcher.stats().caller_timeouts == 1


def test_event_batcher_full_queue_blocks_callers_then_fails_them_at_their_timeout() -> None:
    sink, clock = GatedSink(), FakeMonotonicClock()
    with batching(sink, clock, max_batch_size=1, workers=1, queue_depth=2) as batcher:
        in_sink = Caller(batcher, [an_event(0)])
        assert sink.entered.wait(WAIT_TIMEOUT)
        in_channel = Caller(batcher, [an_event(1)])
        eventually(lambda: batcher.stats().accepted == 2 and batcher.stats().queued == 0)
        in_collector = Caller(batcher, [an_event(2)])  # the collector blocks handing it over: the channel is full
        eventually(lambda: batcher.stats().accepted == 3 and batcher.stats().queued == 0)
        queued = [Caller(batcher, [an_event(i)]) for i in (3, 4)]
        eventually(lambda: batcher.stats().queued == 2)

        refused = Caller(batcher, [an_event(5)], timeout=1.0)
        clock.await_blocked(6, with_deadline=True)  # five callers awaiting results, one awaiting space
        clock.advance(1.0)
        outcome = refused.outcome()
        sink.release.set()

        assert isinstance(outcome, Failure)
        assert "queue full" in outcome.failure().message
        assert [c.outcome() for c in (in_sink, in_channel, in_collector, *queued)] == [Success(None)] * 5
        assert sorted(names(sink.inner.events)) == ["a0", "a1", "a2", "a3", "a4"]


# -- lifecycle ----------------------------------------------------------------------------------------------------


def test_event_batcher_stop_flushes_pending_events_then_refuses_new_ones() -> None:
    sink, clock = RecordingEventSink(), FakeMonotonicClock()
    batcher = EventBatcher(sink, clock=clock)
    batcher.start()
    callers = [Caller(batcher, [an_event(i)]) for i in range(3)]
    eventually(lambda: batcher.stats().accepted == 3)

    batcher.stop(timeout=WAIT_TIMEOUT)  # the clock never moved: only the stop can flush them

    assert [caller.outcome() for caller in callers] == [Success(None)] * 3
    assert sink.batch_sizes == (3,)
    late = batcher.record([an_event(9)])
    assert isinstance(late, Failure) and "not running" in late.failure().message


def test_event_batcher_before_start_refuses_and_an_empty_record_succeeds() -> None:
    sink = RecordingEventSink()
    batcher = EventBatcher(sink)

    refused = batcher.record([an_event(0)])

    assert isinstance(refused, Failure) and "not running (new)" in refused.failure().message
    assert batcher.record([]) == Success(None)
    assert sink.batch_sizes == ()
    batcher.stop()
    with pytest.raises(RuntimeError, match="already started"):
        batcher.start()


def test_event_batcher_rejects_a_zero_batch_size() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        EventBatcher(RecordingEventSink(), max_batch_size=0)
