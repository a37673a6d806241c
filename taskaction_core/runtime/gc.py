"""The garbage collector: deletes terminal TaskActions whose completed-time label is older than the TTL (R116–R119).

    gc = GarbageCollector(store, clock, interval=timedelta(minutes=30), max_ttl=timedelta(hours=1))
    gc.start()      # sweeps now, then every interval, in a thread; an interval <= 0 disables it (R116)
    ...
    gc.stop()

A sweep (R118) reads "now" once, lists every namespace with the selector ``termination-status=terminated`` and
``completed-time`` present, in pages with continuation tokens, and deletes each object the pure predicate
:func:`~taskaction_core.gc.should_delete_terminal_task_action` (R119) condemns. It looks at nothing else: not the
finalizer (deleting an object that still has it sends it through the deletion arm, R85–R91), not the conditions.
A NotFound on delete is ``already_gone`` (a cascade got there first); any other delete error is logged, counted as
``failed`` and the sweep goes on; a list error ends the sweep with that error. Sweep errors never stop the loop (R117).

Scheduling follows Go's ticker: sweeps start at ``start + k × interval``; ticks missed while a long sweep ran are
dropped rather than run back to back.

Go: ``executor/pkg/controller/garbage_collector.go`` (``Start``, ``collect``) and ``garbage_collector_metrics.go``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final

from returns.result import Failure, Result

from taskaction_core.gc import GC_LABEL_SELECTOR, should_delete_terminal_task_action
from taskaction_core.interpreter.metrics import NO_METRICS, Metrics
from taskaction_core.interpreter.ports import Clock, Page, StoreError, StoreErrorKind, TaskActionStore
from taskaction_core.records import LABEL_COMPLETED_TIME, TaskAction
from taskaction_core.runtime.workqueue import SYSTEM_CLOCK, MonotonicClock

log = logging.getLogger("taskaction_core.runtime.gc")

GC_PAGE_SIZE: Final = 500
"""R118: objects per list page."""

DELETED: Final = "deleted"
ALREADY_GONE: Final = "already_gone"
FAILED: Final = "failed"
KEPT: Final = "kept"
"""Not a Go metric outcome: listed but not condemned (empty completed-time, or not yet expired)."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did. ``error`` is the list error that ended it early, if any."""

    deleted: int
    already_gone: int
    failed: int
    kept: int
    error: str | None
    duration_s: float


class GarbageCollector:
    """R116–R119. ``sweep`` may be called directly; ``start``/``stop`` run it on a schedule in one thread."""

    def __init__(
        self,
        store: TaskActionStore,
        clock: Clock,
        interval: timedelta,
        max_ttl: timedelta,
        page_size: int = GC_PAGE_SIZE,
        metrics: Metrics = NO_METRICS,
        ticker: MonotonicClock = SYSTEM_CLOCK,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self._store = store
        self._clock = clock
        self._interval = interval.total_seconds()
        self._max_ttl = max_ttl
        self._page_size = page_size
        self._metrics = metrics
        self._ticker = ticker
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._sweeps = 0
        self._last: SweepReport | None = None

    @property
    def enabled(self) -> bool:
        """R116: the GC runs only when the interval is > 0."""
        return self._interval > 0

    # -- one sweep ------------------------------------------------------------------------------------------------

    def sweep(self) -> SweepReport:
        """R118: one pass over every terminal TaskAction."""
        started = time.perf_counter()
        now = self._clock.now()
        counts: Counter[str] = Counter()
        error = self._sweep_pages(now, counts)
        duration = time.perf_counter() - started
        self._metrics.gc_sweep(error is not None, duration)
        report = SweepReport(counts[DELETED], counts[ALREADY_GONE], counts[FAILED], counts[KEPT], error, duration)
        if report.deleted:
            log.info("garbage collector deleted %d terminal TaskActions", report.deleted)
        with self._cond:
            self._sweeps += 1
            self._last = report
        return report

    def _sweep_pages(self, now: datetime, counts: Counter[str]) -> str | None:
        """Page through the selection, counting outcomes; the list error text if a list call failed."""
        token = ""
        while True:
            listed = self._list(token)
            if isinstance(listed, Failure):
                failure: StoreError = listed.failure()
                log.error("garbage collector: listing terminal TaskActions failed: %s", failure.message)
                return failure.message
            page = listed.unwrap()
            for item in page.items:
                counts[self._collect(item, now)] += 1
            if not page.continue_token:
                return None
            token = page.continue_token

    def _list(self, token: str) -> Result[Page, StoreError]:
        try:
            return self._store.list(None, GC_LABEL_SELECTOR, limit=self._page_size, continue_token=token)
        except Exception as exc:  # an adapter bug; the port reports failures as values
            return Failure(StoreError(StoreErrorKind.UNAVAILABLE, f"{type(exc).__name__}: {exc}"))

    def _collect(self, task_action: TaskAction, now: datetime) -> str:
        """R118/R119 for one object: the outcome counted for it."""
        completed = task_action.metadata.labels.get(LABEL_COMPLETED_TIME, "")
        if not should_delete_terminal_task_action(completed, now, self._max_ttl):  # R119 keeps an empty value too
            return KEPT
        outcome = self._delete(task_action)
        self._metrics.gc_deletion(outcome)
        return outcome

    def _delete(self, task_action: TaskAction) -> str:
        meta = task_action.metadata
        try:
            deleted = self._store.delete(meta.namespace, meta.name)
        except Exception as exc:  # an adapter bug: counted like any other delete failure
            deleted = Failure(StoreError(StoreErrorKind.UNAVAILABLE, f"{type(exc).__name__}: {exc}"))
        if not isinstance(deleted, Failure):
            return DELETED
        failure: StoreError = deleted.failure()
        if failure.kind is StoreErrorKind.NOT_FOUND:
            return ALREADY_GONE
        log.error("garbage collector: deleting %s/%s failed: %s", meta.namespace, meta.name, failure.message)
        return FAILED

    # -- the schedule ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """R117: sweep at once, then every interval until :meth:`stop`; does nothing when disabled (R116)."""
        if not self.enabled:
            log.info("garbage collector disabled (interval %ss)", self._interval)
            return
        with self._cond:
            if self._thread is not None:
                raise RuntimeError("the garbage collector was already started")
            self._thread = threading.Thread(target=self._loop, name="taskaction-gc", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the schedule; a sweep in progress finishes first. Idempotent; returns without error (R117)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the garbage collector is still sweeping after {timeout}s")

    def __enter__(self) -> GarbageCollector:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def sweeps(self) -> int:
        """Sweeps completed so far (direct calls included)."""
        with self._cond:
            return self._sweeps

    @property
    def last_report(self) -> SweepReport | None:
        with self._cond:
            return self._last

    def _loop(self) -> None:
        next_tick = self._ticker.monotonic()
        while self._sweep_logged():
            next_tick += self._interval
            with self._cond:
                now = self._ticker.monotonic()
                while next_tick < now:  # ticks missed during a long sweep are dropped, as Go's ticker drops them
                    next_tick += self._interval
                while not self._stopping and self._ticker.monotonic() < next_tick:
                    self._ticker.wait_until(self._cond, next_tick)
                if self._stopping:
                    return

    def _sweep_logged(self) -> bool:
        """One scheduled sweep; errors are logged and the loop goes on (R117). False once stopping."""
        with self._cond:
            if self._stopping:
                return False
        try:
            self.sweep()
        except Exception:
            log.exception("garbage collector sweep raised; the schedule continues")
        return True
