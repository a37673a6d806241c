"""The subprocess plugin: a task's ``container.command + container.args`` as a local process (design.md §7).

Go: the k8s plugin manager and pod plugin (R102) with a process in place of a pod; placeholder rendering, the
environment and the result classification follow reference/flyte-sdk-local.md §2, §5 and §7.

Theory of operation. Every attempt (R105's generated name) owns a *run directory*
``<run_root>/<namespace>/<name>.<uid>/<generated name>/``:

================= ======================================================================================
``launch.lock``   ``flock``-ed while a launch is being made and, through an inherited descriptor, for the
                  whole life of the launch's supervisor (:mod:`~taskaction_core.adapters.plugins.supervisor`)
``launch.json``   what the supervisor runs: argv, working directory, log paths
``process.json``  the launch's identity: supervisor pid (= process group id), kernel start time, boot id and
                  the controller's launch time; written by the launcher *and* by the supervisor itself
``task.json``     the task process's pid (informative)
``exit.json``     the task's exit status, written by the supervisor: ``returncode`` or ``launch_error``
``terminate.json`` written once when the plugin decided to kill the group for a timeout
``work/``         the default working directory of the task
================= ======================================================================================

Exactly one process per launch, whatever the controllers do:

- ``handle`` with no plugin state first looks for ``process.json`` (a launch made by a controller that crashed
  before persisting its state, or by a racing controller) and adopts it. Otherwise it takes ``launch.lock``
  without blocking: if another controller holds it, it reports Queued and launches nothing. Holding the lock it
  checks ``process.json`` again, and only then starts the supervisor, passing it the lock's descriptor. The lock is
  therefore held from before the check until the supervisor exits, even if the launching controller dies in
  between, so a second launch can only happen once the first launch is recorded or gone.
- The identity (pid, group, start ticks, boot id, launch time) goes into ``process.json`` and into the plugin state
  (version 1, JSON). A controller that restarts re-attaches through either: the pid is "ours" only if
  ``/proc/<pid>/stat`` shows the recorded start time on the same boot, so a reused pid is never mistaken for it.
- The supervisor survives controller restarts and records the exit status, so a restarted controller still
  classifies the result exactly.

After a system-retryable failure the reconciler aborts and clears the plugin state (R62), and the same attempt is
launched again: ``abort`` kills the group and removes the launch's markers, so the next ``handle`` launches anew.

``handle`` never blocks: it reads small files, takes the lock with ``LOCK_NB`` and forks at most once. It returns
Queued on launch, Running while the supervisor lives, then classifies, in this order:

1. a timeout this plugin enforced → RetryableFailure USER ``Timeout`` (``task execution timeout [5m0s] expired``,
   the wording of Flyte's node executor);
2. the command could not be started (no such executable, bad working directory) → PermanentFailure USER
   ``CreateContainerError`` (a pod whose command cannot run fails without retry, Go ``DemystifyPending``);
3. ``error.pb`` (``core.ErrorDocument``): ``RECOVERABLE`` → RetryableFailure, ``NON_RECOVERABLE`` →
   PermanentFailure, with ``ExecutionError{code, message, kind=origin}``. It is read before the exit code because
   the Flyte SDK exits 0 on user errors (§5);
4. a non-zero exit → RetryableFailure USER ``UnknownError``, or ``Interrupted`` for SIGKILL/SIGTERM (-9, -15, and
   137, 143 from shells), with the tail of stderr (Go ``DemystifyFailure``);
5. ``outputs.pb`` present, or an interface without outputs → Success; otherwise RetryableFailure SYSTEM
   ``OutputsNotFound``.

A supervisor that vanished without an exit status (killed from outside, machine rebooted) gives RetryableFailure
SYSTEM ``ResourceDeletedExternally``, as a deleted pod does (R102). Corrupt plugin state gives Go's
``CorruptedPluginState`` system failure with cleanup (R102).

Timeouts (``metadata.timeout``) run from the recorded launch time on the plugin's clock: past it, ``handle`` sends
SIGTERM to the group and records ``terminate.json``; once the kill grace has also passed it sends SIGKILL. It keeps
reporting Running until the group is gone, because neither Abort nor Finalize follows a terminal phase (R99) and
nothing else would reap a task that ignores SIGTERM.

``abort`` (R40, R62, R88) sends SIGTERM to the group, waits up to the kill grace, sends SIGKILL, waits again, then
removes the markers; it raises :class:`~taskaction_core.interpreter.ports.PluginError` if anything survives, so
the deletion arm retries it. It blocks for at most about twice the grace. ``finalize`` (R88) kills any group still
alive under the TaskAction and deletes its run directories. Both are idempotent.

Paths. Local output prefixes (plain paths, ``file://``) are created before launch, and stdout/stderr go to
``<output prefix>/stdout.log`` and ``stderr.log`` next to ``outputs.pb``. For any other output prefix the task
writes its outputs itself (the data store port reads them), and the logs go to the run directory, which
``finalize`` deletes. Stale ``outputs.pb``/``error.pb`` are removed through the data store before every launch.

Environment (R106): ``base_env`` (by default only the host's ``PATH``), then the container's ``env``, then the
facts' environment (``ACTION_NAME``, ``RUN_NAME``, ``_U_RUN_BASE``, ``_U_ORG_NAME`` and ``spec.envVars``), so the
container cannot override the reserved keys. Linux only (``/proc``, ``flock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from flyteidl2.core import execution_pb2, interface_pb2, tasks_pb2
from google.protobuf.message import DecodeError as ProtoDecodeError
from pyrsistent import pvector
from returns.result import Failure, Result

from taskaction_core.adapters.clock import SystemClock
from taskaction_core.adapters.fsspec_store import local_path
from taskaction_core.adapters.plugins.literals import LiteralConversionError, template_strings_from_literal_map_bytes
from taskaction_core.adapters.plugins.template_render import RenderParams, needs_inputs, render
from taskaction_core.context import TaskExecutionContext
from taskaction_core.gofmt import go_duration
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import Clock, DataErrorKind, PluginError, PluginProperties
from taskaction_core.phase_info import (
    ExecutionError,
    PhaseInfo,
    TaskInfo,
    TaskLog,
    Transition,
    phase_info_failed,
    phase_info_failure,
    phase_info_queued,
    phase_info_retryable_failure,
    phase_info_running,
    phase_info_success,
    phase_info_system_failure,
    phase_info_system_retryable_failure,
)
from taskaction_core.phases import ErrorKind, PluginPhase

__all__ = ["STATE_VERSION", "ProcessRecord", "SubprocessPlugin"]

STATE_VERSION: Final = 1
"""The plugin-state version this plugin writes and accepts (R101: plugins compare versions themselves)."""

BAD_TASK_SPECIFICATION: Final = "BadTaskSpecification"
"""R58: a non-retryable plugin error code."""

_SUPERVISOR: Final = str(Path(__file__).with_name("supervisor.py"))
_INTERRUPTED_CODES: Final = frozenset({-signal.SIGKILL, -signal.SIGTERM, 128 + signal.SIGKILL, 128 + signal.SIGTERM})
_POLL_INTERVAL: Final = 0.01
_DEAD_STATES: Final = frozenset({"Z", "X", "x"})


# --------------------------------------------------------------------------------------------------------------------
# The identity of a launch


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """Who a launch is: the supervisor's pid (also the group id) and kernel start time on one boot, and when the
    controller launched it (the timeout's origin)."""

    pid: int
    pgid: int
    start_ticks: int
    boot_id: str
    started_at: datetime

    def to_json(self) -> bytes:
        document = {
            "boot_id": self.boot_id,
            "pgid": self.pgid,
            "pid": self.pid,
            "start_ticks": self.start_ticks,
            "started_at": self.started_at.isoformat(),
        }
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ProcessRecord | None:
        """The record in ``data``, or None when it is not one (corrupt state or marker)."""
        try:
            document = json.loads(data)
            started_at = datetime.fromisoformat(document["started_at"])
            if started_at.utcoffset() is None:
                return None
            return cls(
                pid=int(document["pid"]),
                pgid=int(document["pgid"]),
                start_ticks=int(document["start_ticks"]),
                boot_id=str(document["boot_id"]),
                started_at=started_at,
            )
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True, slots=True)
class _ProcStat:
    state: str
    pgrp: int
    start_ticks: int


def _proc_stat(pid: int) -> _ProcStat | None:
    """``/proc/<pid>/stat``'s state, process group and start time; None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return _ProcStat(state=fields[0], pgrp=int(fields[2]), start_ticks=int(fields[19]))


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _is_alive(record: ProcessRecord) -> bool:
    """Whether the recorded supervisor still runs: same boot, same pid *and* same start time, not a zombie."""
    if record.boot_id != _boot_id():
        return False
    stat = _proc_stat(record.pid)
    return stat is not None and stat.start_ticks == record.start_ticks and stat.state not in _DEAD_STATES


def _group_is_ours(record: ProcessRecord) -> bool:
    """Whether signalling the recorded group can only reach our processes.

    While the leader lives it must be ours (start time); once it is gone, Linux does not reuse its pid as long as any
    process of its group remains, so whatever is left in the group is ours.
    """
    if record.boot_id != _boot_id():
        return False
    leader = _proc_stat(record.pgid)
    return leader is None or leader.start_ticks == record.start_ticks


def _group_alive(record: ProcessRecord) -> bool:
    """Whether any live (non-zombie) process of the recorded group remains."""
    if not _group_is_ours(record):
        return False
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat.pgrp == record.pgid and stat.state not in _DEAD_STATES:
                return True
    return False


def _signal_group(record: ProcessRecord, signum: int) -> None:
    if _group_is_ours(record):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pgid, signum)


def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True


# --------------------------------------------------------------------------------------------------------------------
# The run directory


def _segment(text: str) -> str:
    """One safe path segment for a Kubernetes-style name."""
    quoted = urllib.parse.quote(text, safe="-_.")
    return quoted if quoted not in ("", ".", "..") else f"_{quoted}"


@dataclass(frozen=True, slots=True)
class _RunDir:
    path: Path

    @property
    def lock(self) -> Path:
        return self.path / "launch.lock"

    @property
    def spec(self) -> Path:
        return self.path / "launch.json"

    @property
    def process(self) -> Path:
        return self.path / "process.json"

    @property
    def task(self) -> Path:
        return self.path / "task.json"

    @property
    def exit(self) -> Path:
        return self.path / "exit.json"

    @property
    def terminate(self) -> Path:
        return self.path / "terminate.json"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def markers(self) -> tuple[Path, ...]:
        """Everything that says "this attempt was launched": removed by ``abort`` so the attempt can run again."""
        return (self.process, self.exit, self.terminate, self.task, self.spec)

    def record(self) -> ProcessRecord | None:
        data = _read_bytes(self.process)
        return ProcessRecord.from_json(data) if data is not None else None

    def exit_status(self) -> dict[str, Any] | None:
        return _read_json(self.exit)

    def termination(self) -> dict[str, Any] | None:
        return _read_json(self.terminate)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    data = _read_bytes(path)
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` through a unique temporary sibling and ``os.replace``: readers see old or new, never half."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    _write_atomically(path, json.dumps(document, sort_keys=True).encode())


@contextlib.contextmanager
def _try_lock(path: Path) -> Iterator[int | None]:
    """The launch lock's descriptor while held, or None when another holder has it (never blocks)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = True
    except BlockingIOError:
        held = False
    try:
        yield descriptor if held else None
    finally:
        os.close(descriptor)


# --------------------------------------------------------------------------------------------------------------------
# What to run


@dataclass(frozen=True, slots=True)
class _Command:
    argv: tuple[str, ...]
    env: dict[str, str]


def _container(facts: TaskExecutionContext) -> Any:
    if not facts.template.container:
        raise PluginError("task template has no container", BAD_TASK_SPECIFICATION)
    try:
        return tasks_pb2.Container.FromString(facts.template.container)
    except ProtoDecodeError as error:
        raise PluginError(
            f"task template container is not a core.Container: {error}", BAD_TASK_SPECIFICATION
        ) from error


def _render_params(ctx: PluginContext, argv: Sequence[str]) -> RenderParams:
    facts = ctx.facts
    return RenderParams(
        input_path=facts.input_path,
        input_prefix=facts.input_prefix,
        output_prefix=facts.output_prefix,
        raw_output_prefix=facts.raw_output_prefix,
        checkpoint_prefix=facts.checkpoint_prefix,
        prev_checkpoint_prefix=facts.prev_checkpoint_prefix,
        generated_name=facts.generated_name,
        namespace=facts.namespace,
        inputs=_input_strings(ctx) if needs_inputs(argv) else {},
    )


def _input_strings(ctx: PluginContext) -> dict[str, Result[str, str]]:
    """The inputs' simple string forms for ``{{.Inputs.<name>}}``; no ``inputs.pb`` means no inputs."""
    read = ctx.input_reader.read()
    if isinstance(read, Failure):
        if read.failure().kind is DataErrorKind.NOT_FOUND:
            return {}
        raise PluginError(f"unable to read inputs: {read.failure().message}")
    try:
        return template_strings_from_literal_map_bytes(read.unwrap())
    except LiteralConversionError as error:
        raise PluginError(f"unable to read inputs: {error}") from error


def _declares_outputs(facts: TaskExecutionContext) -> bool:
    """Whether the template's interface names at least one output (unparsable: assume it does)."""
    try:
        interface = interface_pb2.TypedInterface.FromString(facts.template.interface)
    except ProtoDecodeError:
        return True
    return len(interface.outputs.variables) > 0


def _error_kind(origin: int) -> ErrorKind:
    """``ContainerError.origin`` (an ``ExecutionError.ErrorKind``) as the core's kind; unknown numbers are UNKNOWN."""
    try:
        return ErrorKind(origin)
    except ValueError:
        return ErrorKind.UNKNOWN


# --------------------------------------------------------------------------------------------------------------------
# The plugin


class SubprocessPlugin:
    """Runs a task's container command as a local process, one per launch (see the module docstring)."""

    def __init__(
        self,
        run_root: Path,
        *,
        plugin_id: str = "subprocess",
        task_types: Sequence[str] = ("container",),
        clock: Clock | None = None,
        kill_grace: timedelta = timedelta(seconds=5),
        base_env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stderr_tail_bytes: int = 4096,
    ) -> None:
        """``run_root`` holds the run directories; keep it on local disk that survives controller restarts.

        ``kill_grace`` is the wait between SIGTERM and SIGKILL; ``cwd`` the task's working directory (default: a
        fresh ``work/`` per launch); ``base_env`` the environment under the container's (default: ``PATH`` only).
        """
        self.run_root = Path(run_root)
        self.task_types = tuple(task_types)
        self._id = plugin_id
        self._clock: Clock = clock or SystemClock()
        self._grace = kill_grace.total_seconds()
        self._base_env = dict(base_env) if base_env is not None else {"PATH": os.environ.get("PATH", os.defpath)}
        self._cwd = cwd
        self._tail = stderr_tail_bytes
        self._children: list[subprocess.Popen[bytes]] = []
        self._children_lock = threading.Lock()

    @property
    def id(self) -> str:
        return self._id

    @property
    def properties(self) -> PluginProperties:
        return PluginProperties()

    # -- handle ------------------------------------------------------------------------------------------------------

    def handle(self, ctx: PluginContext) -> Transition:
        """R36: launch once, then report Running, then classify the result (never blocks)."""
        self._reap()
        now = self._clock.now()
        run = self._run_dir(ctx.facts)
        version, data = ctx.state.get()
        if data is not None:
            record = ProcessRecord.from_json(data) if version == STATE_VERSION else None
            if record is None:
                # Go's state manager reports version 0 when decoding fails (R102).
                got = version if version != STATE_VERSION else 0
                message = f"plugin state version mismatch expected [{STATE_VERSION}] got [{got}]"
                return Transition(phase_info_system_failure(now, "CorruptedPluginState", message, None, cleanup=True))
            return Transition(self._observe(ctx, run, record, now))
        return Transition(self._launch_or_adopt(ctx, run, now))

    def _launch_or_adopt(self, ctx: PluginContext, run: _RunDir, now: datetime) -> PhaseInfo:
        adopted = run.record()
        if adopted is not None:
            ctx.state.put(STATE_VERSION, adopted.to_json())
            return self._observe(ctx, run, adopted, now)
        command = self._command(ctx)
        run.path.mkdir(parents=True, exist_ok=True)
        with _try_lock(run.lock) as lock:
            if lock is None:
                return phase_info_queued(now, 0, "waiting for another controller to launch the task process")
            record = run.record()
            if record is not None:
                ctx.state.put(STATE_VERSION, record.to_json())
                return self._observe(ctx, run, record, now)
            record = self._launch(ctx, run, command, lock, now)
        ctx.state.put(STATE_VERSION, record.to_json())
        return phase_info_queued(now, 0, "task process launched")

    def _command(self, ctx: PluginContext) -> _Command:
        container = _container(ctx.facts)
        argv = [str(part) for part in (*container.command, *container.args)]
        if not argv:
            raise PluginError("task container has neither command nor args", BAD_TASK_SPECIFICATION)
        rendered = render(argv, _render_params(ctx, argv))
        if isinstance(rendered, Failure):
            raise PluginError(rendered.failure().message, BAD_TASK_SPECIFICATION)
        env = {**self._base_env, **{str(e.key): str(e.value) for e in container.env}, **ctx.facts.env}
        return _Command(argv=rendered.unwrap(), env=env)

    def _launch(self, ctx: PluginContext, run: _RunDir, command: _Command, lock: int, now: datetime) -> ProcessRecord:
        """Start the supervisor (holding the launch lock) and record the launch; the caller holds ``lock``."""
        self._prepare_outputs(ctx)
        for marker in run.markers:
            marker.unlink(missing_ok=True)
        stdout, stderr = self._log_paths(ctx.facts, run)
        cwd = self._cwd or run.work
        cwd.mkdir(parents=True, exist_ok=True)
        boot_id = _boot_id()
        spec = {
            "argv": list(command.argv),
            "cwd": str(cwd),
            "stdout": str(stdout),
            "stderr": str(stderr),
            "process_path": str(run.process),
            "task_path": str(run.task),
            "exit_path": str(run.exit),
            "record": {"boot_id": boot_id, "started_at": now.isoformat()},
        }
        _write_json(run.spec, spec)
        with open(run.path / "supervisor.log", "ab") as supervisor_log:
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", _SUPERVISOR, str(run.spec)],
                env=command.env,
                cwd=run.path,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=supervisor_log,
                start_new_session=True,
                close_fds=True,
                pass_fds=(lock,),
            )
        with self._children_lock:
            self._children.append(child)
        stat = _proc_stat(child.pid)
        start_ticks = stat.start_ticks if stat is not None else -1
        record = ProcessRecord(child.pid, child.pid, start_ticks, boot_id, now)
        _write_atomically(run.process, record.to_json())  # the supervisor writes the same bytes itself
        return record

    def _prepare_outputs(self, ctx: PluginContext) -> None:
        """Create a local output prefix and remove a previous launch's ``outputs.pb`` and ``error.pb``."""
        prefix = local_path(ctx.facts.output_prefix)
        if prefix is not None:
            prefix.mkdir(parents=True, exist_ok=True)
        for uri in (ctx.output_writer.outputs_path, ctx.output_writer.error_path):
            deleted = ctx.data_store.delete(uri)
            if isinstance(deleted, Failure):
                raise PluginError(f"cannot clear {uri} before launch: {deleted.failure().message}")

    def _log_paths(self, facts: TaskExecutionContext, run: _RunDir) -> tuple[Path, Path]:
        prefix = local_path(facts.output_prefix)
        directory = prefix if prefix is not None else run.path
        return directory / "stdout.log", directory / "stderr.log"

    # -- observing a launch ------------------------------------------------------------------------------------------

    def _observe(self, ctx: PluginContext, run: _RunDir, record: ProcessRecord, now: datetime) -> PhaseInfo:
        info = self._task_info(ctx.facts, run, now)
        status = run.exit_status()
        if status is None and _is_alive(record):
            return self._enforce_timeout(ctx.facts, run, record, now, info)
        # The supervisor writes exit.json before it exits: read again in case it did so after the first read.
        status = status or run.exit_status()
        timeout = run.termination()
        if timeout is not None:
            return phase_info_retryable_failure(now, "Timeout", str(timeout.get("message", "timeout")), info)
        if status is None:
            message = f"task process of {ctx.facts.generated_name} (pid {record.pid}) is gone and left no exit status"
            return phase_info_system_retryable_failure(now, "ResourceDeletedExternally", message, info)
        return self._classify(ctx, run, status, now, info)

    def _enforce_timeout(
        self, facts: TaskExecutionContext, run: _RunDir, record: ProcessRecord, now: datetime, info: TaskInfo
    ) -> PhaseInfo:
        """Running; past ``metadata.timeout`` SIGTERM the group once, and SIGKILL it once the grace has passed too."""
        timeout = facts.template.metadata.timeout if facts.template.metadata is not None else None
        if timeout is None or timeout <= timedelta(0) or now - record.started_at < timeout:
            return phase_info_running(now, 0, info)
        termination = run.termination()
        if termination is None:
            message = f"task execution timeout [{go_duration(timeout)}] expired"
            _write_json(run.terminate, {"message": message, "requested_at": now.isoformat()})
            _signal_group(record, signal.SIGTERM)
        elif now - datetime.fromisoformat(str(termination["requested_at"])) >= timedelta(seconds=self._grace):
            _signal_group(record, signal.SIGKILL)
        return phase_info_running(now, 0, info)

    def _classify(
        self, ctx: PluginContext, run: _RunDir, status: Mapping[str, Any], now: datetime, info: TaskInfo
    ) -> PhaseInfo:
        """The finished launch's phase: launch error, then error.pb, then exit code, then outputs (module docstring)."""
        if "launch_error" in status:
            return phase_info_failure(now, "CreateContainerError", str(status["launch_error"]), info)
        error = self._error_document(ctx, now, info)
        if error is not None:
            return error
        returncode = int(status.get("returncode", -1))
        if returncode != 0:
            return self._exit_failure(ctx.facts, run, returncode, now, info)
        outputs = ctx.data_store.exists(ctx.output_writer.outputs_path)
        if isinstance(outputs, Failure):
            raise PluginError(f"cannot check outputs: {outputs.failure().message}")
        if outputs.unwrap() or not _declares_outputs(ctx.facts):
            return phase_info_success(now, info)
        message = f"outputs not found at {ctx.output_writer.outputs_path}: the task exited 0 and wrote no outputs"
        return phase_info_system_retryable_failure(now, "OutputsNotFound", message, info)

    def _error_document(self, ctx: PluginContext, now: datetime, info: TaskInfo) -> PhaseInfo | None:
        """``error.pb`` as Go's remote output reader reads it: ``ExecutionError{code, message, kind=origin}``."""
        read = ctx.data_store.read(ctx.output_writer.error_path)
        if isinstance(read, Failure):
            if read.failure().kind is DataErrorKind.NOT_FOUND:
                return None
            raise PluginError(f"cannot read the error document: {read.failure().message}")
        try:
            container_error = execution_pb2.ErrorDocument.FromString(read.unwrap()).error
        except ProtoDecodeError as error:
            raise PluginError(f"error document is not a core.ErrorDocument: {error}") from error
        kind = _error_kind(int(container_error.origin))
        recoverable = container_error.kind == execution_pb2.ContainerError.RECOVERABLE
        phase = PluginPhase.RETRYABLE_FAILURE if recoverable else PluginPhase.PERMANENT_FAILURE
        err = ExecutionError(str(container_error.code), str(container_error.message), kind)
        return phase_info_failed(now, phase, err, info)

    def _exit_failure(
        self, facts: TaskExecutionContext, run: _RunDir, returncode: int, now: datetime, info: TaskInfo
    ) -> PhaseInfo:
        """Go ``DemystifyFailure`` for a failed container: retryable USER, ``Interrupted`` when killed."""
        code = "Interrupted" if returncode in _INTERRUPTED_CODES else "UnknownError"
        if returncode < 0:
            what = f"was killed by signal {signal.Signals(-returncode).name} ({returncode})"
        else:
            what = f"exited with code {returncode}"
        tail = self._stderr_tail(facts, run)
        message = f"task process [{facts.generated_name}] {what}" + (f"\n{tail}" if tail else "")
        return phase_info_retryable_failure(now, code, message, info)

    def _stderr_tail(self, facts: TaskExecutionContext, run: _RunDir) -> str:
        _, stderr = self._log_paths(facts, run)
        try:
            with open(stderr, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - self._tail))
                return handle.read().decode("utf-8", errors="replace").strip()
        except OSError:
            return ""

    def _task_info(self, facts: TaskExecutionContext, run: _RunDir, now: datetime) -> TaskInfo:
        stdout, stderr = self._log_paths(facts, run)
        logs = (
            TaskLog(uri=stdout.absolute().as_uri(), name="stdout"),
            TaskLog(uri=stderr.absolute().as_uri(), name="stderr"),
        )
        return TaskInfo(occurred_at=now, logs=pvector(logs))

    # -- abort and finalize ------------------------------------------------------------------------------------------

    def abort(self, ctx: PluginContext) -> None:
        """R40, R62, R88: kill the launch's whole group (TERM, grace, KILL) and forget the launch. Idempotent."""
        self._reap()
        run = self._run_dir(ctx.facts)
        version, data = ctx.state.get()
        record = ProcessRecord.from_json(data) if data is not None and version == STATE_VERSION else None
        record = record or self._await_record(run)
        if record is not None:
            self._terminate(record)
        self._forget(run)

    def finalize(self, ctx: PluginContext) -> None:
        """R88: kill any group still alive under this TaskAction and delete its run directories. Idempotent."""
        self._reap()
        owner = self._owner_dir(ctx.facts)
        if not owner.is_dir():
            return
        for attempt in filter(Path.is_dir, owner.iterdir()):
            record = _RunDir(attempt).record()
            if record is not None:
                self._terminate(record)
        shutil.rmtree(owner, ignore_errors=True)
        if owner.exists():
            raise PluginError(f"cannot delete the run directories under {owner}")

    def _await_record(self, run: _RunDir) -> ProcessRecord | None:
        """The launch record; if another controller is launching right now, wait up to the grace for its record."""
        found: list[ProcessRecord] = []

        def settled() -> bool:
            record = run.record()
            if record is not None:
                found.append(record)
                return True
            if not run.lock.exists():
                return True
            with _try_lock(run.lock) as lock:
                return lock is not None

        if not _wait_until(settled, self._grace):
            raise PluginError(f"a launch of {run.path.name} is in progress; abort again")
        return found[0] if found else None

    def _terminate(self, record: ProcessRecord) -> None:
        """SIGTERM the group, wait up to the grace, SIGKILL, wait again; raise if anything survives."""
        if not _group_alive(record):
            return
        _signal_group(record, signal.SIGTERM)
        if _wait_until(lambda: self._reaped_and(lambda: not _group_alive(record)), self._grace):
            return
        _signal_group(record, signal.SIGKILL)
        if not _wait_until(lambda: self._reaped_and(lambda: not _group_alive(record)), max(self._grace, 1.0)):
            raise PluginError(f"process group {record.pgid} survived SIGKILL")

    def _forget(self, run: _RunDir) -> None:
        """Remove the markers under the launch lock, so the next ``handle`` of this attempt launches anew (R62)."""
        if not run.path.is_dir():
            return

        def removed() -> bool:
            with _try_lock(run.lock) as lock:
                if lock is None:
                    return False
                for marker in run.markers:
                    marker.unlink(missing_ok=True)
                return True

        if not _wait_until(removed, max(self._grace, 1.0)):
            raise PluginError(f"the launch lock of {run.path.name} is still held after the kill")

    # -- helpers -----------------------------------------------------------------------------------------------------

    def _owner_dir(self, facts: TaskExecutionContext) -> Path:
        owner = f"{facts.name}.{facts.owner.uid}" if facts.owner.uid else facts.name
        return self.run_root / _segment(facts.namespace) / _segment(owner)

    def _run_dir(self, facts: TaskExecutionContext) -> _RunDir:
        return _RunDir(self._owner_dir(facts) / _segment(facts.generated_name))

    def _reaped_and(self, condition: Callable[[], bool]) -> bool:
        self._reap()
        return condition()

    def _reap(self) -> None:
        """Collect the exit status of supervisors this instance started, so they do not linger as zombies."""
        with self._children_lock:
            self._children = [child for child in self._children if child.poll() is None]
