"""The ``python`` plugin's view of a context, without the SDK: the command, placeholders, environment, locations and
the explanation of nested calls it hands its inner plugin (R58, R103–R106; reference/flyte-sdk-local.md §2, §4, §7).

The inner plugin here records what it receives; ``test_sdk_runs`` runs the real ``a0`` through the real subprocess
plugin.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flyteidl2.core import tasks_pb2

from taskaction_core.adapters.fsspec_store import FsspecDataStore
from taskaction_core.adapters.plugins.flyte_sdk.plugin import (
    NESTED_ACTIONS_UNSUPPORTED,
    PLUGIN_ID,
    RUN_START_TIME_ENV,
    FlyteSdkPlugin,
    a0_entrypoint,
    flyte_sdk_plugin,
    register_flyte_sdk,
)
from taskaction_core.context import TaskExecutionContext
from taskaction_core.interpreter.plugin_context import PluginContext
from taskaction_core.interpreter.ports import PluginError, PluginProperties, PluginRegistry
from taskaction_core.phase_info import (
    ExecutionError,
    Transition,
    phase_info_failed,
    phase_info_running,
    phase_info_success,
)
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.testing.fakes import DictSecretManager, QuotaResourceManager
from tests.flyte_sdk import SDK_ARGS, sdk_facts, sdk_template_bytes

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ENTRYPOINT = ("/venv/bin/a0",)


@dataclass
class RecordingPlugin:
    """An inner plugin that keeps every context it is given and answers with ``answer``."""

    answer: Transition = field(default_factory=lambda: Transition(phase_info_running(NOW, 0, None)))
    seen: list[tuple[str, PluginContext]] = field(default_factory=list)
    cwds: list[Path | None] = field(default_factory=list)

    def make(self, cwd: Path | None) -> RecordingPlugin:
        """The factory :class:`FlyteSdkPlugin` calls once per working directory."""
        self.cwds.append(cwd)
        return self

    @property
    def id(self) -> str:
        return "recording"

    @property
    def properties(self) -> PluginProperties:
        return PluginProperties()

    def handle(self, ctx: PluginContext) -> Transition:
        self.seen.append(("handle", ctx))
        return self.answer

    def abort(self, ctx: PluginContext) -> None:
        self.seen.append(("abort", ctx))

    def finalize(self, ctx: PluginContext) -> None:
        self.seen.append(("finalize", ctx))


def context(facts: TaskExecutionContext, data_store: FsspecDataStore | None = None) -> PluginContext:
    return PluginContext.build(facts, data_store or FsspecDataStore(), DictSecretManager(), QuotaResourceManager(0))


def handled(facts: TaskExecutionContext, **options: Any) -> tuple[PluginContext, Transition]:
    """Hand ``facts`` to a plugin over a recording inner plugin; what the inner plugin saw, and the answer."""
    inner = RecordingPlugin(**options.pop("inner", {}))
    plugin = FlyteSdkPlugin(inner.make, entrypoint=options.pop("entrypoint", ENTRYPOINT), **options)
    try:
        transition = plugin.handle(context(facts))
    finally:
        plugin.close()
    return inner.seen[-1][1], transition


def container_of(ctx: PluginContext) -> Any:
    return tasks_pb2.Container.FromString(ctx.facts.template.container)


def argv_of(ctx: PluginContext) -> list[str]:
    container = container_of(ctx)
    return [*container.command, *container.args]


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


# -- the command --------------------------------------------------------------------------------------------------


def test_flyte_sdk_plugin_a0_with_empty_command_becomes_the_entrypoint(tmp_path: Path) -> None:
    container = container_of(handled(sdk_facts(tmp_path))[0])
    assert list(container.command) == ["/venv/bin/a0"]
    assert len(container.args) == len(SDK_ARGS) - 1
    assert list(container.args[:2]) == ["--inputs", "{{.input}}"]
    assert list(container.args[-5:]) == list(SDK_ARGS[-5:])


def test_flyte_sdk_plugin_module_entrypoint_replaces_a0_by_several_words(tmp_path: Path) -> None:
    entrypoint = ("/usr/bin/python3", "-m", "flyte._bin.runtime", "a0")
    seen, _ = handled(sdk_facts(tmp_path), entrypoint=entrypoint)
    container = container_of(seen)
    assert list(container.command) == list(entrypoint)
    assert list(container.args[:2]) == ["--inputs", "{{.input}}"]


def test_flyte_sdk_plugin_explicit_command_is_left_alone(tmp_path: Path) -> None:
    template = sdk_template_bytes(command=["python3", "script.py"], args=["a0", "--x"])
    seen, _ = handled(sdk_facts(tmp_path, template))
    assert argv_of(seen) == ["python3", "script.py", "a0", "--x"]


def test_flyte_sdk_plugin_template_without_container_is_bad_task_specification(tmp_path: Path) -> None:
    plugin = FlyteSdkPlugin(RecordingPlugin().make, entrypoint=ENTRYPOINT)
    with pytest.raises(PluginError, match="no container") as raised:
        plugin.handle(context(sdk_facts(tmp_path, sdk_template_bytes(with_container=False))))
    assert raised.value.code == "BadTaskSpecification"


@pytest.mark.parametrize("executable", [True, False])
def test_a0_entrypoint_console_script_or_module_fallback(tmp_path: Path, executable: bool) -> None:
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "a0"
    script.write_text("#!/bin/sh\n")
    if executable:
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    found = a0_entrypoint(prefix=str(tmp_path), executable="/py/bin/python")
    assert found == ((str(script),) if executable else ("/py/bin/python", "-m", "flyte._bin.runtime", "a0"))


# -- placeholders ---------------------------------------------------------------------------------------------------


def test_flyte_sdk_plugin_substitutes_run_action_and_start_time(tmp_path: Path) -> None:
    facts = sdk_facts(tmp_path, env={RUN_START_TIME_ENV: "2026-11-26T10:00:00.000000Z"})
    argv = argv_of(handled(facts)[0])
    assert (flag(argv, "--run-name"), flag(argv, "--name")) == ("run-1", "act-1")
    assert flag(argv, "--run-start-time") == "2026-11-26T10:00:00.000000Z"


def test_flyte_sdk_plugin_without_start_time_uses_the_epoch(tmp_path: Path) -> None:
    argv = argv_of(handled(sdk_facts(tmp_path))[0])
    assert flag(argv, "--run-start-time") == "1970-01-01T00:00:00Z"


def test_flyte_sdk_plugin_leaves_go_placeholders_to_the_subprocess_renderer(tmp_path: Path) -> None:
    argv = argv_of(handled(sdk_facts(tmp_path))[0])
    assert flag(argv, "--inputs") == "{{.input}}"
    assert flag(argv, "--prev-checkpoint") == "{{.prevCheckpointPrefix}}"


# -- environment ----------------------------------------------------------------------------------------------------


def test_flyte_sdk_plugin_environment_carries_what_a0_needs(tmp_path: Path) -> None:
    env = handled(sdk_facts(tmp_path, attempt=3))[0].facts.env
    assert env["ACTION_NAME"] == "act-1"
    assert env["RUN_NAME"] == "run-1"
    assert env["_U_ORG_NAME"] == "local"
    assert env["FLYTE_INTERNAL_EXECUTION_PROJECT"] == "proj"
    assert env["FLYTE_INTERNAL_EXECUTION_DOMAIN"] == "dev"
    assert env["_U_RUN_BASE"] == str(tmp_path / "runs")
    assert env["FLYTE_ATTEMPT_NUMBER"] == "2"
    assert env["FSSPEC_FILE_AUTO_MKDIR"] == "true"


def test_flyte_sdk_plugin_empty_identity_falls_back_to_non_empty_values(tmp_path: Path) -> None:
    facts = sdk_facts(tmp_path, project="", domain="", env={"RUN_NAME": "", "ACTION_NAME": "", "_U_ORG_NAME": ""})
    env = handled(facts)[0].facts.env
    assert (env["RUN_NAME"], env["ACTION_NAME"]) == ("ta", "ta")
    assert (env["_U_ORG_NAME"], env["FLYTE_INTERNAL_EXECUTION_PROJECT"], env["FLYTE_INTERNAL_EXECUTION_DOMAIN"]) == (
        "o",
        "p",
        "d",
    )


def test_flyte_sdk_plugin_reserved_values_win_over_the_container_and_spec_env(tmp_path: Path) -> None:
    template = sdk_template_bytes(env={"FLYTE_ATTEMPT_NUMBER": "7", "MY_VAR": "1"})
    facts = sdk_facts(tmp_path, template, env={"FSSPEC_FILE_AUTO_MKDIR": "false", "USER_VAR": "u"})
    seen = handled(facts)[0]
    env = seen.facts.env
    assert (env["FLYTE_ATTEMPT_NUMBER"], env["FSSPEC_FILE_AUTO_MKDIR"], env["USER_VAR"]) == ("0", "true", "u")
    assert {str(e.key): str(e.value) for e in container_of(seen).env} == {"FLYTE_ATTEMPT_NUMBER": "7", "MY_VAR": "1"}


def test_flyte_sdk_plugin_python_path_puts_the_task_s_root_before_code_roots(tmp_path: Path) -> None:
    facts = sdk_facts(tmp_path, env={"PYTHONPATH": "/project"})
    env = handled(facts, python_path=[tmp_path / "lib"])[0].facts.env
    assert env["PYTHONPATH"] == os.pathsep.join(["/project", str(tmp_path / "lib")])


def test_flyte_sdk_plugin_points_the_sdk_at_a_port_that_refuses_connections(tmp_path: Path) -> None:
    inner = RecordingPlugin()
    plugin = FlyteSdkPlugin(inner.make, entrypoint=ENTRYPOINT)
    plugin.handle(context(sdk_facts(tmp_path)))
    env = inner.seen[-1][1].facts.env
    host, port = env["_U_EP_OVERRIDE"].split(":")
    try:
        assert (host, env["_U_INSECURE"], env["_F_MAX_RETRIES"]) == ("127.0.0.1", "1", "0")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5).close()
    finally:
        plugin.close()


# -- working directory ----------------------------------------------------------------------------------------------


def cwd_of_launch(tmp_path: Path, template: bytes, python_path: str) -> Path | None:
    inner = RecordingPlugin()
    plugin = FlyteSdkPlugin(inner.make, entrypoint=ENTRYPOINT)
    plugin.handle(context(sdk_facts(tmp_path, template, env={"PYTHONPATH": python_path})))
    plugin.close()
    return inner.cwds[-1]


def test_flyte_sdk_plugin_resolver_template_runs_in_its_code_root(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    assert cwd_of_launch(tmp_path, sdk_template_bytes(), os.pathsep.join([missing, str(tmp_path)])) == tmp_path


@pytest.mark.parametrize("bundle", ["--tgz", "--pkl"])
def test_flyte_sdk_plugin_bundle_template_runs_in_a_scratch_directory(tmp_path: Path, bundle: str) -> None:
    template = sdk_template_bytes(args=[*SDK_ARGS[:-6], bundle, "/b/code.tgz", "--dest", "."])
    assert cwd_of_launch(tmp_path, template, str(tmp_path)) is None


def test_flyte_sdk_plugin_without_a_code_root_runs_in_a_scratch_directory(tmp_path: Path) -> None:
    assert cwd_of_launch(tmp_path, sdk_template_bytes(), str(tmp_path / "missing")) is None


def test_flyte_sdk_plugin_builds_one_inner_plugin_per_working_directory(tmp_path: Path) -> None:
    inner = RecordingPlugin()
    plugin = FlyteSdkPlugin(inner.make, entrypoint=ENTRYPOINT)
    for _ in range(3):
        plugin.handle(context(sdk_facts(tmp_path, env={"PYTHONPATH": str(tmp_path)})))
    plugin.abort(context(sdk_facts(tmp_path)))
    plugin.close()
    assert inner.cwds == [tmp_path, None]


# -- locations ------------------------------------------------------------------------------------------------------


def test_flyte_sdk_plugin_mounted_relative_uris_become_absolute_paths(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    store = FsspecDataStore(mounts={"file://": f"file://{tmp_path}/data/", "file:///": "file:///"})
    facts = sdk_facts(
        tmp_path,
        output_prefix="file://runs/ab/r/act-1/2",
        input_prefix="file://inputs/r/act-1",
        prev_checkpoint_prefix="file://runs/ab/r/act-1/1/_flytecheckpoints",
        env={"_U_RUN_BASE": "file://runs/r"},
    )
    seen = handled(facts, resolve=store.resolve)[0].facts
    data = tmp_path / "data"
    assert seen.output_prefix == str(data / "runs/ab/r/act-1/2")
    assert seen.checkpoint_prefix == str(data / "runs/ab/r/act-1/2/_flytecheckpoints")
    assert seen.prev_checkpoint_prefix == str(data / "runs/ab/r/act-1/1/_flytecheckpoints")
    assert seen.input_path == str(data / "inputs/r/act-1/inputs.pb")
    assert seen.env["_U_RUN_BASE"] == str(data / "runs/r")


def test_flyte_sdk_plugin_relative_plain_path_is_absolute_against_the_working_directory(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    seen = handled(sdk_facts(tmp_path, output_prefix="out/1"))[0]
    assert seen.facts.output_prefix == str(tmp_path / "out/1")
    assert seen.output_writer.outputs_path == str(tmp_path / "out/1/outputs.pb")


def test_flyte_sdk_plugin_remote_uris_are_passed_through(tmp_path: Path) -> None:
    seen = handled(sdk_facts(tmp_path, output_prefix="s3://bucket/ab/r/act-1/1"))[0]
    assert seen.facts.output_prefix == "s3://bucket/ab/r/act-1/1"


@pytest.mark.parametrize("call", ["abort", "finalize"])
def test_flyte_sdk_plugin_abort_and_finalize_need_no_valid_command(tmp_path: Path, call: str) -> None:
    inner = RecordingPlugin()
    plugin = FlyteSdkPlugin(inner.make, entrypoint=ENTRYPOINT)
    method: Callable[[PluginContext], None] = getattr(plugin, call)
    method(context(sdk_facts(tmp_path, sdk_template_bytes(with_container=False), output_prefix="out/1")))
    assert [(name, ctx.facts.output_prefix) for name, ctx in inner.seen] == [(call, str(Path("out/1").absolute()))]


# -- results --------------------------------------------------------------------------------------------------------

SDK_NESTED_ERROR = (
    "Controller failed for action 9dyx (retries 1 / 0 exhausted): Failed to launch action: Request failed: error "
    "sending request for url (http://127.0.0.1:40000/flyteidl2.workflow.QueueService/EnqueueAction): "
    "tcp connect error: Connection refused (os error 111)"
)


@pytest.mark.parametrize("phase", [PluginPhase.RETRYABLE_FAILURE, PluginPhase.PERMANENT_FAILURE])
def test_flyte_sdk_plugin_failed_control_plane_call_is_a_permanent_explained_failure(
    tmp_path: Path, phase: PluginPhase
) -> None:
    error = ExecutionError("SlowDownError", SDK_NESTED_ERROR, ErrorKind.SYSTEM)
    answer = Transition(phase_info_failed(NOW, phase, error, None))
    _, transition = handled(sdk_facts(tmp_path), inner={"answer": answer})
    err = transition.info.err
    assert transition.info.phase is PluginPhase.PERMANENT_FAILURE
    assert err is not None
    assert (err.code, err.kind) == (NESTED_ACTIONS_UNSUPPORTED, ErrorKind.USER)
    assert "leaf actions" in err.message and "QueueService/EnqueueAction" in err.message


@pytest.mark.parametrize(
    "answer",
    [
        Transition(phase_info_success(NOW, None)),
        Transition(phase_info_running(NOW, 0, None)),
        Transition(
            phase_info_failed(
                NOW, PluginPhase.RETRYABLE_FAILURE, ExecutionError("ValueError", "boom", ErrorKind.USER), None
            )
        ),
    ],
    ids=["success", "running", "user-error"],
)
def test_flyte_sdk_plugin_other_results_pass_through_unchanged(tmp_path: Path, answer: Transition) -> None:
    assert handled(sdk_facts(tmp_path), inner={"answer": answer})[1] == answer


# -- construction ---------------------------------------------------------------------------------------------------


def test_flyte_sdk_plugin_factory_registers_for_python(tmp_path: Path) -> None:
    plugin = flyte_sdk_plugin(tmp_path / "runs", kill_grace=timedelta(seconds=1))
    registry = PluginRegistry()
    register_flyte_sdk(registry, plugin)
    try:
        assert registry.resolve("python").unwrap() is plugin
        assert plugin.id == PLUGIN_ID
    finally:
        plugin.close()
