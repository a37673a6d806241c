"""The controller: worker threads that drive TaskActions through :func:`run_pass`, fed by a watch (design.md §1, R29).

    manager = Manager()
    controller = setup_with_manager(manager, ports, policy, workers=8)
    manager.start()
    ...
    manager.stop()

Theory of operation. A :class:`WorkQueue` of :class:`ObjectKey` sits between two kinds of threads:

- the *watch thread* consumes ``store.watch()`` and adds the key of every event (R29: every write the reconciler makes
  to a TaskAction produces a watch event that triggers another pass soon after; DELETED events too, whose pass then
  finds nothing and is DONE, X1). At start, before any worker runs, every existing object is listed and enqueued: the
  watch is opened *before* the list, so a write made between the two is seen at least once (the queue dedups);
- *workers* (``workers`` of them) loop: take a key, run one pass, map its result onto the queue the way
  controller-runtime's ``reconcileHandler`` does, give the key back with ``done``. The queue never hands one key to
  two workers, so one TaskAction is never reconciled twice at once, while different keys run in parallel (R29).

Result mapping (spec §0): ``Done`` → ``forget`` (reset the key's backoff); ``RequeueAfter(d)`` → ``forget`` and
``add_after(d)`` (a ``d`` ≤ 0 is treated as DONE, exactly as controller-runtime does); ``Failed`` →
``add_rate_limited`` (5 ms doubling per consecutive failure up to 1000 s, with the overall 10 qps / burst 100 bucket).
An exception escaping ``run_pass`` is a bug (the interpreter turns every adapter failure into a typed result): it is
logged with its traceback and treated as ``Failed``, as controller-runtime recovers a panicking reconciler.

Workers. Go's default ``MaxConcurrentReconciles`` is 512 goroutines (R110). A Python thread costs far more than a
goroutine and passes spend most of their time holding the GIL in the pure core, so the default here is
:data:`DEFAULT_WORKERS` = 4; raise it when passes wait on slow adapters (network plugins, a remote store). On the
embedded SQLite store one or two workers do as well as four: a pass is Python under the GIL plus one writer at a time
on the file, and a worker inside the write transaction must retake the GIL after each statement while the others run
Python, so extra workers mostly wait for the writer lock.

Wake-ups. Each thread is woken only when it has something to do (see :meth:`Controller._notify_progress` and
:meth:`WorkQueue.add`): a queued key wakes one worker, and :meth:`Controller.run_until_idle` is woken only when the
queue may have become idle. Waking every waiting thread on every pass and watch event cost a context switch and a
GIL hand-off each, and made four workers slower than one.

Graceful stop (:meth:`Controller.stop`). The queue is shut down, so no worker takes a new key; passes in flight run to
completion; the watch is closed; every thread is joined. Keys still queued or waiting are dropped from memory and
nothing is lost by it: the store is the source of truth, and the next controller to start lists every object again.

What a crash (the process dying at any instant) can and cannot do. It loses the in-memory queue: pending keys,
requeue-after timers and backoff counts; the restarted controller re-lists, so every object still gets a pass, and a
key that was failing restarts its backoff at 5 ms. It may interrupt a pass between two effects: passes are
level-based and idempotent, so the next pass converges from what the store holds (a plugin may see ``handle`` again;
an ActionEvent may be sent twice and is deduplicated by the run service, R114; an event is always sent before the
status that describes it, R65, so a status is never ahead of its event). It cannot lose an acknowledged store write,
skip an object, or let two passes of one key overlap (there is one process and one queue; running two controllers on
one store needs leader election, which this runtime does not provide).

Go: controller-runtime ``Controller`` (``Start``, ``processNextWorkItem``, ``reconcileHandler``) and the manager.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Protocol

from returns.result import Failure

from taskaction_core.decision import Done, RequeueAfter
from taskaction_core.interpreter.driver import Failed, PassReport, PassResult, Ports, run_pass
from taskaction_core.interpreter.ports import StoreError, Watch, WatchEvent
from taskaction_core.policy import Policy
from taskaction_core.runtime.workqueue import SYSTEM_CLOCK, MonotonicClock, WorkQueue

log = logging.getLogger("taskaction_core.runtime")

DEFAULT_WORKERS: Final = 4
"""Worker threads per controller. Go's ``MaxConcurrentReconciles`` default is 512 goroutines (R110); see above."""
WATCH_POLL: Final = 0.05
"""Wall seconds the watch thread blocks on the watch before re-checking for stop and sync requests."""
LIST_PAGE_SIZE: Final = 500
"""Objects per page of the initial list."""
START_LIST_ATTEMPTS: Final = 5
START_LIST_BACKOFF: Final = 0.1
"""Wall seconds before the second list attempt at start; doubles per attempt."""

PassRunner = Callable[[Ports, Policy, str, str], PassReport]


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """Go ``types.NamespacedName``: what the work queue holds."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ControllerStats:
    """Counters since start. ``violations`` lists every key seen in two passes at once: it must stay empty (R29)."""

    passes: int
    done: int
    requeued_after: int
    failed: int
    crashed: int
    """Passes that raised (a bug), counted in ``failed`` too."""
    in_flight: tuple[ObjectKey, ...]
    violations: tuple[ObjectKey, ...]


class ControllerStartError(RuntimeError):
    """The initial list failed on every attempt: a controller that does not know what exists must not run."""


class Runnable(Protocol):
    """What a :class:`Manager` starts and stops (Go ``manager.Runnable``)."""

    def start(self) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


class Controller:
    """Drive every TaskAction of ``ports.store`` with ``workers`` threads. Start once; build a new one to restart."""

    def __init__(
        self,
        ports: Ports,
        policy: Policy,
        *,
        workers: int = DEFAULT_WORKERS,
        clock: MonotonicClock = SYSTEM_CLOCK,
        queue: WorkQueue[ObjectKey] | None = None,
        run: PassRunner = run_pass,
        on_pass: Callable[[PassReport], None] | None = None,
        watch_poll: float = WATCH_POLL,
        list_page_size: int = LIST_PAGE_SIZE,
        start_list_backoff: float = START_LIST_BACKOFF,
        name: str = "taskaction",
    ) -> None:
        if workers < 1:
            raise ValueError(f"a controller needs at least one worker, got {workers}")
        self.ports = ports
        self.policy = policy
        self.name = name
        self.queue: WorkQueue[ObjectKey] = queue if queue is not None else WorkQueue(clock=clock)
        self._workers = workers
        self._run = run
        self._on_pass = on_pass
        self._watch_poll = watch_poll
        self._page_size = list_page_size
        self._start_list_backoff = start_list_backoff
        self._progress = threading.Condition()
        self._in_flight: dict[ObjectKey, int] = {}
        """Passes running per key: 1, or more when the queue broke its promise (a violation)."""
        self._violations: list[ObjectKey] = []
        self._results: Counter[str] = Counter()
        self._completed = 0
        self._progress_seq = 0
        self._sync_requested = 0
        self._sync_reached = 0
        self._stopping = threading.Event()
        self._started = False
        self._watch: Watch | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the watch, enqueue every existing object, then start the watch thread and the workers."""
        if self._started:
            raise RuntimeError(f"controller {self.name!r} was already started; build a new one to restart")
        self._started = True
        watch = self.ports.store.watch()
        try:
            self._enqueue_existing()
        except ControllerStartError:
            watch.close()
            self._stopping.set()
            self.queue.shut_down()
            raise
        self._watch = watch
        self._threads = [threading.Thread(target=self._watch_loop, name=f"{self.name}-watch", daemon=True)]
        self._threads += [
            threading.Thread(target=self._worker_loop, name=f"{self.name}-worker-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        log.info("controller %s started with %d workers", self.name, self._workers)

    def stop(self, timeout: float | None = None) -> None:
        """Take no new key, let passes in flight finish, close the watch and join every thread.

        ``timeout`` bounds the wait for each thread in wall seconds; a thread still running after it (a pass stuck in
        an adapter) raises ``TimeoutError``. Idempotent.
        """
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        self.queue.shut_down()
        if self._watch is not None:
            self._watch.close()
        for thread in self._threads:
            thread.join(timeout)
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        with self._progress:
            self._progress_seq += 1
            self._progress.notify_all()
        if stuck:
            raise TimeoutError(f"controller {self.name!r}: threads still running after {timeout}s: {stuck}")
        log.info("controller %s stopped", self.name)

    @property
    def running(self) -> bool:
        return self._started and not self._stopping.is_set()

    def __enter__(self) -> Controller:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- for tests and the command line ---------------------------------------------------------------------------

    def enqueue(self, namespace: str, name: str) -> None:
        """Ask for a pass of one key (what a watch event does)."""
        self.queue.add(ObjectKey(namespace, name))

    def run_until_idle(self, timeout: float = 10.0, horizon: float = 0.0) -> None:
        """Return once nothing is queued or in flight, every watch event so far has been enqueued, and no requeue is
        due within ``horizon`` seconds of the queue's clock. ``timeout`` is in wall seconds; ``TimeoutError`` when
        the controller is still busy then.

        Quiescence is checked twice around a watch sync, with a count of finished passes in between: a pass that
        finished meanwhile may have written, so the check starts over.
        """
        if not self.running:
            raise RuntimeError(f"controller {self.name!r} is not running")
        deadline = time.monotonic() + timeout
        while True:
            with self._progress:
                seen, finished = self._progress_seq, self._completed
            if self.queue.is_idle(horizon):
                self._sync_watch(deadline)
                with self._progress:
                    if self.queue.is_idle(horizon) and self._completed == finished and not self._in_flight:
                        return
                continue
            self._await_progress(seen, deadline)

    def stats(self) -> ControllerStats:
        with self._progress:
            return ControllerStats(
                passes=self._completed,
                done=self._results["Done"],
                requeued_after=self._results["RequeueAfter"],
                failed=self._results["Failed"],
                crashed=self._results["crashed"],
                in_flight=tuple(sorted(self._in_flight)),
                violations=tuple(self._violations),
            )

    # -- the initial list -----------------------------------------------------------------------------------------

    def _enqueue_existing(self) -> None:
        delay = self._start_list_backoff
        for attempt in range(1, START_LIST_ATTEMPTS + 1):
            error = self._list_into_queue()
            if error is None:
                return
            log.warning("controller %s: initial list failed (attempt %d): %s", self.name, attempt, error)
            if attempt < START_LIST_ATTEMPTS:
                time.sleep(delay)
                delay *= 2
        raise ControllerStartError(f"controller {self.name!r}: the initial list failed {START_LIST_ATTEMPTS} times")

    def _list_into_queue(self) -> str | None:
        """Page through every object and enqueue it; the error text on failure (keys enqueued so far stay)."""
        token = ""
        while True:
            try:
                listed = self.ports.store.list(None, {}, limit=self._page_size, continue_token=token)
            except Exception as exc:  # an adapter bug; the port reports failures as values
                return f"{type(exc).__name__}: {exc}"
            if isinstance(listed, Failure):
                failure: StoreError = listed.failure()
                return failure.message
            page = listed.unwrap()
            for item in page.items:
                self.queue.add(ObjectKey(item.metadata.namespace, item.metadata.name))
            if not page.continue_token:
                return None
            token = page.continue_token

    # -- the watch thread -----------------------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        watch = self._watch
        assert watch is not None
        while not self._stopping.is_set():
            # Read before the watch is found empty (below), so the mark covers the request. No lock: one attribute
            # read is atomic, and taking the lock once per event cost the watch thread a fifth of its time.
            requested = self._sync_requested
            event = watch.get(timeout=0)
            if event is None:
                self._mark_synced(requested)
                event = watch.get(timeout=self._watch_poll)
            if event is not None:
                self._on_event(event)

    def _on_event(self, event: WatchEvent) -> None:
        """Enqueue the event's key. No progress notification: a key added makes the queue busier, never idle, so no
        :meth:`run_until_idle` waiter has anything to re-check (waking it per event cost a context switch each)."""
        self.queue.add(ObjectKey(event.namespace, event.name))

    def _mark_synced(self, requested: int) -> None:
        """Every event pushed before sync request ``requested`` has been taken from the watch and enqueued."""
        with self._progress:
            if requested > self._sync_reached:
                self._sync_reached = requested
                self._progress_seq += 1
                self._progress.notify_all()

    def _sync_watch(self, deadline: float) -> None:
        with self._progress:
            self._sync_requested += 1
            target = self._sync_requested
            while self._sync_reached < target:
                self._wait_progress(deadline)

    # -- workers --------------------------------------------------------------------------------------------------

    def _worker_loop(self) -> None:
        while (key := self.queue.get()) is not None:
            try:
                self._reconcile(key)
            finally:
                if self.queue.done(key):
                    self._notify_progress()

    def _reconcile(self, key: ObjectKey) -> None:
        self._enter(key)
        result: PassResult | None = None
        try:
            result = self._pass(key)
            self._apply(key, result)
        finally:
            self._leave(key, result)

    def _pass(self, key: ObjectKey) -> PassResult:
        try:
            report = self._run(self.ports, self.policy, key.namespace, key.name)
        except Exception as exc:
            log.exception("controller %s: pass of %s raised; treating it as a failed pass", self.name, key)
            with self._progress:
                self._results["crashed"] += 1
            return Failed(f"pass raised {type(exc).__name__}: {exc}")
        if self._on_pass is not None:
            try:
                self._on_pass(report)
            except Exception:
                log.exception("controller %s: the on_pass hook raised; ignored", self.name)
        return report.result

    def _apply(self, key: ObjectKey, result: PassResult) -> None:
        """controller-runtime ``reconcileHandler``: the result decides the key's next visit and its backoff."""
        match result:
            case Done():
                self.queue.forget(key)
            case RequeueAfter(after):
                self.queue.forget(key)
                seconds = after.total_seconds()
                if seconds > 0:  # controller-runtime ignores RequeueAfter <= 0: the result is then DONE
                    self.queue.add_after(key, seconds)
            case Failed(error):
                log.info("controller %s: pass of %s failed, backing off: %s", self.name, key, error)
                self.queue.add_rate_limited(key)

    def _enter(self, key: ObjectKey) -> None:
        with self._progress:
            passes = self._in_flight.get(key, 0)
            if passes:
                self._violations.append(key)
                log.error("controller %s: %s is already being reconciled (R29 violated)", self.name, key)
            self._in_flight[key] = passes + 1

    def _leave(self, key: ObjectKey, result: PassResult | None) -> None:
        with self._progress:
            passes = self._in_flight.pop(key) - 1
            if passes:
                self._in_flight[key] = passes
            self._completed += 1
            if result is not None:
                self._results[type(result).__name__] += 1

    # -- progress -------------------------------------------------------------------------------------------------

    def _notify_progress(self) -> None:
        """Wake :meth:`run_until_idle`. Called only where its answer may change to "idle": when a ``done`` left the
        queue with nothing queued or processing, when the watch reaches a sync request, and at stop. A waiter reads
        ``_progress_seq`` before it checks the queue, so a transition between its check and its wait is not lost.
        Notifying on every pass and every watch event instead woke the waiting thread thousands of times a second,
        each wake-up a context switch and a GIL hand-off taken from the workers (about a sixth of a worker's time)."""
        with self._progress:
            self._progress_seq += 1
            self._progress.notify_all()

    def _await_progress(self, seen: int, deadline: float) -> None:
        with self._progress:
            while self._progress_seq == seen:
                self._wait_progress(deadline)

    def _wait_progress(self, deadline: float) -> None:
        """One bounded wait on the progress condition (held); ``TimeoutError`` past ``deadline`` (wall)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self._stopping.is_set():
            raise TimeoutError(
                f"controller {self.name!r} not idle: {self.queue.metrics()}, in flight {sorted(self._in_flight)}"
            )
        self._progress.wait(remaining)


class Manager:
    """Go ``manager.Manager`` reduced to what this runtime needs: it owns runnables (controllers, the event batcher,
    the garbage collector), starts them in the order they were added and stops them in reverse order, so a
    dependency added first (the batcher) outlives what uses it (the controller). A runnable added after
    :meth:`start` starts at once. No leader election: run one manager per store.
    """

    def __init__(self) -> None:
        self._runnables: list[Runnable] = []
        self._started = False
        self._lock = threading.Lock()

    def add(self, runnable: Runnable) -> None:
        with self._lock:
            self._runnables.append(runnable)
            started = self._started
        if started:
            runnable.start()

    @property
    def runnables(self) -> tuple[Runnable, ...]:
        with self._lock:
            return tuple(self._runnables)

    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("the manager was already started")
            self._started = True
            runnables = tuple(self._runnables)
        for runnable in runnables:
            runnable.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop every runnable in reverse order; the first error is raised after all were asked to stop."""
        errors: list[Exception] = []
        for runnable in reversed(self.runnables):
            try:
                runnable.stop(timeout)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Manager:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def setup_with_manager(
    manager: Manager,
    ports: Ports,
    policy: Policy,
    *,
    workers: int = DEFAULT_WORKERS,
    clock: MonotonicClock = SYSTEM_CLOCK,
    on_pass: Callable[[PassReport], None] | None = None,
) -> Controller:
    """Build the TaskAction controller and register it with ``manager`` (Go ``TaskActionReconciler.SetupWithManager``:
    ``For(&TaskAction{})`` with no event filters and ``MaxConcurrentReconciles``; here, ``workers``). Pods owned by a
    TaskAction are not watched: plugins here own no Kubernetes pods; a plugin that wants a pass on an outside change
    calls :meth:`Controller.enqueue`."""
    controller = Controller(ports, policy, workers=workers, clock=clock, on_pass=on_pass)
    manager.add(controller)
    return controller
