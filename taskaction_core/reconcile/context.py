"""Task execution context facts (R103–R107), built lazily: a steady round only checks that they can be built.

Go: ``executor/pkg/plugin/task_exec_context.go NewTaskExecutionContext`` and ``task_exec_metadata.go``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from returns.result import Failure, Result, Success

from taskaction_core.context import OwnerReference, TaskExecutionContext, TaskExecutionId
from taskaction_core.fastinit import constructor
from taskaction_core.idl import decode_task_template
from taskaction_core.naming import (
    attempt_to_retry,
    generated_name,
    max_attempts,
    observed_attempt,
    pod_labels,
    service_account,
    task_environment,
)
from taskaction_core.output_path import checkpoint_prefix, compute_action_output_path, input_path, input_prefix
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction
from taskaction_core.template import Identifier, TaskTemplate

_EMPTY_TEMPLATE = TaskTemplate()


def decoded_template(task_action: TaskAction) -> TaskTemplate | None:
    """The parsed ``spec.taskTemplate``, or None when it does not parse (the context then has no task id, R105)."""
    decoded = decode_task_template(task_action.spec.task_template)
    return decoded.unwrap() if isinstance(decoded, Success) else None


def output_prefix(task_action: TaskAction, attempt: int) -> Result[str, str]:
    """R103/R108: the output prefix of ``attempt``; the error text is the one R33 logs."""
    meta, spec = task_action.metadata, task_action.spec
    path = compute_action_output_path(meta.namespace, meta.name, spec.run_output_base, spec.action_name, attempt)
    if type(path) is Failure:
        error: str = path.failure().message
        return Failure(error)
    prefix: str = path.unwrap()
    return Success(prefix)


def current_output_prefix(task_action: TaskAction) -> str:
    """R103: the output prefix of the current attempt; callers have checked :func:`context_error` first."""
    meta, spec = task_action.metadata, task_action.spec
    attempt = observed_attempt(task_action.status.attempts)
    path: str = compute_action_output_path(
        meta.namespace, meta.name, spec.run_output_base, spec.action_name, attempt
    ).value_or("")
    return path


def context_error(task_action: TaskAction) -> str | None:
    """R33: why the context cannot be built (the current or previous attempt's path is invalid), else None."""
    meta, spec = task_action.metadata, task_action.spec
    return attempt_context_error(
        meta.namespace, meta.name, spec.run_output_base, spec.action_name, task_action.status.attempts
    )


@lru_cache(maxsize=4096)
def attempt_context_error(namespace: str, name: str, base: str, action: str, attempts: int) -> str | None:
    """:func:`context_error` on the fields it reads (memoized)."""
    for attempt in (attempts, attempts - 1) if attempts >= 2 else (1,):
        path = compute_action_output_path(namespace, name, base, action, attempt)
        if isinstance(path, Failure):
            error: str = path.failure().message
            return error
    return None


def build_task_execution_context(task_action: TaskAction, policy: Policy) -> Result[TaskExecutionContext, str]:
    """R103–R107: every fact a plugin call needs about the current attempt.

    Fails only as R33 does (an invalid ``runOutputBase`` for the current or previous attempt).
    """
    error = context_error(task_action)
    if error is not None:
        return Failure(error)
    return Success(_context(task_action, policy))


_task_execution_context: Final = constructor(TaskExecutionContext)
_owner_reference: Final = constructor(OwnerReference)
"""Built on every plugin call, without ``type.__call__`` (fastinit.constructor, docs/design.md §7)."""


def _context(task_action: TaskAction, policy: Policy) -> TaskExecutionContext:
    meta, spec, status = task_action.metadata, task_action.spec, task_action.status
    attempt = observed_attempt(status.attempts)
    retry = attempt_to_retry(status.attempts)
    prefix = output_prefix(task_action, attempt).unwrap()
    previous = (
        checkpoint_prefix(output_prefix(task_action, status.attempts - 1).unwrap()) if status.attempts >= 2 else ""
    )
    template = decoded_template(task_action)
    known = template or _EMPTY_TEMPLATE
    task_name = known.id.name if known.id is not None else ""
    in_prefix = input_prefix(spec.input_uri)
    return _task_execution_context(
        namespace=meta.namespace,
        name=meta.name,
        attempt=attempt,
        retry=retry,
        max_attempts=max_attempts(known.metadata.retries if known.metadata is not None else None),
        input_prefix=in_prefix,
        input_path=input_path(in_prefix),
        output_prefix=prefix,
        raw_output_prefix=prefix,
        checkpoint_prefix=checkpoint_prefix(prefix),
        prev_checkpoint_prefix=previous,
        generated_name=generated_name(meta.name, retry),
        task_execution_id=task_execution_id(task_action, known.id),
        owner=_owner_reference(meta.name, meta.uid),
        labels=pod_labels(
            meta.labels, spec.project, spec.domain, spec.run_name, spec.action_name, retry, task_name, known.has_secrets
        ),
        annotations=meta.annotations,
        env=task_environment(spec.action_name, spec.run_name, spec.run_output_base, spec.env_vars),
        service_account=service_account(known.service_account, policy.default_service_account),
        interruptible=spec.interruptible is True,
        template=known,
        template_bytes=spec.task_template,
        task_type=spec.task_type,
        plugin_state=status.plugin_state,
        plugin_state_version=status.plugin_state_version,
    )


def task_execution_id(task_action: TaskAction, task_id: Identifier | None) -> TaskExecutionId:
    """R105: the task execution identifier; ``task_id`` is absent when the template is unparsable or has no id."""
    spec = task_action.spec
    return TaskExecutionId(
        project=spec.project,
        domain=spec.domain,
        run_name=spec.run_name,
        node_id=spec.action_name,
        retry_attempt=attempt_to_retry(task_action.status.attempts),
        task_id=task_id,
    )
