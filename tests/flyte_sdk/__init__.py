"""Tests of the Flyte SDK ``python`` plugin and of submitting SDK tasks (reference/flyte-sdk-local.md).

``test_plugin`` and ``test_submit`` need only flyteidl2; ``test_sdk_runs`` runs the real SDK (``flyte==2.12.1``,
the ``flyte`` extra) and is skipped, with the reason, when it is not installed. This module holds the builders the
tests share: a template as the SDK writes it, and the facts of one attempt of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from flyteidl2.core import identifier_pb2, interface_pb2, tasks_pb2, types_pb2
from pyrsistent import pmap

from taskaction_core.context import OwnerReference, TaskExecutionContext, TaskExecutionId
from taskaction_core.idl import decode_task_template

SDK_ARGS: Final = (
    "a0",
    *("--inputs", "{{.input}}", "--outputs-path", "{{.outputPrefix}}", "--version", "v1"),
    *("--raw-data-path", "{{.rawOutputDataPrefix}}", "--checkpoint-path", "{{.checkpointOutputPrefix}}"),
    *("--prev-checkpoint", "{{.prevCheckpointPrefix}}", "--run-name", "{{.runName}}", "--name", "{{.actionName}}"),
    *("--run-start-time", "{{.runStartTime}}"),
    *("--resolver", "flyte._internal.resolvers.default.DefaultTaskResolver", "mod", "my_tasks", "instance", "add"),
)
"""The container args flyte 2.12.1 writes for ``my_tasks.add`` (reference/flyte-sdk-local.md §1)."""


def sdk_template_bytes(
    *,
    args: Sequence[str] = SDK_ARGS,
    command: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cache: bool = False,
    serializable: bool = False,
    with_container: bool = True,
) -> bytes:
    """A serialized ``core.TaskTemplate`` shaped like the SDK's for ``add(x: int) -> int``."""
    template = tasks_pb2.TaskTemplate(type="python")
    template.id.CopyFrom(
        identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="p", domain="d", org="o", name="env.add", version="v1"
        )
    )
    template.metadata.discoverable = cache
    template.metadata.cache_serializable = serializable
    template.metadata.discovery_version = "abc123"
    template.metadata.retries.retries = 2
    integer = types_pb2.LiteralType(simple=types_pb2.INTEGER)
    template.interface.inputs.variables.add(key="x", value=interface_pb2.Variable(type=integer))
    template.interface.outputs.variables.add(key="o0", value=interface_pb2.Variable(type=integer))
    if with_container:
        template.container.image = "ghcr.io/flyteorg/flyte:py3.11-v2.12.1"
        template.container.command.extend(command)
        template.container.args.extend(args)
        for key, value in (env or {}).items():
            template.container.env.add(key=key, value=value)
    return bytes(template.SerializeToString(deterministic=True))


def sdk_facts(
    root: Path,
    template: bytes | None = None,
    *,
    env: Mapping[str, str] | None = None,
    attempt: int = 1,
    project: str = "proj",
    domain: str = "dev",
    output_prefix: str | None = None,
    input_prefix: str | None = None,
    prev_checkpoint_prefix: str = "",
) -> TaskExecutionContext:
    """The facts of attempt ``attempt`` of an SDK task, files under ``root`` unless prefixes are given."""
    raw = template if template is not None else sdk_template_bytes()
    decoded = decode_task_template(raw)
    prefix = output_prefix if output_prefix is not None else str(root / "out" / str(attempt))
    inputs = input_prefix if input_prefix is not None else str(root / "in")
    return TaskExecutionContext(
        namespace="default",
        name="ta",
        attempt=attempt,
        retry=attempt - 1,
        max_attempts=3,
        input_prefix=inputs,
        input_path=f"{inputs}/inputs.pb",
        output_prefix=prefix,
        raw_output_prefix=prefix,
        checkpoint_prefix=f"{prefix}/_flytecheckpoints",
        prev_checkpoint_prefix=prev_checkpoint_prefix,
        generated_name=f"ta-{attempt - 1}",
        task_execution_id=TaskExecutionId(project, domain, "run-1", "act-1", attempt - 1, None),
        owner=OwnerReference(name="ta", uid="uid-1"),
        labels=pmap(),
        annotations=pmap(),
        env=pmap(
            {"ACTION_NAME": "act-1", "RUN_NAME": "run-1", "_U_RUN_BASE": str(root / "runs"), "_U_ORG_NAME": "local"}
            | dict(env or {})
        ),
        service_account="",
        interruptible=False,
        template=decoded.unwrap(),
        template_bytes=raw,
        task_type="python",
        plugin_state=b"",
        plugin_state_version=0,
    )
