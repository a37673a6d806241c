"""Builders with sensible defaults for tests: a valid TaskAction of each kind in one call.

    ta = a_task_action(cacheable=True, serializable=True, retries=2)
    obs = observations_at(T0)                       # plugin "test-plugin" resolved
    obs = observations_at(T0, handle=running())     # a Handle outcome

Every builder takes keyword overrides; nothing here is random, so tests stay deterministic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flyteidl2.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl2.workflow import run_definition_pb2
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.observations import (
    HandleOutcome,
    Observations,
    PluginFailure,
    PluginHandled,
    PluginResolved,
    PluginStateWrite,
    PortFailure,
)
from taskaction_core.phase_info import (
    ExecutionError,
    PhaseInfo,
    TaskInfo,
    Transition,
)
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.records import (
    ACTION_TYPE_CONDITION,
    FINALIZER,
    ObjectMeta,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)

T0 = datetime(2026, 8, 8, 12, 0, 0, tzinfo=UTC)
"""A fixed instant for deterministic tests."""

PLUGIN_ID = "test-plugin"


def a_template_bytes(
    *,
    name: str = "demo_env.add",
    version: str = "v1",
    with_id: bool = True,
    with_metadata: bool = True,
    cacheable: bool = False,
    serializable: bool = False,
    retries: int | None = 0,
    ignore_inputs: tuple[str, ...] = (),
    timeout: timedelta | None = None,
    secrets: bool = False,
    task_type: str = "python",
) -> bytes:
    """A serialized ``core.TaskTemplate`` built with flyteidl2 itself."""
    template = tasks_pb2.TaskTemplate(type=task_type)
    if with_id:
        template.id.CopyFrom(
            identifier_pb2.Identifier(
                resource_type=identifier_pb2.TASK, project="p", domain="d", org="o", name=name, version=version
            )
        )
    if with_metadata:
        metadata = template.metadata
        metadata.discoverable = cacheable
        metadata.cache_serializable = serializable
        metadata.discovery_version = "dv1"
        metadata.cache_ignore_input_vars.extend(ignore_inputs)
        if retries is not None:
            metadata.retries.CopyFrom(literals_pb2.RetryStrategy(retries=retries))
        if timeout is not None:
            metadata.timeout.FromTimedelta(timeout)
    integer = types_pb2.LiteralType(simple=types_pb2.INTEGER)
    template.interface.inputs.variables.add(key="x", value=interface_pb2.Variable(type=integer))
    template.interface.outputs.variables.add(key="o0", value=interface_pb2.Variable(type=integer))
    if secrets:
        template.security_context.secrets.add(group="g", key="k")
    return bytes(template.SerializeToString(deterministic=True))


def a_condition_spec_bytes(*, timeout: timedelta | None = None, name: str = "approve") -> bytes:
    """A serialized ``workflow.ConditionAction``."""
    spec = run_definition_pb2.ConditionAction(name=name, prompt="approve?")
    if timeout is not None:
        spec.timeout.FromTimedelta(timeout)
    return bytes(spec.SerializeToString(deterministic=True))


def a_task_action(
    *,
    name: str = "ta",
    namespace: str = "default",
    with_finalizer: bool = True,
    status: TaskActionStatus | None = None,
    labels: dict[str, str] | None = None,
    resource_version: str = "",
    run_output_base: str = "s3://bucket/run",
    cache_key: str = "ck",
    **template: Any,
) -> TaskAction:
    """A valid task TaskAction (finalizer already on unless ``with_finalizer=False``); template options go to
    :func:`a_template_bytes`."""
    metadata = ObjectMeta(
        name=name,
        namespace=namespace,
        uid=f"uid-{name}",
        labels=pmap(labels or {}),
        finalizers=pvector([FINALIZER]) if with_finalizer else pvector(),
        creation_timestamp=T0,
        resource_version=resource_version,
        generation=1,
    )
    spec = TaskActionSpec(
        run_name="run1",
        project="p",
        domain="d",
        action_name="a0",
        action_type="task",
        input_uri="s3://bucket/run/a0/inputs.pb",
        run_output_base=run_output_base,
        cache_key=cache_key,
        task_type="python",
        task_template=a_template_bytes(**template),
    )
    return TaskAction(metadata, spec, status or TaskActionStatus())


def a_condition_action(*, name: str = "cond", timeout: timedelta | None = None, **status: Any) -> TaskAction:
    """A condition TaskAction created at :data:`T0`; keyword arguments set status fields."""
    metadata = ObjectMeta(
        name=name, namespace="default", uid=f"uid-{name}", creation_timestamp=T0, resource_version="1"
    )
    spec = TaskActionSpec(
        run_name="run1",
        project="p",
        domain="d",
        action_name=name,
        action_type=ACTION_TYPE_CONDITION,
        condition_spec=a_condition_spec_bytes(timeout=timeout),
    )
    return TaskAction(metadata, spec, replace(TaskActionStatus(), **status))


def observations_at(now: datetime = T0, *, plugin_id: str | None = PLUGIN_ID, **outcomes: Any) -> Observations:
    """Observations at ``now`` with the plugin resolved (``plugin_id=None``: no plugin found)."""
    plugin: Any = (
        Success(PluginResolved(plugin_id))
        if plugin_id is not None
        else Failure(PortFailure('no plugin registered for task type "python" and no default plugin available'))
    )
    return Observations(now=now, plugin=plugin, **outcomes)


def handled(info: PhaseInfo, state: PluginStateWrite | None = None) -> HandleOutcome:
    """A successful Handle outcome reporting ``info``."""
    return Success(PluginHandled(Transition(info), state))


def handle_failed(message: str, *codes: str) -> HandleOutcome:
    """A Handle error with the given cause-chain codes."""
    return Failure(PluginFailure(message, tuple(codes)))


def running(version: int = 0, now: datetime = T0) -> HandleOutcome:
    """Handle reported Running."""
    return handled(PhaseInfo(PluginPhase.RUNNING, version, TaskInfo(occurred_at=now)))


def succeeded(now: datetime = T0) -> HandleOutcome:
    """Handle reported Success."""
    return handled(PhaseInfo(PluginPhase.SUCCESS, 0, TaskInfo(occurred_at=now)))


def retryable(code: str = "ValueError", message: str = "boom", kind: ErrorKind = ErrorKind.USER) -> HandleOutcome:
    """Handle reported a RetryableFailure of ``kind``."""
    err = ExecutionError(code, message, kind)
    return handled(PhaseInfo(PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), err))
