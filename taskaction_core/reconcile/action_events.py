"""ActionEvent construction (R68–R76).

Go: ``taskaction_controller.go buildActionEvent`` and its helpers.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Final

from pyrsistent import pvector
from pyrsistent.typing import PVector
from returns.result import Success

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, ErrorInfo, OutputReferences
from taskaction_core.fastinit import constructor
from taskaction_core.output_path import compute_action_output_path, outputs_uri, report_uri
from taskaction_core.phase_info import PhaseInfo, TaskInfo
from taskaction_core.phases import CacheStatus, ErrorKind, to_action_phase
from taskaction_core.records import TaskAction

# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_DISABLED: Final = CacheStatus.CACHE_DISABLED
# Built on every status write without ``type.__call__``, keywords included (fastinit.constructor, design.md §7).
_action_event: Final = constructor(ActionEvent)
_cluster_event: Final = constructor(ClusterEvent)


def observed_cache_status(info: TaskInfo | None) -> CacheStatus:
    """R73: the first non-DISABLED cache status among the external resources, else DISABLED.

    Go: ``observedCacheStatus`` / ``cacheStatusFromExternalResources``.
    """
    if info is None:
        return _DISABLED
    for resource in info.external_resources:
        if resource.cache_status != _DISABLED:
            return resource.cache_status
    return _DISABLED


def to_error_info(info: PhaseInfo) -> ErrorInfo | None:
    """R70: message and kind only (the code is not sent); an unknown kind becomes KIND_UNSPECIFIED."""
    if info.err is None:
        return None
    kind = info.err.kind if info.err.kind in (ErrorKind.USER, ErrorKind.SYSTEM) else ErrorKind.UNKNOWN
    return ErrorInfo(info.err.message, kind)


def to_cluster_events(info: PhaseInfo, fallback: datetime) -> PVector[ClusterEvent] | None:
    """R71: the PhaseInfo reason first, then every additional reason; None when there is neither."""
    task_info = info.info
    reasons = task_info.additional_reasons if task_info is not None else pvector()
    if not info.reason and not reasons:
        return None
    events: list[ClusterEvent] = []
    if info.reason:
        occurred = task_info.occurred_at if task_info is not None and task_info.occurred_at is not None else fallback
        events.append(_cluster_event(info.reason, occurred))
    for reason in reasons:
        events.append(_cluster_event(reason.reason, reason.occurred_at or fallback))
    return pvector(events)


def output_refs(task_action: TaskAction, attempt: int) -> OutputReferences | None:
    """R72: output and report URIs of the attempt, for every event whether or not outputs exist.

    Memoized on the fields it reads: every event of an attempt carries the same references.
    """
    meta, spec = task_action.metadata, task_action.spec
    return _output_refs(meta.namespace, meta.name, spec.run_output_base, spec.action_name, attempt)


@lru_cache(maxsize=4096)
def _output_refs(namespace: str, name: str, base: str, action_name: str, attempt: int) -> OutputReferences | None:
    if not base:
        return None
    prefix = compute_action_output_path(namespace, name, base, action_name, attempt)
    if not isinstance(prefix, Success):
        return None
    return OutputReferences(outputs_uri(prefix.unwrap()), report_uri(prefix.unwrap()))


def updated_timestamp(task_action: TaskAction, now: datetime) -> datetime:
    """R75: when the current history phase was entered (Q19), or now with an empty history."""
    history = task_action.status.phase_history
    return history[-1].occurred_at if history else now


def build_action_event(
    task_action: TaskAction,
    info: PhaseInfo,
    now: datetime,
    cluster: str,
    updated_time: datetime | None = None,
) -> ActionEvent:
    """R68: the ActionEvent for ``info`` as seen on ``task_action`` (the working object, after R41).

    ``updated_time`` overrides R75, as the abort event does (R90). Validation annotations are not enforced (R76).
    Go: ``taskaction_controller.go buildActionEvent``.
    """
    meta, spec, status = task_action.metadata, task_action.spec, task_action.status
    attempts = status.attempts
    attempt = attempts if attempts > 0 else 1  # naming.observed_attempt, inlined: every status write builds one
    action_id, outputs = _event_references(
        spec.project,
        spec.domain,
        spec.run_name,
        spec.action_name,
        meta.namespace,
        meta.name,
        spec.run_output_base,
        attempt,
    )
    if updated_time is not None:
        updated = updated_time
    else:  # updated_timestamp (R75), inlined
        history = status.phase_history
        updated = history[-1].occurred_at if history else now
    task_info = info.info
    return _action_event(
        id=action_id,
        attempt=attempt,
        phase=to_action_phase(info.phase),
        version=info.version,
        updated_time=updated,
        reported_time=now,
        cluster=cluster,
        error_info=to_error_info(info),
        outputs=outputs,
        cluster_events=to_cluster_events(info, updated),
        log_info=task_info.logs if task_info is not None else pvector(),
        log_context=task_info.log_context if task_info is not None else b"",
        cache_status=observed_cache_status(task_info),
    )


@lru_cache(maxsize=4096)
def _event_references(
    project: str, domain: str, run_name: str, action_name: str, namespace: str, name: str, base: str, attempt: int
) -> tuple[ActionId, OutputReferences | None]:
    """The event's ActionId and R72 output references in one memo lookup: every event of an attempt carries both."""
    return ActionId(project, domain, run_name, action_name), _output_refs(namespace, name, base, action_name, attempt)
