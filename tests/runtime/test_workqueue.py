"""The work queue's client-go semantics (R29: one key never processed twice at once; spec §0: FAIL backoff)."""

from __future__ import annotations

import itertools
import random
import threading

import pytest

from taskaction_core.runtime.workqueue import (
    DefaultControllerRateLimiter,
    ItemExponentialBackoff,
    QueueMetrics,
    SystemMonotonicClock,
    TokenBucket,
    WorkQueue,
)
from tests.runtime.fake_time import WAIT_TIMEOUT, FakeMonotonicClock


def a_queue(clock: FakeMonotonicClock | None = None) -> tuple[WorkQueue[str], FakeMonotonicClock]:
    fake = clock or FakeMonotonicClock()
    return WorkQueue(clock=fake), fake


def drain_ready(queue: WorkQueue[str]) -> list[str]:
    """Every key ready now, each marked done right away."""
    taken: list[str] = []
    while (key := queue.get(timeout=0)) is not None:
        taken.append(key)
        queue.done(key)
    return taken


def in_thread(target: object) -> threading.Thread:
    assert callable(target)
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


# -- dedup and the processing rule -------------------------------------------------------------------------------------


def test_workqueue_add_of_queued_key_dedups() -> None:
    queue, _ = a_queue()
    for key in ("a", "b", "a", "a", "b", "c"):
        queue.add(key)

    assert drain_ready(queue) == ["a", "b", "c"]
    assert queue.metrics().adds == 3


def test_workqueue_key_added_while_processing_is_not_handed_out_until_done() -> None:
    queue, _ = a_queue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"

    queue.add("a")
    queue.add("a")

    assert queue.get(timeout=0) is None
    assert len(queue) == 0
    queue.done("a")
    assert queue.get(timeout=0) == "a"
    queue.done("a")
    assert queue.get(timeout=0) is None


def test_workqueue_done_without_readd_does_not_requeue() -> None:
    queue, _ = a_queue()
    queue.add("a")
    key = queue.get(timeout=0)
    assert key == "a"

    queue.done(key)

    assert queue.get(timeout=0) is None
    assert queue.is_idle()


def test_workqueue_hammered_by_threads_never_hands_one_key_to_two_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()  # the real clock: this test is about real thread interleavings
    keys = [f"k{i}" for i in range(6)]
    guard = threading.Lock()
    active: set[str] = set()
    overlaps: list[str] = []
    ticket = itertools.count()
    last_add: dict[str, int] = {}
    last_start: dict[str, int] = {}
    passes = itertools.count()

    def worker() -> None:
        while (key := queue.get()) is not None:
            with guard:
                if key in active:
                    overlaps.append(key)
                active.add(key)
                last_start[key] = next(ticket)
            next(passes)
            with guard:
                active.discard(key)
            queue.done(key)

    def adder(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2000):
            key = rng.choice(keys)
            with guard:
                last_add[key] = next(ticket)
            queue.add(key)

    workers = [in_thread(worker) for _ in range(8)]
    adders = [in_thread(lambda seed=seed: adder(seed)) for seed in range(6)]
    for thread in adders:
        thread.join(WAIT_TIMEOUT)

    assert queue.shut_down_with_drain(timeout=WAIT_TIMEOUT)
    for thread in workers:
        thread.join(WAIT_TIMEOUT)
    assert overlaps == []
    assert all(last_start[key] > last_add[key] for key in last_add), "an add was not followed by a pass"
    assert next(passes) > len(keys)
    assert not any(thread.is_alive() for thread in workers)


# -- delays ------------------------------------------------------------------------------------------------------------


def test_workqueue_add_after_hands_keys_out_in_ready_time_order() -> None:
    queue, clock = a_queue()
    queue.add_after("c", 3.0)
    queue.add_after("a", 1.0)
    queue.add_after("b", 2.0)

    assert queue.get(timeout=0) is None
    clock.advance(1.5)
    assert drain_ready(queue) == ["a"]
    clock.advance(10.0)
    assert drain_ready(queue) == ["b", "c"]


def test_workqueue_add_after_of_waiting_key_keeps_the_earlier_time() -> None:
    queue, clock = a_queue()
    queue.add_after("a", 5.0)
    queue.add_after("a", 1.0)
    queue.add_after("a", 10.0)

    clock.advance(1.0)

    assert drain_ready(queue) == ["a"]
    clock.advance(20.0)
    assert drain_ready(queue) == []
    assert queue.metrics().waiting == 0


def test_workqueue_add_after_non_positive_delay_adds_now() -> None:
    queue, _ = a_queue()
    queue.add_after("a", 0.0)
    queue.add_after("b", -1.0)

    assert drain_ready(queue) == ["a", "b"]


def test_workqueue_waiting_key_also_added_directly_is_processed_now_and_again_when_due() -> None:
    # controller-runtime: a RequeueAfter still fires after an event-triggered pass in between
    queue, clock = a_queue()
    queue.add_after("a", 10.0)
    queue.add("a")

    assert drain_ready(queue) == ["a"]
    clock.advance(10.0)
    assert drain_ready(queue) == ["a"]


def test_workqueue_blocked_get_wakes_when_a_delayed_key_comes_due() -> None:
    queue, clock = a_queue()
    taken: list[str | None] = []
    thread = in_thread(lambda: taken.append(queue.get()))
    clock.await_blocked()

    queue.add_after("a", 5.0)
    clock.await_blocked(with_deadline=True)
    clock.advance(4.0)
    clock.await_blocked(with_deadline=True)
    assert taken == []
    clock.advance(1.0)

    thread.join(WAIT_TIMEOUT)
    assert taken == ["a"]


def test_workqueue_get_with_timeout_returns_none_when_time_runs_out() -> None:
    queue, clock = a_queue()
    taken: list[str | None] = ["sentinel"]
    thread = in_thread(lambda: taken.__setitem__(0, queue.get(timeout=2.0)))
    clock.await_blocked(with_deadline=True)

    clock.advance(2.0)

    thread.join(WAIT_TIMEOUT)
    assert not thread.is_alive()
    assert taken == [None]


def test_workqueue_is_idle_looks_ahead_by_the_horizon() -> None:
    queue, clock = a_queue()
    queue.add_after("a", 5.0)

    assert queue.is_idle(horizon=4.0)
    assert not queue.is_idle(horizon=5.0)
    clock.advance(5.0)
    assert not queue.is_idle()
    assert queue.waiting_keys() == {"a": 0.0}


# -- rate limiting -----------------------------------------------------------------------------------------------------


def test_item_exponential_backoff_doubles_from_5ms_and_caps_at_1000s() -> None:
    backoff: ItemExponentialBackoff[str] = ItemExponentialBackoff()

    delays = [backoff.when("a") for _ in range(22)]

    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[17] == pytest.approx(655.36)
    assert delays[18:] == [1000.0] * 4
    assert backoff.num_requeues("a") == 22


def test_item_exponential_backoff_counts_keys_separately_and_forget_resets() -> None:
    backoff: ItemExponentialBackoff[str] = ItemExponentialBackoff()
    backoff.when("a")
    backoff.when("a")

    assert backoff.when("b") == 0.005
    backoff.forget("a")
    assert backoff.num_requeues("a") == 0
    assert backoff.when("a") == 0.005


def test_item_exponential_backoff_huge_failure_count_stays_capped() -> None:
    backoff: ItemExponentialBackoff[str] = ItemExponentialBackoff(base=0.005, cap=1000.0)
    for _ in range(1100):
        delay = backoff.when("a")

    assert delay == 1000.0


def test_item_exponential_backoff_rejects_a_cap_below_the_base() -> None:
    with pytest.raises(ValueError, match="base <= cap"):
        ItemExponentialBackoff(base=2.0, cap=1.0)


def test_token_bucket_allows_a_burst_of_100_then_10_per_second() -> None:
    clock = FakeMonotonicClock()
    bucket = TokenBucket(clock=clock)

    burst = [bucket.reserve() for _ in range(100)]
    after_burst = [bucket.reserve() for _ in range(2)]

    assert burst == [0.0] * 100
    assert after_burst == pytest.approx([0.1, 0.2])
    clock.advance(1.0)  # +10 tokens, 2 of them already promised
    assert [bucket.reserve() for _ in range(8)] == [0.0] * 8
    assert bucket.reserve() == pytest.approx(0.1)


def test_token_bucket_never_holds_more_than_the_burst() -> None:
    clock = FakeMonotonicClock()
    bucket = TokenBucket(qps=1.0, burst=2, clock=clock)
    clock.advance(3600.0)

    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


def test_default_controller_rate_limiter_takes_the_larger_of_backoff_and_bucket() -> None:
    clock = FakeMonotonicClock()
    limiter: DefaultControllerRateLimiter[str] = DefaultControllerRateLimiter(clock=clock)

    first_of_many_keys = [limiter.when(f"k{i}") for i in range(101)]
    one_key = [limiter.when("hot") for _ in range(12)]

    assert first_of_many_keys[:100] == [0.005] * 100
    assert first_of_many_keys[100] == pytest.approx(0.1)  # the bucket dominates a fresh key
    assert one_key[-1] == pytest.approx(0.005 * 2**11)  # 10.24 s: the backoff dominates the bucket's 1.3 s
    limiter.forget("hot")
    assert limiter.num_requeues("hot") == 0


def test_workqueue_add_rate_limited_waits_the_backoff_and_forget_resets_it() -> None:
    queue, clock = a_queue()

    queue.add_rate_limited("a")
    assert queue.get(timeout=0) is None
    clock.advance(0.005)
    assert drain_ready(queue) == ["a"]

    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert drain_ready(queue) == []
    clock.advance(0.005)
    assert drain_ready(queue) == ["a"]
    assert queue.num_requeues("a") == 2

    queue.forget("a")
    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert drain_ready(queue) == ["a"]
    assert queue.metrics().retries == 3


# -- shutdown ----------------------------------------------------------------------------------------------------------


def test_workqueue_shut_down_stops_handing_out_keys_and_refuses_adds() -> None:
    queue, clock = a_queue()
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 1.0)

    queue.shut_down()
    queue.add("d")
    clock.advance(5.0)

    assert queue.get(timeout=0) is None
    assert queue.get() is None  # never blocks once shut down
    assert len(queue) == 2
    assert queue.metrics().waiting == 0
    assert queue.shutting_down


def test_workqueue_shut_down_wakes_a_blocked_get() -> None:
    queue, clock = a_queue()
    taken: list[str | None] = ["sentinel"]
    thread = in_thread(lambda: taken.__setitem__(0, queue.get()))
    clock.await_blocked()

    queue.shut_down()

    thread.join(WAIT_TIMEOUT)
    assert taken == [None]


def test_workqueue_key_readded_during_processing_is_requeued_even_after_shut_down() -> None:
    queue, _ = a_queue()
    queue.add("a")
    key = queue.get(timeout=0)
    assert key == "a"
    queue.add("a")

    queue.shut_down()
    queue.done(key)

    assert len(queue) == 1


def test_workqueue_shut_down_with_drain_hands_out_queued_keys_then_returns() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "c"):
        queue.add(key)
    processed: list[str] = []

    def worker() -> None:
        while (key := queue.get()) is not None:
            processed.append(key)
            queue.done(key)

    drained = queue.shut_down_with_drain  # called before the worker starts: it must still drain
    result: list[bool] = []
    drainer = in_thread(lambda: result.append(drained(timeout=WAIT_TIMEOUT)))
    thread = in_thread(worker)

    drainer.join(WAIT_TIMEOUT)
    thread.join(WAIT_TIMEOUT)
    assert result == [True]
    assert processed == ["a", "b", "c"]


def test_workqueue_shut_down_with_drain_times_out_while_a_key_is_processing() -> None:
    queue, _ = a_queue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"

    assert queue.shut_down_with_drain(timeout=0) is False
    queue.done("a")
    assert queue.shut_down_with_drain(timeout=0) is True


def test_workqueue_metrics_snapshot_counts_each_place() -> None:
    queue, _ = a_queue()
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 1.0)
    queue.add_rate_limited("d")
    assert queue.get(timeout=0) == "a"

    assert queue.metrics() == QueueMetrics(depth=1, processing=1, waiting=2, adds=2, retries=1)


# -- wake-ups ----------------------------------------------------------------------------------------------------------


def test_workqueue_done_reports_whether_nothing_is_queued_or_processing() -> None:
    queue, _ = a_queue()
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 1.0)  # waiting keys do not count: the idle waiter applies its own horizon
    first, second = queue.get(timeout=0), queue.get(timeout=0)
    assert (first, second) == ("a", "b")
    queue.add("a")  # dirty while processing: requeued by done

    assert queue.done("a") is False  # "a" is queued again, "b" still processing
    assert queue.get(timeout=0) == "a"
    assert queue.done("b") is False  # "a" processing
    assert queue.done("a") is True


def test_workqueue_each_add_wakes_one_blocked_get_and_every_key_reaches_a_worker() -> None:
    queue, clock = a_queue()
    taken: list[str | None] = []
    guard = threading.Lock()

    def take() -> None:
        key = queue.get()
        with guard:
            taken.append(key)

    threads = [in_thread(take) for _ in range(3)]
    clock.await_blocked(3)

    for key in ("a", "b", "c"):
        queue.add(key)

    for thread in threads:
        thread.join(WAIT_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(key for key in taken if key is not None) == ["a", "b", "c"]


def test_workqueue_done_requeueing_a_dirty_key_wakes_a_blocked_get() -> None:
    queue, clock = a_queue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")  # a write during the pass: one more pass after done
    taken: list[str | None] = []
    thread = in_thread(lambda: taken.append(queue.get()))
    clock.await_blocked()

    queue.done("a")

    thread.join(WAIT_TIMEOUT)
    assert taken == ["a"]


class BlockSignallingClock(SystemMonotonicClock):
    """The real clock (a blocked get really sleeps until its deadline), telling the test when a thread blocks."""

    def __init__(self) -> None:
        self.blocked = threading.Event()

    def wait_until(self, condition: threading.Condition, deadline: float | None) -> None:
        self.blocked.set()
        super().wait_until(condition, deadline)


def test_workqueue_add_after_earlier_than_every_waiting_key_wakes_a_blocked_get_on_time() -> None:
    clock = BlockSignallingClock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add_after("late", 3600.0)
    taken: list[str | None] = []
    thread = in_thread(lambda: taken.append(queue.get()))
    assert clock.blocked.wait(WAIT_TIMEOUT)  # asleep until "late" is due, an hour from now

    queue.add_after("early", 0.01)

    thread.join(WAIT_TIMEOUT)
    assert taken == ["early"]
