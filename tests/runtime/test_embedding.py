"""The runtime pieces together under one Manager: batcher, controller and garbage collector over the fakes."""

from __future__ import annotations

import time
from dataclasses import replace

from taskaction_core.policy import DEFAULT_GC_INTERVAL, DEFAULT_GC_MAX_TTL
from taskaction_core.runtime import EventBatcher, GarbageCollector, Manager, setup_with_manager
from tests.runtime.fake_time import WAIT_TIMEOUT
from tests.runtime.world import POLICY, RUNNING, SUCCESS, a_world


def until_sweeps(gc: GarbageCollector, count: int) -> None:
    give_up = time.monotonic() + WAIT_TIMEOUT
    while gc.sweeps < count:
        assert time.monotonic() < give_up, f"expected {count} sweeps, saw {gc.sweeps}"
        time.sleep(0.001)


def test_runtime_manager_drives_actions_to_success_then_collects_them_after_the_ttl() -> None:
    world = a_world((RUNNING, SUCCESS))
    batcher = EventBatcher(world.events)  # the real clock: each batch waits its 25 ms
    ports = replace(world.ports, events=batcher)
    gc = GarbageCollector(world.store, world.clock, DEFAULT_GC_INTERVAL, DEFAULT_GC_MAX_TTL, ticker=world.ticks)
    manager = Manager()
    manager.add(batcher)
    controller = setup_with_manager(manager, ports, POLICY, workers=4, clock=world.ticks)
    manager.add(gc)
    world.create("a", "b")

    with manager:
        controller.run_until_idle(timeout=WAIT_TIMEOUT)
        assert world.succeeded("a") and world.succeeded("b")
        assert {event.phase.name for event in world.events.events} >= {"RUNNING", "SUCCEEDED"}
        assert batcher.stats().failed_batches == 0

        # The collector thread reads its start on the ticker, then sweeps at once. Moved before that first sweep
        # ends, the ticker would make the first sweep the late one: it would delete both, and the second would
        # either find nothing left or, if the start was read after the move, not come for another 30 minutes.
        until_sweeps(gc, 1)
        world.ticks.advance((DEFAULT_GC_INTERVAL * 3).total_seconds())  # one dropped-tick sweep, 90 min later
        until_sweeps(gc, 2)
        controller.run_until_idle(timeout=WAIT_TIMEOUT)  # the deletion arm removes the finalizer

        assert gc.last_report is not None and gc.last_report.deleted == 2
        assert world.store.objects() == ()
        assert world.plugin.concurrent_calls == ()
    assert not controller.running
