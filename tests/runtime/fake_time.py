"""A fake monotonic clock for the runtime tests: time moves only when a test calls :meth:`FakeMonotonicClock.advance`.

It implements :class:`~taskaction_core.runtime.workqueue.MonotonicClock`: every thread blocked in ``wait_until`` is
woken when time moves, and re-checks its own deadline. Optionally it moves a
:class:`~taskaction_core.testing.ManualClock` in step, so the reconciler's "now" and the queue's delays agree.
"""

from __future__ import annotations

import threading
import weakref
from datetime import timedelta

from taskaction_core.testing import ManualClock

WAIT_TIMEOUT = 10.0
"""Wall seconds a test waits for a thread to reach a point before failing (generous: never hit when green)."""


class FakeMonotonicClock:
    def __init__(self, start: float = 1000.0, manual: ManualClock | None = None) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._now = start
        self._manual = manual
        self._conditions: weakref.WeakSet[threading.Condition] = weakref.WeakSet()
        self._blocked: list[tuple[float | None, float]] = []
        """(deadline, the time at which the thread blocked) per thread blocked in wait_until."""

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        with self._lock:
            self._conditions.add(condition)
            if deadline is not None and self._now >= deadline:
                return
            entry = (deadline, self._now)
            self._blocked.append(entry)
            self._changed.notify_all()
        try:
            condition.wait()  # the caller holds condition; advance() notifies it under that same lock
        finally:
            with self._lock:
                self._blocked.remove(entry)
                self._changed.notify_all()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter (and move the linked ManualClock too)."""
        with self._lock:
            self._now += seconds
            conditions = list(self._conditions)
        if self._manual is not None:
            self._manual.advance(timedelta(seconds=seconds))
        for condition in conditions:
            with condition:
                condition.notify_all()

    def await_blocked(self, count: int = 1, *, with_deadline: bool = False, since: float | None = None) -> None:
        """Wait (wall time, bounded) until ``count`` threads block in ``wait_until``: only those with a deadline if
        ``with_deadline``, only those that blocked at clock time ``since`` or later if given (after an advance, this
        tells threads that re-checked the new time from threads still asleep)."""

        def enough() -> bool:
            sleepers = [
                deadline
                for deadline, blocked_at in self._blocked
                if (deadline is not None or not with_deadline) and (since is None or blocked_at >= since)
            ]
            return len(sleepers) >= count

        with self._changed:
            if not self._changed.wait_for(enough, WAIT_TIMEOUT):
                raise AssertionError(f"expected {count} blocked threads, found {self._blocked}")
