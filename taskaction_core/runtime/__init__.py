"""The runtime: controller-runtime semantics for the interpreter, on threads (design.md §1 item 4).

- :mod:`~taskaction_core.runtime.workqueue`: the client-go work queue (dedup, one key per worker, delays, the
  controller-runtime default rate limiter) over an injectable monotonic clock;
- :mod:`~taskaction_core.runtime.controller`: workers running :func:`~taskaction_core.interpreter.driver.run_pass`,
  fed by the store's watch (R29), the :class:`Manager` and :func:`setup_with_manager`;
- :mod:`~taskaction_core.runtime.batcher`: the ActionEvent batcher (R111–R115), an ``EventSink`` wrapper;
- :mod:`~taskaction_core.runtime.gc`: the garbage collector of terminal TaskActions (R116–R119).

A typical embedding, with the batcher added first so it starts first and stops last::

    batcher = EventBatcher(sink)
    ports = Ports(..., events=batcher)
    manager = Manager()
    manager.add(batcher)
    setup_with_manager(manager, ports, policy, workers=8)
    manager.add(GarbageCollector(ports.store, ports.clock, DEFAULT_GC_INTERVAL, DEFAULT_GC_MAX_TTL))
    with manager:
        ...
"""

from taskaction_core.runtime.batcher import BatcherStats, EventBatcher
from taskaction_core.runtime.controller import (
    DEFAULT_WORKERS,
    Controller,
    ControllerStartError,
    ControllerStats,
    Manager,
    ObjectKey,
    Runnable,
    setup_with_manager,
)
from taskaction_core.runtime.gc import GarbageCollector, SweepReport
from taskaction_core.runtime.workqueue import (
    SYSTEM_CLOCK,
    DefaultControllerRateLimiter,
    ItemExponentialBackoff,
    MonotonicClock,
    QueueMetrics,
    RateLimiter,
    SystemMonotonicClock,
    TokenBucket,
    WorkQueue,
)

__all__ = [
    "DEFAULT_WORKERS",
    "SYSTEM_CLOCK",
    "BatcherStats",
    "Controller",
    "ControllerStartError",
    "ControllerStats",
    "DefaultControllerRateLimiter",
    "EventBatcher",
    "GarbageCollector",
    "ItemExponentialBackoff",
    "Manager",
    "MonotonicClock",
    "ObjectKey",
    "QueueMetrics",
    "RateLimiter",
    "Runnable",
    "SweepReport",
    "SystemMonotonicClock",
    "TokenBucket",
    "WorkQueue",
    "setup_with_manager",
]
