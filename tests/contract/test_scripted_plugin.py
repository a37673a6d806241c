"""The scripted plugin fake: scripts for Handle/Abort/Finalize, state and output writes, and the R29 overlap check."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import DataError, DataErrorKind, Plugin, PluginError
from taskaction_core.observations import PluginStateWrite
from taskaction_core.phase_info import PhaseInfo, Transition
from taskaction_core.phases import PluginPhase
from taskaction_core.testing.fakes import (
    ConcurrentCall,
    ConcurrentCallDetected,
    DictSecretManager,
    HandleStep,
    InMemoryDataStore,
    PutState,
    QuotaResourceManager,
    ResetState,
    ScriptedPlugin,
)
from tests.contract import a_context

T0 = datetime(2026, 3, 1, tzinfo=UTC)
QUEUED = Transition(PhaseInfo(PluginPhase.QUEUED))
RUNNING = Transition(PhaseInfo(PluginPhase.RUNNING))
SUCCESS = Transition(PhaseInfo(PluginPhase.SUCCESS))


def a_plugin_context(name: str = "ta", data_store: InMemoryDataStore | None = None) -> PluginContext:
    return PluginContext.build(
        a_context(name=name), data_store or InMemoryDataStore(), DictSecretManager(), QuotaResourceManager(quota=1)
    )


def test_scripted_plugin_satisfies_plugin_protocol() -> None:
    plugin: Plugin = ScriptedPlugin("fake", [QUEUED])
    assert plugin.id == "fake"
    assert plugin.properties.generated_name_max_length is None


def test_scripted_plugin_handle_follows_steps_and_repeats_last() -> None:
    plugin = ScriptedPlugin("fake", [QUEUED, RUNNING, SUCCESS])
    outcomes = [plugin.handle(a_plugin_context()) for _ in range(5)]
    assert outcomes == [QUEUED, RUNNING, SUCCESS, SUCCESS, SUCCESS]
    assert plugin.call_count("handle") == 5


def test_scripted_plugin_exception_step_is_raised_with_its_chain() -> None:
    error = PluginError("launch failed", "DownstreamSystemError")
    error.__cause__ = PluginError("quota", "ResourceExhausted")
    plugin = ScriptedPlugin("fake", [error, RUNNING])
    with pytest.raises(PluginError) as raised:
        plugin.handle(a_plugin_context())
    assert raised.value is error
    assert raised.value.__cause__ is error.__cause__
    assert plugin.handle(a_plugin_context()) == RUNNING


def test_scripted_plugin_repeated_exception_step_keeps_traceback_short() -> None:
    plugin = ScriptedPlugin("fake", [RuntimeError("again")])
    depths = []
    for _ in range(3):
        with pytest.raises(RuntimeError) as raised:
            plugin.handle(a_plugin_context())
        traceback, depth = raised.value.__traceback__, 0
        while traceback is not None:
            depth, traceback = depth + 1, traceback.tb_next
        depths.append(depth)
    assert depths[0] == depths[2]


def test_scripted_plugin_step_writes_state_before_outcome() -> None:
    plugin = ScriptedPlugin("fake", [HandleStep(RUNNING, state=PutState(1, b"started"))])
    context = a_plugin_context()
    assert plugin.handle(context) == RUNNING
    assert context.state.new_state() == PluginStateWrite(b"started", 1)


def test_scripted_plugin_step_can_reset_state_and_still_raise() -> None:
    plugin = ScriptedPlugin("fake", [HandleStep(RuntimeError("gone"), state=ResetState())])
    context = a_plugin_context()
    with pytest.raises(RuntimeError, match="gone"):
        plugin.handle(context)
    assert context.state.new_state() == PluginStateWrite(b"", 0)


def test_scripted_plugin_step_writes_outputs_and_error_documents() -> None:
    data_store = InMemoryDataStore()
    plugin = ScriptedPlugin("fake", [HandleStep(SUCCESS, outputs=b"out", error_document=b"err")])
    plugin.handle(a_plugin_context(data_store=data_store))
    assert data_store.blobs() == {
        "mem://bucket/run/ta/1/outputs.pb": b"out",
        "mem://bucket/run/ta/1/error.pb": b"err",
    }


def test_scripted_plugin_failed_output_write_raises() -> None:
    data_store = InMemoryDataStore()
    data_store.faults.fail_forever("write", DataError(DataErrorKind.OTHER, "disk full"))
    plugin = ScriptedPlugin("fake", [HandleStep(SUCCESS, outputs=b"out")])
    with pytest.raises(RuntimeError, match="disk full"):
        plugin.handle(a_plugin_context(data_store=data_store))


def test_scripted_plugin_callable_step_sees_the_context() -> None:
    seen: list[tuple[str, str]] = []

    def step(ctx: PluginContext) -> Transition:
        seen.append(ctx.key)
        return SUCCESS

    assert ScriptedPlugin("fake", [step]).handle(a_plugin_context("x")) == SUCCESS
    assert seen == [("default", "x")]


def test_scripted_plugin_abort_raises_scripted_times_then_succeeds() -> None:
    plugin = ScriptedPlugin("fake", [RUNNING], abort=[RuntimeError("a1"), RuntimeError("a2"), None])
    for message in ("a1", "a2"):
        with pytest.raises(RuntimeError, match=message):
            plugin.abort(a_plugin_context())
    plugin.abort(a_plugin_context())
    plugin.abort(a_plugin_context())
    assert plugin.call_count("abort") == 4


def test_scripted_plugin_finalize_without_script_succeeds_and_is_logged() -> None:
    plugin = ScriptedPlugin("fake", [RUNNING], finalize=[])
    plugin.finalize(a_plugin_context("x"))
    assert [(call.method, call.facts.name) for call in plugin.calls] == [("finalize", "x")]


def test_scripted_plugin_finalize_failure_repeats_when_last() -> None:
    plugin = ScriptedPlugin("fake", [RUNNING], finalize=[PluginError("stuck")])
    for _ in range(2):
        with pytest.raises(PluginError, match="stuck"):
            plugin.finalize(a_plugin_context())


def test_scripted_plugin_shared_cursor_spans_task_actions() -> None:
    plugin = ScriptedPlugin("fake", [QUEUED, RUNNING])
    assert plugin.handle(a_plugin_context("a")) == QUEUED
    assert plugin.handle(a_plugin_context("b")) == RUNNING


def test_scripted_plugin_per_key_cursor_restarts_script_for_each_task_action() -> None:
    plugin = ScriptedPlugin("fake", [QUEUED, RUNNING], per_key=True)
    assert plugin.handle(a_plugin_context("a")) == QUEUED
    assert plugin.handle(a_plugin_context("b")) == QUEUED
    assert plugin.handle(a_plugin_context("a")) == RUNNING


def test_scripted_plugin_without_steps_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        ScriptedPlugin("fake", [])


def test_scripted_plugin_injected_fault_does_not_consume_a_step() -> None:
    plugin = ScriptedPlugin("fake", [QUEUED, RUNNING])
    plugin.faults.fail_next("handle", PluginError("injected"))
    with pytest.raises(PluginError, match="injected"):
        plugin.handle(a_plugin_context())
    assert plugin.handle(a_plugin_context()) == QUEUED


# -- overlap detection (R29) -----------------------------------------------------------------------------------------


def run_while_handle_is_blocked(plugin_key: str, second_key: str) -> tuple[ScriptedPlugin, list[BaseException]]:
    """Start one Handle that blocks, then call Handle for ``second_key`` on this thread while it is in flight."""
    entered, release = threading.Event(), threading.Event()

    def blocking(ctx: PluginContext) -> Transition:
        entered.set()
        release.wait(timeout=5)
        return RUNNING

    plugin = ScriptedPlugin("fake", [blocking, SUCCESS])
    worker = threading.Thread(target=plugin.handle, args=(a_plugin_context(plugin_key),))
    worker.start()
    assert entered.wait(timeout=5)
    raised: list[BaseException] = []
    try:
        plugin.abort(a_plugin_context(second_key))
    except ConcurrentCallDetected as error:
        raised.append(error)
    finally:
        release.set()
        worker.join(timeout=5)
    return plugin, raised


def test_scripted_plugin_overlapping_calls_for_one_key_are_detected() -> None:
    plugin, raised = run_while_handle_is_blocked("a", "a")
    assert plugin.concurrent_calls == (ConcurrentCall(("default", "a"), "abort", "handle"),)
    assert len(raised) == 1
    assert isinstance(raised[0], AssertionError)


def test_scripted_plugin_parallel_calls_for_different_keys_are_fine() -> None:
    plugin, raised = run_while_handle_is_blocked("a", "b")
    assert plugin.concurrent_calls == ()
    assert raised == []


def test_scripted_plugin_sequential_calls_for_one_key_are_fine() -> None:
    plugin = ScriptedPlugin("fake", [RuntimeError("boom"), RUNNING])
    with pytest.raises(RuntimeError):
        plugin.handle(a_plugin_context())
    plugin.handle(a_plugin_context())
    plugin.abort(a_plugin_context())
    assert plugin.concurrent_calls == ()
