"""Fault injection on every port call the controller makes, for every scenario (design.md §8).

Each port method a scenario exercises fails once, three times, and forever (the fakes' ``faults``; other clients,
such as the user deleting a run, act with faults paused). Whatever happens:

- nothing escapes a pass and nothing is lost: the store never shows a task phase whose ActionEvent is not durable
  (R65), and a terminal task action always has the event for its terminal phase;
- a transient fault heals: the world quiesces in the end state of the fault-free run, unless the spec says the
  failure leaves a mark, each such case listed in :data:`TRANSIENT_MARKS` with the rule that explains it;
- a permanent fault ends in the spec's exit path (X2, X6–X8, X10–X12, X20–X24) or, where Go would loop forever,
  in the D5 outcome (PermanentFailure after the system-failure ceiling): :data:`FOREVER` states it per port method.

Finally, faults scoped to one action (through a per-key wrapper where the fakes cannot scope) leave the other
action's progress untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import pytest
from returns.result import Failure, Result

from taskaction_core.action_event import ActionEvent
from taskaction_core.interpreter.ports import (
    DataError,
    DataErrorKind,
    PluginError,
    StoreError,
    StoreErrorKind,
)
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, PortFailure
from taskaction_core.phases import ActionPhase, CacheStatus
from taskaction_core.reconcile.cache import build_task_cache_config
from taskaction_core.records import ErrorState, TaskAction
from taskaction_core.testing.scenarios import (
    SCENARIOS,
    SCENARIOS_BY_NAME,
    TA,
    TB,
    EndState,
    Key,
    RejectLaunch,
    Scenario,
    ScenarioRun,
    StopReason,
    World,
    WorldEnd,
    a_task,
    drive_keys,
    end_state,
    lost_events,
    new_world,
    run_scenario,
)

Q, WFR, R, S, F, A = (
    ActionPhase.QUEUED,
    ActionPhase.WAITING_FOR_RESOURCES,
    ActionPhase.RUNNING,
    ActionPhase.SUCCEEDED,
    ActionPhase.FAILED,
    ActionPhase.ABORTED,
)
CEILING_CODE: Final = "MaxSystemFailuresExceeded"
DATA_DOWN: Final = "injected: data store unavailable"

# --------------------------------------------------------------------------------------------------------------------
# Targets: every port method the controller calls


@dataclass(frozen=True, slots=True)
class Target:
    """One port method of one fake, and the failure it reports when injected."""

    fake: str
    method: str
    error: Callable[[], object]

    @property
    def name(self) -> str:
        return f"{self.fake}.{self.method}"

    def faults(self, world: World) -> Any:
        return getattr(world, self.fake).faults


def _store_down() -> StoreError:
    return StoreError(StoreErrorKind.UNAVAILABLE, "injected: the server is currently unavailable")


def _catalog_down() -> CatalogFailure:
    return CatalogFailure(CatalogErrorKind.OTHER, "injected: cache service unavailable")


def _data_down() -> DataError:
    return DataError(DataErrorKind.OTHER, DATA_DOWN)


def _port_down() -> PortFailure:
    return PortFailure("injected: unavailable")


def _plugin_down() -> PluginError:
    return PluginError("injected: plugin backend unavailable")


TARGETS: Final = tuple(
    Target(fake, method, error)
    for fake, methods, error in (
        ("store", ("get", "update", "update_status", "patch_labels"), _store_down),
        ("catalog", ("get", "put", "get_or_extend_reservation", "release_reservation"), _catalog_down),
        ("data", ("read", "write"), _data_down),
        ("events", ("record",), _port_down),
        ("recorder", ("warn",), _port_down),
        ("plugin", ("handle", "abort", "finalize"), _plugin_down),
    )
    for method in methods
)


def _faulty(scenario: Scenario, target: Target, times: int | None) -> Scenario:
    """``scenario`` with ``target`` failing ``times`` times (None: forever) from the start."""

    def build() -> World:
        world = scenario.build()
        faults = target.faults(world)
        if times is None:
            faults.fail_forever(target.method, target.error())
        else:
            faults.fail_times(target.method, times, target.error())
        return world

    return replace(scenario, build=build)


FAULT_FREE: Final[Mapping[str, ScenarioRun]] = {scenario.name: run_scenario(scenario) for scenario in SCENARIOS}


def _exercised(scenario: Scenario) -> list[Target]:
    """The targets the fault-free run calls: a fault elsewhere would never fire."""
    world = FAULT_FREE[scenario.name].world
    return [target for target in TARGETS if target.faults(world).calls(target.method) > 0]


CASES: Final = [(scenario, target) for scenario in SCENARIOS for target in _exercised(scenario)]


def _case_id(case: tuple[Scenario, Target]) -> str:
    return f"{case[0].name}-{case[1].name}"


# --------------------------------------------------------------------------------------------------------------------
# What holds whatever the fault


def _terminal_event_missing(state: EndState) -> bool:
    terminal = state.terminal_condition
    if terminal is None or not state.plugin_phase:
        return False
    phase = S if terminal[0] == "Succeeded" else F
    return (state.attempts or 1, phase) not in state.events


def _assert_nothing_lost(run: ScenarioRun) -> None:
    assert lost_events(run.world) == []
    for key, state in run.end.actions.items():
        assert not _terminal_event_missing(state), f"{key}: terminal without its event"


# --------------------------------------------------------------------------------------------------------------------
# Transient faults


def _ran_itself(state: EndState, cache_status: CacheStatus, waited: bool = False) -> EndState:
    """A cache consumer that found no entry ran the plugin itself: one attempt to success."""
    before = ((1, WFR),) if waited else ()
    return replace(
        state,
        history=("Queued", "Executing", "Completed"),
        cache_status=cache_status,
        events=(*before, (1, Q), (1, R), (1, S)),
    )


def _patched(end: WorldEnd, actions: Mapping[Key, EndState] | None = None, **world: Any) -> WorldEnd:
    return replace(end, actions={**end.actions, **(actions or {})}, **world)


def _consumer_ran(end: WorldEnd, producer: CacheStatus, consumer: CacheStatus, entries: int = 1) -> WorldEnd:
    ta, tb = end.actions[TA], end.actions[TB]
    return _patched(
        end,
        {
            TA: replace(ta, cache_status=producer),
            TB: _ran_itself(tb, consumer, waited=WFR in {p for _, p in tb.events}),
        },
        cache_entries=entries,
        live_resources=end.live_resources | {"tb-0"},
    )


def _roles_swapped(end: WorldEnd) -> WorldEnd:
    """ta's first pass was delayed, so tb took the reservation first (R52 step 3: first come, first served)."""
    return _patched(end, {TA: end.actions[TB], TB: end.actions[TA]}, live_resources=frozenset({"tb-0"}))


def _ceiling_after_reset(end: WorldEnd, history: tuple[str, ...], cause: str) -> WorldEnd:
    """D6: the budget is per attempt, so the reset's system failure plus three more exceed the ceiling (R57)."""
    message = f'plugin "test-plugin" failed with system error 4 times: {cause}'
    failed = replace(
        end.actions[TA],
        conditions=(("Progressing", "False", "PermanentFailure"), ("Failed", "True", "PermanentFailure")),
        history=history,
        error=ErrorState(CEILING_CODE, "SYSTEM", message),
        plugin_phase="PhasePermanentFailure",
        events=((1, Q), (1, R), (1, F)),
    )
    return _patched(end, {TA: failed}, live_resources=frozenset())


def _status_never_written(end: WorldEnd) -> WorldEnd:
    """Q7/X11: the validation status write is ignored when it fails and the pass is DONE: no retry."""
    return _patched(end, {TA: replace(end.actions[TA], conditions=(), gc_labels=False)})


def _held(end: WorldEnd) -> WorldEnd:
    """R56/R89: a failed release is only logged; the reservation stays until it expires (R94)."""
    return _patched(end, reservations=1)


def _leaked(end: WorldEnd) -> WorldEnd:
    """R40: the failed attempt's Abort error is only logged; its resource keeps existing (no retry)."""
    return _patched(end, live_resources=end.live_resources | {"ta-0"})


PUT_FAILURE, POPULATED = CacheStatus.CACHE_PUT_FAILURE, CacheStatus.CACHE_POPULATED
TRANSIENT_MARKS: Final[Mapping[tuple[str, str, int], Callable[[WorldEnd], WorldEnd]]] = {
    # R52: lookup errors only log (D8); tb runs itself and its Put finds ta's entry: POPULATED (D9).
    ("cache_hit", "catalog.get", 3): lambda end: _consumer_ran(end, POPULATED, POPULATED),
    # R54: a failed Put records PUT_FAILURE; with no entry, tb runs itself (and its own Put may fail too).
    ("cache_hit", "catalog.put", 1): lambda end: _consumer_ran(end, PUT_FAILURE, POPULATED),
    ("cache_hit", "catalog.put", 3): lambda end: _consumer_ran(end, PUT_FAILURE, PUT_FAILURE, entries=0),
    ("serialized_cache", "catalog.put", 1): lambda end: _consumer_ran(end, PUT_FAILURE, POPULATED),
    ("serialized_cache", "catalog.put", 3): lambda end: _consumer_ran(end, PUT_FAILURE, PUT_FAILURE, entries=0),
    # Inputs unreadable: ta's lookup errs (R52, logged), ta's Put cannot read them (PUT_FAILURE), tb's lookup errs.
    ("cache_hit", "data.read", 3): lambda end: _consumer_ran(end, PUT_FAILURE, POPULATED),
    ("serialized_cache", "store.get", 1): _roles_swapped,
    ("serialized_cache", "store.get", 3): _roles_swapped,
    ("serialized_cache", "store.update", 1): _roles_swapped,
    ("serialized_cache", "store.update", 3): _roles_swapped,
    ("serialized_cache", "catalog.get_or_extend_reservation", 1): _roles_swapped,
    ("serialized_cache", "catalog.get_or_extend_reservation", 3): _roles_swapped,
    ("serialized_cache", "data.read", 3): _roles_swapped,
    ("serialized_cache", "catalog.release_reservation", 1): _held,
    ("serialized_cache", "catalog.release_reservation", 3): _held,
    ("abort_while_running", "catalog.release_reservation", 1): _held,
    ("abort_while_running", "catalog.release_reservation", 3): _held,
    ("user_retry_then_success", "plugin.abort", 1): _leaked,
    ("user_retry_then_success", "plugin.abort", 3): _leaked,
    ("retries_exhausted", "plugin.abort", 1): _leaked,
    ("retries_exhausted", "plugin.abort", 3): _leaked,
    ("system_retryable_reset", "data.write", 3): lambda end: _ceiling_after_reset(
        end, ("Queued", "Executing", "Queued", "Executing", "PermanentFailure"), f"failed to write outputs: {DATA_DOWN}"
    ),
    ("system_retryable_reset", "plugin.handle", 3): lambda end: _ceiling_after_reset(
        end, ("Queued", "Executing", "PermanentFailure"), "[NodeLost] node died"
    ),
    # R62: the reset's Abort error is only logged, so the relaunch finds the failed resource again (Q25).
    ("system_retryable_reset", "plugin.abort", 3): lambda end: _ceiling_after_reset(
        end, ("Queued", "Executing", "Queued", "PermanentFailure"), "[NodeLost] node died"
    ),
    ("validation_missing_fields", "store.update_status", 1): _status_never_written,
    ("validation_missing_fields", "store.update_status", 3): _status_never_written,
    ("validation_plugin_not_found", "store.update_status", 1): _status_never_written,
    ("validation_plugin_not_found", "store.update_status", 3): _status_never_written,
}


def test_transient_marks_each_names_an_exercised_case() -> None:
    exercised = {(scenario.name, target.name) for scenario, target in CASES}

    assert {(name, target) for name, target, _ in TRANSIENT_MARKS} <= exercised


@pytest.mark.parametrize("times", [1, 3], ids=["once", "three_times"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_fault_transient_world_heals_to_fault_free_end_or_spec_mark(case: tuple[Scenario, Target], times: int) -> None:
    scenario, target = case
    mark = TRANSIENT_MARKS.get((scenario.name, target.name, times))
    fault_free = FAULT_FREE[scenario.name].end
    expected = mark(fault_free) if mark is not None else fault_free

    run = run_scenario(_faulty(scenario, target, times))

    _assert_nothing_lost(run)
    assert StopReason.MAX_PASSES not in run.stops
    assert run.end == expected


# --------------------------------------------------------------------------------------------------------------------
# Permanent faults: one exit path per port method

Check = Callable[[Scenario, WorldEnd, WorldEnd], None]
"""(scenario, fault-free end, end under the fault) → asserts."""


def _valid_task(state: EndState) -> bool:
    """Every valid task of the catalogue reports at least one event; conditions and validation failures none."""
    return bool(state.events)


def _serializable(scenario: Scenario, key: Key) -> bool:
    found = scenario.build().get(key)
    if found is None:
        return False
    config = build_task_cache_config(found).value_or(None)
    return config is not None and config.serializable


def _failed_at_ceiling(state: EndState) -> bool:
    """D5/R57: PermanentFailure with MaxSystemFailuresExceeded, reported by a FAILED event (if deleted since:
    the event remains)."""
    if not state.events or state.events[-1][1] is not F:
        return False
    if not state.exists:
        return True
    return state.terminal_condition == ("Failed", "PermanentFailure") and (
        state.error is not None and state.error.code == CEILING_CODE
    )


def _succeeds(state: EndState) -> bool:
    return state.terminal_condition == ("Succeeded", "Completed") or (not state.exists and (1, S) in state.events)


def _per_key(check: Callable[[Scenario, Key, EndState, EndState], None]) -> Check:
    def run(scenario: Scenario, fault_free: WorldEnd, got: WorldEnd) -> None:
        for key, expected in fault_free.actions.items():
            check(scenario, key, expected, got.actions[key])

    return run


@_per_key
def _store_get(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """X2: every pass fails reading the object; the controller never writes anything."""
    assert (got.conditions, got.finalizer, got.events) == ((), False, ())


@_per_key
def _store_update(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """X12: a task never gets its finalizer, so it never starts; conditions and validation need no Update."""
    if not _valid_task(expected):
        assert got == expected
        return
    assert (got.conditions, got.finalizer, got.events) == ((), False, ())


@_per_key
def _store_update_status(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """X20 (event sent, status never lands, Q12), X11 (ignored), X23/X24: no condition is ever stored. At most a
    task's first event is durable (none when its first write is a system-failure count, which has no event, R57;
    D4 fails the pass); a deleted one also reports ABORTED (the deletion arm writes no status, R90)."""
    assert got.conditions == ()
    if not _valid_task(expected):
        assert got.events == ()
        return
    deleted = not expected.exists
    reported = [event for event in got.events if event[1] is not A]
    assert len(reported) <= 1
    assert {attempt for attempt, _ in got.events} <= {1}
    assert ((1, A) in got.events) == deleted
    assert got.exists == expected.exists


@_per_key
def _store_patch_labels(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """X10/X21: everything happens except the GC labels."""
    assert got == replace(expected, gc_labels=False)


@_per_key
def _catalog_get(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """R52: a lookup error only logs (D8 keeps serialization); a would-be hit runs the plugin itself, and its Put
    finds the entry: POPULATED (D9)."""
    if expected.cache_status is CacheStatus.CACHE_HIT:
        assert (got.terminal_condition, got.cache_status) == (("Succeeded", "Completed"), POPULATED)
        assert (1, R) in got.events
    else:
        assert got == expected


@_per_key
def _catalog_put(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """R54: every Put fails, so every cached success records PUT_FAILURE and no one can hit."""
    if expected.cache_status in (POPULATED, CacheStatus.CACHE_HIT):
        assert (got.terminal_condition, got.cache_status) == (("Succeeded", "Completed"), PUT_FAILURE)
    else:
        assert got == expected


@_per_key
def _catalog_reservation(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """D5 (Go loops forever, Q6): reservation errors count as system failures up to the ceiling."""
    if _serializable(scenario, key):
        assert _failed_at_ceiling(got)
    else:
        assert got == expected


def _catalog_release(scenario: Scenario, fault_free: WorldEnd, got: WorldEnd) -> None:
    """R56/R89: release errors are only logged; the reservation stays held (until it expires, R94)."""
    assert got.actions == fault_free.actions
    assert got.reservations == 1


@_per_key
def _data_read(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """Inputs cannot be hashed (R97): lookups err (logged), Puts fail (PUT_FAILURE), and a reservation cannot be
    taken, which D5 counts to the ceiling."""
    if _serializable(scenario, key):
        assert _failed_at_ceiling(got)
    elif expected.cache_status in (POPULATED, CacheStatus.CACHE_HIT):
        assert (got.terminal_condition, got.cache_status) == (("Succeeded", "Completed"), PUT_FAILURE)
    else:
        assert got == expected


@_per_key
def _data_write(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """Outputs cannot be written: the plugin's Handle fails (R57) and so does serving a hit (D5); both end at the
    ceiling. Actions that never succeed are untouched."""
    if _succeeds(expected):
        assert _failed_at_ceiling(got)
        assert got.exists == expected.exists
    else:
        assert got == expected


@_per_key
def _events_record(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """X20 forever: no event, so no phase is ever stored (the event is durable first, R65); a deleted action keeps
    its finalizer because its ABORTED event cannot be sent (X8)."""
    if not _valid_task(expected):
        assert got == expected
        return
    assert (got.plugin_phase, got.events) == ("", ())
    if not expected.exists:
        assert (got.exists, got.finalizer) == (True, True)


def _recorder_warn(scenario: Scenario, fault_free: WorldEnd, got: WorldEnd) -> None:
    """Warnings are fire and forget (R120–R123): dropping them changes nothing else."""
    assert got == fault_free


@_per_key
def _plugin_handle(scenario: Scenario, key: Key, expected: EndState, got: EndState) -> None:
    """R57: every Handle errs, so every task that needs its plugin fails at the ceiling; a would-be cache hit needs
    it too once its producer failed."""
    if _valid_task(expected):
        assert _failed_at_ceiling(got)
    else:
        assert got == expected


RESETS: Final = frozenset({"system_retryable_reset"})
"""Scenarios whose fault-free run resets the plugin resource (R38, R62)."""


def _plugin_abort(scenario: Scenario, fault_free: WorldEnd, got: WorldEnd) -> None:
    """X6 forever on deletion (the finalizer stays); R40 restart and D3 ceiling aborts are only logged (the
    resource leaks); a reset relaunch finds the failed resource again and fails up to the ceiling (R62, Q25)."""
    for key, expected in fault_free.actions.items():
        state = got.actions[key]
        if not expected.exists:
            assert (state.exists, state.finalizer) == (True, True)
        elif scenario.name in RESETS:
            assert _failed_at_ceiling(state)
        else:
            assert state == expected
    assert got.live_resources >= fault_free.live_resources


def _plugin_finalize(scenario: Scenario, fault_free: WorldEnd, got: WorldEnd) -> None:
    """X7 forever: Abort already ran (the resource is gone) but the finalizer stays."""
    for key, expected in fault_free.actions.items():
        state = got.actions[key]
        if not expected.exists:
            assert (state.exists, state.finalizer) == (True, True)
        else:
            assert state == expected
    assert got.live_resources == frozenset()


FOREVER: Final[Mapping[str, Check]] = {
    "store.get": _store_get,
    "store.update": _store_update,
    "store.update_status": _store_update_status,
    "store.patch_labels": _store_patch_labels,
    "catalog.get": _catalog_get,
    "catalog.put": _catalog_put,
    "catalog.get_or_extend_reservation": _catalog_reservation,
    "catalog.release_reservation": _catalog_release,
    "data.read": _data_read,
    "data.write": _data_write,
    "events.record": _events_record,
    "recorder.warn": _recorder_warn,
    "plugin.handle": _plugin_handle,
    "plugin.abort": _plugin_abort,
    "plugin.finalize": _plugin_finalize,
}


def test_forever_checks_cover_every_target() -> None:
    assert set(FOREVER) == {target.name for target in TARGETS}


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_fault_forever_ends_in_spec_exit_path(case: tuple[Scenario, Target]) -> None:
    scenario, target = case

    run = run_scenario(_faulty(scenario, target, None))

    _assert_nothing_lost(run)
    FOREVER[target.name](scenario, FAULT_FREE[scenario.name].end, run.end)


def test_fault_forever_event_sink_never_terminal_and_nothing_recorded() -> None:
    scenario = SCENARIOS_BY_NAME["success"]

    run = run_scenario(_faulty(scenario, Target("events", "record", _port_down), None))

    state = run.end.actions[TA]
    assert state.terminal_condition is None
    assert (state.plugin_phase, state.events, state.finalizer) == ("", (), True)
    [warning] = run.world.recorder.with_reason("ActionEventPublishFailed")
    assert warning.note == 'Failed to persist action event "ta": injected: unavailable'


def test_fault_forever_reservation_permanent_failure_via_d5() -> None:
    scenario = SCENARIOS_BY_NAME["serialized_cache"]
    target = Target("catalog", "get_or_extend_reservation", _catalog_down)

    run = run_scenario(_faulty(scenario, target, None))

    message = (
        'plugin "test-plugin" failed with system error 4 times: acquiring cache reservation: '
        "injected: cache service unavailable"
    )
    for key in (TA, TB):
        assert run.end.actions[key].error == ErrorState(CEILING_CODE, "SYSTEM", message)
    assert run.world.cluster.live() == frozenset()


# --------------------------------------------------------------------------------------------------------------------
# Faults scoped to one action: the other one still makes progress


class _KeyScopedStore:
    """The store, except that every call about ``failing`` fails (a per-object outage the fake cannot scope)."""

    def __init__(self, world: World, failing: Key) -> None:
        self._store = world.store
        self._failing = failing

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def call(*args: Any) -> Any:
            if self._about_failing(args):
                return Failure(_store_down())
            return method(*args)

        return call

    def _about_failing(self, args: Sequence[Any]) -> bool:
        if args and isinstance(args[0], TaskAction):
            meta = args[0].metadata
            return (meta.namespace, meta.name) == self._failing
        return tuple(args[:2]) == self._failing


class _ActionScopedSink:
    """The event sink, except that events of action ``failing`` are refused."""

    def __init__(self, world: World, failing: str) -> None:
        self._sink = world.events
        self._failing = failing

    def record(self, events: Sequence[ActionEvent]) -> Result[None, PortFailure]:
        if any(event.id.name == self._failing for event in events):
            return Failure(_port_down())
        return self._sink.record(events)


def _two_actions(**world_options: Any) -> World:
    world = new_world(**world_options)
    world.create(a_task(TA))
    world.create(a_task(TB))
    return world


def test_fault_scoped_store_outage_other_action_succeeds() -> None:
    world = _two_actions()
    ports = replace(world.ports(), store=_KeyScopedStore(world, TA))

    drive_keys(world, (TA, TB), max_passes=80, ports=ports)

    assert end_state(world, TB).terminal_condition == ("Succeeded", "Completed")
    assert end_state(world, TA) == EndState(exists=True)


def test_fault_scoped_event_sink_outage_other_action_succeeds() -> None:
    world = _two_actions()
    ports = replace(world.ports(), events=_ActionScopedSink(world, "ta"))

    drive_keys(world, (TA, TB), max_passes=80, ports=ports)

    assert end_state(world, TB).terminal_condition == ("Succeeded", "Completed")
    ta = end_state(world, TA)
    assert (ta.plugin_phase, ta.events, ta.finalizer) == ("", (), True)
    assert lost_events(world) == []


def test_fault_scoped_plugin_failing_for_one_action_other_succeeds() -> None:
    world = _two_actions(scripts={"ta": ((RejectLaunch("quota exhausted"),),)})

    report = drive_keys(world, (TA, TB), max_passes=80)

    assert report.quiescent
    assert _failed_at_ceiling(end_state(world, TA))
    assert end_state(world, TB).terminal_condition == ("Succeeded", "Completed")
    assert world.cluster.live() == frozenset({"tb-0"})
