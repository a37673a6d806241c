"""Submitting SDK tasks: the TaskAction built from the template (R49, R97, R103, R104, R107, R108), the inputs
written with the SDK's type engine, and typed outputs read back.

The first group needs only flyteidl2; the second uses the real SDK in-process (no ``a0`` run) and is skipped when
the ``flyte`` extra is not installed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from flyteidl2.core import tasks_pb2
from flyteidl2.task import common_pb2
from pyrsistent import pvector
from returns.result import Failure, Success

from taskaction_core.adapters.plugins.flyte_sdk import _sdk
from taskaction_core.adapters.plugins.flyte_sdk.plugin import RUN_START_TIME_ENV
from taskaction_core.adapters.plugins.flyte_sdk.submit import (
    SubmitOptions,
    build_task_action,
    outputs_uri,
    read_outputs,
    submit,
    template_facts,
)
from taskaction_core.output_path import compute_action_output_path
from taskaction_core.phases import ConditionStatus, ConditionType
from taskaction_core.records import ACTION_TYPE_TASK, Condition, TaskAction, TaskActionStatus
from taskaction_core.testing.fakes import InMemoryDataStore, InMemoryTaskActionStore, ManualClock
from tests.flyte_sdk import sdk_template_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 26, 10, 0, 0, 250000, tzinfo=UTC)
needs_sdk = pytest.mark.skipif(
    not _sdk.sdk_available(), reason="the Flyte SDK is not installed: pip install -e '.[flyte]' (flyte==2.12.1)"
)


def succeeded(task_action: TaskAction, attempts: int = 1) -> TaskAction:
    condition = Condition(type=ConditionType.SUCCEEDED, status=ConditionStatus.TRUE, reason="Completed")
    return replace(task_action, status=TaskActionStatus(attempts=attempts, conditions=pvector([condition])))


def an_action(template: bytes | None = None, **options: object) -> TaskAction:
    return build_task_action(
        template or sdk_template_bytes(),
        SubmitOptions(**options),  # type: ignore[arg-type]
        "add-1",
        "run-1",
        Path("/code"),
        START,
    )


# -- without the SDK ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cache", "cache_key"), [(True, "abc123"), (False, "")])
def test_template_facts_cache_key_is_discovery_version_only_when_cached(cache: bool, cache_key: str) -> None:
    facts = template_facts(sdk_template_bytes(cache=cache))
    assert (facts.task_type, facts.short_name, facts.cache_key) == ("python", "add", cache_key)


def test_build_task_action_spec_follows_the_submission() -> None:
    action = an_action(sdk_template_bytes(cache=True), namespace="ns", project="p1", domain="d1", base_uri="file://x/")
    spec = action.spec
    assert (action.metadata.namespace, action.metadata.name) == ("ns", "add-1")
    assert (spec.run_name, spec.action_name, spec.project, spec.domain) == ("run-1", "add-1", "p1", "d1")
    assert (spec.action_type, spec.task_type, spec.short_name) == (ACTION_TYPE_TASK, "python", "add")
    assert (spec.input_uri, spec.run_output_base) == ("file://x/inputs/run-1/add-1", "file://x/runs/run-1")
    assert spec.cache_key == "abc123"
    assert spec.task_template == sdk_template_bytes(cache=True)
    assert dict(spec.env_vars) == {"PYTHONPATH": "/code", RUN_START_TIME_ENV: "2026-11-26T10:00:00.250000Z"}
    assert action.status == TaskActionStatus()


def test_build_task_action_user_env_vars_are_kept() -> None:
    spec = an_action(env_vars={"MY_VAR": "1"}).spec
    assert spec.env_vars["MY_VAR"] == "1"


@pytest.mark.parametrize("attempts", [0, 1, 3])
def test_outputs_uri_is_under_the_current_attempt_s_prefix(attempts: int) -> None:
    action = replace(an_action(), status=TaskActionStatus(attempts=attempts))
    prefix = compute_action_output_path("default", "add-1", "file://flyte/runs/run-1", "add-1", max(attempts, 1))
    assert outputs_uri(action) == Success(f"{prefix.unwrap()}/outputs.pb")


def test_read_outputs_of_an_unfinished_action_is_a_failure() -> None:
    read = read_outputs(InMemoryDataStore(), an_action(), object())
    assert isinstance(read, Failure)
    assert "has not succeeded" in read.failure().message


# -- with the SDK, in-process ---------------------------------------------------------------------------------------


@pytest.fixture
def tasks() -> ModuleType:
    if not _sdk.sdk_available():
        pytest.skip("the Flyte SDK is not installed: pip install -e '.[flyte]' (flyte==2.12.1)")
    from tests.flyte_sdk import sdk_tasks

    return sdk_tasks


def submitted(
    tasks: ModuleType, task_name: str, inputs: dict[str, object], **options: object
) -> tuple[TaskAction, InMemoryDataStore]:
    store, data = InMemoryTaskActionStore(ManualClock(START)), InMemoryDataStore()
    result = submit(store, data, getattr(tasks, task_name), inputs, SubmitOptions(name="t-1", **options))  # type: ignore[arg-type]
    return result.unwrap(), data


@needs_sdk
def test_submit_writes_inputs_with_defaults_filled_in(tasks: ModuleType) -> None:
    action, data = submitted(tasks, "add", {"x": 40})
    inputs = common_pb2.Inputs.FromString(data.blobs()[f"{action.spec.input_uri}/inputs.pb"])
    assert [(entry.name, entry.value.scalar.primitive.integer) for entry in inputs.literals] == [("x", 40), ("y", 2)]


@needs_sdk
def test_submit_template_is_the_sdk_s_with_resolver_args_relative_to_the_root(tasks: ModuleType) -> None:
    action, _ = submitted(tasks, "add", {"x": 1})
    template = tasks_pb2.TaskTemplate.FromString(action.spec.task_template)
    assert template.type == "python" and template.id.name == "taskaction_tests.add"
    assert list(template.container.args[:1]) == ["a0"]
    assert list(template.container.args[-4:]) == ["mod", "tests.flyte_sdk.sdk_tasks", "instance", "add"]
    assert action.spec.env_vars["PYTHONPATH"] == str(REPO_ROOT)
    assert action.spec.cache_key == ""


@needs_sdk
def test_submit_cached_serialized_task_carries_cache_key_and_template_settings(tasks: ModuleType) -> None:
    action, _ = submitted(tasks, "serialized_square", {"x": 1, "log": "/tmp/unused"})
    metadata = tasks_pb2.TaskTemplate.FromString(action.spec.task_template).metadata
    assert metadata.discoverable and metadata.cache_serializable
    assert action.spec.cache_key == metadata.discovery_version != ""


@needs_sdk
def test_submit_retries_and_timeout_stay_in_the_template(tasks: ModuleType) -> None:
    flaky, _ = submitted(tasks, "flaky_with_checkpoint", {"log": "/tmp/unused"})
    slow, _ = submitted(tasks, "too_slow", {"log": "/tmp/unused"})
    assert tasks_pb2.TaskTemplate.FromString(flaky.spec.task_template).metadata.retries.retries == 2
    assert tasks_pb2.TaskTemplate.FromString(slow.spec.task_template).metadata.timeout.seconds == 2


@needs_sdk
def test_submit_existing_name_is_a_submit_error(tasks: ModuleType) -> None:
    store, data = InMemoryTaskActionStore(ManualClock(START)), InMemoryDataStore()
    options = SubmitOptions(name="same")
    assert isinstance(submit(store, data, tasks.add, {"x": 1}, options), Success)
    again = submit(store, data, tasks.add, {"x": 1}, options)
    assert isinstance(again, Failure) and "cannot create TaskAction same" in again.failure().message


@needs_sdk
def test_submit_inputs_of_the_wrong_type_raise(tasks: ModuleType) -> None:
    with pytest.raises(_sdk.SdkError, match="cannot convert the inputs"):
        submitted(tasks, "add", {"x": "forty"})


@needs_sdk
def test_read_outputs_decodes_the_sdk_outputs_file(tasks: ModuleType) -> None:
    action, data = submitted(tasks, "summarize", {"values": [1], "scale": 1.0, "labels": {}})
    outputs = common_pb2.Outputs()
    outputs.literals.add(name="o0").value.scalar.primitive.float_value = 2.5
    values = outputs.literals.add(name="o1").value.collection.literals
    values.add().scalar.primitive.integer = 4
    outputs.literals.add(name="o2").value.scalar.primitive.string_value = "a=1"
    done = succeeded(action)
    data.write(outputs_uri(done).unwrap(), outputs.SerializeToString())
    assert read_outputs(data, done, tasks.summarize) == Success((2.5, [4], "a=1"))


@needs_sdk
def test_read_outputs_missing_file_is_a_failure(tasks: ModuleType) -> None:
    action, data = submitted(tasks, "add", {"x": 1})
    read = read_outputs(data, succeeded(action), tasks.add)
    assert isinstance(read, Failure) and "cannot read" in read.failure().message


@needs_sdk
def test_load_task_by_module_and_by_file(tasks: ModuleType) -> None:
    assert _sdk.load_task("tests.flyte_sdk.sdk_tasks:add").name == "taskaction_tests.add"
    assert _sdk.load_task(f"{REPO_ROOT}/tests/flyte_sdk/sdk_tasks.py:fatal").short_name == "fatal"


@needs_sdk
@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("no-colon", "expected MODULE:TASK"),
        ("tests.flyte_sdk.sdk_tasks:missing", "has no attribute"),
        ("tests.flyte_sdk.sdk_tasks:record", "is not a Flyte SDK task"),
        ("no_such_module_here:x", "cannot import"),
    ],
)
def test_load_task_bad_reference_is_an_sdk_error(tasks: ModuleType, reference: str, problem: str) -> None:
    with pytest.raises(_sdk.SdkError, match=problem):
        _sdk.load_task(reference)


@needs_sdk
def test_parse_input_value_uses_json_except_for_strings(tasks: ModuleType) -> None:
    summarize = _sdk.load_task("tests.flyte_sdk.sdk_tasks:summarize")
    assert _sdk.parse_input_value(summarize, "values", "[1, 2]") == [1, 2]
    assert _sdk.parse_input_value(summarize, "labels", '{"a": "1"}') == {"a": "1"}
    sleeper = _sdk.load_task("tests.flyte_sdk.sdk_tasks:sleeper")
    assert _sdk.parse_input_value(sleeper, "log", "42") == "42"
    with pytest.raises(_sdk.SdkError, match="has no input 'nope'"):
        _sdk.parse_input_value(sleeper, "nope", "1")
