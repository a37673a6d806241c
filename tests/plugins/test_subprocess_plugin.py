"""The subprocess plugin with real processes: launch once, re-attach, classify, time out, abort, finalize (R36,
R40, R62, R88, R99, R101–R106; reference/flyte-sdk-local.md §2, §5, §7)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flyteidl2.core import execution_pb2

from taskaction_core.adapters.fsspec_store import FsspecDataStore
from taskaction_core.adapters.plugins.subprocess_plugin import ProcessRecord, SubprocessPlugin
from taskaction_core.interpreter.ports import PluginError
from taskaction_core.phase_info import ExecutionError
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.testing.fakes import ManualClock
from tests.plugins import Rounds, a_facts, integer_map_bytes, is_gone, wait_for

GRACE = timedelta(seconds=0.2)

WRITE_FILE = """
import pathlib, sys
pathlib.Path(sys.argv[1], sys.argv[2]).write_bytes(bytes.fromhex(sys.argv[3]))
sys.exit(int(sys.argv[4]))
"""

WAIT_FOR_GO = """
import pathlib, sys, time
with open(sys.argv[1], "a") as log:
    log.write("launched\\n")
go, deadline = pathlib.Path(sys.argv[2]), time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
"""

SLEEP_WITH_GRANDCHILD = """
import os, pathlib, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import time; time.sleep(60)"])
target = pathlib.Path(sys.argv[1])
target.with_suffix(".tmp").write_text(f"{os.getpid()} {child.pid}")
target.with_suffix(".tmp").rename(target)
time.sleep(60)
"""

IGNORE_TERM = """
import os, pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
target = pathlib.Path(sys.argv[1])
target.with_suffix(".tmp").write_text(str(os.getpid()))
target.with_suffix(".tmp").rename(target)
time.sleep(60)
"""

DUMP_ARGS_AND_ENV = """
import json, os, pathlib, sys
pathlib.Path(sys.argv[1]).write_text(json.dumps({"argv": sys.argv[2:], "env": dict(os.environ), "cwd": os.getcwd()}))
"""


def python(code: str, *args: str) -> list[str]:
    """A Python script as argv; ``-I -S`` (standard library only) starts it in milliseconds."""
    return [sys.executable, "-I", "-S", "-c", textwrap.dedent(code), *args]


def error_document(kind: int, origin: int, code: str = "ValueError", message: str = "boom") -> bytes:
    document = execution_pb2.ErrorDocument()
    document.error.code, document.error.message = code, message
    document.error.kind, document.error.origin = kind, origin
    return bytes(document.SerializeToString())


def write_file(name: str, data: bytes, exit_code: int = 0) -> list[str]:
    return python(WRITE_FILE, "{{.outputPrefix}}", name, data.hex(), str(exit_code))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def plugin(tmp_path: Path, clock: ManualClock) -> SubprocessPlugin:
    return SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE)


def launches(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def pids(path: Path) -> list[int]:
    wait_for(path.exists, f"{path} to be written")
    return [int(pid) for pid in path.read_text().split()]


# -- results ---------------------------------------------------------------------------------------------------------


def test_subprocess_plugin_writing_outputs_is_queued_then_success(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    outputs = integer_map_bytes(o0=42)
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=write_file("outputs.pb", outputs)))
    first = rounds.handle()
    assert (first.phase, first.reason) == (PluginPhase.QUEUED, "task process launched")
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    prefix = Path(rounds.facts.output_prefix)
    assert (prefix / "outputs.pb").read_bytes() == outputs
    assert (prefix / "stderr.log").exists()
    assert (prefix / "stdout.log").exists()


@pytest.mark.parametrize(
    ("kind", "origin", "phase", "error_kind"),
    [
        (
            execution_pb2.ContainerError.RECOVERABLE,
            execution_pb2.ExecutionError.USER,
            PluginPhase.RETRYABLE_FAILURE,
            ErrorKind.USER,
        ),
        (
            execution_pb2.ContainerError.RECOVERABLE,
            execution_pb2.ExecutionError.SYSTEM,
            PluginPhase.RETRYABLE_FAILURE,
            ErrorKind.SYSTEM,
        ),
        (
            execution_pb2.ContainerError.RECOVERABLE,
            execution_pb2.ExecutionError.UNKNOWN,
            PluginPhase.RETRYABLE_FAILURE,
            ErrorKind.UNKNOWN,
        ),
        (
            execution_pb2.ContainerError.NON_RECOVERABLE,
            execution_pb2.ExecutionError.USER,
            PluginPhase.PERMANENT_FAILURE,
            ErrorKind.USER,
        ),
        (
            execution_pb2.ContainerError.NON_RECOVERABLE,
            execution_pb2.ExecutionError.SYSTEM,
            PluginPhase.PERMANENT_FAILURE,
            ErrorKind.SYSTEM,
        ),
    ],
)
def test_subprocess_plugin_error_document_is_classified_by_kind_and_origin(
    tmp_path: Path, plugin: SubprocessPlugin, kind: int, origin: int, phase: PluginPhase, error_kind: ErrorKind
) -> None:
    argv = write_file("error.pb", error_document(kind, origin, code="Fatal", message="it broke"))
    info = Rounds.of(plugin, a_facts(tmp_path, argv=argv)).until_terminal()
    assert info.phase is phase
    assert info.err == ExecutionError("Fatal", "it broke", error_kind)


def test_subprocess_plugin_error_document_wins_over_exit_code(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    document = error_document(execution_pb2.ContainerError.NON_RECOVERABLE, execution_pb2.ExecutionError.USER)
    info = Rounds.of(plugin, a_facts(tmp_path, argv=write_file("error.pb", document, exit_code=1))).until_terminal()
    assert info.phase is PluginPhase.PERMANENT_FAILURE
    assert info.err is not None and info.err.code == "ValueError"


def test_subprocess_plugin_nonzero_exit_is_retryable_user_error_with_stderr_tail(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    argv = python("import sys; sys.stderr.write('first line\\nthe last words\\n'); sys.exit(3)")
    info = Rounds.of(plugin, a_facts(tmp_path, argv=argv)).until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None
    assert (info.err.code, info.err.kind) == ("UnknownError", ErrorKind.USER)
    assert info.err.message.startswith("task process [ta-0] exited with code 3\n")
    assert info.err.message.endswith("the last words")


@pytest.mark.parametrize(
    "code",
    [
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        "import sys; sys.exit(137)",
        "import sys; sys.exit(143)",
    ],
)
def test_subprocess_plugin_killed_task_is_interrupted(tmp_path: Path, plugin: SubprocessPlugin, code: str) -> None:
    info = Rounds.of(plugin, a_facts(tmp_path, argv=python(code))).until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None and (info.err.code, info.err.kind) == ("Interrupted", ErrorKind.USER)


def test_subprocess_plugin_exit_zero_without_declared_outputs_is_outputs_not_found(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    info = Rounds.of(plugin, a_facts(tmp_path, argv=python("pass"))).until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None and (info.err.code, info.err.kind) == ("OutputsNotFound", ErrorKind.SYSTEM)


def test_subprocess_plugin_exit_zero_with_no_outputs_in_interface_succeeds(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    info = Rounds.of(plugin, a_facts(tmp_path, argv=python("pass"), outputs=())).until_terminal()
    assert info.phase is PluginPhase.SUCCESS


def test_subprocess_plugin_stale_outputs_are_removed_before_launch(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    facts = a_facts(tmp_path, argv=python("pass"))
    Path(facts.output_prefix).mkdir(parents=True)
    (Path(facts.output_prefix) / "outputs.pb").write_bytes(integer_map_bytes(o0=1))
    info = Rounds.of(plugin, facts).until_terminal()
    assert info.err is not None and info.err.code == "OutputsNotFound"


def test_subprocess_plugin_missing_executable_is_permanent_create_container_error(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    info = Rounds.of(plugin, a_facts(tmp_path, argv=[str(tmp_path / "no-such-binary")])).until_terminal()
    assert info.phase is PluginPhase.PERMANENT_FAILURE
    assert info.err is not None
    assert (info.err.code, info.err.kind) == ("CreateContainerError", ErrorKind.USER)
    assert "FileNotFoundError" in info.err.message


def test_subprocess_plugin_non_local_output_prefix_keeps_logs_in_the_run_directory(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    facts = a_facts(tmp_path, argv=python("print('hello')"), outputs=(), output_prefix="memory://plugin-test/ta/1")
    info = Rounds.of(plugin, facts).until_terminal()
    assert info.phase is PluginPhase.SUCCESS
    assert info.info is not None
    stdout = next(log for log in info.info.logs if log.name == "stdout")
    assert stdout.uri.startswith((tmp_path / "runs").as_uri())
    assert Path(stdout.uri.removeprefix("file://")).read_text() == "hello\n"


# -- what the process sees -------------------------------------------------------------------------------------------


def test_subprocess_plugin_renders_placeholders_and_layers_the_environment(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    dump = tmp_path / "dump.json"
    argv = python(DUMP_ARGS_AND_ENV, str(dump), "{{.outputPrefix}}", "{{ .PrevCheckpointPrefix }}", "{{.runName}}")
    argv.append("--x={{.Inputs.x}}")
    facts = a_facts(
        tmp_path,
        argv=argv,
        outputs=(),
        container_env={"ACTION_NAME": "from-container", "FROM_CONTAINER": "c", "SHARED": "container"},
        env={"SHARED": "spec"},
    )
    Path(facts.input_prefix).mkdir(parents=True)
    Path(facts.input_path).write_bytes(integer_map_bytes(x=7))
    assert Rounds.of(plugin, facts).until_terminal().phase is PluginPhase.SUCCESS
    seen = json.loads(dump.read_text())
    assert seen["argv"] == [facts.output_prefix, '""', "{{.runName}}", "--x=7"]
    assert seen["env"]["ACTION_NAME"] == "a0"
    assert seen["env"]["FROM_CONTAINER"] == "c"
    assert seen["env"]["SHARED"] == "spec"
    assert seen["env"]["PATH"] == os.environ["PATH"]
    assert Path(seen["cwd"]).name == "work"


def test_subprocess_plugin_missing_input_is_bad_task_specification(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=["echo", "{{.Inputs.nope}}"]))
    with pytest.raises(PluginError, match=r"requested input is not found \[nope\]") as raised:
        rounds.handle()
    assert raised.value.code == "BadTaskSpecification"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("process.json"))


def test_subprocess_plugin_template_without_container_is_bad_task_specification(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    with pytest.raises(PluginError, match="no container") as raised:
        Rounds.of(plugin, a_facts(tmp_path, with_container=False)).handle()
    assert raised.value.code == "BadTaskSpecification"


NAIVE_RECORD = b'{"boot_id": "b", "pgid": 1, "pid": 1, "start_ticks": 1, "started_at": "2026-01-01T00:00:00"}'


@pytest.mark.parametrize(
    ("state", "version", "got"), [(b"not json", 1, 0), (b"{}", 1, 0), (NAIVE_RECORD, 1, 0), (b"{}", 2, 2)]
)
def test_subprocess_plugin_corrupt_state_is_a_system_failure_with_cleanup(
    tmp_path: Path, plugin: SubprocessPlugin, state: bytes, version: int, got: int
) -> None:
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python("pass")))
    rounds.facts = replace(rounds.facts, plugin_state=state, plugin_state_version=version)
    info = rounds.handle()
    assert info.phase is PluginPhase.PERMANENT_FAILURE
    assert info.cleanup_on_failure is True
    assert info.err == ExecutionError(
        "CorruptedPluginState", f"plugin state version mismatch expected [1] got [{got}]", ErrorKind.SYSTEM
    )


# -- timeouts --------------------------------------------------------------------------------------------------------


def test_subprocess_plugin_timeout_terminates_the_group_and_reports_timeout(
    tmp_path: Path, plugin: SubprocessPlugin, clock: ManualClock
) -> None:
    pid_file = tmp_path / "pids"
    facts = a_facts(tmp_path, argv=python(SLEEP_WITH_GRANDCHILD, str(pid_file)), timeout=timedelta(seconds=10))
    rounds = Rounds.of(plugin, facts)
    rounds.handle()
    task, grandchild = pids(pid_file)
    clock.advance(timedelta(seconds=9))
    assert rounds.handle().phase is PluginPhase.RUNNING
    clock.advance(timedelta(seconds=2))
    info = rounds.until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err == ExecutionError("Timeout", "task execution timeout [10s] expired", ErrorKind.USER)
    wait_for(lambda: is_gone(task) and is_gone(grandchild), "the timed-out group to be gone")


def test_subprocess_plugin_timeout_escalates_to_sigkill_after_the_grace(
    tmp_path: Path, plugin: SubprocessPlugin, clock: ManualClock
) -> None:
    pid_file = tmp_path / "pid"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(IGNORE_TERM, str(pid_file)), timeout=timedelta(seconds=1)))
    rounds.handle()
    (task,) = pids(pid_file)
    clock.advance(timedelta(seconds=2))
    assert rounds.handle().phase is PluginPhase.RUNNING  # SIGTERM sent, and ignored
    assert not is_gone(task)
    clock.advance(timedelta(seconds=1))
    info = rounds.until_terminal()
    assert info.err is not None and info.err.code == "Timeout"
    assert is_gone(task)


# -- abort and finalize ----------------------------------------------------------------------------------------------


def test_subprocess_plugin_abort_kills_the_group_including_a_grandchild(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    pid_file = tmp_path / "pids"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(SLEEP_WITH_GRANDCHILD, str(pid_file))))
    rounds.handle()
    task, grandchild = pids(pid_file)
    rounds.abort()
    assert is_gone(task)
    assert is_gone(grandchild)
    rounds.abort()  # idempotent


def test_subprocess_plugin_abort_escalates_to_sigkill(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    pid_file = tmp_path / "pid"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(IGNORE_TERM, str(pid_file))))
    rounds.handle()
    (task,) = pids(pid_file)
    rounds.abort()
    assert is_gone(task)


def test_subprocess_plugin_after_abort_and_state_reset_launches_again(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    log, go = tmp_path / "launches", tmp_path / "go"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(WAIT_FOR_GO, str(log), str(go)), outputs=()))
    rounds.handle()
    wait_for(lambda: launches(log) == 1, "the first launch")
    rounds.abort()
    rounds.reset_state()  # R62
    assert rounds.handle().reason == "task process launched"
    go.touch()
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert launches(log) == 2


def test_subprocess_plugin_finalize_kills_and_removes_run_directories_idempotently(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    pid_file = tmp_path / "pids"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(SLEEP_WITH_GRANDCHILD, str(pid_file))))
    rounds.handle()
    task, grandchild = pids(pid_file)
    rounds.finalize()
    assert is_gone(task) and is_gone(grandchild)
    assert list((tmp_path / "runs" / "default").iterdir()) == []
    rounds.finalize()


def test_subprocess_plugin_vanished_supervisor_is_resource_deleted_externally(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    pid_file = tmp_path / "pids"
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python(SLEEP_WITH_GRANDCHILD, str(pid_file))))
    rounds.handle()
    task, _ = pids(pid_file)
    record = ProcessRecord.from_json(rounds.facts.plugin_state)
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)
    info = rounds.until_terminal()
    assert info.phase is PluginPhase.RETRYABLE_FAILURE
    assert info.err is not None and (info.err.code, info.err.kind) == ("ResourceDeletedExternally", ErrorKind.SYSTEM)
    rounds.abort()  # R38/R62: the reset kills what the supervisor left behind
    assert is_gone(task)


# -- exactly one process per launch ----------------------------------------------------------------------------------


def test_subprocess_plugin_restarted_controller_reattaches_through_the_plugin_state(
    tmp_path: Path, clock: ManualClock
) -> None:
    log, go = tmp_path / "launches", tmp_path / "go"
    facts = a_facts(tmp_path, argv=python(WAIT_FOR_GO, str(log), str(go)), outputs=())
    first = Rounds.of(SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE), facts)
    first.handle()
    wait_for(lambda: launches(log) == 1, "the launch")
    restarted = Rounds.of(SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE), first.facts)
    assert restarted.handle().phase is PluginPhase.RUNNING
    assert restarted.facts.plugin_state == first.facts.plugin_state
    go.touch()
    assert restarted.until_terminal().phase is PluginPhase.SUCCESS
    assert launches(log) == 1


def test_subprocess_plugin_restart_before_the_state_was_persisted_adopts_the_marker(
    tmp_path: Path, clock: ManualClock
) -> None:
    log, go = tmp_path / "launches", tmp_path / "go"
    facts = a_facts(tmp_path, argv=python(WAIT_FOR_GO, str(log), str(go)), outputs=())
    first = Rounds.of(SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE), facts)
    first.handle()
    restarted = Rounds.of(SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE), facts)  # state lost
    assert restarted.handle().phase is PluginPhase.RUNNING
    assert restarted.facts.plugin_state == first.facts.plugin_state
    go.touch()
    assert restarted.until_terminal().phase is PluginPhase.SUCCESS
    assert launches(log) == 1


@pytest.mark.parametrize("round_", range(3))
def test_subprocess_plugin_racing_controllers_launch_exactly_one_process(
    tmp_path: Path, clock: ManualClock, round_: int
) -> None:
    log, go = tmp_path / "launches", tmp_path / "go"
    facts = a_facts(tmp_path, argv=python(WAIT_FOR_GO, str(log), str(go)), outputs=(), name=f"race{round_}")
    controllers = [
        Rounds.of(SubprocessPlugin(tmp_path / "runs", clock=clock, kill_grace=GRACE), facts) for _ in range(4)
    ]
    barrier = threading.Barrier(len(controllers))
    errors: list[BaseException] = []

    def race(rounds: Rounds) -> None:
        try:
            barrier.wait()
            rounds.until(lambda info: info.phase is PluginPhase.RUNNING)
        except BaseException as error:  # surfaced below: an assertion in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=race, args=(rounds,)) for rounds in controllers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({rounds.facts.plugin_state for rounds in controllers}) == 1
    go.touch()
    for rounds in controllers:
        assert rounds.until_terminal().phase is PluginPhase.SUCCESS
    assert launches(log) == 1


def test_subprocess_plugin_launch_lock_held_elsewhere_is_queued_and_launches_nothing(
    tmp_path: Path, plugin: SubprocessPlugin
) -> None:
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python("pass"), outputs=()))
    run_dir = tmp_path / "runs" / "default" / "ta.uid-1" / "ta-0"
    run_dir.mkdir(parents=True)
    with open(run_dir / "launch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = rounds.handle()
    assert (info.phase, info.reason) == (
        PluginPhase.QUEUED,
        "waiting for another controller to launch the task process",
    )
    assert rounds.facts.plugin_state == b""
    assert not (run_dir / "process.json").exists()
    assert rounds.until_terminal().phase is PluginPhase.SUCCESS


def test_subprocess_plugin_state_is_the_process_record(
    tmp_path: Path, plugin: SubprocessPlugin, clock: ManualClock
) -> None:
    rounds = Rounds.of(plugin, a_facts(tmp_path, argv=python("pass"), outputs=()))
    rounds.handle()
    record = ProcessRecord.from_json(rounds.facts.plugin_state)
    assert record is not None
    assert rounds.facts.plugin_state_version == 1
    assert (record.pgid, record.started_at) == (record.pid, clock.now())
    marker = tmp_path / "runs" / "default" / "ta.uid-1" / "ta-0" / "process.json"
    assert ProcessRecord.from_json(marker.read_bytes()) == record
    rounds.until_terminal()


def test_subprocess_plugin_file_url_output_prefix_is_local(tmp_path: Path, plugin: SubprocessPlugin) -> None:
    prefix = tmp_path / "url-out"
    outputs = integer_map_bytes(o0=5)
    argv = python(WRITE_FILE, str(prefix), "outputs.pb", outputs.hex(), "0")
    facts = a_facts(tmp_path, argv=argv, output_prefix=prefix.as_uri())
    assert Rounds.of(plugin, facts, FsspecDataStore()).until_terminal().phase is PluginPhase.SUCCESS
    assert (prefix / "stderr.log").exists()
