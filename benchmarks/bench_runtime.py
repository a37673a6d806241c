"""Benchmark of the runtime over the in-memory fakes (issue: interpreter, ports and runtime).

    python benchmarks/bench_runtime.py                 # 10,000 actions, 100 vs 100,000 stored
    python benchmarks/bench_runtime.py --actions 2000  # quicker

1. Throughput: ``--actions`` TaskActions are created and driven from creation to Succeeded by the threaded controller
   (watch-driven, ``--workers`` workers); reported as passes per second and actions per second.
2. Scaling: the median cost of one steady pass (``run_pass`` of a Running action) with 100 and with 100,000 other
   TaskActions in the store, measured in the same run. Target: the second within 1.3× of the first — a pass must never
   scan the store.
Measurements only: nothing here fails a test run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import replace

from taskaction_core.interpreter.driver import Ports, run_pass
from taskaction_core.interpreter.ports import PluginRegistry
from taskaction_core.phase_info import Transition, phase_info_running, phase_info_success
from taskaction_core.policy import Policy
from taskaction_core.records import is_terminal
from taskaction_core.runtime.controller import Controller
from taskaction_core.testing import (
    DictSecretManager,
    InMemoryCatalog,
    InMemoryDataStore,
    InMemoryTaskActionStore,
    ManualClock,
    QuotaResourceManager,
    RecordingEventSink,
    RecordingRecorder,
    ScriptedPlugin,
)
from taskaction_core.testing.builders import T0, a_task_action


def _ports(plugin: ScriptedPlugin) -> Ports:
    clock = ManualClock(T0)
    data = InMemoryDataStore()
    registry = PluginRegistry()
    registry.register(plugin, ["python"], default=True)
    return Ports(
        store=InMemoryTaskActionStore(clock),
        plugins=registry,
        data_store=data,
        events=RecordingEventSink(),
        recorder=RecordingRecorder(clock),
        clock=clock,
        secrets=DictSecretManager(),
        resources=QuotaResourceManager(1_000_000),
        catalog=InMemoryCatalog(data, clock),
    )


def throughput(actions: int, workers: int) -> dict[str, float]:
    """Drive ``actions`` TaskActions to Succeeded through the controller; passes per second."""
    plugin = ScriptedPlugin("bench", [Transition(phase_info_success(T0, None))], per_key=True)
    ports = _ports(plugin)
    template = a_task_action(with_finalizer=False)
    for index in range(actions):
        created = ports.store.create(replace(template, metadata=replace(template.metadata, name=f"ta-{index}")))
        assert created.unwrap() is not None
    controller = Controller(ports, Policy(), workers=workers)
    started = time.perf_counter()
    controller.start()
    try:
        controller.run_until_idle(timeout=3600)
    finally:
        controller.stop()
    elapsed = time.perf_counter() - started
    stats = controller.stats()
    page = ports.store.list(None, {}, actions + 1, "").unwrap()
    succeeded = sum(1 for item in page.items if is_terminal(item.status.conditions))
    assert succeeded == actions, f"only {succeeded} of {actions} actions finished"
    assert not stats.violations, stats.violations
    return {
        "actions": actions,
        "passes": stats.passes,
        "seconds": elapsed,
        "passes_per_second": stats.passes / elapsed,
        "actions_per_second": actions / elapsed,
    }


def steady_pass_us(stored: int, samples: int, inner: int) -> float:
    """Median µs of one steady Running pass with ``stored`` other TaskActions in the store."""
    plugin = ScriptedPlugin("bench", [Transition(phase_info_running(T0, 0, None))])
    ports = _ports(plugin)
    filler = a_task_action(with_finalizer=False)
    for index in range(stored):
        ports.store.create(replace(filler, metadata=replace(filler.metadata, name=f"other-{index}")))
    ports.store.create(a_task_action(name="target"))
    policy = Policy()
    for _ in range(3):  # add the finalizer, launch, reach Running: later passes are steady
        run_pass(ports, policy, "default", "target")
    timings = []
    # A long-lived store is old data: freeze it out of the cyclic GC's generations, as a long-running controller
    # process would (gc.freeze). Otherwise every full collection walks all stored objects, and the measurement would
    # charge the interpreter's GC, not the pass, for the store's size.
    gc.collect()
    gc.freeze()
    for _ in range(samples):
        start = time.perf_counter_ns()
        for _ in range(inner):
            run_pass(ports, policy, "default", "target")
        timings.append((time.perf_counter_ns() - start) / inner / 1000)
    gc.unfreeze()
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=21)
    parser.add_argument("--inner", type=int, default=200)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    result = throughput(args.actions, args.workers)
    print(
        f"throughput: {result['actions']:.0f} actions, {result['passes']:.0f} passes in {result['seconds']:.1f} s"
        f" = {result['passes_per_second']:.0f} passes/s, {result['actions_per_second']:.0f} actions/s"
        f" ({args.workers} workers)"
    )
    small = steady_pass_us(100, args.samples, args.inner)
    large = steady_pass_us(args.large, args.samples, args.inner)
    verdict = "met" if large / small <= 1.3 else "MISSED"
    print(f"steady pass: {small:.1f} µs with 100 stored, {large:.1f} µs with {args.large} stored")
    print(f"  ratio {large / small:.2f}×  (target ≤ 1.3×) {verdict}")


if __name__ == "__main__":
    main()
