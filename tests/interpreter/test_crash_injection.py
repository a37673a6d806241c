"""Crash injection between any two port calls (design.md §8).

For every scenario of the catalogue and every position k, the process dies right after the k-th question or effect
(the driver's ``after_call`` hook raises :class:`SimulatedCrash`). A fresh driver (new ports) over the same store,
catalog, event sink, data store and cluster (which keeps its resources, as a real cluster would) then carries on
to quiescence. It must reach the same end state as the crash-free run, lose no event (the store never shows a
phase whose ActionEvent is not durable, R65, neither at the crash nor after), and its only duplicates are re-sends
that the R114 key absorbs: the events kept by the sink are exactly those of the crash-free run.

One difference is allowed, and it is the Go ordering, not a defect of the port: an in-place restart aborts the
failed attempt's resource (R40) before the status naming the new attempt is written (R46). A crash in between
leaves the status on the old attempt with its resource gone; the next pass sees the resource deleted (a SYSTEM
retryable failure, R38, R62), relaunches the old attempt, which fails again and restarts. The end is the same; the
phase history holds one more Queued → Executing round. Writing the status first would instead leak the old resource
when the crash falls between the write and the abort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from taskaction_core.phases import ActionPhase
from taskaction_core.testing.scenarios import (
    SCENARIOS,
    EndState,
    Scenario,
    ScenarioRun,
    StopReason,
    lost_events,
    run_scenario,
)

CRASH_FREE: dict[str, ScenarioRun] = {scenario.name: run_scenario(scenario) for scenario in SCENARIOS}
"""Each scenario's crash-free run: its call sequence gives the injection points, its end the reference."""

INJECTION_POINTS: list[tuple[Scenario, int]] = [
    (scenario, k) for scenario in SCENARIOS for k in range(1, len(CRASH_FREE[scenario.name].calls) + 1)
]


def _point_id(point: tuple[Scenario, int]) -> str:
    scenario, k = point
    return f"{scenario.name}-{k:02d}-{CRASH_FREE[scenario.name].calls[k - 1]}"


def _restart_abort_unpersisted(calls: Sequence[str]) -> bool:
    """The crash fell after an ``AbortPlugin`` and before the ``PersistStatus`` that follows it."""
    if "AbortPlugin" not in calls:
        return False
    last_abort = len(calls) - 1 - list(reversed(calls)).index("AbortPlugin")
    return "PersistStatus" not in calls[last_abort + 1 :]


def _with_one_relaunch(reference: tuple[str, ...], history: tuple[str, ...]) -> bool:
    """``history`` is ``reference`` with one extra Queued → Executing round inserted."""
    return any(
        history[i : i + 2] == ("Queued", "Executing") and history[:i] + history[i + 2 :] == reference
        for i in range(len(history) - 1)
    )


def _terminal_event_missing(end: EndState) -> bool:
    """A terminal task action without the event for its terminal phase. Conditions and validation failures have
    no events by design (R78, Q7) and no plugin phase."""
    terminal = end.terminal_condition
    if terminal is None or not end.plugin_phase:
        return False
    phase = ActionPhase.SUCCEEDED if terminal[0] == "Succeeded" else ActionPhase.FAILED
    return (end.attempts or 1, phase) not in end.events


def test_crash_injection_points_every_scenario_contributes() -> None:
    per_scenario = {name: len(run.calls) for name, run in CRASH_FREE.items()}
    print(f"\ncrash injection points: {len(INJECTION_POINTS)} over {len(per_scenario)} scenarios {per_scenario}")

    assert len(INJECTION_POINTS) == sum(per_scenario.values())
    assert min(per_scenario.values()) >= 2


@pytest.mark.parametrize("point", INJECTION_POINTS, ids=[_point_id(p) for p in INJECTION_POINTS])
def test_crash_after_any_call_fresh_driver_reaches_crash_free_end(point: tuple[Scenario, int]) -> None:
    scenario, k = point
    reference = CRASH_FREE[scenario.name]
    lost_at_crash: list[list[str]] = []

    run = run_scenario(scenario, crash_at=k, on_crash=lambda world: lost_at_crash.append(lost_events(world)))

    assert lost_at_crash == [[]], "the crash must happen, and lose no event"
    assert lost_events(run.world) == []
    assert StopReason.MAX_PASSES not in run.stops
    for key, expected in reference.end.actions.items():
        got = run.end.actions[key]
        if got.history != expected.history:
            assert _restart_abort_unpersisted(run.calls), f"{key}: history differs outside the restart window"
            assert _with_one_relaunch(expected.history, got.history), f"{key}: {got.history}"
            got = replace(got, history=expected.history)
        assert got == expected, f"{key} after a crash at call {k}"
        assert not _terminal_event_missing(got)
    assert (run.end.reservations, run.end.cache_entries, run.end.live_resources) == (
        reference.end.reservations,
        reference.end.cache_entries,
        reference.end.live_resources,
    )


@pytest.mark.parametrize(
    ("calls", "inside"),
    [
        (("InvokePlugin", "AbortPlugin"), True),
        (("AbortPlugin", "RecordActionEvent", "RecordActionEvent"), True),
        (("AbortPlugin", "RecordActionEvent", "PersistStatus"), False),
        (("InvokePlugin", "PersistStatus"), False),
        (("AbortPlugin", "PersistStatus", "AbortPlugin"), True),
    ],
)
def test_restart_abort_unpersisted_window_detected(calls: tuple[str, ...], inside: bool) -> None:
    assert _restart_abort_unpersisted(calls) is inside


@pytest.mark.parametrize(
    ("history", "allowed"),
    [
        (("Queued", "Executing", "Queued", "Executing", "Completed"), True),
        (("Queued", "Executing", "Completed"), False),
        (("Queued", "Queued", "Executing", "Completed"), False),
        (("Queued", "Executing", "Executing", "Queued", "Completed"), False),
    ],
)
def test_with_one_relaunch_only_one_extra_round_allowed(history: tuple[str, ...], allowed: bool) -> None:
    assert _with_one_relaunch(("Queued", "Executing", "Completed"), history) is allowed
