"""The plugin for task type ``python``: Flyte SDK task templates run by the SDK's ``a0`` entrypoint as a process.

Go: the Flyte 2 executor's k8s pod plugin for ``python`` tasks (``executor/pkg/plugin``), which renders the
container, injects the executor's environment and reads ``error.pb``/``outputs.pb`` (R102–R106); facts from
reference/flyte-sdk-local.md §2, §4, §5 and §7.

Theory of operation. :class:`FlyteSdkPlugin` is a *view* over :class:`SubprocessPlugin` instances (composition; the
subprocess plugin does the launching, re-attaching, timeouts, aborts and the ``error.pb``-before-exit-code
classification). Before every call it hands the inner plugin a rewritten context:

1. **Locations.** Every input and output URI of the context is resolved through the data store's mounts and, when
   local, made an absolute path: ``a0`` opens these paths itself, from a working directory of its own (4).
2. **Command.** ``args[0] == "a0"`` with an empty ``command`` (what the SDK emits) becomes the installed entrypoint,
   ``<sys.prefix>/bin/a0``, or ``python -m flyte._bin.runtime a0`` without the console script. ``{{.runName}}``,
   ``{{.actionName}}`` and ``{{.runStartTime}}``, which Go's renderer leaves alone (R103), are substituted here; the
   subprocess plugin renders the others (``{{.input}}``, ``{{.outputPrefix}}``, the raw-data and checkpoint
   prefixes; an empty previous checkpoint becomes Go's ``""``, which ``a0`` reads as "none").
3. **Environment** (over the container's ``env`` and ``spec.envVars``, so user values cannot override it, R106):
   ``ACTION_NAME``, ``RUN_NAME``, ``_U_ORG_NAME`` (never empty: ``a0`` asserts org, project, domain, run and action),
   ``FLYTE_INTERNAL_EXECUTION_PROJECT`` and ``_DOMAIN``, ``_U_RUN_BASE`` (resolved like the other locations),
   ``FLYTE_ATTEMPT_NUMBER`` (0-based: ``flyte.ctx().attempt_number``), ``FSSPEC_FILE_AUTO_MKDIR=true`` and
   ``PYTHONPATH`` (the task's own, then the configured code roots), plus the nested-call settings below.
4. **Working directory.** A template with a ``--tgz``/``--pkl`` bundle runs in the subprocess plugin's fresh
   ``work/`` directory of each attempt, where ``a0`` unpacks it (``--dest .``). A resolver template (``mod M
   instance T``, ``M`` relative to the root directory it was serialized from) runs in its *code root*: the first
   existing directory of that ``PYTHONPATH``, which is the task's own (``submit`` sets it to that root directory)
   before any configured code root. The import would work from anywhere through ``PYTHONPATH``, but the SDK
   serializes a child task relative to the working directory (reference §2), so only the code root makes a nested
   call reach the point where it can be reported clearly (below). The subprocess plugin takes its working
   directory at construction, so there is one instance per working directory; they share the run directories, so
   any of them can abort or finalize.

Results are the subprocess plugin's (module docstring there): ``error.pb`` first (``RECOVERABLE`` → retryable with
the origin's kind, ``NON_RECOVERABLE`` → permanent), because the SDK exits 0 on user errors; then a non-zero exit
(retryable USER ``UnknownError``, ``Interrupted`` when killed); then outputs (missing → retryable SYSTEM
``OutputsNotFound``). Retries, caching and system-failure accounting stay with the reconciler core.

Nested tasks and traces (reference §4, option 3: leaf tasks, failing fast). A task that calls another task asks the
Flyte control plane to enqueue the child (``QueueService.EnqueueAction``) and retries for many minutes when there is
none. There is no control plane here, so the task process is pointed at a loopback port this plugin holds bound but
never listens on (``_U_EP_OVERRIDE``, ``_U_INSECURE=1``): every connection is refused at once, and with
``_F_MAX_RETRIES=0`` the SDK gives up after one try and writes ``error.pb`` (``SlowDownError``, SYSTEM). Such a
failure — an error that names a control-plane service — is reported as a *permanent* USER failure with code
:data:`NESTED_ACTIONS_UNSUPPORTED` and a message that names the limitation, so it is neither retried nor counted as a
system failure. The whole round trip costs the SDK's 5 s informer start-up wait. ``@flyte.trace`` functions run
in-process anyway: only their bookkeeping needs the control plane, the SDK logs that failure and the task succeeds.
Why not the other options: running children in-process (option 1) would monkeypatch SDK internals into ``a0`` and
let children escape the reconciler (no TaskAction, no cache, retries, timeout or abort of their own); serving the
control plane's Queue/State services (option 2) is the faithful route and a project of its own.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from flyteidl2.core import tasks_pb2
from google.protobuf.message import DecodeError as ProtoDecodeError
from pyrsistent import pmap

from taskaction_core.adapters.fsspec_store import local_path
from taskaction_core.adapters.plugins.subprocess_plugin import SubprocessPlugin
from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.plugin_context import InputReader, OutputWriter, PluginContext
from taskaction_core.interpreter.ports import Clock, Plugin, PluginError, PluginProperties, PluginRegistry
from taskaction_core.naming import ACTION_NAME_ENV, LOCAL_ORG, ORG_NAME_ENV, RUN_BASE_ENV, RUN_NAME_ENV
from taskaction_core.phase_info import ExecutionError, Transition
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.template import Identifier

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_PROJECT",
    "NESTED_ACTIONS_UNSUPPORTED",
    "PLUGIN_ID",
    "RUN_START_TIME_ENV",
    "TASK_TYPE",
    "FlyteSdkPlugin",
    "a0_entrypoint",
    "flyte_sdk_plugin",
    "register_flyte_sdk",
]

TASK_TYPE: Final = "python"
"""The task type the SDK writes into ``template.type`` for ``@env.task`` functions."""
PLUGIN_ID: Final = "flyte-sdk"
BAD_TASK_SPECIFICATION: Final = "BadTaskSpecification"
"""R58: a plugin error with this code fails the action at once, without system-failure accounting."""
NESTED_ACTIONS_UNSUPPORTED: Final = "NestedActionsUnsupported"
"""The error code of a task that tried to run another task (or a condition) through the Flyte control plane."""
RUN_START_TIME_ENV: Final = "TASKACTION_RUN_START_TIME"
"""``spec.envVars`` key whose value (RFC 3339) becomes ``{{.runStartTime}}``; without it ``a0`` uses the epoch."""
DEFAULT_PROJECT: Final = "default"
DEFAULT_DOMAIN: Final = "development"
EPOCH: Final = "1970-01-01T00:00:00Z"

_A0: Final = "a0"
_RUN_NAME: Final = re.compile(r"{{\s*[.$]runName\s*}}", re.IGNORECASE)
_ACTION_NAME: Final = re.compile(r"{{\s*[.$]actionName\s*}}", re.IGNORECASE)
_RUN_START_TIME: Final = re.compile(r"{{\s*[.$]runStartTime\s*}}", re.IGNORECASE)
_CONTROL_PLANE_SERVICES: Final = re.compile(
    r"flyteidl2\.(workflow\.(QueueService|StateService)|actions\.ActionsService)"
)
_PROJECT_ENV: Final = "FLYTE_INTERNAL_EXECUTION_PROJECT"
_DOMAIN_ENV: Final = "FLYTE_INTERNAL_EXECUTION_DOMAIN"


def a0_entrypoint(prefix: str = sys.prefix, executable: str = sys.executable) -> tuple[str, ...]:
    """The installed ``a0`` console script of this environment, else ``python -m flyte._bin.runtime a0``."""
    script = Path(prefix) / "bin" / _A0
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    return (executable, "-m", "flyte._bin.runtime", _A0)


class _RefusingPort:
    """A loopback TCP port bound and never listened on: the kernel refuses every connection to it at once, and no
    other program can take the port while this object lives."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()


class FlyteSdkPlugin:
    """Flyte SDK ``python`` tasks as local processes, through subprocess plugins (see the module docstring).

    ``make_inner(cwd)`` builds the inner plugin whose tasks run in ``cwd`` (None: a fresh directory per attempt);
    it is called once per working directory. ``resolve`` maps a URI through the data store's mounts
    (``FsspecDataStore.resolve``); relative local paths are then made absolute against this process's working
    directory, which is how the data store reads them too. ``python_path`` lists code roots put on the task's
    ``PYTHONPATH`` after its own.
    """

    def __init__(
        self,
        make_inner: Callable[[Path | None], Plugin],
        *,
        entrypoint: Sequence[str] | None = None,
        resolve: Callable[[str], str] | None = None,
        python_path: Sequence[Path] = (),
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self._make_inner = make_inner
        self._inners: dict[Path | None, Plugin] = {}
        self._inners_lock = threading.Lock()
        self.entrypoint = tuple(entrypoint) if entrypoint is not None else a0_entrypoint()
        self._resolve = resolve or (lambda uri: uri)
        self._python_path = tuple(str(Path(p).absolute()) for p in python_path)
        self._extra_env = dict(extra_env or {})
        self._port: _RefusingPort | None = None
        self._port_lock = threading.Lock()

    def inner(self, cwd: Path | None = None) -> Plugin:
        """The inner plugin running tasks in ``cwd`` (built on first use)."""
        with self._inners_lock:
            plugin = self._inners.get(cwd)
            if plugin is None:
                plugin = self._inners[cwd] = self._make_inner(cwd)
            return plugin

    @property
    def id(self) -> str:
        return self.inner().id

    @property
    def properties(self) -> PluginProperties:
        return self.inner().properties

    def handle(self, ctx: PluginContext) -> Transition:
        """R36: launch ``a0`` once, report Running, then the classified result (never blocks)."""
        sdk_ctx, cwd = self._sdk_context(ctx)
        return self._explain_nested_call(self.inner(cwd).handle(sdk_ctx))

    def abort(self, ctx: PluginContext) -> None:
        """R40, R62, R88: the inner plugin kills the attempt's process group (needs no valid command)."""
        self.inner().abort(self._located(ctx))

    def finalize(self, ctx: PluginContext) -> None:
        """R88: the inner plugin kills what is left and deletes the run directories."""
        self.inner().finalize(self._located(ctx))

    def close(self) -> None:
        """Release the refusing port (tests and embedders that build many plugins)."""
        with self._port_lock:
            if self._port is not None:
                self._port.close()
                self._port = None

    # -- the rewritten context -----------------------------------------------------------------------------------

    def _sdk_context(self, ctx: PluginContext) -> tuple[PluginContext, Path | None]:
        """The context the inner plugin gets, and the working directory of the task (module docstring, 4)."""
        located = self._located(ctx)
        facts = located.facts
        container = _container(facts)
        _resolve_entrypoint(container, self.entrypoint)
        _substitute_env_placeholders(container, facts)
        template = replace(facts.template, container=bytes(container.SerializeToString(deterministic=True)))
        sdk_env = self._sdk_env(facts, container)
        env = {**facts.env, **self._extra_env, **sdk_env}
        cwd = None if _has_bundle(container) else _code_root(sdk_env["PYTHONPATH"])
        return replace(located, facts=replace(facts, template=template, env=pmap(env))), cwd

    def _sdk_env(self, facts: TaskExecutionContext, container: Any) -> dict[str, str]:
        template_id = facts.template.id or Identifier()
        container_env = {str(e.key): str(e.value) for e in container.env}
        user_path = facts.env.get("PYTHONPATH") or container_env.get("PYTHONPATH", "")
        return {
            ACTION_NAME_ENV: facts.env.get(ACTION_NAME_ENV) or facts.name,
            RUN_NAME_ENV: facts.env.get(RUN_NAME_ENV) or facts.name,
            ORG_NAME_ENV: _first(facts.env.get(ORG_NAME_ENV), template_id.org, LOCAL_ORG),
            _PROJECT_ENV: _first(facts.task_execution_id.project, template_id.project, DEFAULT_PROJECT),
            _DOMAIN_ENV: _first(facts.task_execution_id.domain, template_id.domain, DEFAULT_DOMAIN),
            RUN_BASE_ENV: self._location(facts.env.get(RUN_BASE_ENV, "")),
            "FLYTE_ATTEMPT_NUMBER": str(max(facts.attempt, 1) - 1),
            "FSSPEC_FILE_AUTO_MKDIR": "true",
            "PYTHONPATH": os.pathsep.join(part for part in (user_path, *self._python_path) if part),
            **self._no_control_plane(),
        }

    def _no_control_plane(self) -> dict[str, str]:
        """Point the SDK's controller at the refusing port and make it give up after one try (module docstring)."""
        with self._port_lock:
            if self._port is None:
                self._port = _RefusingPort()
            endpoint = self._port.endpoint
        return {"_U_EP_OVERRIDE": endpoint, "_U_INSECURE": "1", "_F_MAX_RETRIES": "0", "_F_MAX_BFF_ON_ERR": "0.1"}

    def _located(self, ctx: PluginContext) -> PluginContext:
        """The context with every input and output location resolved and made absolute (module docstring, 1)."""
        facts, where = ctx.facts, self._location
        facts = replace(
            facts,
            input_prefix=where(facts.input_prefix),
            input_path=where(facts.input_path),
            output_prefix=where(facts.output_prefix),
            raw_output_prefix=where(facts.raw_output_prefix),
            checkpoint_prefix=where(facts.checkpoint_prefix),
            prev_checkpoint_prefix=where(facts.prev_checkpoint_prefix),
        )
        return replace(
            ctx,
            facts=facts,
            input_reader=InputReader(ctx.data_store, facts.input_prefix, facts.input_path),
            output_writer=OutputWriter(
                ctx.data_store,
                facts.output_prefix,
                facts.raw_output_prefix,
                facts.checkpoint_prefix,
                facts.prev_checkpoint_prefix,
            ),
        )

    def _location(self, uri: str) -> str:
        if not uri:
            return uri
        resolved = self._resolve(uri)
        path = local_path(resolved)
        return str(path.absolute()) if path is not None else resolved

    # -- results ---------------------------------------------------------------------------------------------------

    def _explain_nested_call(self, transition: Transition) -> Transition:
        """A failure caused by reaching for the control plane becomes a permanent, explained USER failure."""
        info = transition.info
        failed = info.phase in (PluginPhase.RETRYABLE_FAILURE, PluginPhase.PERMANENT_FAILURE)
        if not failed or info.err is None or not _CONTROL_PLANE_SERVICES.search(info.err.message):
            return transition
        message = (
            "this task called another Flyte task (or waited on a condition), which needs the Flyte control plane "
            "to run it as a child action; taskaction runs Flyte SDK tasks as leaf actions and has no control plane. "
            "Call the child's function directly (child.forward(...)), or submit the child as its own TaskAction. "
            f"SDK error: [{info.err.code}] {info.err.message}"
        )
        err = ExecutionError(NESTED_ACTIONS_UNSUPPORTED, message, ErrorKind.USER)
        return replace(transition, info=replace(info, phase=PluginPhase.PERMANENT_FAILURE, err=err))


def _first(*values: str | None) -> str:
    """The first non-empty value (``a0`` asserts org, project and domain are non-empty)."""
    return next((value for value in values if value), "")


def _container(facts: TaskExecutionContext) -> Any:
    """The template's ``core.Container``; pod-template (``k8s_pod``) and ``sql`` tasks have none."""
    if not facts.template.container:
        raise PluginError(
            "Flyte SDK task template has no container: pod_template and sql tasks cannot run as a local process",
            BAD_TASK_SPECIFICATION,
        )
    try:
        return tasks_pb2.Container.FromString(facts.template.container)
    except ProtoDecodeError as error:
        message = f"task template container is not a core.Container: {error}"
        raise PluginError(message, BAD_TASK_SPECIFICATION) from error


def _has_bundle(container: Any) -> bool:
    """Whether ``a0`` unpacks a code bundle (``--tgz`` or ``--pkl``) into its working directory."""
    return any(str(arg) in ("--tgz", "--pkl") for arg in container.args)


def _code_root(python_path: str) -> Path | None:
    """The first existing directory of ``python_path``: the root a resolver template's module path is relative to."""
    for entry in python_path.split(os.pathsep):
        if entry and Path(entry).is_dir():
            return Path(entry).absolute()
    return None


def _resolve_entrypoint(container: Any, entrypoint: Sequence[str]) -> None:
    """``a0 <args>`` with an empty command (SDK 2.x) → ``<entrypoint> <args>``; other commands are left as they are."""
    if len(container.command) == 0 and len(container.args) > 0 and container.args[0] == _A0:
        rest = list(container.args)[1:]
        del container.args[:]
        container.command.extend(entrypoint)
        container.args.extend(rest)


def _substitute_env_placeholders(container: Any, facts: TaskExecutionContext) -> None:
    """``{{.runName}}``, ``{{.actionName}}`` and ``{{.runStartTime}}``: Go leaves them to ``a0``'s environment
    fallbacks; substituting them here shows the real values in the process's command line."""
    patterns = (
        (_RUN_NAME, facts.env.get(RUN_NAME_ENV) or facts.name),
        (_ACTION_NAME, facts.env.get(ACTION_NAME_ENV) or facts.name),
        (_RUN_START_TIME, facts.env.get(RUN_START_TIME_ENV) or EPOCH),
    )
    for field in (container.command, container.args):
        rendered = [_substitute(str(text), patterns) for text in field]
        del field[:]
        field.extend(rendered)


def _substitute(text: str, patterns: Sequence[tuple[re.Pattern[str], str]]) -> str:
    for pattern, value in patterns:
        text = pattern.sub(_literal(value), text)
    return text


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    """A replacement inserting ``value`` verbatim (a string replacement would expand its backslashes)."""
    return lambda _match: value


def flyte_sdk_plugin(
    run_root: Path,
    *,
    resolve: Callable[[str], str] | None = None,
    python_path: Sequence[Path] = (),
    kill_grace: timedelta = timedelta(seconds=5),
    clock: Clock | None = None,
    base_env: Mapping[str, str] | None = None,
    entrypoint: Sequence[str] | None = None,
) -> FlyteSdkPlugin:
    """The ``python`` plugin over a fresh :class:`SubprocessPlugin` keeping its run directories under ``run_root``.

    ``base_env`` is the environment under the task's (default: ``PATH`` with this interpreter's directory first, so
    tools the SDK runs, such as ``tar`` for ``--tgz`` bundles, and this environment's scripts are found).
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    env = dict(base_env) if base_env is not None else {"PATH": path}

    def make_inner(cwd: Path | None) -> Plugin:
        return SubprocessPlugin(
            run_root,
            plugin_id=PLUGIN_ID,
            task_types=(TASK_TYPE,),
            clock=clock,
            kill_grace=kill_grace,
            base_env=env,
            cwd=cwd,
        )

    return FlyteSdkPlugin(make_inner, entrypoint=entrypoint, resolve=resolve, python_path=python_path)


def register_flyte_sdk(registry: PluginRegistry, plugin: FlyteSdkPlugin) -> None:
    """Route task type ``python`` to ``plugin`` (a later registration for ``python`` replaces an earlier one, R100)."""
    registry.register(plugin, (TASK_TYPE,))
