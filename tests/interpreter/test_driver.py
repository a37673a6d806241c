"""The one-pass interpreter (design.md §4): each question and effect against its port, failure meanings, the status
conflict retry (R66), fetch exits (X1/X2), adapter exceptions as typed failures, and the round bound.

Most tests replace ``reconcile`` with a :class:`ScriptedCore` so the driver is tested on its own: the core's rounds
are given, and the observations the driver feeds back are recorded. Tests of meanings the core chooses (the
publish-failure warning, the condition scope) run the real core.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Ask, Decision, Done, RequeueAfter, Round
from taskaction_core.effects import (
    AbortPlugin,
    AcquireReservation,
    AddFinalizer,
    FailPass,
    FinalEffect,
    FinalizePlugin,
    Ignore,
    InvokePlugin,
    Log,
    LogLevel,
    LookupCache,
    PatchLabels,
    PersistStatus,
    PutCache,
    Question,
    RecordActionEvent,
    RecordWarning,
    ReleaseReservation,
    RemoveFinalizer,
    Requeue,
    StatusScope,
    WriteCachedOutputs,
)
from taskaction_core.interpreter import driver
from taskaction_core.interpreter.driver import MAX_ROUNDS, Failed, PassReport, Ports, run_pass
from taskaction_core.interpreter.ports import DataError, DataErrorKind, PluginError, StoreError, StoreErrorKind
from taskaction_core.observations import (
    CacheHit,
    CatalogErrorKind,
    CatalogFailure,
    Observations,
    PluginFailure,
    PluginHandled,
    PluginStateWrite,
    PortFailure,
    Reservation,
)
from taskaction_core.phase_info import Transition, phase_info_running
from taskaction_core.policy import Policy
from taskaction_core.reconcile.action_events import build_action_event
from taskaction_core.reconcile.cache import CacheConfig, build_task_cache_config, cache_metadata_for_upload
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.reconcile.status import record_action_event
from taskaction_core.records import FINALIZER, Condition, TaskAction, TaskActionStatus
from taskaction_core.testing.builders import T0
from taskaction_core.testing.fakes import HandleStep, PutState, ScriptedPlugin
from taskaction_core.testing.scenarios import (
    COND,
    OUTPUTS,
    SIGNAL,
    TA,
    World,
    a_condition,
    a_task,
    drive,
    new_world,
)

SCRIPTED = "scripted-plugin"
TEN_SECONDS = timedelta(seconds=10)


class ScriptedCore:
    """Stands in for ``reconcile``: returns ``rounds`` in order (the last repeats) and keeps each round's input."""

    def __init__(self, rounds: Sequence[Round]) -> None:
        self._rounds = tuple(rounds)
        self.seen: list[Observations] = []

    def __call__(self, task_action: TaskAction, observations: Observations, policy: Policy) -> Round:
        self.seen.append(observations)
        return self._rounds[min(len(self.seen), len(self._rounds)) - 1]


class Raising:
    """Wraps a port; calling ``method`` raises ``error`` (an adapter bug or a driver exception)."""

    def __init__(self, inner: object, method: str, error: Exception) -> None:
        self._inner = inner
        self._method = method
        self._error = error

    def __getattr__(self, name: str) -> Any:
        if name != self._method:
            return getattr(self._inner, name)

        def explode(*args: Any, **kwargs: Any) -> Any:
            raise self._error

        return explode


def _world(*, finalizer: bool = True, policy: Policy | None = None) -> World:
    """A world holding one cacheable, serializable task TA (finalizer on) and a scripted plugin."""
    world = new_world(policy=policy)
    task_action = a_task(TA, cacheable=True, serializable=True)
    if finalizer:
        task_action = replace(task_action, metadata=replace(task_action.metadata, finalizers=pvector([FINALIZER])))
    world.create(task_action, b"")
    return world


def _stored(world: World) -> TaskAction:
    found = world.get(TA)
    assert found is not None
    return found


def _facts(world: World) -> TaskExecutionContext:
    return build_task_execution_context(_stored(world), Policy()).unwrap()


def _cache(world: World) -> CacheConfig:
    config = build_task_cache_config(_stored(world)).unwrap()
    assert config is not None
    return config


def _script(monkeypatch: pytest.MonkeyPatch, *rounds: Round) -> ScriptedCore:
    core = ScriptedCore(rounds)
    monkeypatch.setattr(driver, "reconcile", core)
    return core


def _ask_then(monkeypatch: pytest.MonkeyPatch, world: World, question: Question) -> tuple[ScriptedCore, PassReport]:
    """Ask ``question``, then decide nothing: the outcome the driver observed is ``core.seen[1]``."""
    core = _script(monkeypatch, Ask(question), Decision(_stored(world), (), Done()))
    return core, run_pass(world.ports(), world.policy, *TA)


def _decide(
    monkeypatch: pytest.MonkeyPatch, world: World, effects: Sequence[FinalEffect], ports: Ports | None = None
) -> PassReport:
    _script(monkeypatch, Decision(_stored(world), tuple(effects), Done()))
    return run_pass(ports or world.ports(), world.policy, *TA)


def _scripted_plugin(world: World, *steps: Any, **options: Any) -> ScriptedPlugin:
    plugin = ScriptedPlugin(SCRIPTED, list(steps) or [Transition(phase_info_running(T0, 0, None))], **options)
    world.plugins.register(plugin, ["scripted"])
    return plugin


def _with_condition() -> TaskActionStatus:
    return replace(TaskActionStatus(), conditions=pvector([Condition("Progressing", "True", "Queued", "q", T0)]))


def _persist(world: World, *, retry: bool = True, scope: StatusScope = StatusScope.WHOLE) -> PersistStatus:
    rv = _stored(world).metadata.resource_version
    return PersistStatus(_with_condition(), scope, retry, rv, FailPass())


# --------------------------------------------------------------------------------------------------------------------
# Questions: performed against the right port, the outcome fed back


def test_run_pass_lookup_cache_hit_observed_from_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    cache = _cache(world)
    world.data.write("s3://bucket/cached/outputs.pb", OUTPUTS).unwrap()
    world.catalog.put(cache.key, "s3://bucket/cached/outputs.pb", cache_metadata_for_upload(_stored(world), cache, T0))

    core, _ = _ask_then(monkeypatch, world, LookupCache(cache.key))

    assert core.seen[1].cache_lookup == Success(CacheHit(OUTPUTS))


def test_run_pass_lookup_cache_miss_observed_as_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()

    core, _ = _ask_then(monkeypatch, world, LookupCache(_cache(world).key))

    lookup = core.seen[1].cache_lookup
    assert isinstance(lookup, Failure)
    assert lookup.failure().kind is CatalogErrorKind.NOT_FOUND


def test_run_pass_write_cached_outputs_writes_data_store(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()

    core, _ = _ask_then(monkeypatch, world, WriteCachedOutputs("s3://bucket/out/outputs.pb", OUTPUTS))

    assert core.seen[1].cached_outputs_write == Success(None)
    assert world.data.blobs()["s3://bucket/out/outputs.pb"] == OUTPUTS


def test_run_pass_acquire_reservation_takes_it_in_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    cache = _cache(world)

    core, _ = _ask_then(monkeypatch, world, AcquireReservation(cache.key, cache.owner_id, TEN_SECONDS))

    assert core.seen[1].reservation == Success(Reservation("default/ta"))
    assert [r.owner_id for r in world.catalog.reservations().values()] == ["default/ta"]


def test_run_pass_invoke_plugin_reports_transition_and_state_write(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    running = Transition(phase_info_running(T0, 0, None))
    plugin = _scripted_plugin(world, HandleStep(running, state=PutState(3, b"state")))

    core, _ = _ask_then(monkeypatch, world, InvokePlugin(SCRIPTED, _facts(world)))

    assert core.seen[1].handle == Success(PluginHandled(running, PluginStateWrite(b"state", 3)))
    assert [(call.method, call.facts) for call in plugin.calls] == [("handle", _facts(world))]


def test_run_pass_put_cache_stores_outputs_in_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    cache = _cache(world)
    world.data.write("s3://bucket/out/outputs.pb", OUTPUTS).unwrap()
    metadata = cache_metadata_for_upload(_stored(world), cache, T0)

    core, _ = _ask_then(monkeypatch, world, PutCache(cache.key, "s3://bucket/out/outputs.pb", metadata))

    assert core.seen[1].cache_put == Success(None)
    assert [entry.outputs for entry in world.catalog.entries().values()] == [OUTPUTS]


def test_run_pass_catalog_question_without_catalog_is_a_programmer_error(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(policy=Policy(catalog_enabled=False))

    with pytest.raises(AssertionError, match="no catalog is configured"):
        _ask_then(monkeypatch, world, LookupCache(_cache(world).key))


def test_run_pass_after_call_hook_sees_every_question_and_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    seen: list[str] = []
    question = LookupCache(_cache(world).key)
    effects = (Log(LogLevel.INFO, "hello"), PatchLabels(pmap({"a": "b"}), FailPass()))
    _script(monkeypatch, Ask(question), Decision(_stored(world), effects, Done()))

    report = run_pass(replace(world.ports(), after_call=seen.append), world.policy, *TA)

    assert seen == ["LookupCache", "Log", "PatchLabels"]
    assert (report.rounds, report.questions, report.effects_performed) == (2, ("LookupCache",), ("Log", "PatchLabels"))


# --------------------------------------------------------------------------------------------------------------------
# Final effects: performed against the right port


def test_run_pass_abort_and_finalize_call_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    plugin = _scripted_plugin(world)
    facts = _facts(world)

    report = _decide(
        monkeypatch, world, [AbortPlugin(SCRIPTED, facts, FailPass()), FinalizePlugin(SCRIPTED, facts, FailPass())]
    )

    assert report.result == Done()
    assert [(call.method, call.facts.name) for call in plugin.calls] == [("abort", "ta"), ("finalize", "ta")]


def test_run_pass_release_reservation_frees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    cache = _cache(world)
    world.catalog.get_or_extend_reservation(cache.key, cache.owner_id, TEN_SECONDS).unwrap()

    _decide(monkeypatch, world, [ReleaseReservation(cache.key, cache.owner_id, FailPass())])

    assert world.catalog.reservations() == {}


def test_run_pass_record_action_event_reaches_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    event = build_action_event(_stored(world), phase_info_running(T0, 0, None), T0, "")

    _decide(monkeypatch, world, [RecordActionEvent(event, FailPass())])

    assert world.events.events == (event,)


def test_run_pass_persist_status_replaces_stored_status(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    effect = _persist(world)

    report = _decide(monkeypatch, world, [effect])

    assert report.result == Done()
    assert _stored(world).status == effect.status


def test_run_pass_add_finalizer_updates_object(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(finalizer=False)

    _decide(monkeypatch, world, [AddFinalizer(FINALIZER, _stored(world).metadata.resource_version, FailPass())])

    assert list(_stored(world).metadata.finalizers) == [FINALIZER]


def test_run_pass_remove_finalizer_of_deleted_object_deletes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.delete(TA)

    _decide(monkeypatch, world, [RemoveFinalizer(FINALIZER, _stored(world).metadata.resource_version, FailPass())])

    assert world.get(TA) is None


def test_run_pass_patch_labels_merges_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()

    _decide(monkeypatch, world, [PatchLabels(pmap({"flyte.org/termination-status": "terminated"}), FailPass())])

    assert dict(_stored(world).metadata.labels) == {"flyte.org/termination-status": "terminated"}


def test_run_pass_record_warning_reaches_recorder(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()

    _decide(monkeypatch, world, [RecordWarning("FailedValidation", "ValidatingTaskAction", "bad spec")])

    [warning] = world.recorder.events
    assert (warning.namespace, warning.name, warning.reason, warning.action, warning.note) == (
        "default",
        "ta",
        "FailedValidation",
        "ValidatingTaskAction",
        "bad spec",
    )


def test_run_pass_log_effect_logged_at_its_level(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = _world()

    with caplog.at_level(logging.INFO, logger="taskaction_core.interpreter"):
        _decide(monkeypatch, world, [Log(LogLevel.WARNING, "cache lookup failed")])

    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.WARNING, "cache lookup failed")]


def test_run_pass_debug_log_reports_rounds_effects_and_result(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = _world()

    with caplog.at_level(logging.DEBUG, logger="taskaction_core.interpreter"):
        _decide(monkeypatch, world, [_persist(world), Log(LogLevel.INFO, "x")])

    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert line.startswith(f"pass {TA[0]}/{TA[1]}: 1 rounds, effects PersistStatus,Log, result Done() in ")


# --------------------------------------------------------------------------------------------------------------------
# Failure meanings


def test_run_pass_ignored_failure_continues_with_next_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    cache = _cache(world)
    world.catalog.faults.fail_next("release_reservation", CatalogFailure(CatalogErrorKind.OTHER, "down"))
    effects: list[FinalEffect] = [
        ReleaseReservation(cache.key, cache.owner_id, Ignore("release failed")),
        PatchLabels(pmap({"k": "v"}), FailPass()),
    ]
    _script(monkeypatch, Decision(_stored(world), tuple(effects), RequeueAfter(TEN_SECONDS)))

    report = run_pass(world.ports(), world.policy, *TA)

    assert report.result == RequeueAfter(TEN_SECONDS)
    assert dict(_stored(world).metadata.labels) == {"k": "v"}


def test_run_pass_requeue_failure_stops_with_requeue_after(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    plugin = _scripted_plugin(world, abort=[PluginError("abort failed")])
    effects: list[FinalEffect] = [
        AbortPlugin(SCRIPTED, _facts(world), Requeue(timedelta(seconds=7))),
        PatchLabels(pmap({"k": "v"}), FailPass()),
    ]

    report = _decide(monkeypatch, world, effects)

    assert report.result == RequeueAfter(timedelta(seconds=7))
    assert report.effects_performed == ("AbortPlugin",)
    assert dict(_stored(world).metadata.labels) == {}
    assert plugin.call_count("abort") == 1


def test_run_pass_fail_pass_failure_stops_with_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.unavailable_next("patch_labels")
    effects: list[FinalEffect] = [PatchLabels(pmap({"k": "v"}), FailPass()), RecordWarning("R", "A", "never sent")]

    report = _decide(monkeypatch, world, effects)

    assert report.result == Failed("PatchLabels: ServiceUnavailable: the server is currently unavailable")
    assert world.recorder.events == ()


def test_run_pass_event_publish_failure_warns_with_exact_note_and_skips_status() -> None:
    world = _world()
    drive(world, TA, max_passes=1)  # the plugin launches: Queued is persisted
    before = _stored(world).status
    world.clock.advance(TEN_SECONDS)
    world.events.faults.fail_next("record", PortFailure("sink down"))

    report = run_pass(world.ports(), world.policy, *TA)

    assert isinstance(report.result, Failed)
    [warning] = world.recorder.with_reason("ActionEventPublishFailed")
    assert (warning.action, warning.note) == ("PublishingActionEvent", 'Failed to persist action event "ta": sink down')
    assert _stored(world).status == before


# --------------------------------------------------------------------------------------------------------------------
# Status conflict retry (R66)


def _sleeps(world: World) -> tuple[Ports, list[float]]:
    slept: list[float] = []
    return replace(world.ports(), sleep=slept.append), slept


def test_run_pass_status_conflict_then_success_rereads_and_reapplies(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.conflict_next("update_status")
    ports, slept = _sleeps(world)
    effect = _persist(world)

    report = _decide(monkeypatch, world, [effect], ports)

    assert report.result == Done()
    assert _stored(world).status == effect.status
    assert (world.store.faults.calls("get"), world.store.faults.calls("update_status")) == (2, 2)
    assert len(slept) == 1
    assert 0.010 <= slept[0] <= 0.011


def test_run_pass_status_five_conflicts_fail_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.conflict_next("update_status", times=6)
    ports, slept = _sleeps(world)
    before = _stored(world).status

    report = _decide(monkeypatch, world, [_persist(world)], ports)

    assert isinstance(report.result, Failed)
    assert "Conflict" in report.result.error
    assert world.store.faults.calls("update_status") == 5
    assert world.store.faults.pending("update_status") == 1
    assert len(slept) == 4
    assert _stored(world).status == before


def test_run_pass_status_non_conflict_error_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.unavailable_next("update_status")
    ports, slept = _sleeps(world)

    report = _decide(monkeypatch, world, [_persist(world)], ports)

    assert isinstance(report.result, Failed)
    assert world.store.faults.calls("update_status") == 1
    assert slept == []


def test_run_pass_status_without_retry_single_write_against_given_version(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.conflict_next("update_status")

    report = _decide(monkeypatch, world, [_persist(world, retry=False)])

    assert isinstance(report.result, Failed)
    assert world.store.faults.calls("update_status") == 1


def test_run_pass_status_reread_failure_ends_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.store.faults.conflict_next("update_status")
    ports = replace(world.ports(), store=_FailingSecondGet(world))

    report = _decide(monkeypatch, world, [_persist(world)], ports)

    assert report.result == Failed("PersistStatus: ServiceUnavailable: gone away")


class _FailingSecondGet:
    """The store, except that the re-read after a conflict fails."""

    def __init__(self, world: World) -> None:
        self._store = world.store
        self._gets = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get(self, namespace: str, name: str) -> Any:
        self._gets += 1
        if self._gets == 2:
            return Failure(StoreError(StoreErrorKind.UNAVAILABLE, "gone away"))
        return self._store.get(namespace, name)


class _SignalledAfterFirstRead:
    """The store, except that the Signal RPC lands right after the pass has read the object (R83's race)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world.store, name)

    def get(self, namespace: str, name: str) -> Any:
        read = self._world.store.get(namespace, name)
        self._reads += 1
        if self._reads == 1:
            self._world.signal((namespace, name), SIGNAL, "alice")
        return read


def _condition_world() -> World:
    world = new_world()
    world.create(a_condition(COND))
    return world


def test_run_pass_condition_scope_keeps_concurrent_signal() -> None:
    world = _condition_world()
    ports = replace(world.ports(), store=_SignalledAfterFirstRead(world))

    report = run_pass(ports, world.policy, *COND)

    assert report.result == Done()
    stored = world.get(COND)
    assert stored is not None
    assert [c.reason for c in stored.status.conditions] == ["Paused"]
    assert (stored.status.signal_value, stored.status.signalled_by) == (SIGNAL, "alice")


def test_run_pass_whole_scope_overwrites_concurrent_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _condition_world()
    stale = world.get(COND)
    assert stale is not None
    effect = PersistStatus(_with_condition(), StatusScope.WHOLE, True, stale.metadata.resource_version, FailPass())
    _script(monkeypatch, Decision(stale, (effect,), Done()))
    ports = replace(world.ports(), store=_SignalledAfterFirstRead(world))

    run_pass(ports, world.policy, *COND)

    stored = world.get(COND)
    assert stored is not None
    assert (stored.status.signal_value, stored.status.conditions) == (b"", effect.status.conditions)  # Q14


# --------------------------------------------------------------------------------------------------------------------
# Fetch (X1, X2)


def test_run_pass_object_not_found_done() -> None:
    world = new_world()

    report = run_pass(world.ports(), world.policy, "default", "missing")

    assert (report.result, report.rounds, report.task_action) == (Done(), 0, None)


def test_run_pass_read_error_fails() -> None:
    world = _world()
    world.store.faults.unavailable_next("get")

    report = run_pass(world.ports(), world.policy, *TA)

    assert report.result == Failed("the server is currently unavailable")
    assert report.task_action is None


# --------------------------------------------------------------------------------------------------------------------
# Adapter exceptions become typed failures


BOOM = RuntimeError("boom")


def test_run_pass_store_get_raising_fails_pass() -> None:
    world = _world()
    ports = replace(world.ports(), store=Raising(world.store, "get", BOOM))

    report = run_pass(ports, world.policy, *TA)

    assert report.result == Failed("RuntimeError: boom")


def test_run_pass_catalog_raising_observed_as_other_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    core = _script(monkeypatch, Ask(LookupCache(_cache(world).key)), Decision(_stored(world), (), Done()))

    run_pass(replace(world.ports(), catalog=Raising(world.catalog, "get", BOOM)), world.policy, *TA)

    assert core.seen[1].cache_lookup == Failure(CatalogFailure(CatalogErrorKind.OTHER, "RuntimeError: boom"))


def test_run_pass_data_store_raising_observed_as_port_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    core = _script(
        monkeypatch, Ask(WriteCachedOutputs("s3://b/outputs.pb", OUTPUTS)), Decision(_stored(world), (), Done())
    )

    run_pass(replace(world.ports(), data_store=Raising(world.data, "write", BOOM)), world.policy, *TA)

    assert core.seen[1].cached_outputs_write == Failure(PortFailure("RuntimeError: boom"))


def test_run_pass_data_store_failure_observed_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    world.data.faults.fail_next("write", DataError(DataErrorKind.OTHER, "disk full"))

    core, _ = _ask_then(monkeypatch, world, WriteCachedOutputs("s3://b/outputs.pb", OUTPUTS))

    assert core.seen[1].cached_outputs_write == Failure(PortFailure("disk full"))


def test_run_pass_plugin_error_chain_observed_with_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    inner = PluginError("image missing", "ImagePullFailed")
    outer = PluginError("cannot build pod", "BadTaskSpecification")
    outer.__cause__ = inner
    _scripted_plugin(world, outer)

    core, _ = _ask_then(monkeypatch, world, InvokePlugin(SCRIPTED, _facts(world)))

    assert core.seen[1].handle == Failure(
        PluginFailure(
            "[BadTaskSpecification] cannot build pod, caused by: [ImagePullFailed] image missing",
            ("BadTaskSpecification", "ImagePullFailed"),
        )
    )


def test_run_pass_plugin_plain_exception_observed_without_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    _scripted_plugin(world, ValueError())

    core, _ = _ask_then(monkeypatch, world, InvokePlugin(SCRIPTED, _facts(world)))

    assert core.seen[1].handle == Failure(PluginFailure("ValueError", ()))


def test_run_pass_unknown_plugin_id_observed_as_plugin_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()

    core, _ = _ask_then(monkeypatch, world, InvokePlugin("nobody", _facts(world)))

    assert core.seen[1].handle == Failure(PluginFailure('no plugin with id "nobody"', ()))


def test_run_pass_event_sink_raising_fails_pass_with_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    effect = record_action_event(_stored(world), phase_info_running(T0, 0, None), T0, Policy())
    assert isinstance(effect, RecordActionEvent)
    ports = replace(world.ports(), events=Raising(world.events, "record", BOOM))

    report = _decide(monkeypatch, world, [effect], ports)

    assert report.result == Failed("RecordActionEvent: RuntimeError: boom")
    [warning] = world.recorder.events
    assert warning.note == 'Failed to persist action event "ta": RuntimeError: boom'
    assert world.events.events == ()


def test_run_pass_recorder_raising_is_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    ports = replace(world.ports(), recorder=Raising(world.recorder, "warn", BOOM))

    report = _decide(
        monkeypatch, world, [RecordWarning("R", "A", "n"), PatchLabels(pmap({"k": "v"}), FailPass())], ports
    )

    assert report.result == Done()
    assert dict(_stored(world).metadata.labels) == {"k": "v"}


def test_run_pass_status_write_raising_fails_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    ports = replace(world.ports(), store=Raising(world.store, "update_status", BOOM))

    report = _decide(monkeypatch, world, [_persist(world)], ports)

    assert report.result == Failed("PersistStatus: ServiceUnavailable: RuntimeError: boom")


def test_run_pass_plugin_abort_raising_uses_failure_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    _scripted_plugin(world, abort=[RuntimeError("pod stuck")])

    report = _decide(monkeypatch, world, [AbortPlugin(SCRIPTED, _facts(world), FailPass())])

    assert report.result == Failed("AbortPlugin: pod stuck")


# --------------------------------------------------------------------------------------------------------------------
# The round bound


def test_run_pass_core_never_deciding_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    _script(monkeypatch, Ask(LookupCache(_cache(world).key)))

    with pytest.raises(RuntimeError, match=f"did not decide within {MAX_ROUNDS} rounds"):
        run_pass(world.ports(), world.policy, *TA)


def test_run_pass_core_deciding_in_last_round_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    asks = [Ask(LookupCache(_cache(world).key))] * (MAX_ROUNDS - 1)
    _script(monkeypatch, *asks, Decision(_stored(world), (), Done()))

    report = run_pass(world.ports(), world.policy, *TA)

    assert (report.rounds, report.result) == (MAX_ROUNDS, Done())
