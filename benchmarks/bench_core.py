"""Benchmark of one pure decision round (issue: the pure reconcile core).

    python benchmarks/bench_core.py            # prints a table; --json for machine-readable output

Rounds measured, each the *final* round of its pass (all outside answers already observed):
  (a) steady Running round with no change,
  (b) Running → Success with a cache Put outcome (event + status + labels decided),
  (c) round (b) on a TaskAction with 10,000 phase-history entries,
and, in the same run, the floor: one ``dataclasses.replace`` of the status record.
Targets on the 2-core reference machine: (a) ≤ 10 µs and ≤ 2× floor, (b) ≤ 40 µs, (c) ≤ 1.2× (b).
The cases are sampled in turn, round after round; a time is the median of its rounds, and a ratio the median of the
rounds' paired ratios (each round's two samples are milliseconds apart, so a switch of machine speed between rounds
cancels). The ratio of the two medians is printed next to it, for comparison.
These are measurements, not assertions: nothing here fails a test run.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

from pyrsistent import pvector
from returns.result import Failure, Success

from taskaction_core.decision import Decision
from taskaction_core.observations import CacheLookupOutcome, CatalogErrorKind, CatalogFailure
from taskaction_core.phases import PluginPhase
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import PhaseHistoryEntry, TaskAction
from taskaction_core.testing.builders import T0, a_task_action, observations_at, running, succeeded


def _interleaved_samples(cases: dict[str, Callable[[], object]], rounds: int, inner: int) -> dict[str, list[float]]:
    """µs per call of every case in each round, sampling the cases in turn so machine load hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    gc.disable()
    try:
        for _ in range(rounds):
            for name, fn in cases.items():
                start = time.perf_counter_ns()
                for _ in range(inner):
                    fn()
                samples[name].append((time.perf_counter_ns() - start) / inner / 1000)
    finally:
        gc.enable()
    return samples


def _paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of one case's sample over another's from the same round.

    The two samples of a round are taken a few milliseconds apart, so a change of machine speed between rounds (this
    machine switches between two modes about 1.6× apart) scales both; a ratio of two medians can instead pair a
    median taken mostly in one mode with one taken mostly in the other.
    """
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def _running_action(history: int = 0) -> TaskAction:
    """A cacheable task that has already been Running for a while (status as a previous pass left it)."""
    ta = a_task_action(cacheable=True)
    policy = Policy()
    first = reconcile(ta, observations_at(T0, cache_lookup=_miss(), handle=running()), policy)
    assert isinstance(first, Decision)
    ta = first.task_action
    if history:
        entries = pvector(PhaseHistoryEntry("Executing" if i % 2 else "Queued", T0, "") for i in range(history - 1))
        entries = entries.append(PhaseHistoryEntry("Executing", T0, ""))
        ta = dataclasses.replace(ta, status=dataclasses.replace(ta.status, phase_history=entries))
    return ta


def _miss() -> CacheLookupOutcome:
    return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "not found"))


def build_cases() -> dict[str, Callable[[], object]]:
    """The floor and rounds (a)-(c) as calls, each checked once to do what its name says."""
    policy = Policy()
    later = T0 + timedelta(seconds=10)
    steady = _running_action()
    assert steady.status.plugin_phase == PluginPhase.RUNNING.wire_name
    steady_obs = observations_at(later, handle=running())
    success_obs = observations_at(later, handle=succeeded(later), cache_put=Success(None))
    long = _running_action(history=10_000)

    decision = reconcile(steady, steady_obs, policy)
    assert isinstance(decision, Decision) and decision.effects == () and decision.task_action is steady
    done = reconcile(steady, success_obs, policy)
    assert isinstance(done, Decision) and len(done.effects) >= 3
    long_done = reconcile(long, success_obs, policy)
    assert isinstance(long_done, Decision) and len(long_done.task_action.status.phase_history) == 10_001

    status = steady.status
    return {
        "floor_replace_status_us": lambda: dataclasses.replace(status, attempts=2),
        "a_steady_running_us": lambda: reconcile(steady, steady_obs, policy),
        "b_running_to_success_us": lambda: reconcile(steady, success_obs, policy),
        "c_success_10k_history_us": lambda: reconcile(long, success_obs, policy),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--inner", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    samples = _interleaved_samples(build_cases(), args.rounds, args.inner)
    results = {name: statistics.median(values) for name, values in samples.items()}
    floor, a = samples["floor_replace_status_us"], samples["a_steady_running_us"]
    b, c = samples["b_running_to_success_us"], samples["c_success_10k_history_us"]
    results["a_over_floor"] = _paired_ratio(a, floor)
    results["c_over_b"] = _paired_ratio(c, b)
    results["a_over_floor_of_medians"] = results["a_steady_running_us"] / results["floor_replace_status_us"]
    results["c_over_b_of_medians"] = results["c_success_10k_history_us"] / results["b_running_to_success_us"]
    targets = {
        "a_steady_running_us": ("≤ 10 µs", results["a_steady_running_us"] <= 10),
        "a_over_floor": ("≤ 2×", results["a_over_floor"] <= 2),
        "b_running_to_success_us": ("≤ 40 µs", results["b_running_to_success_us"] <= 40),
        "c_over_b": ("≤ 1.2×", results["c_over_b"] <= 1.2),
    }
    if args.json:
        json.dump({"results": results, "met": {k: ok for k, (_, ok) in targets.items()}}, sys.stdout, indent=2)
        print()
        return
    print(f"python {sys.version.split()[0]}, {args.rounds} samples × {args.inner} calls, median")
    for key, value in results.items():
        target, ok = targets.get(key, ("", None))
        mark = "" if ok is None else ("met" if ok else "MISSED")
        unit = "×" if "over" in key else "µs"
        print(f"  {key:30s} {value:9.2f} {unit:2s}  {target:8s} {mark}")


if __name__ == "__main__":
    main()
