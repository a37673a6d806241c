"""The ActionEvent batcher (R111–R115): an :class:`EventSink` that groups concurrent callers' events into batches.

    batcher = EventBatcher(sink)
    batcher.start()
    ports = Ports(..., events=batcher)          # every pass now records through the batcher
    ...
    batcher.stop()                              # flushes what is pending

Theory of operation. A caller's :meth:`EventBatcher.record` enqueues one request into a bounded intake queue (8192
requests; when full the caller blocks until there is space or its timeout ends, and then the event is not sent, R111).
A single collector thread takes the first request, starts a 25 ms timer, and keeps adding requests until the batch
holds 400 events or the timer fires (R112). It hands the batch to a pool of flush workers through a bounded channel
(one slot per worker); when every worker is busy and the channel is full the collector blocks, so the intake queue
fills up and callers block: backpressure, not unbounded memory. A flush worker makes **one** ``record`` call on the
wrapped sink with every event of the batch in arrival order; its single result goes to **every** caller in the batch
(R113, Q28: one batch, one fate).

A caller waits for its result at most ``caller_timeout`` seconds; then it gets a failure, although its event may still
be sent later (R111, Q28). Both are harmless: delivery is at-least-once and the run service keeps the first event per
key (R114). A request is never split: a caller's events all share one batch and one fate; a request larger than the
batch size becomes a batch of its own.

Go's flush runs under a fresh 30 s timeout not linked to callers (R113). ``EventSink.record`` has no deadline
parameter, so that timeout belongs to the wrapped sink: a network adapter sets :data:`FLUSH_TIMEOUT` on its own calls.
Tracing links (R113) are not reproduced.

Without a batcher (R115, direct mode) the driver calls the sink with one event per call; both modes are EventSinks.

Go: ``executor/pkg/controller/event_batcher.go`` (``Record``, ``collect``, ``flush``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent
from taskaction_core.interpreter.ports import EventSink
from taskaction_core.observations import PortFailure
from taskaction_core.runtime.workqueue import SYSTEM_CLOCK, MonotonicClock

log = logging.getLogger("taskaction_core.runtime.batcher")

MAX_BATCH_SIZE: Final = 400
"""R112: events per batch."""
MAX_BATCH_DELAY: Final = 0.025
"""R112: seconds from a batch's first request to its flush."""
FLUSH_WORKERS: Final = 32
"""R112: flush workers; the hand-off channel has as many slots."""
QUEUE_DEPTH: Final = 8192
"""R111: requests the intake queue holds before callers block."""
FLUSH_TIMEOUT: Final = 30.0
"""R113: seconds a flush may take; enforced by the wrapped sink (see the module docstring)."""
CALLER_TIMEOUT: Final = FLUSH_TIMEOUT + 5.0
"""Seconds a caller waits for space and for its batch's result. Go uses the caller's context; a Python caller has
none, so this bounds the wait: a flush that honours :data:`FLUSH_TIMEOUT` answers before it."""


class _State(Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(eq=False)
class _Request:
    """One caller's events and, once its batch is flushed, the batch's result."""

    events: tuple[ActionEvent, ...]
    done: threading.Condition = field(default_factory=threading.Condition)
    result: Result[None, PortFailure] | None = None

    def settle(self, result: Result[None, PortFailure]) -> None:
        with self.done:
            self.result = result
            self.done.notify_all()


@dataclass(frozen=True, slots=True)
class BatcherStats:
    accepted: int
    """Requests accepted into the intake queue since start."""
    queued: int
    """Requests in the intake queue now."""
    batches: int
    """Batches flushed (``record`` calls made on the wrapped sink)."""
    events: int
    """Events in those batches."""
    failed_batches: int
    caller_timeouts: int


class EventBatcher:
    """R111–R115. Thread-safe. Start it before use; :meth:`stop` flushes what is pending."""

    def __init__(
        self,
        sink: EventSink,
        *,
        max_batch_size: int = MAX_BATCH_SIZE,
        max_delay: float = MAX_BATCH_DELAY,
        workers: int = FLUSH_WORKERS,
        queue_depth: int = QUEUE_DEPTH,
        caller_timeout: float = CALLER_TIMEOUT,
        clock: MonotonicClock = SYSTEM_CLOCK,
    ) -> None:
        if max_batch_size < 1 or workers < 1 or queue_depth < 1 or max_delay < 0 or caller_timeout < 0:
            raise ValueError("batch size, workers and queue depth must be >= 1; delay and timeout >= 0")
        self._sink = sink
        self._max_batch = max_batch_size
        self._max_delay = max_delay
        self._workers = workers
        self._depth = queue_depth
        self._caller_timeout = caller_timeout
        self._clock = clock
        self._intake: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._channel: queue.Queue[list[_Request] | None] = queue.Queue(maxsize=workers)
        self._threads: list[threading.Thread] = []
        self._state = _State.NEW
        self._accepted = 0
        self._batches = 0
        self._events = 0
        self._failed = 0
        self._timeouts = 0

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._state is not _State.NEW:
                raise RuntimeError("the event batcher was already started")
            self._state = _State.RUNNING
        self._threads = [threading.Thread(target=self._collect, name="event-batcher-collector", daemon=True)]
        self._threads += [
            threading.Thread(target=self._flush_loop, name=f"event-batcher-flush-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Refuse new requests, flush every pending one, and join the threads (``timeout`` wall seconds each).

        Idempotent. Raises ``TimeoutError`` when a thread is still running after ``timeout`` (a stuck sink).
        """
        with self._cond:
            if self._state is not _State.RUNNING:
                self._state = _State.STOPPED
                return
            self._state = _State.STOPPING
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        with self._cond:
            self._state = _State.STOPPED
        if stuck:
            raise TimeoutError(f"event batcher threads still running after {timeout}s: {stuck}")

    def __enter__(self) -> EventBatcher:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- the port -------------------------------------------------------------------------------------------------

    def record(self, events: Sequence[ActionEvent], *, timeout: float | None = None) -> Result[None, PortFailure]:
        """R111: enqueue, then wait for the batch's one result, or fail after ``timeout`` seconds (default: the
        batcher's ``caller_timeout``), the Python stand-in for the caller's context deadline."""
        if not events:
            return Success(None)
        waited = self._caller_timeout if timeout is None else timeout
        deadline = self._clock.monotonic() + waited
        request = _Request(tuple(events))
        refused = self._enqueue(request, deadline, waited)
        if refused is not None:
            return Failure(refused)
        return self._await(request, deadline, waited)

    def stats(self) -> BatcherStats:
        with self._cond:
            return BatcherStats(
                self._accepted, len(self._intake), self._batches, self._events, self._failed, self._timeouts
            )

    # -- callers --------------------------------------------------------------------------------------------------

    def _enqueue(self, request: _Request, deadline: float, waited: float) -> PortFailure | None:
        with self._cond:
            while self._state is _State.RUNNING and len(self._intake) >= self._depth:
                if self._clock.monotonic() >= deadline:
                    self._timeouts += 1
                    return PortFailure(f"event batcher queue full for {waited}s; event not sent")
                self._clock.wait_until(self._cond, deadline)
            if self._state is not _State.RUNNING:
                return PortFailure(f"event batcher is not running ({self._state.value}); event not sent")
            self._intake.append(request)
            self._accepted += 1
            self._cond.notify_all()
            return None

    def _await(self, request: _Request, deadline: float, waited: float) -> Result[None, PortFailure]:
        with request.done:
            while request.result is None:
                if self._clock.monotonic() >= deadline:
                    with self._cond:
                        self._timeouts += 1
                    message = f"timed out after {waited}s waiting for the batch (may be sent later)"
                    return Failure(PortFailure(message))
                self._clock.wait_until(request.done, deadline)
            return request.result

    # -- the collector --------------------------------------------------------------------------------------------

    def _collect(self) -> None:
        """R112: one batch at a time, closed by size or by the timer; on stop, everything left is flushed."""
        while (batch := self._next_batch()) is not None:
            self._channel.put(batch)  # blocks while every worker is busy and the channel is full: backpressure
        for _ in range(self._workers):
            self._channel.put(None)

    def _next_batch(self) -> list[_Request] | None:
        with self._cond:
            while not self._intake:
                if self._state is not _State.RUNNING:
                    return None
                self._clock.wait_until(self._cond, None)
            batch = [self._intake.popleft()]
            size = len(batch[0].events)
            deadline = self._clock.monotonic() + self._max_delay
            while size < self._max_batch:
                if self._intake:
                    if size + len(self._intake[0].events) > self._max_batch:
                        break
                    request = self._intake.popleft()
                    batch.append(request)
                    size += len(request.events)
                    continue
                if self._state is not _State.RUNNING or self._clock.monotonic() >= deadline:
                    break
                self._clock.wait_until(self._cond, deadline)
            self._cond.notify_all()  # room in the intake queue for blocked callers
            return batch

    # -- flush workers --------------------------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while (batch := self._channel.get()) is not None:
            self._flush(batch)

    def _flush(self, batch: list[_Request]) -> None:
        """R113: one ``record`` call with the batch's events in arrival order; its result goes to every caller."""
        events = [event for request in batch for event in request.events]
        try:
            result = self._sink.record(events)
        except Exception as exc:  # an adapter bug; the port reports failures as values
            log.exception("event sink raised while recording a batch of %d events", len(events))
            result = Failure(PortFailure(f"{type(exc).__name__}: {exc}"))
        with self._cond:
            self._batches += 1
            self._events += len(events)
            self._failed += isinstance(result, Failure)
        for request in batch:
            request.settle(result)
