"""The garbage collector (R116–R119): pagination, outcomes, the TTL predicate, the schedule."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta

import pytest
from returns.result import Failure, Result

from taskaction_core.gofmt import label_time
from taskaction_core.interpreter.ports import Page, StoreError, StoreErrorKind
from taskaction_core.records import FINALIZER, LABEL_COMPLETED_TIME, LABEL_TERMINATION_STATUS, TERMINATED
from taskaction_core.runtime.gc import GarbageCollector, SweepReport
from taskaction_core.testing import InMemoryTaskActionStore, ManualClock
from taskaction_core.testing.builders import T0, a_task_action
from tests.runtime.fake_time import WAIT_TIMEOUT, FakeMonotonicClock

HOUR = timedelta(hours=1)
LONG_AGO = label_time(T0 - 2 * HOUR)


class RecordingMetrics:
    def __init__(self) -> None:
        self.deletions: list[str] = []
        self.sweeps: list[bool] = []

    def k8s_duration(self, op: str, error: bool, seconds: float) -> None:
        return None

    def crd_size(self, size_bytes: int) -> None:
        return None

    def pass_done(self, result: str, seconds: float) -> None:
        return None

    def gc_deletion(self, outcome: str) -> None:
        self.deletions.append(outcome)

    def gc_sweep(self, error: bool, seconds: float) -> None:
        self.sweeps.append(error)


def a_store() -> tuple[InMemoryTaskActionStore, ManualClock]:
    clock = ManualClock(T0)
    return InMemoryTaskActionStore(clock), clock


def add(
    store: InMemoryTaskActionStore,
    name: str,
    completed: str | None = LONG_AGO,
    terminated: bool = True,
    finalizer: bool = False,
) -> None:
    labels = {LABEL_TERMINATION_STATUS: TERMINATED} if terminated else {}
    if completed is not None:
        labels[LABEL_COMPLETED_TIME] = completed
    store.create(a_task_action(name=name, labels=labels, with_finalizer=finalizer)).unwrap()


def remaining(store: InMemoryTaskActionStore) -> list[str]:
    return [task_action.metadata.name for task_action in store.objects()]


def a_gc(
    store: InMemoryTaskActionStore,
    clock: ManualClock,
    *,
    interval: timedelta = timedelta(minutes=30),
    max_ttl: timedelta = HOUR,
    page_size: int = 500,
    metrics: RecordingMetrics | None = None,
    ticker: FakeMonotonicClock | None = None,
) -> GarbageCollector:
    return GarbageCollector(
        store,
        clock,
        interval,
        max_ttl,
        page_size=page_size,
        metrics=metrics or RecordingMetrics(),
        ticker=ticker or FakeMonotonicClock(manual=clock),
    )


def eventually_sweeps(gc: GarbageCollector, count: int) -> None:
    give_up = time.monotonic() + WAIT_TIMEOUT
    while gc.sweeps < count:
        assert time.monotonic() < give_up, f"expected {count} sweeps, saw {gc.sweeps}"
        time.sleep(0.001)


# -- one sweep ----------------------------------------------------------------------------------------------------


def test_gc_sweep_pages_through_every_selected_object_and_deletes_the_expired() -> None:
    store, clock = a_store()
    for i in range(5):
        add(store, f"done-{i}")
    add(store, "running", completed=None, terminated=False)
    add(store, "labelled-but-not-terminated", terminated=False)

    report = a_gc(store, clock, page_size=2).sweep()

    assert (report.deleted, report.already_gone, report.failed, report.kept, report.error) == (5, 0, 0, 0, None)
    assert remaining(store) == ["labelled-but-not-terminated", "running"]
    assert store.faults.calls("list") == 3  # pages of 2, 2 and 1 via continuation tokens


@pytest.mark.parametrize(
    ("completed", "max_ttl", "deleted"),
    [
        (label_time(T0 - 2 * HOUR), HOUR, True),
        (label_time(T0 - HOUR - timedelta(minutes=1)), HOUR, True),
        (label_time(T0 - HOUR), HOUR, False),  # same minute as the cutoff: kept (R119)
        (label_time(T0), HOUR, False),
        ("abc", HOUR, False),  # Q27: sorts after digits, never expires
        ("", HOUR, False),  # empty completed-time: skipped (R118)
        (label_time(T0), timedelta(0), True),  # max_ttl <= 0: delete on the next sweep
        ("abc", -HOUR, True),
        ("", timedelta(0), False),
    ],
)
def test_gc_sweep_applies_the_ttl_predicate(completed: str, max_ttl: timedelta, deleted: bool) -> None:
    store, clock = a_store()
    add(store, "ta", completed=completed)

    report = a_gc(store, clock, max_ttl=max_ttl).sweep()

    assert (report.deleted, report.kept) == ((1, 0) if deleted else (0, 1))
    assert remaining(store) == ([] if deleted else ["ta"])


def test_gc_sweep_counts_deleted_already_gone_and_failed_and_goes_on_after_a_failure() -> None:
    store, clock = a_store()
    for name in ("a", "b", "c", "d"):
        add(store, name)
    store.faults.fail_next("delete", StoreError(StoreErrorKind.NOT_FOUND, 'taskactions.flyte.org "a" not found'))
    store.faults.unavailable_next("delete")
    metrics = RecordingMetrics()

    report = a_gc(store, clock, metrics=metrics).sweep()

    assert (report.deleted, report.already_gone, report.failed) == (2, 1, 1)
    assert metrics.deletions == ["already_gone", "failed", "deleted", "deleted"]
    assert metrics.sweeps == [False]
    assert remaining(store) == ["a", "b"]


def test_gc_sweep_deletes_regardless_of_the_finalizer_which_only_marks_the_object() -> None:
    store, clock = a_store()
    add(store, "ta", finalizer=True)

    report = a_gc(store, clock).sweep()

    assert report.deleted == 1
    (marked,) = store.objects()
    assert marked.metadata.deletion_timestamp == T0
    assert list(marked.metadata.finalizers) == [FINALIZER]


def test_gc_sweep_list_error_ends_the_sweep_with_that_error() -> None:
    store, clock = a_store()
    for i in range(4):
        add(store, f"done-{i}")
    metrics = RecordingMetrics()
    gc = a_gc(store, clock, page_size=2, metrics=metrics)
    store.faults.fail_times("list", 1, StoreError(StoreErrorKind.UNAVAILABLE, "etcd is down"))

    failed = gc.sweep()
    retried = gc.sweep()  # the list fault is used up: the next sweep runs in full

    assert failed.error == "etcd is down"
    assert (failed.deleted, retried.deleted, retried.error) == (0, 4, None)
    assert metrics.sweeps == [True, False]


class FailingSecondPage(InMemoryTaskActionStore):
    """A store whose continued list calls fail, as when the API server goes away mid-sweep."""

    def list(
        self,
        namespace: str | None,
        label_selector: Mapping[str, str | None],
        limit: int = 0,
        continue_token: str = "",
    ) -> Result[Page, StoreError]:
        if continue_token:
            return Failure(StoreError(StoreErrorKind.UNAVAILABLE, "etcd is down"))
        return super().list(namespace, label_selector, limit, continue_token)


def test_gc_sweep_list_error_on_a_later_page_keeps_the_deletions_already_made() -> None:
    clock = ManualClock(T0)
    store = FailingSecondPage(clock)
    for i in range(4):
        add(store, f"done-{i}")

    report = a_gc(store, clock, page_size=2).sweep()

    assert (report.deleted, report.error) == (2, "etcd is down")
    assert remaining(store) == ["done-2", "done-3"]


def test_gc_sweep_reads_now_once_from_the_clock() -> None:
    store, clock = a_store()
    add(store, "ta", completed=label_time(T0 - HOUR - timedelta(minutes=1)))
    clock.set(T0 - timedelta(minutes=5))  # before the label expired

    assert a_gc(store, clock).sweep().kept == 1
    clock.set(T0)
    assert a_gc(store, clock).sweep().deleted == 1


# -- the schedule -------------------------------------------------------------------------------------------------


def test_gc_start_sweeps_immediately_then_every_interval_until_stopped() -> None:
    store, clock = a_store()
    ticker = FakeMonotonicClock(manual=clock)
    gc = a_gc(store, clock, interval=timedelta(minutes=30), ticker=ticker)
    add(store, "early")

    gc.start()
    eventually_sweeps(gc, 1)
    assert remaining(store) == []
    add(store, "later", completed=label_time(clock.now()))  # expires one hour from now

    ticker.advance(29 * 60)
    ticker.await_blocked(1, with_deadline=True, since=ticker.monotonic())
    assert gc.sweeps == 1
    ticker.advance(60)
    eventually_sweeps(gc, 2)
    assert remaining(store) == ["later"]
    ticker.advance(31 * 60)  # the 13:00 tick, seen at 13:01: the cutoff 12:01 is past "later"'s 12:00
    eventually_sweeps(gc, 3)
    assert remaining(store) == []

    gc.stop(timeout=WAIT_TIMEOUT)
    ticker.advance(3600)
    assert gc.sweeps == 3


def test_gc_schedule_survives_a_failing_sweep() -> None:
    store, clock = a_store()
    ticker = FakeMonotonicClock(manual=clock)
    store.faults.unavailable_next("list")
    add(store, "ta")

    with a_gc(store, clock, interval=timedelta(minutes=1), ticker=ticker) as gc:
        eventually_sweeps(gc, 1)
        assert gc.last_report is not None and gc.last_report.error is not None
        ticker.advance(60)
        eventually_sweeps(gc, 2)

        assert gc.last_report == SweepReport(1, 0, 0, 0, None, gc.last_report.duration_s)


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-1)])
def test_gc_interval_not_positive_disables_it(interval: timedelta) -> None:
    store, clock = a_store()
    add(store, "ta")
    gc = a_gc(store, clock, interval=interval)

    gc.start()
    gc.stop()

    assert not gc.enabled
    assert store.faults.calls("list") == 0
    assert remaining(store) == ["ta"]


def test_gc_stop_before_start_is_a_no_op_and_start_twice_raises() -> None:
    store, clock = a_store()
    gc = a_gc(store, clock)
    gc.stop()

    other = a_gc(store, clock)
    other.start()
    with pytest.raises(RuntimeError, match="already started"):
        other.start()
    other.stop(timeout=WAIT_TIMEOUT)
    assert gc.sweeps == 0


def test_gc_rejects_a_zero_page_size() -> None:
    store, clock = a_store()

    with pytest.raises(ValueError, match="page_size"):
        a_gc(store, clock, page_size=0)
