"""A rate-limited, delaying work queue with client-go semantics, for threads (design.md §1 item 4, R29, spec §0).

Theory of operation. A key is in at most one of three places, plus one flag:

- *queued*: waiting in FIFO order for a worker (``_queue``); :meth:`WorkQueue.get` hands it out;
- *processing*: handed to a worker that has not yet called :meth:`WorkQueue.done`;
- *waiting*: parked in a delay heap until its ready time (``add_after``, ``add_rate_limited``);
- *dirty*: "needs a pass". Adding a key that is already dirty does nothing (dedup: ten writes, one pass). Adding a key
  that is processing only marks it dirty; :meth:`WorkQueue.done` puts it back in the queue. So **a key is never handed
  to two workers at once** (R29), and a write made during a pass is never lost: it causes exactly one more pass.

Go: ``k8s.io/client-go/util/workqueue`` ``Typed`` (queue, dirty, processing), ``delayingType`` (the waiting heap, where
a second ``AddAfter`` of a waiting key only moves it earlier) and ``rateLimitingType``; the limiter is
controller-runtime's default, ``DefaultTypedControllerRateLimiter``: the maximum of a per-key exponential backoff
(5 ms × 2^failures, capped at 1000 s) and an overall token bucket (10 qps, burst 100). :meth:`WorkQueue.forget` resets a
key's failures after a non-error pass (spec §0: "the backoff resets after the next non-error return").

Time. Every reading and every wait goes through a :class:`MonotonicClock`, so tests inject a fake one and move time
by hand: no test sleeps on the wall clock to see a delay expire.

One deliberate difference from client-go, for graceful stop: after :meth:`WorkQueue.shut_down`, :meth:`WorkQueue.get`
returns None at once even if keys are still queued (client-go keeps handing them out). A stopping controller takes no
new key; what was queued is not lost, because the TaskAction store is the source of truth and a restarted controller
lists every object again. :meth:`WorkQueue.shut_down_with_drain` does hand out what is queued and waits until nothing
is queued or processing. Both drop the waiting heap.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

DEFAULT_BASE_DELAY: Final = 0.005
"""Seconds. controller-runtime ``DefaultTypedControllerRateLimiter``: per-key backoff starts at 5 ms."""
DEFAULT_MAX_DELAY: Final = 1000.0
"""Seconds. The per-key backoff is capped at 1000 s."""
DEFAULT_QPS: Final = 10.0
"""The overall token bucket refills at 10 tokens per second..."""
DEFAULT_BURST: Final = 100
"""...and holds at most 100 tokens."""


# --------------------------------------------------------------------------------------------------------------------
# Time


class MonotonicClock(Protocol):
    """A monotonic clock in seconds, and the one way runtime threads sleep on it (the "sleeper").

    A fake must wake every condition blocked in :meth:`wait_until` when its time moves (notify it under its lock),
    and must read its time and decide to block atomically with respect to a concurrent move, so no wake-up is lost.
    """

    def monotonic(self) -> float:
        """Seconds since an arbitrary origin; never goes backwards."""
        ...

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        """With ``condition`` held, block until it is notified or this clock reaches ``deadline`` (None: only a
        notification). Returning early is allowed: callers re-check their state in a loop."""
        ...


class SystemMonotonicClock:
    """The real clock: ``time.monotonic`` and ``Condition.wait`` with the remaining time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        if deadline is None:
            condition.wait()
            return
        remaining = deadline - time.monotonic()
        if remaining > 0:
            condition.wait(remaining)


SYSTEM_CLOCK: Final = SystemMonotonicClock()


# --------------------------------------------------------------------------------------------------------------------
# Rate limiters


class RateLimiter(Protocol[K_contra]):
    """Go ``workqueue.TypedRateLimiter``: how long to wait before retrying ``key``."""

    def when(self, key: K_contra) -> float:
        """The delay in seconds for the next retry of ``key``; counts as one more failure."""
        ...

    def forget(self, key: K_contra) -> None:
        """Stop tracking ``key``: its next failure starts from the base delay again."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """Failures counted for ``key`` since it was last forgotten."""
        ...


class ItemExponentialBackoff(Generic[K]):
    """Go ``ItemExponentialFailureRateLimiter``: ``base × 2^failures`` per key, capped at ``cap``. Thread-safe."""

    def __init__(self, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"need 0 < base <= cap, got base={base}, cap={cap}")
        self._base = base
        self._cap = cap
        self._failures: dict[K, int] = {}
        self._lock = threading.Lock()

    def when(self, key: K) -> float:
        with self._lock:
            exponent = self._failures.get(key, 0)
            self._failures[key] = exponent + 1
        if exponent >= 1024:  # 2.0 ** 1024 overflows a float; Go compares against MaxInt64 for the same reason
            return self._cap
        return min(self._base * 2.0**exponent, self._cap)

    def forget(self, key: K) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        with self._lock:
            return self._failures.get(key, 0)


class TokenBucket:
    """Go ``BucketRateLimiter`` over ``rate.Limiter``: each retry reserves one token; the delay is how long until that
    token exists. Tokens may go negative (reservations queue up), so the 101st immediate retry waits 0.1 s, the 102nd
    0.2 s, and so on. Thread-safe."""

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, clock: MonotonicClock = SYSTEM_CLOCK):
        if qps <= 0 or burst < 1:
            raise ValueError(f"need qps > 0 and burst >= 1, got qps={qps}, burst={burst}")
        self._qps = qps
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token and return the delay in seconds before it may be used."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._qps)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self._qps


class DefaultControllerRateLimiter(Generic[K]):
    """controller-runtime's default: the larger of the per-key backoff and the overall bucket (Go
    ``MaxOfRateLimiter``). Both are consulted on every retry, so every retry consumes a token."""

    def __init__(
        self,
        backoff: ItemExponentialBackoff[K] | None = None,
        bucket: TokenBucket | None = None,
        clock: MonotonicClock = SYSTEM_CLOCK,
    ) -> None:
        self._backoff: ItemExponentialBackoff[K] = backoff if backoff is not None else ItemExponentialBackoff()
        self._bucket = bucket if bucket is not None else TokenBucket(clock=clock)

    def when(self, key: K) -> float:
        return max(self._backoff.when(key), self._bucket.reserve())

    def forget(self, key: K) -> None:
        self._backoff.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._backoff.num_requeues(key)


# --------------------------------------------------------------------------------------------------------------------
# The queue


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """A snapshot: Go ``workqueue`` metrics (depth, adds, retries) plus the processing and waiting counts."""

    depth: int
    """Keys queued for a worker (Go ``Len``)."""
    processing: int
    waiting: int
    """Keys parked in the delay heap."""
    adds: int
    """Keys that entered the dirty set (deduplicated adds do not count)."""
    retries: int
    """Calls of ``add_rate_limited``."""


class WorkQueue(Generic[K]):
    """The work queue. Thread-safe; every method may be called from any thread."""

    def __init__(self, rate_limiter: RateLimiter[K] | None = None, clock: MonotonicClock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._limiter: RateLimiter[K] = (
            rate_limiter if rate_limiter is not None else DefaultControllerRateLimiter(clock=clock)
        )
        self._cond = threading.Condition()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._sequence = itertools.count()
        self._shutting_down = False
        self._drain = False
        self._adds = 0
        self._retries = 0

    # -- adding ---------------------------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Mark ``key`` as needing a pass. Ignored once shut down."""
        with self._cond:
            if not self._shutting_down:
                self._add_locked(key)

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed (Go ``AddAfter``); ≤ 0 adds now.

        A key already waiting keeps the earlier of its two ready times.
        """
        with self._cond:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add_locked(key)
                return
            ready_at = self._clock.monotonic() + delay
            if self._waiting.get(key, float("inf")) <= ready_at:
                return
            self._waiting[key] = ready_at
            earliest = not self._heap or ready_at < self._heap[0][0]
            heapq.heappush(self._heap, (ready_at, next(self._sequence), key))
            if earliest:
                # Blocked gets sleep until the head's time at the latest, so only a new head changes their wake-up
                # time; a key due later than the head needs no one woken (a controller requeues after most passes).
                self._cond.notify_all()

    def add_rate_limited(self, key: K) -> None:
        """Add ``key`` after the rate limiter's delay (spec §0 ``FAIL``: per-key exponential backoff)."""
        delay = self._limiter.when(key)
        with self._cond:
            self._retries += 1
        self.add_after(key, delay)

    def forget(self, key: K) -> None:
        """Reset ``key``'s failure count; call it after a pass that did not fail."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self._limiter.num_requeues(key)

    # -- taking ---------------------------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> K | None:
        """The next key, now marked processing; None after ``timeout`` clock seconds or when shut down.

        Every key returned must be given back with :meth:`done`.
        """
        with self._cond:
            deadline = None if timeout is None else self._clock.monotonic() + timeout
            while True:
                now = self._clock.monotonic()
                self._promote_due(now)
                if self._queue and (self._drain or not self._shutting_down):
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if self._shutting_down or (deadline is not None and now >= deadline):
                    return None
                self._clock.wait_until(self._cond, _earliest(deadline, self._next_ready()))

    def done(self, key: K) -> bool:
        """The worker finished ``key``; if it was added meanwhile it goes back in the queue.

        Returns whether nothing is queued or processing now (waiting keys aside): the moment the queue may have
        become idle, which is when an idle waiter needs waking (the controller notifies only then).
        """
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._wake_one()
            elif self._drain:
                self._cond.notify_all()  # shut_down_with_drain waits for nothing processing
            return not self._queue and not self._processing

    # -- stopping -------------------------------------------------------------------------------------------------

    def shut_down(self) -> None:
        """Refuse new keys and make every :meth:`get` return None at once; queued keys stay (visible in ``len``)."""
        with self._cond:
            self._shut_down_locked(drain=False)

    def shut_down_with_drain(self, timeout: float | None = None) -> bool:
        """Refuse new keys, keep handing out queued ones, and wait until nothing is queued or processing.

        Returns False if ``timeout`` clock seconds passed first.
        """
        with self._cond:
            self._shut_down_locked(drain=True)
            deadline = None if timeout is None else self._clock.monotonic() + timeout
            while self._queue or self._processing:
                if deadline is not None and self._clock.monotonic() >= deadline:
                    return False
                self._clock.wait_until(self._cond, deadline)
            return True

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    # -- reading --------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def metrics(self) -> QueueMetrics:
        with self._cond:
            return QueueMetrics(len(self._queue), len(self._processing), len(self._waiting), self._adds, self._retries)

    def is_idle(self, horizon: float = 0.0) -> bool:
        """Nothing queued, nothing processing, and no waiting key due within ``horizon`` seconds."""
        with self._cond:
            if self._queue or self._processing:
                return False
            next_ready = self._next_ready()
            return next_ready is None or next_ready > self._clock.monotonic() + horizon

    def waiting_keys(self) -> dict[K, float]:
        """Each waiting key with the seconds left until it is due (negative: overdue, not yet taken)."""
        with self._cond:
            now = self._clock.monotonic()
            return {key: ready_at - now for key, ready_at in self._waiting.items()}

    # -- internals (lock held) ------------------------------------------------------------------------------------

    def _add_locked(self, key: K) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        self._adds += 1
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake_one()

    def _wake_one(self) -> None:
        """One key was queued: wake one blocked :meth:`get`, not every idle worker (the others would wake, find the
        queue empty and sleep again, each costing a context switch and a GIL hand-off). Every waiter of ``get`` takes
        a key when one is queued, so a notification is never wasted on a thread that leaves the key behind; the one
        other kind of waiter, :meth:`shut_down_with_drain`, exists only while draining, and then everyone is woken.
        """
        if self._drain:
            self._cond.notify_all()
        else:
            self._cond.notify()

    def _promote_due(self, now: float) -> None:
        """Move every waiting key whose time has come into the queue (Go ``waitingLoop``)."""
        while self._heap and self._heap[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) != ready_at:
                continue  # superseded by an earlier add_after of the same key
            del self._waiting[key]
            self._add_locked(key)

    def _next_ready(self) -> float | None:
        while self._heap and self._waiting.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # drop stale entries so the head is a live one
        return self._heap[0][0] if self._heap else None

    def _shut_down_locked(self, drain: bool) -> None:
        self._shutting_down = True
        self._drain = self._drain or drain
        self._waiting.clear()
        self._heap.clear()
        self._cond.notify_all()


def _earliest(first: float | None, second: float | None) -> float | None:
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)
