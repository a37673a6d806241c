"""What the world machine found, kept as explicit step programs (Hypothesis does not replay ``@example`` on state
machines), and proof that it bites: against mutated cores, the machine itself finds the planted bug.

Each program is the shrunk output of a failing run, replayed step by step with ``check_world_laws`` after each
step, as Hypothesis itself checks the invariants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, run_state_machine_as_test

from taskaction_core.effects import FinalEffect
from taskaction_core.phase_info import PhaseInfo
from taskaction_core.policy import ALL_DEVIATIONS, GO_COMPATIBLE, Deviation, Policy
from taskaction_core.reconcile import failures, status, task
from taskaction_core.reconcile.status import update_task_action_status
from taskaction_core.records import PhaseHistoryEntry, TaskAction
from taskaction_core.testing.machine import Behaviour, Liveness, TaskActionWorldMachine
from taskaction_core.testing.scenarios import TA

FIND: Final = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
)
"""Budget for "the machine finds the planted bug": at most 60 programs, stopping at the first failure (no shrink)."""


def started(machine: TaskActionWorldMachine, mode: Liveness = Liveness.SUCCESS) -> tuple[Any, Any, Any]:
    machine.choose_liveness_check(mode=mode)
    ta, tb = machine.create_tasks()
    (cond,) = machine.create_conditions()
    return ta, tb, cond


def replay(machine: TaskActionWorldMachine, steps: Sequence[Callable[[], object]]) -> None:
    """Run ``steps`` and the machine's laws after each, then its liveness check, like a Hypothesis run."""
    machine.check_world_laws()
    for step in steps:
        step()
        machine.check_world_laws()
    machine.teardown()


# -- a real core gap the machine found ---------------------------------------------------------------------------------


class StrictReservations(TaskActionWorldMachine):
    tolerate_cache_hit_leak = False


def cache_hit_after_handle_error(machine: TaskActionWorldMachine) -> list[Callable[[], object]]:
    """Found by the machine (shrunk, then told as a story): a pass reserves the shared cache key and calls Handle,
    which raises (a counted system failure, R57, status still unlaunched); another run then populates the cache;
    the next pass is a cache hit (R52 step 2) and completes the action without R54's release."""
    ta, _, _ = started(machine)
    return [
        lambda: machine.run_pass(key=ta),  # R31: the finalizer
        lambda: machine.plugin_call_fails(method="handle", code=None),
        lambda: machine.run_pass(key=ta),  # lookup miss, reservation ours, Handle raises
        lambda: machine.other_run_populates_cache(),
        lambda: machine.run_pass(key=ta),  # hit: Succeeded, reservation still ours
    ]


def test_machine_cache_hit_after_our_reservation_releases_it_R52_R54() -> None:
    machine = StrictReservations()
    replay(machine, cache_hit_after_handle_error(machine))


def test_machine_cache_hit_leak_is_a_lapse_not_a_lock_R94() -> None:
    # What the gap costs today: the reservation stays ours until it lapses; the liveness check still passes.
    machine = TaskActionWorldMachine()
    replay(machine, cache_hit_after_handle_error(machine))
    stored = machine.world.get(TA)
    assert stored is not None and stored.status.cache_status == 2  # CACHE_HIT


def test_machine_lookup_error_then_lost_event_then_hit_program_found_by_the_machine() -> None:
    # The original shrunk program: the launch pass's ActionEvent fails, so its status (and plugin state) is lost.
    machine = StrictReservations()
    ta, _, cond = started(machine)
    steps: list[Callable[[], object]] = [
        lambda: machine.catalog_call_fails(method="get"),
        lambda: machine.other_run_populates_cache(),
        lambda: machine.event_sink_fails(applied=False),
        lambda: machine.run_pass(key=ta),
        lambda: machine.interleave_passes(key=ta, other=cond, after_calls=1),
    ]
    # Before the fix (D7: a hit releases the reservation) this raised "still holds its cache reservation"; the
    # machine's invariants now hold at every step of the program.
    replay(machine, steps)


# -- mutated cores: the machine finds the planted bug -----------------------------------------------------------------


@pytest.fixture
def history_without_dedup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """R9 broken: every mapped phase is appended, even when the history already ends with it."""

    def append(history: Any, phase: str, message: str, now: Any) -> Any:
        return history.append(PhaseHistoryEntry(phase, now, message))

    monkeypatch.setattr(status, "append_phase_history", append)
    yield


def test_machine_catches_phase_history_without_dedup_R9(history_without_dedup: None) -> None:
    with pytest.raises(AssertionError, match="phase history repeats"):
        run_state_machine_as_test(TaskActionWorldMachine, settings=FIND)


def test_machine_program_phase_history_without_dedup_R9(history_without_dedup: None) -> None:
    machine = TaskActionWorldMachine()
    ta, _, _ = started(machine)
    steps = [lambda: machine.run_pass(key=ta)] * 3  # finalizer, launch (Queued), Running
    steps.append(lambda: machine.run_pass(key=ta))  # Running again: Executing appended twice
    with pytest.raises(AssertionError, match=r"phase history repeats \['Executing'\]"):
        replay(machine, steps)


@pytest.fixture
def ceiling_without_cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """D3 broken: the ceiling no longer aborts the resource nor releases the reservation (Go's Q4)."""
    monkeypatch.setattr(failures, "_ceiling_cleanup", lambda cleanup, policy: ())
    yield


def ceiling_after_handle_errors(machine: TaskActionWorldMachine) -> list[Callable[[], object]]:
    ta, _, _ = started(machine)
    steps: list[Callable[[], object]] = [lambda: machine.run_pass(key=ta)] * 2  # finalizer; launch, reservation ours
    for _ in range(3):  # ceiling 2: the third system failure is permanent (R57, R60)
        steps += [lambda: machine.plugin_call_fails(method="handle", code=None), lambda: machine.run_pass(key=ta)]
    return steps


def test_machine_program_ceiling_releases_the_reservation_D3() -> None:
    machine = TaskActionWorldMachine()
    replay(machine, ceiling_after_handle_errors(machine))
    stored = machine.world.get(TA)
    assert stored is not None and stored.status.error_state is not None
    assert stored.status.error_state.code == "MaxSystemFailuresExceeded"


def test_machine_program_ceiling_without_cleanup_holds_the_reservation_D3(ceiling_without_cleanup: None) -> None:
    machine = TaskActionWorldMachine()
    with pytest.raises(AssertionError, match="still holds its cache reservation"):
        replay(machine, ceiling_after_handle_errors(machine))


class PluginDownAtTheEnd(TaskActionWorldMachine):
    @initialize(mode=st.just(Liveness.DOWN))
    def choose_liveness_check(self, mode: Liveness) -> None:
        self.liveness = mode


def test_machine_catches_ceiling_without_cleanup_D3(ceiling_without_cleanup: None) -> None:
    with pytest.raises(AssertionError, match="still holds its cache reservation"):
        run_state_machine_as_test(PluginDownAtTheEnd, settings=FIND)


@pytest.fixture
def event_after_status(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """R65 broken: the status is written before the ActionEvent that describes it."""

    def swapped(original_ta: TaskAction, working: TaskAction, info: PhaseInfo, now: Any, policy: Policy) -> Any:
        effects: tuple[FinalEffect, ...] = update_task_action_status(original_ta, working, info, now, policy)
        return tuple(reversed(effects))

    monkeypatch.setattr(task, "update_task_action_status", swapped)
    yield


def test_machine_catches_status_before_event_R65(event_after_status: None) -> None:
    with pytest.raises(AssertionError, match="event_before_status"):
        run_state_machine_as_test(TaskActionWorldMachine, settings=FIND)


def test_machine_program_crash_between_status_and_event_loses_the_event_R65(event_after_status: None) -> None:
    machine = TaskActionWorldMachine()
    ta, _, _ = started(machine)
    machine.run_pass(key=ta)
    machine.crash_during_pass(key=ta, after_calls=4)  # lookup, reserve, Handle, PersistStatus: dead before the event
    with pytest.raises(AssertionError, match="has no event"):
        machine.every_persisted_phase_has_its_event()


# -- D6 off: the Flyte #8066 livelock ---------------------------------------------------------------------------------


class WithoutD6(TaskActionWorldMachine):
    """Go's system-failure counting: every Queued/Running pass resets the counter (#8066)."""

    def make_policy(self) -> Policy:
        return Policy(max_system_failures=2, deviations=ALL_DEVIATIONS - {Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES})

    @initialize(mode=st.just(Liveness.FLAKY))
    def choose_liveness_check(self, mode: Liveness) -> None:
        self.liveness = mode


class GoCompatible(WithoutD6):
    def make_policy(self) -> Policy:
        return Policy(max_system_failures=2, deviations=GO_COMPATIBLE)


@pytest.mark.parametrize("machine", [WithoutD6, GoCompatible])
def test_machine_catches_the_failure_livelock_without_D6(machine: type[TaskActionWorldMachine]) -> None:
    with pytest.raises(AssertionError, match="livelock"):
        run_state_machine_as_test(machine, settings=FIND)


@pytest.mark.parametrize("machine", [WithoutD6, GoCompatible])
def test_machine_program_flaky_plugin_livelocks_without_D6(machine: type[TaskActionWorldMachine]) -> None:
    instance = machine()
    started(instance, Liveness.FLAKY)
    with pytest.raises(
        AssertionError, match=r"livelock.*systemFailures=[01] history=\['Queued', 'Executing', 'Queued'"
    ):
        replay(instance, [])


def test_machine_program_flaky_plugin_fails_permanently_with_D6() -> None:
    machine = TaskActionWorldMachine()
    started(machine, Liveness.FLAKY)
    replay(machine, [])
    stored = machine.world.get(TA)
    assert stored is not None and stored.status.error_state is not None
    # System failures spend no attempt (R57): the third one in attempt 1 is permanent (ceiling 2, R60).
    assert (stored.status.attempts, stored.status.system_failures) == (1, 3)


def test_machine_flaky_behaviour_runs_then_fails_with_a_system_error() -> None:
    machine = TaskActionWorldMachine()
    ta, _, _ = started(machine)
    machine.plugin_reports(key=ta, behaviour=Behaviour.FLAKY)
    for _ in range(3):
        machine.run_pass(key=ta)
    machine.time_passes(seconds=31)
    machine.run_pass(key=ta)
    stored = machine.world.get(TA)
    assert stored is not None and stored.status.system_failures == 1
