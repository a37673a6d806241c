"""The task execution context facts (R103–R107) through ``build_task_execution_context``: attempt and retry,
output/checkpoint/input paths, generated name, task execution id, labels, environment and other metadata."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flyteidl2.core import security_pb2, tasks_pb2
from pyrsistent import pmap
from returns.result import Failure, Success

from taskaction_core.context import OwnerReference, TaskExecutionContext, TaskExecutionId
from taskaction_core.idl import decode_task_template
from taskaction_core.policy import Policy
from taskaction_core.reconcile.context import (
    build_task_execution_context,
    context_error,
    current_output_prefix,
    decoded_template,
    output_prefix,
)
from taskaction_core.records import TaskAction
from taskaction_core.template import Identifier, TaskTemplate
from taskaction_core.testing.builders import a_task_action, a_template_bytes
from tests.core.other_helpers import DEFAULT, with_status

BAD_BASE_ERROR = 'invalid RunOutputBase "::bad": parse "::bad": missing protocol scheme'
TEMPLATE_ID = Identifier(resource_type=1, project="p", domain="d", name="demo_env.add", version="v1", org="o")


def _context(task_action: TaskAction, policy: Policy = DEFAULT) -> TaskExecutionContext:
    result = build_task_execution_context(task_action, policy)
    assert isinstance(result, Success)
    context: TaskExecutionContext = result.unwrap()
    return context


def _with_spec(task_action: TaskAction, **fields: object) -> TaskAction:
    return replace(task_action, spec=replace(task_action.spec, **fields))  # type: ignore[arg-type]


def test_build_task_execution_context_first_attempt_every_field_R103_R107() -> None:
    ta = a_task_action()

    context = _context(ta)

    prefix = "s3://bucket/jy/run/a0/1"
    assert context == TaskExecutionContext(
        namespace="default",
        name="ta",
        attempt=1,
        retry=0,
        max_attempts=1,
        input_prefix="s3://bucket/run/a0",
        input_path="s3://bucket/run/a0/inputs.pb",
        output_prefix=prefix,
        raw_output_prefix=prefix,
        checkpoint_prefix=f"{prefix}/_flytecheckpoints",
        prev_checkpoint_prefix="",
        generated_name="ta-0",
        task_execution_id=TaskExecutionId("p", "d", "run1", "a0", 0, TEMPLATE_ID),
        owner=OwnerReference("ta", "uid-ta", "flyte.org/v1", "TaskAction", True),
        labels=pmap(
            {
                "organization": "flyte",
                "project": "p",
                "domain": "d",
                "flyte.org/managed": "true",
                "attempt": "1",
                "run": "run1",
                "action": "a0",
                "task-name": "demo_env.add",
            }
        ),
        annotations=pmap(),
        env=pmap({"ACTION_NAME": "a0", "RUN_NAME": "run1", "_U_RUN_BASE": "s3://bucket/run", "_U_ORG_NAME": "local"}),
        service_account="",
        interruptible=False,
        template=decode_task_template(ta.spec.task_template).unwrap(),
        template_bytes=ta.spec.task_template,
        task_type="python",
        plugin_state=b"",
        plugin_state_version=0,
    )


# --- R103 / R105 attempt, retry, paths, names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "attempt", "retry", "previous"),
    [
        (0, 1, 0, ""),
        (1, 1, 0, ""),
        (2, 2, 1, "s3://bucket/jy/run/a0/1/_flytecheckpoints"),
        (5, 5, 4, "s3://bucket/jy/run/a0/4/_flytecheckpoints"),
    ],
)
def test_build_task_execution_context_attempt_retry_and_checkpoints_R103_R105(
    attempts: int, attempt: int, retry: int, previous: str
) -> None:
    context = _context(with_status(a_task_action(), attempts=attempts))

    assert (context.attempt, context.retry, context.generated_name) == (attempt, retry, f"ta-{retry}")
    assert context.output_prefix == f"s3://bucket/jy/run/a0/{attempt}"
    assert context.raw_output_prefix == context.output_prefix
    assert context.checkpoint_prefix == f"s3://bucket/jy/run/a0/{attempt}/_flytecheckpoints"
    assert context.prev_checkpoint_prefix == previous
    assert context.task_execution_id.retry_attempt == retry
    assert context.labels["attempt"] == str(retry + 1)


@pytest.mark.parametrize(
    ("input_uri", "prefix"),
    [
        ("s3://b/x/inputs.pb", "s3://b/x"),
        ("s3://b/x", "s3://b/x"),
        ("s3://b/x/inputs.pb/inputs.pb", "s3://b/x/inputs.pb"),
        ("s3://b/xinputs.pb", "s3://b/xinputs.pb"),
        ("s3://b/x/", "s3://b/x/"),
    ],
    ids=["suffix", "no-suffix", "suffix-once", "not-a-segment", "trailing-slash"],
)
def test_build_task_execution_context_input_prefix_and_path_R104(input_uri: str, prefix: str) -> None:
    context = _context(_with_spec(a_task_action(), input_uri=input_uri))

    assert (context.input_prefix, context.input_path) == (prefix, f"{prefix}/inputs.pb")


# --- R105 task execution id -------------------------------------------------------------------------------------------


def test_build_task_execution_context_unparsable_template_has_no_task_id_R105() -> None:
    ta = _with_spec(a_task_action(), task_template=b"\xff\xff\xff")

    context = _context(ta)

    assert context.task_execution_id == TaskExecutionId("p", "d", "run1", "a0", 0, None)
    assert context.template == TaskTemplate()
    assert context.max_attempts == 1
    assert "task-name" not in context.labels
    assert decoded_template(ta) is None


def test_build_task_execution_context_template_without_id_has_no_task_id_R105() -> None:
    context = _context(a_task_action(with_id=False))

    assert context.task_execution_id.task_id is None
    assert "task-name" not in context.labels


# --- R107 max attempts, service account, interruptible --------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "with_metadata", "expected"),
    [(3, True, 4), (0, True, 1), (None, True, 1), (3, False, 1)],
    ids=["three-retries", "zero-retries", "no-retry-strategy", "no-metadata"],
)
def test_build_task_execution_context_max_attempts_R107(
    retries: int | None, with_metadata: bool, expected: int
) -> None:
    ta = a_task_action(retries=retries, with_metadata=with_metadata)

    assert _context(ta).max_attempts == expected


def _template_with_service_account(account: str) -> bytes:
    template = tasks_pb2.TaskTemplate(type="python")
    template.security_context.CopyFrom(
        security_pb2.SecurityContext(run_as=security_pb2.Identity(k8s_service_account=account))
    )
    return bytes(template.SerializeToString())


@pytest.mark.parametrize(
    ("account", "default", "expected"),
    [("task-sa", "default-sa", "task-sa"), ("", "default-sa", "default-sa"), ("", "", "")],
    ids=["template-wins", "configured-default", "empty"],
)
def test_build_task_execution_context_service_account_R107(account: str, default: str, expected: str) -> None:
    ta = _with_spec(a_task_action(), task_template=_template_with_service_account(account))

    assert _context(ta, Policy(default_service_account=default)).service_account == expected


@pytest.mark.parametrize(("value", "expected"), [(None, False), (False, False), (True, True)])
def test_build_task_execution_context_interruptible_only_when_true_R107(value: bool | None, expected: bool) -> None:
    assert _context(_with_spec(a_task_action(), interruptible=value)).interruptible is expected


# --- R106 labels, annotations, environment ------------------------------------------------------------------------


def test_build_task_execution_context_cr_labels_overlaid_by_injected_R106() -> None:
    ta = a_task_action(labels={"team": "ml", "run": "mine", "organization": "acme"})

    labels = _context(ta).labels

    assert (labels["team"], labels["run"], labels["organization"]) == ("ml", "run1", "flyte")


def test_build_task_execution_context_secrets_label_only_with_secrets_R106() -> None:
    assert _context(a_task_action(secrets=True)).labels["inject-flyte-secrets"] == "true"
    assert "inject-flyte-secrets" not in _context(a_task_action()).labels


def test_build_task_execution_context_names_are_sanitized_R106() -> None:
    ta = _with_spec(a_task_action(name="_my task!"), run_name="-run name-", action_name="a/b")

    labels = _context(ta).labels

    assert (labels["run"], labels["action"], labels["task-name"]) == ("xrun-namex", "a-b", "demo_env.add")


def test_build_task_execution_context_env_reserved_keys_cannot_be_overridden_R106() -> None:
    env_vars = pmap({"ACTION_NAME": "evil", "_U_ORG_NAME": "acme", "FOO": "bar"})

    env = _context(_with_spec(a_task_action(), env_vars=env_vars)).env

    assert env == pmap(
        {
            "ACTION_NAME": "a0",
            "RUN_NAME": "run1",
            "_U_RUN_BASE": "s3://bucket/run",
            "_U_ORG_NAME": "local",
            "FOO": "bar",
        }
    )


def test_build_task_execution_context_passes_annotations_and_plugin_state_through_R106_R32() -> None:
    ta = a_task_action()
    ta = replace(ta, metadata=replace(ta.metadata, annotations=pmap({"a": "b"})))
    ta = with_status(ta, plugin_state=b"gob", plugin_state_version=3)

    context = _context(ta)

    assert (context.annotations, context.plugin_state, context.plugin_state_version) == (pmap({"a": "b"}), b"gob", 3)


# --- R33 construction errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [0, 1, 2, 4])
def test_build_task_execution_context_invalid_base_fails_R33(attempts: int) -> None:
    ta = with_status(a_task_action(run_output_base="::bad"), attempts=attempts)

    assert build_task_execution_context(ta, DEFAULT) == Failure(BAD_BASE_ERROR)
    assert context_error(ta) == BAD_BASE_ERROR


def test_context_error_valid_base_is_none_R33() -> None:
    assert context_error(with_status(a_task_action(), attempts=3)) is None


def test_output_prefix_per_attempt_and_failure_text_R103_R108() -> None:
    assert output_prefix(a_task_action(), 7) == Success("s3://bucket/jy/run/a0/7")
    assert output_prefix(a_task_action(run_output_base="::bad"), 7) == Failure(BAD_BASE_ERROR)


def test_current_output_prefix_uses_observed_attempt_R103() -> None:
    assert current_output_prefix(a_task_action()) == "s3://bucket/jy/run/a0/1"
    assert current_output_prefix(with_status(a_task_action(), attempts=2)) == "s3://bucket/jy/run/a0/2"


def test_build_task_execution_context_template_bytes_round_trip_R104() -> None:
    data = a_template_bytes(retries=2)

    context = _context(_with_spec(a_task_action(), task_template=data))

    assert context.template_bytes == data
    assert context.template == decode_task_template(data).unwrap()
