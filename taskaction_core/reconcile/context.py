"""Task execution context facts (R103–R107), built lazily: a steady round only checks that they can be built.

Go: ``executor/pkg/plugin/task_exec_context.go NewTaskExecutionContext`` and ``task_exec_metadata.go``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from pyrsistent.typing import PMap
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
from taskaction_core.records import TaskAction, TaskActionSpec
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
    return _attempt_context(
        meta.namespace,
        meta.name,
        meta.uid,
        meta.labels,
        meta.annotations,
        spec,
        observed_attempt(status.attempts),
        status.plugin_state,
        status.plugin_state_version,
        policy.default_service_account,
    )


def _build_context(
    namespace: str,
    name: str,
    uid: str,
    labels: PMap[str, str],
    annotations: PMap[str, str],
    spec: TaskActionSpec,
    attempt: int,
    plugin_state: bytes,
    plugin_state_version: int,
    default_service_account: str,
) -> TaskExecutionContext:
    """The context on exactly the fields it reads; ``attempt`` is the observed 1-based one, so attempts 0 and 1
    share a memo entry (:data:`_attempt_context`), as they share every fact."""
    retry = attempt_to_retry(attempt)
    base, action = spec.run_output_base, spec.action_name
    # context_error has been checked: both paths are valid.
    prefix = compute_action_output_path(namespace, name, base, action, attempt).unwrap()
    previous = (
        checkpoint_prefix(compute_action_output_path(namespace, name, base, action, attempt - 1).unwrap())
        if attempt >= 2
        else ""
    )
    decoded = decode_task_template(spec.task_template)
    known = decoded.unwrap() if isinstance(decoded, Success) else _EMPTY_TEMPLATE
    task_name = known.id.name if known.id is not None else ""
    in_prefix = input_prefix(spec.input_uri)
    return _task_execution_context(
        namespace=namespace,
        name=name,
        attempt=attempt,
        retry=retry,
        max_attempts=max_attempts(known.metadata.retries if known.metadata is not None else None),
        input_prefix=in_prefix,
        input_path=input_path(in_prefix),
        output_prefix=prefix,
        raw_output_prefix=prefix,
        checkpoint_prefix=checkpoint_prefix(prefix),
        prev_checkpoint_prefix=previous,
        generated_name=generated_name(name, retry),
        task_execution_id=_execution_id(spec, retry, known.id),
        owner=_owner_reference(name, uid),
        labels=pod_labels(
            labels, spec.project, spec.domain, spec.run_name, spec.action_name, retry, task_name, known.has_secrets
        ),
        annotations=annotations,
        env=task_environment(spec.action_name, spec.run_name, spec.run_output_base, spec.env_vars),
        service_account=service_account(known.service_account, default_service_account),
        interruptible=spec.interruptible is True,
        template=known,
        template_bytes=spec.task_template,
        task_type=spec.task_type,
        plugin_state=plugin_state,
        plugin_state_version=plugin_state_version,
    )


_attempt_context: Final = lru_cache(maxsize=1024)(_build_context)
""":func:`_build_context` memoized: every plugin call of an attempt whose plugin state has not changed gets the same
context (the object's resourceVersion and conditions change between them, so the TaskAction itself is no key).
Without a hit the context costs about 90,000 machine instructions. Wrapped rather than decorated, so the builder's
logic stays mutation-tested (mutmut skips decorated functions)."""


def task_execution_id(task_action: TaskAction, task_id: Identifier | None) -> TaskExecutionId:
    """R105: the task execution identifier; ``task_id`` is absent when the template is unparsable or has no id."""
    return _execution_id(task_action.spec, attempt_to_retry(task_action.status.attempts), task_id)


def _execution_id(spec: TaskActionSpec, retry: int, task_id: Identifier | None) -> TaskExecutionId:
    return TaskExecutionId(
        project=spec.project,
        domain=spec.domain,
        run_name=spec.run_name,
        node_id=spec.action_name,
        retry_attempt=retry,
        task_id=task_id,
    )
