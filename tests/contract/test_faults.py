"""Fault injection: the mechanism itself, and its wiring into every fake (each fault mode on at least one method)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from pyrsistent import pmap
from returns.result import Failure, Result

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.context import TaskExecutionId
from taskaction_core.effects import CacheKey, CacheMetadata
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import DataError, DataErrorKind, PluginError, StoreError, StoreErrorKind
from taskaction_core.observations import CatalogErrorKind, CatalogFailure, PortFailure
from taskaction_core.phase_info import PhaseInfo, Transition
from taskaction_core.phases import ActionPhase, PluginPhase
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionStatus
from taskaction_core.template import Identifier
from taskaction_core.testing.fakes import (
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
from taskaction_core.testing.faults import Faults
from tests.contract import a_context

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BOOM = PortFailure("boom")
UNAVAILABLE = StoreError(StoreErrorKind.UNAVAILABLE, "down")
DATA_DOWN = DataError(DataErrorKind.OTHER, "down")
CATALOG_DOWN = CatalogFailure(CatalogErrorKind.OTHER, "down")


def new_faults() -> Faults[PortFailure]:
    return Faults(["read", "write"])


# -- the mechanism -----------------------------------------------------------------------------------------------------


def test_faults_without_script_inject_nothing_and_count_calls() -> None:
    faults = new_faults()
    assert [faults.enter("read") for _ in range(3)] == [None, None, None]
    assert faults.calls("read") == 3
    assert faults.call_counts() == {"read": 3}


def test_faults_fail_next_fires_once() -> None:
    faults = new_faults()
    faults.fail_next("read", BOOM)
    assert [faults.enter("read") for _ in range(2)] == [BOOM, None]


def test_faults_fail_times_fires_n_times() -> None:
    faults = new_faults()
    faults.fail_times("read", 3, BOOM)
    assert [faults.enter("read") for _ in range(4)] == [BOOM, BOOM, BOOM, None]


def test_faults_fail_forever_fires_until_cleared() -> None:
    faults = new_faults()
    faults.fail_forever("read", BOOM)
    assert [faults.enter("read") for _ in range(5)] == [BOOM] * 5
    faults.clear()
    assert faults.enter("read") is None


def test_faults_queued_failures_fire_in_order() -> None:
    faults = new_faults()
    other = PortFailure("other")
    faults.fail_next("read", BOOM)
    faults.fail_times("read", 2, other)
    assert [faults.enter("read") for _ in range(4)] == [BOOM, other, other, None]


def test_faults_are_per_method() -> None:
    faults = new_faults()
    faults.fail_next("read", BOOM)
    assert faults.enter("write") is None
    assert faults.enter("read") == BOOM


def test_faults_clear_one_method_keeps_others_and_the_call_log() -> None:
    faults = new_faults()
    faults.fail_forever("read", BOOM)
    faults.fail_forever("write", BOOM)
    faults.enter("read")
    faults.clear("read")
    assert faults.enter("read") is None
    assert faults.enter("write") == BOOM
    assert faults.calls("read") == 2


def test_faults_applied_failure_is_reported_after_the_effect() -> None:
    faults = new_faults()
    faults.fail_next("write", BOOM, applied=True)
    assert faults.enter("write") is None
    assert faults.after("write") == BOOM
    assert faults.after("write") is None


def test_faults_pending_counts_unfired_failures() -> None:
    faults = new_faults()
    faults.fail_times("read", 2, BOOM)
    faults.fail_next("read", BOOM, applied=True)
    assert faults.pending("read") == 2
    faults.enter("read")
    faults.enter("read")
    assert faults.pending("read") == 1


def test_faults_slow_delays_each_call() -> None:
    faults = new_faults()
    faults.slow("read", 0.05)
    started = time.monotonic()
    faults.enter("read")
    assert time.monotonic() - started >= 0.05
    faults.slow("read", 0)
    started = time.monotonic()
    faults.enter("read")
    assert time.monotonic() - started < 0.05


@pytest.mark.parametrize(
    "misuse",
    [
        lambda f: f.fail_next("raed", BOOM),
        lambda f: f.enter("raed"),
        lambda f: f.fail_times("read", 0, BOOM),
        lambda f: f.slow("read", -1),
        lambda f: f.clear("raed"),
    ],
)
def test_faults_misuse_is_a_programmer_error(misuse: Callable[[Faults[PortFailure]], object]) -> None:
    with pytest.raises(ValueError):
        misuse(new_faults())


# -- store shorthands and lost acknowledgements ----------------------------------------------------------------------


def a_stored(store: InMemoryTaskActionStore) -> TaskAction:
    return store.create(TaskAction(ObjectMeta(name="ta", namespace="default"))).unwrap()


def test_store_conflict_next_fails_then_lets_the_retry_through() -> None:
    store = InMemoryTaskActionStore(ManualClock(T0))
    stored = a_stored(store)
    store.faults.conflict_next("update_status", times=2)
    write = replace(stored, status=TaskActionStatus(attempts=1))
    kinds = [store.update_status(write) for _ in range(3)]
    assert [r.failure().kind for r in kinds[:2]] == [StoreErrorKind.CONFLICT] * 2
    assert kinds[2].unwrap().status.attempts == 1


def test_store_unavailable_next_fails_reads() -> None:
    store = InMemoryTaskActionStore(ManualClock(T0))
    a_stored(store)
    store.faults.unavailable_next("get")
    assert store.get("default", "ta").failure().kind is StoreErrorKind.UNAVAILABLE
    assert store.get("default", "ta").unwrap().metadata.name == "ta"


def test_store_lost_acknowledgement_persists_the_write() -> None:
    store = InMemoryTaskActionStore(ManualClock(T0))
    stored = a_stored(store)
    store.faults.fail_next("update_status", UNAVAILABLE, applied=True)
    result = store.update_status(replace(stored, status=TaskActionStatus(attempts=1)))
    assert result.failure() == UNAVAILABLE
    assert store.get("default", "ta").unwrap().status.attempts == 1


def test_store_lost_acknowledgement_waits_for_an_effective_call() -> None:
    store = InMemoryTaskActionStore(ManualClock(T0))
    stored = a_stored(store)
    store.faults.fail_next("delete", UNAVAILABLE, applied=True)
    assert store.delete("default", "missing").failure().kind is StoreErrorKind.NOT_FOUND
    assert store.faults.pending("delete") == 1
    assert store.delete("default", stored.metadata.name).failure() == UNAVAILABLE
    assert store.objects() == ()


def test_event_sink_lost_acknowledgement_makes_the_resend_a_duplicate() -> None:
    sink = RecordingEventSink()
    event = ActionEvent(ActionId("p", "d", "run", "a"), 1, ActionPhase.RUNNING, 0, T0, T0)
    sink.faults.fail_next("record", BOOM, applied=True)
    assert sink.record([event]).failure() == BOOM
    sink.record([event]).unwrap()
    assert sink.events == (event,)
    assert sink.duplicates_dropped == 1


def test_event_sink_failed_batch_stores_nothing() -> None:
    sink = RecordingEventSink()
    event = ActionEvent(ActionId("p", "d", "run", "a"), 1, ActionPhase.RUNNING, 0, T0, T0)
    sink.faults.fail_next("record", BOOM)
    assert sink.record([event, event]).failure() == BOOM
    assert sink.events == ()
    assert sink.batch_sizes == ()


def test_recorder_failure_drops_the_warning() -> None:
    recorder = RecordingRecorder(ManualClock(T0))
    recorder.faults.fail_next("warn", BOOM)
    recorder.warn("default", "a", "R", "A", "n")
    recorder.warn("default", "a", "R", "A", "n")
    assert recorder.dropped == 1
    assert [event.count for event in recorder.events] == [1]


# -- every fake honours its faults -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    """One fake method under ``fail_next``: the injected failure must come back and nothing may change."""

    fake: str
    faults: Faults[Any]
    method: str
    error: object
    call: Callable[[], Result[Any, Any]]
    state: Callable[[], object]


KEY = CacheKey(Identifier(1, "p", "d", "t", "v"), "1", (), b"", "mem://in/inputs.pb")
METADATA = CacheMetadata(TaskExecutionId("p", "d", "run", "a", 0, None), T0)

StoreCall = Callable[[InMemoryTaskActionStore, TaskAction], Result[Any, Any]]
STORE_CALLS: dict[str, StoreCall] = {
    "get": lambda s, ta: s.get("default", "ta"),
    "list": lambda s, ta: s.list(None, {}),
    "create": lambda s, ta: s.create(TaskAction(ObjectMeta(name="new", namespace="default"))),
    "update": lambda s, ta: s.update(replace(ta, metadata=replace(ta.metadata, labels=pmap({"a": "b"})))),
    "update_status": lambda s, ta: s.update_status(replace(ta, status=TaskActionStatus(attempts=3))),
    "patch_labels": lambda s, ta: s.patch_labels("default", "ta", {"a": "b"}),
    "delete": lambda s, ta: s.delete("default", "ta"),
}
DATA_STORE_CALLS: dict[str, Callable[[InMemoryDataStore], Result[Any, Any]]] = {
    "read": lambda d: d.read("mem://x"),
    "write": lambda d: d.write("mem://x", b"new"),
    "exists": lambda d: d.exists("mem://x"),
    "delete": lambda d: d.delete("mem://x"),
}
CATALOG_CALLS: dict[str, Callable[[InMemoryCatalog], Result[Any, Any]]] = {
    "get": lambda c: c.get(KEY),
    "put": lambda c: c.put(KEY, "mem://out/outputs.pb", METADATA),
    "get_or_extend_reservation": lambda c: c.get_or_extend_reservation(KEY, "me", timedelta(seconds=10)),
    "release_reservation": lambda c: c.release_reservation(KEY, "holder"),
}


def store_case(method: str) -> FaultCase:
    store = InMemoryTaskActionStore(ManualClock(T0))
    stored = a_stored(store)
    call = STORE_CALLS[method]
    return FaultCase("store", store.faults, method, UNAVAILABLE, lambda: call(store, stored), store.objects)


def data_store_case(method: str) -> FaultCase:
    data_store = InMemoryDataStore({"mem://x": b"old"})
    call = DATA_STORE_CALLS[method]
    return FaultCase("data_store", data_store.faults, method, DATA_DOWN, lambda: call(data_store), data_store.blobs)


def catalog_case(method: str) -> FaultCase:
    catalog = InMemoryCatalog(InMemoryDataStore({"mem://out/outputs.pb": b"o"}), ManualClock(T0))
    catalog.get_or_extend_reservation(KEY, "holder", timedelta(seconds=10)).unwrap()
    call = CATALOG_CALLS[method]
    return FaultCase(
        "catalog",
        catalog.faults,
        method,
        CATALOG_DOWN,
        lambda: call(catalog),
        lambda: (catalog.entries(), catalog.reservations()),
    )


def event_sink_case() -> FaultCase:
    sink = RecordingEventSink()
    event = ActionEvent(ActionId("p", "d", "run", "a"), 1, ActionPhase.RUNNING, 0, T0, T0)
    return FaultCase("event_sink", sink.faults, "record", BOOM, lambda: sink.record([event]), lambda: sink.events)


def secrets_case() -> FaultCase:
    secrets = DictSecretManager({"k": "v"})
    return FaultCase("secrets", secrets.faults, "get", BOOM, lambda: secrets.get("k"), lambda: None)


def resources_case(method: str) -> FaultCase:
    resources = QuotaResourceManager(quota=2)
    resources.allocate("ns", "held").unwrap()
    call = resources.allocate if method == "allocate" else resources.release
    return FaultCase(
        "resources", resources.faults, method, BOOM, lambda: call("ns", "held"), lambda: resources.held("ns")
    )


CASE_FACTORIES: dict[str, Callable[[], FaultCase]] = {
    **{f"store-{m}": partial(store_case, m) for m in STORE_CALLS},
    **{f"data_store-{m}": partial(data_store_case, m) for m in DATA_STORE_CALLS},
    **{f"catalog-{m}": partial(catalog_case, m) for m in CATALOG_CALLS},
    "event_sink-record": event_sink_case,
    "secrets-get": secrets_case,
    "resources-allocate": partial(resources_case, "allocate"),
    "resources-release": partial(resources_case, "release"),
}


@pytest.mark.parametrize("case_id", sorted(CASE_FACTORIES))
def test_fake_fail_next_returns_injected_failure_and_changes_nothing(case_id: str) -> None:
    case = CASE_FACTORIES[case_id]()
    before, calls_before = case.state(), case.faults.calls(case.method)
    case.faults.fail_next(case.method, case.error)
    assert case.call() == Failure(case.error)
    assert case.state() == before
    assert case.faults.calls(case.method) == calls_before + 1
    assert case.call() != Failure(case.error)


def test_fake_fault_cases_cover_every_method_of_every_fake() -> None:
    cases = [factory() for factory in CASE_FACTORIES.values()]
    for fake in {case.fake for case in cases}:
        declared = {method for case in cases if case.fake == fake for method in case.faults.methods}
        covered = {case.method for case in cases if case.fake == fake}
        assert covered == declared, fake


@pytest.mark.parametrize("method", ["handle", "abort", "finalize"])
def test_scripted_plugin_injected_fault_is_raised(method: str) -> None:
    plugin = ScriptedPlugin("fake", [Transition(PhaseInfo(PluginPhase.RUNNING))])
    context = PluginContext.build(a_context(), InMemoryDataStore(), DictSecretManager(), QuotaResourceManager(1))
    plugin.faults.fail_times(method, 2, PluginError("injected", "Code"))
    for _ in range(2):
        with pytest.raises(PluginError, match="injected"):
            getattr(plugin, method)(context)
    getattr(plugin, method)(context)
    assert plugin.call_count(method) == 3


def test_scripted_plugin_slow_handle_takes_at_least_the_delay() -> None:
    plugin = ScriptedPlugin("fake", [Transition(PhaseInfo(PluginPhase.RUNNING))])
    plugin.faults.slow("handle", 0.05)
    context = PluginContext.build(a_context(), InMemoryDataStore(), DictSecretManager(), QuotaResourceManager(1))
    started = time.monotonic()
    plugin.handle(context)
    assert time.monotonic() - started >= 0.05


def test_data_store_lost_acknowledgement_keeps_the_blob() -> None:
    data_store = InMemoryDataStore()
    data_store.faults.fail_next("write", DATA_DOWN, applied=True)
    assert data_store.write("mem://x", b"kept").failure() == DATA_DOWN
    assert data_store.blobs() == {"mem://x": b"kept"}


def test_catalog_lost_acknowledgements_keep_entry_and_reservation() -> None:
    catalog = InMemoryCatalog(InMemoryDataStore({"mem://out/outputs.pb": b"o"}), ManualClock(T0))
    catalog.faults.fail_next("put", CATALOG_DOWN, applied=True)
    catalog.faults.fail_next("get_or_extend_reservation", CATALOG_DOWN, applied=True)
    assert catalog.put(KEY, "mem://out/outputs.pb", METADATA).failure() == CATALOG_DOWN
    assert catalog.get_or_extend_reservation(KEY, "me", timedelta(seconds=10)).failure() == CATALOG_DOWN
    assert catalog.put(KEY, "mem://out/outputs.pb", METADATA).failure().kind is CatalogErrorKind.ALREADY_EXISTS
    assert catalog.get_or_extend_reservation(KEY, "rival", timedelta(seconds=10)).unwrap().owner_id == "me"
