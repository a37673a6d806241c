"""The controller end to end over the fakes: watch-driven passes, requeue-after, backoff, concurrency, stop (R29)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from taskaction_core.decision import Done, RequeueAfter
from taskaction_core.interpreter.driver import PassReport, Ports, run_pass
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import StoreError, StoreErrorKind
from taskaction_core.phase_info import Transition
from taskaction_core.policy import Policy
from taskaction_core.runtime.controller import (
    Controller,
    ControllerStartError,
    Manager,
    ObjectKey,
    PassRunner,
    setup_with_manager,
)
from taskaction_core.runtime.workqueue import WorkQueue
from tests.runtime.fake_time import WAIT_TIMEOUT
from tests.runtime.world import POLICY, RUNNING, SUCCESS, World, a_world

KEY = ObjectKey("default", "ta")


@contextmanager
def running(
    world: World,
    workers: int = 2,
    *,
    run: PassRunner = run_pass,
    list_page_size: int = 500,
    start_list_backoff: float = 0.1,
) -> Iterator[Controller]:
    controller = Controller(
        world.ports,
        POLICY,
        workers=workers,
        clock=world.ticks,
        run=run,
        watch_poll=0.01,
        list_page_size=list_page_size,
        start_list_backoff=start_list_backoff,
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop(timeout=WAIT_TIMEOUT)


def blocking_step(entered: threading.Event, release: threading.Event) -> Callable[[PluginContext], Transition]:
    def step(ctx: PluginContext) -> Transition:
        entered.set()
        assert release.wait(WAIT_TIMEOUT)
        return SUCCESS

    return step


# -- driving TaskActions ------------------------------------------------------------------------------------------


def test_controller_drives_a_created_task_action_to_succeeded_from_watch_events() -> None:
    world = a_world((RUNNING, SUCCESS))
    with running(world) as controller:
        world.create("ta")  # after start: only the watch can bring it to the controller

        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert world.succeeded("ta")
        assert world.plugin.call_count("handle") == 2
        assert [event.phase.name for event in world.events.events][-1] == "SUCCEEDED"
        assert controller.stats().violations == ()


def test_controller_enqueues_objects_that_exist_at_start_across_list_pages() -> None:
    world = a_world((SUCCESS,))
    names = [f"ta-{i}" for i in range(5)]
    world.create(*names)

    with running(world, list_page_size=2) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert all(world.succeeded(name) for name in names)


def test_controller_honours_requeue_after_on_the_queue_clock() -> None:
    # RUNNING twice: the second pass changes nothing, so only its RequeueAfter(10 s) brings the third pass
    world = a_world((RUNNING, RUNNING, SUCCESS))
    world.create("ta")
    with running(world) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.plugin.call_count("handle") == 2
        assert controller.queue.waiting_keys() == {KEY: 10.0}

        world.ticks.advance(9.9)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.plugin.call_count("handle") == 2

        world.ticks.advance(0.1)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.plugin.call_count("handle") == 3
        assert world.succeeded("ta")
        assert world.get("ta").status.phase_history[-1].occurred_at == world.clock.now()


def test_controller_run_until_idle_waits_for_a_requeue_due_within_the_horizon() -> None:
    world = a_world((RUNNING, RUNNING, SUCCESS))
    world.create("ta")
    with running(world) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        with pytest.raises(TimeoutError, match="not idle"):
            controller.run_until_idle(timeout=0.05, horizon=10.0)  # due in 10 s of a clock nobody moves
        assert not world.succeeded("ta")


def test_controller_failed_passes_back_off_exponentially_then_forget_on_success() -> None:
    world = a_world((SUCCESS,))
    world.create("ta")
    world.store.faults.unavailable_next("get", times=3)
    with running(world) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert controller.queue.waiting_keys() == {KEY: pytest.approx(0.005)}

        world.ticks.advance(0.005)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert controller.queue.waiting_keys() == {KEY: pytest.approx(0.010)}

        world.ticks.advance(0.010)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert controller.queue.waiting_keys() == {KEY: pytest.approx(0.020)}
        assert controller.queue.num_requeues(KEY) == 3
        assert world.plugin.call_count("handle") == 0

        world.ticks.advance(0.020)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.succeeded("ta")
        assert controller.queue.num_requeues(KEY) == 0
        assert controller.stats().failed == 3


def test_controller_pass_that_raises_is_logged_and_backed_off_like_a_failure() -> None:
    world = a_world((SUCCESS,))
    world.create("ta")
    calls: list[str] = []

    def flaky(ports: Ports, policy: Policy, namespace: str, name: str) -> PassReport:
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("a bug in a pass")
        return run_pass(ports, policy, namespace, name)

    with running(world, run=flaky) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert controller.stats().crashed == 1
        assert controller.queue.num_requeues(KEY) == 1

        world.ticks.advance(0.005)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.succeeded("ta")


def test_controller_requeue_after_zero_is_done_as_in_controller_runtime() -> None:
    world = a_world()
    world.create("ta")

    def zero(ports: Ports, policy: Policy, namespace: str, name: str) -> PassReport:
        return PassReport(namespace, name, 0, (), (), RequeueAfter(timedelta(0)), 0.0, None)

    with running(world, run=zero) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert controller.queue.waiting_keys() == {}
        assert controller.stats().requeued_after == 1


def test_controller_deleting_a_running_task_action_aborts_finalizes_and_removes_it() -> None:
    world = a_world((RUNNING,))
    world.create("ta")
    with running(world) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        world.store.delete("default", "ta").unwrap()
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert world.store.objects() == ()
        assert world.plugin.call_count("abort") == 1
        assert world.plugin.call_count("finalize") == 1


def test_controller_many_workers_many_keys_never_reconcile_one_key_twice_at_once() -> None:
    world = a_world((RUNNING, RUNNING, SUCCESS))
    world.plugin.faults.slow("handle", 0.001)  # widen the window in which an overlap would show
    names = [f"ta-{i:02d}" for i in range(30)]
    world.create(*names)
    controller = Controller(world.ports, POLICY, workers=8, clock=world.ticks, watch_poll=0.01)

    def poke() -> None:
        rng = random.Random(7)
        for _ in range(3000):
            controller.enqueue("default", rng.choice(names))  # extra triggers, as pod events would add

    with controller:
        poker = threading.Thread(target=poke, daemon=True)
        poker.start()
        poker.join(WAIT_TIMEOUT)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        world.ticks.advance(10.0)  # the keys no poke reached after their second RUNNING wait for their requeue
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert all(world.succeeded(name) for name in names)
    assert world.plugin.concurrent_calls == ()
    assert controller.stats().violations == ()
    assert controller.stats().passes > len(names) * 3


class LeakyQueue(WorkQueue[ObjectKey]):
    """A broken queue that once forgets it handed a key out, so a second worker gets the same key."""

    def __init__(self) -> None:
        super().__init__()
        self.leaks = 1

    def get(self, timeout: float | None = None) -> ObjectKey | None:
        key = super().get(timeout)
        if key is not None and self.leaks:
            self.leaks -= 1
            super().done(key)
            self.add(key)
        return key


def test_controller_records_a_key_reconciled_twice_at_once_when_the_queue_breaks_its_promise() -> None:
    world = a_world()
    world.create("ta")
    release = threading.Event()

    def held(ports: Ports, policy: Policy, namespace: str, name: str) -> PassReport:
        assert release.wait(WAIT_TIMEOUT)
        return PassReport(namespace, name, 0, (), (), Done(), 0.0, None)

    controller = Controller(world.ports, POLICY, workers=2, queue=LeakyQueue(), run=held)
    with controller:
        give_up = time.monotonic() + WAIT_TIMEOUT
        while not controller.stats().violations:
            assert time.monotonic() < give_up, "the overlap was not recorded"
            release.wait(0.001)
        release.set()

    assert controller.stats().violations == (KEY,)


def test_controller_stop_finishes_the_pass_in_flight_and_takes_no_new_key() -> None:
    entered, release = threading.Event(), threading.Event()
    world = a_world((blocking_step(entered, release),))
    world.create("a", "b")
    controller = Controller(world.ports, POLICY, workers=1, watch_poll=0.01)
    controller.start()
    assert entered.wait(WAIT_TIMEOUT)

    stopper = threading.Thread(target=controller.stop, kwargs={"timeout": WAIT_TIMEOUT}, daemon=True)
    stopper.start()
    while not controller.queue.shutting_down:
        assert stopper.is_alive()
        release.wait(0.001)
    assert stopper.is_alive()  # waiting for the pass in flight
    release.set()
    stopper.join(WAIT_TIMEOUT)

    assert not stopper.is_alive()
    assert world.succeeded("a")  # the pass in flight completed its writes
    assert not world.get("b").status.conditions  # "b" was queued behind it and never taken
    assert world.plugin.call_count("handle") == 1
    assert not controller.running


def test_controller_restarted_after_stop_finishes_what_was_left() -> None:
    world = a_world((SUCCESS,))
    world.create("a", "b", "c")
    first = Controller(world.ports, POLICY, workers=1)
    first.start()
    first.stop(timeout=WAIT_TIMEOUT)  # may stop before, during or after any pass: nothing may be lost

    with running(world) as second:
        second.run_until_idle(timeout=WAIT_TIMEOUT)

        assert all(world.succeeded(name) for name in ("a", "b", "c"))
    with pytest.raises(RuntimeError, match="already started"):
        first.start()


def test_controller_run_until_idle_times_out_while_a_pass_is_stuck() -> None:
    entered, release = threading.Event(), threading.Event()
    world = a_world((blocking_step(entered, release),))
    world.create("ta")
    with running(world) as controller:
        assert entered.wait(WAIT_TIMEOUT)

        with pytest.raises(TimeoutError, match="not idle"):
            controller.run_until_idle(timeout=0.05)
        assert controller.stats().in_flight == (KEY,)
        release.set()


def test_controller_run_until_idle_before_start_raises() -> None:
    controller = Controller(a_world().ports, POLICY)

    with pytest.raises(RuntimeError, match="not running"):
        controller.run_until_idle(timeout=0.01)


def test_controller_start_retries_a_failed_initial_list() -> None:
    world = a_world((SUCCESS,))
    world.create("ta")
    world.store.faults.unavailable_next("list", times=2)

    with running(world, start_list_backoff=0.001) as controller:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)

        assert world.succeeded("ta")


def test_controller_start_fails_when_the_initial_list_keeps_failing() -> None:
    world = a_world()
    world.store.faults.fail_forever("list", StoreError(StoreErrorKind.UNAVAILABLE, "etcd is down"))
    controller = Controller(world.ports, POLICY, start_list_backoff=0.001)

    with pytest.raises(ControllerStartError, match="failed 5 times"):
        controller.start()
    assert not controller.running


def test_controller_rejects_zero_workers() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        Controller(a_world().ports, POLICY, workers=0)


# -- manager ------------------------------------------------------------------------------------------------------


class Recording:
    def __init__(self, name: str, log: list[str], fail_stop: bool = False) -> None:
        self.name, self.log, self.fail_stop = name, log, fail_stop

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self, timeout: float | None = None) -> None:
        self.log.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError(f"{self.name} failed to stop")


def test_manager_starts_in_order_and_stops_in_reverse_even_when_one_stop_fails() -> None:
    log: list[str] = []
    manager = Manager()
    manager.add(Recording("batcher", log))
    manager.add(Recording("controller", log, fail_stop=True))

    manager.start()
    manager.add(Recording("gc", log))
    with pytest.raises(RuntimeError, match="controller failed to stop"):
        manager.stop()

    assert log == ["start batcher", "start controller", "start gc", "stop gc", "stop controller", "stop batcher"]


def test_setup_with_manager_registers_a_controller_the_manager_runs() -> None:
    world = a_world((SUCCESS,))
    world.create("ta")
    manager = Manager()

    controller = setup_with_manager(manager, world.ports, POLICY, workers=3)
    with manager:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.succeeded("ta")

    assert manager.runnables == (controller,)
    assert not controller.running
