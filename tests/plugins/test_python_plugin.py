"""The Python-callable plugin: non-blocking handle, literal conversion, exception classification, abort (R36, R40,
R58, R62, R88, R99; reference/flyte-sdk-local.md §5)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from taskaction_core.adapters.plugins.literals import from_literal_map_bytes, to_literal_map_bytes
from taskaction_core.adapters.plugins.python_plugin import (
    NonRetryableError,
    PythonPlugin,
    RuntimeSystemError,
    TaskError,
)
from taskaction_core.interpreter.ports import PluginError
from taskaction_core.phase_info import ExecutionError
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.testing.fakes import ManualClock
from tests.plugins import DEADLINE_SECONDS, Rounds, a_facts, wait_for


@pytest.fixture
def make_plugin() -> Iterator[Callable[[Callable[..., object]], PythonPlugin]]:
    made: list[PythonPlugin] = []

    def make(func: Callable[..., object]) -> PythonPlugin:
        plugin = PythonPlugin("py", func, clock=ManualClock())
        made.append(plugin)
        return plugin

    yield make
    for plugin in made:
        plugin.close()


def write_inputs(rounds: Rounds, **values: object) -> None:
    path = Path(rounds.facts.input_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_literal_map_bytes(values))


def outputs(rounds: Rounds) -> dict[str, object]:
    return dict(from_literal_map_bytes((Path(rounds.facts.output_prefix) / "outputs.pb").read_bytes()))


def test_python_plugin_runs_the_function_with_inputs_and_writes_outputs(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    rounds = Rounds.of(make_plugin(lambda x, y: x * y), a_facts(tmp_path, inputs=("x", "y")))
    write_inputs(rounds, x=6, y=7)
    first = rounds.handle()
    assert (first.phase, first.reason) == (PluginPhase.QUEUED, "task submitted to the thread pool")
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert outputs(rounds) == {"o0": 42}


def test_python_plugin_handle_does_not_block_while_the_function_runs(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    release = threading.Event()
    rounds = Rounds.of(make_plugin(lambda: release.wait(DEADLINE_SECONDS)), a_facts(tmp_path, outputs=()))
    assert rounds.handle().phase is PluginPhase.QUEUED
    assert rounds.handle().phase is PluginPhase.RUNNING
    assert rounds.handle().phase is PluginPhase.RUNNING
    release.set()
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS


def test_python_plugin_without_inputs_file_calls_without_arguments(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    rounds = Rounds.of(make_plugin(lambda: "hi"), a_facts(tmp_path))
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert outputs(rounds) == {"o0": "hi"}


@pytest.mark.parametrize(
    ("declared", "returned", "expected"),
    [
        ((), None, {}),
        ((), [1, 2], {"o0": [1, 2]}),
        (("total",), {"k": 1}, {"total": {"k": 1}}),
        (("a", "b"), (1, "two"), {"a": 1, "b": "two"}),
    ],
)
def test_python_plugin_names_outputs_from_the_interface(
    tmp_path: Path,
    make_plugin: Callable[[Callable[..., object]], PythonPlugin],
    declared: tuple[str, ...],
    returned: object,
    expected: dict[str, object],
) -> None:
    rounds = Rounds.of(make_plugin(lambda: returned), a_facts(tmp_path, outputs=declared))
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert outputs(rounds) == expected


@pytest.mark.parametrize(
    ("error", "phase", "expected"),
    [
        (
            ValueError("boom with 5"),
            PluginPhase.RETRYABLE_FAILURE,
            ExecutionError("ValueError", "boom with 5", ErrorKind.USER),
        ),
        (
            NonRetryableError("fatal", code="Fatal"),
            PluginPhase.PERMANENT_FAILURE,
            ExecutionError("Fatal", "fatal", ErrorKind.USER),
        ),
        (
            NonRetryableError("no code"),
            PluginPhase.PERMANENT_FAILURE,
            ExecutionError("NonRetryableError", "no code", ErrorKind.USER),
        ),
        (
            RuntimeSystemError("disk", code="MySysErr"),
            PluginPhase.RETRYABLE_FAILURE,
            ExecutionError("MySysErr", "disk", ErrorKind.SYSTEM),
        ),
        (
            TaskError("plain", code="Mine"),
            PluginPhase.RETRYABLE_FAILURE,
            ExecutionError("Mine", "plain", ErrorKind.USER),
        ),
        (SystemExit(3), PluginPhase.RETRYABLE_FAILURE, ExecutionError("SystemExit", "3", ErrorKind.USER)),
    ],
)
def test_python_plugin_classifies_exceptions_like_the_flyte_sdk(
    tmp_path: Path,
    make_plugin: Callable[[Callable[..., object]], PythonPlugin],
    error: BaseException,
    phase: PluginPhase,
    expected: ExecutionError,
) -> None:
    def fail() -> None:
        raise error

    info = Rounds.of(make_plugin(fail), a_facts(tmp_path)).until_terminal()
    assert info.phase is phase
    assert info.err == expected


def test_python_plugin_missing_argument_is_a_retryable_type_error(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    def add(x: int) -> int:
        return x + 1

    info = Rounds.of(make_plugin(add), a_facts(tmp_path)).until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None and info.err.code == "TypeError"


@pytest.mark.parametrize(("declared", "returned"), [(("o0",), object()), (("a", "b"), (1,)), (("a", "b"), 5)])
def test_python_plugin_unconvertible_return_is_data_validation_error(
    tmp_path: Path,
    make_plugin: Callable[[Callable[..., object]], PythonPlugin],
    declared: tuple[str, ...],
    returned: object,
) -> None:
    rounds = Rounds.of(make_plugin(lambda: returned), a_facts(tmp_path, outputs=declared))
    info = rounds.until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None and (info.err.code, info.err.kind) == ("DataValidationError", ErrorKind.USER)
    assert not (Path(rounds.facts.output_prefix) / "outputs.pb").exists()


def test_python_plugin_unconvertible_inputs_are_bad_task_specification(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    rounds = Rounds.of(make_plugin(lambda: None), a_facts(tmp_path))
    Path(rounds.facts.input_path).parent.mkdir(parents=True)
    Path(rounds.facts.input_path).write_bytes(b"\xff\xff\xff")
    with pytest.raises(PluginError) as raised:
        rounds.handle()
    assert raised.value.code == "BadTaskSpecification"


def test_python_plugin_repeated_handle_after_finish_reports_the_same_result_without_rerunning(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    calls: list[int] = []
    rounds = Rounds.of(make_plugin(lambda: calls.append(1)), a_facts(tmp_path, outputs=()))
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert rounds.handle().phase is PluginPhase.SUCCESS
    assert calls == [1]


def test_python_plugin_abort_discards_a_running_result(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(DEADLINE_SECONDS)
        return len(calls)

    rounds = Rounds.of(make_plugin(slow), a_facts(tmp_path))
    rounds.handle()
    wait_for(started.is_set, "the function to start")
    rounds.abort()
    rounds.abort()  # idempotent
    release.set()
    rounds.reset_state()  # R62: the same attempt runs again
    started.clear()
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert calls == [1, 1]
    assert outputs(rounds) == {"o0": 2}


def test_python_plugin_restarted_controller_runs_the_attempt_again(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    calls: list[int] = []
    facts = a_facts(tmp_path, outputs=())
    first = Rounds.of(make_plugin(lambda: calls.append(1)), facts)
    first.handle()
    assert first.facts.plugin_state_version == 1
    restarted = Rounds.of(make_plugin(lambda: calls.append(1)), first.facts)
    assert restarted.handle().phase is PluginPhase.QUEUED
    assert restarted.until_terminal().phase is PluginPhase.SUCCESS
    wait_for(lambda: len(calls) == 2, "both runs")


def test_python_plugin_finalize_forgets_every_attempt_idempotently(
    tmp_path: Path, make_plugin: Callable[[Callable[..., object]], PythonPlugin]
) -> None:
    calls: list[int] = []
    plugin = make_plugin(lambda: calls.append(1))
    attempts = [Rounds.of(plugin, a_facts(tmp_path, outputs=(), retry=retry)) for retry in (0, 1)]
    for rounds in attempts:
        assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    attempts[0].finalize()
    attempts[0].finalize()
    for rounds in attempts:
        rounds.reset_state()
        assert rounds.handle().phase is PluginPhase.QUEUED  # forgotten: a new run
    wait_for(lambda: len(calls) == 4, "the new runs")


def test_python_plugin_id_and_task_types_come_from_the_task_type(
    make_plugin: Callable[[Callable[..., object]], PythonPlugin],
) -> None:
    plugin = make_plugin(lambda: None)
    assert (plugin.id, plugin.task_type, plugin.task_types) == ("python:py", "py", ("py",))
    custom = PythonPlugin("py", lambda: None, plugin_id="custom")
    custom.close()
    assert custom.id == "custom"
