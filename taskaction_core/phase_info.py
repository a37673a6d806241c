"""What a plugin reports: PhaseInfo, Transition, TaskInfo, ExternalResource, ReasonInfo, ExecutionError (R17–R23).

The constructors reproduce Go's normalisation (R18): every PhaseInfo except Undefined carries a TaskInfo, and that
TaskInfo always has an ``occurred_at``. Go mutates the caller's TaskInfo to do this; here records are immutable, so
the constructors return a normalised copy instead (no caller can observe the difference through the reconciler).
Because the core reads no clock, every constructor that may need "now" takes it as an argument.

Go: ``flyteplugins/go/tasks/pluginmachinery/core/phase.go`` and ``transition.go``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum
from typing import Final

from pyrsistent import pvector
from pyrsistent.typing import PVector

from taskaction_core.fastinit import fast_init
from taskaction_core.phases import CacheStatus, ErrorKind, PluginPhase

DEFAULT_PHASE_VERSION: Final = 0
SYSTEM_ERROR_CODE: Final = "SystemError"
"""R18: declared by Go, never used by the reconciler."""


@fast_init
@dataclass(frozen=True, slots=True)
class ExecutionError:
    """``core.ExecutionError`` as the reconciler reads it: code, message and kind (R23)."""

    code: str
    message: str
    kind: ErrorKind = ErrorKind.UNKNOWN


@fast_init
@dataclass(frozen=True, slots=True)
class TaskLog:
    """``core.TaskLog``: a link to the attempt's logs, forwarded verbatim into ActionEvents (R68)."""

    uri: str
    name: str = ""
    message_format: int = 0
    ttl_seconds: int = 0
    show_while_pending: bool = False
    hide_once_finished: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class ReasonInfo:
    """An additional reason (R22); becomes a cluster event (R71)."""

    reason: str
    occurred_at: datetime | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class ExternalResource:
    """An external resource (R22). The reconciler reads only ``cache_status`` (R73)."""

    external_id: str
    cache_status: CacheStatus = CacheStatus.CACHE_DISABLED
    index: int = 0
    retry_attempt: int = 0
    phase: PluginPhase = PluginPhase.UNDEFINED


_NO_LOGS: PVector[TaskLog] = pvector()
_NO_RESOURCES: PVector[ExternalResource] = pvector()
_NO_REASONS: PVector[ReasonInfo] = pvector()


@fast_init
@dataclass(frozen=True, slots=True)
class TaskInfo:
    """``TaskInfo`` (R21). ``log_context`` is the serialized ``core.LogContext`` (opaque to the core)."""

    occurred_at: datetime | None = None
    logs: PVector[TaskLog] = _NO_LOGS
    log_context: bytes = b""
    reported_at: datetime | None = None
    external_resources: PVector[ExternalResource] = _NO_RESOURCES
    additional_reasons: PVector[ReasonInfo] = _NO_REASONS


@fast_init
@dataclass(frozen=True, slots=True)
class PhaseInfo:
    """``PhaseInfo`` (R17). Build it with the constructors below rather than directly."""

    phase: PluginPhase
    version: int = DEFAULT_PHASE_VERSION
    info: TaskInfo | None = None
    err: ExecutionError | None = None
    reason: str = ""
    cleanup_on_failure: bool = False

    def with_version(self, version: int) -> PhaseInfo:
        """Go ``WithVersion`` (R19): a copy with the new version that **drops** ``cleanup_on_failure`` (Q31)."""
        return replace(self, version=version, cleanup_on_failure=False)

    def with_reason(self, reason: str) -> PhaseInfo:
        """Go ``WithReason`` (R19): set the reason, or append ``", " + reason`` to an existing one."""
        return replace(self, reason=reason if not self.reason else f"{self.reason}, {reason}")


class TransitionType(IntEnum):
    """R20: the reconciler ignores the type."""

    EPHEMERAL = 0
    BARRIER = 1


@fast_init
@dataclass(frozen=True, slots=True)
class Transition:
    """``Transition`` (R20): what ``Plugin.Handle`` returns."""

    info: PhaseInfo
    type: TransitionType = TransitionType.EPHEMERAL


PHASE_INFO_UNDEFINED: Final = PhaseInfo(PluginPhase.UNDEFINED)
"""R17: phase Undefined, version 0, no info, error or reason."""

UNKNOWN_TRANSITION: Final = Transition(PHASE_INFO_UNDEFINED)
"""R20: Ephemeral + Undefined."""


def do_transition(info: PhaseInfo) -> Transition:
    """Go ``DoTransition`` (R20)."""
    return Transition(info)


def _normalised(info: TaskInfo | None, now: datetime) -> TaskInfo:
    """R18 normalisation: a TaskInfo always exists and always has ``occurred_at``."""
    if info is None:
        return TaskInfo(occurred_at=now)
    if info.occurred_at is None:
        return replace(info, occurred_at=now)
    return info


def _phase(
    phase: PluginPhase,
    version: int,
    info: TaskInfo | None,
    now: datetime,
    reason: str = "",
    err: ExecutionError | None = None,
    cleanup: bool = False,
) -> PhaseInfo:
    return PhaseInfo(phase, version, _normalised(info, now), err, reason, cleanup)


def phase_info_not_ready(t: datetime, version: int, reason: str) -> PhaseInfo:
    """Go ``PhaseInfoNotReady`` (R18): info = ``{OccurredAt: t}``."""
    return _phase(PluginPhase.NOT_READY, version, TaskInfo(occurred_at=t), t, reason)


def phase_info_waiting_for_resources(t: datetime, version: int, reason: str) -> PhaseInfo:
    """Go ``PhaseInfoWaitingForResources`` (R18, deprecated)."""
    return _phase(PluginPhase.WAITING_FOR_RESOURCES, version, TaskInfo(occurred_at=t), t, reason)


def phase_info_queued(t: datetime, version: int, reason: str) -> PhaseInfo:
    """Go ``PhaseInfoQueued`` (R18)."""
    return _phase(PluginPhase.QUEUED, version, TaskInfo(occurred_at=t), t, reason)


def phase_info_aborted(t: datetime, version: int, reason: str) -> PhaseInfo:
    """Go ``PhaseInfoAborted`` (R18)."""
    return _phase(PluginPhase.ABORTED, version, TaskInfo(occurred_at=t), t, reason)


def phase_info_waiting_for_resources_info(now: datetime, version: int, reason: str, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoWaitingForResourcesInfo`` (R18): Go's time argument is ignored (Q31), so none is taken."""
    return _phase(PluginPhase.WAITING_FOR_RESOURCES, version, info, now, reason)


def phase_info_queued_with_task_info(now: datetime, version: int, reason: str, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoQueuedWithTaskInfo`` (R18): the time argument is ignored (Q31)."""
    return _phase(PluginPhase.QUEUED, version, info, now, reason)


def phase_info_initializing(now: datetime, version: int, reason: str, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoInitializing`` (R18): the time argument is ignored (Q31)."""
    return _phase(PluginPhase.INITIALIZING, version, info, now, reason)


def phase_info_running(now: datetime, version: int, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoRunning`` (R18): no reason."""
    return _phase(PluginPhase.RUNNING, version, info, now)


def phase_info_waiting_for_cache(now: datetime, version: int, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoWaitingForCache`` (R18): no reason."""
    return _phase(PluginPhase.WAITING_FOR_CACHE, version, info, now)


def phase_info_success(now: datetime, info: TaskInfo | None) -> PhaseInfo:
    """Go ``PhaseInfoSuccess`` (R18): version 0, no reason."""
    return _phase(PluginPhase.SUCCESS, DEFAULT_PHASE_VERSION, info, now)


def phase_info_failed(
    now: datetime, phase: PluginPhase, err: ExecutionError | None, info: TaskInfo | None
) -> PhaseInfo:
    """Go ``PhaseInfoFailed`` (R18): version 0, the error as given (it may be absent), no reason."""
    return _phase(phase, DEFAULT_PHASE_VERSION, info, now, err=err)


def _coded(
    now: datetime,
    phase: PluginPhase,
    kind: ErrorKind,
    code: str,
    message: str,
    info: TaskInfo | None,
    cleanup: bool,
) -> PhaseInfo:
    return _phase(phase, DEFAULT_PHASE_VERSION, info, now, err=ExecutionError(code, message, kind), cleanup=cleanup)


def phase_info_failure(
    now: datetime, code: str, message: str, info: TaskInfo | None, cleanup: bool = False
) -> PhaseInfo:
    """Go ``PhaseInfoFailure`` / ``...WithCleanup`` (R18): PermanentFailure of kind USER."""
    return _coded(now, PluginPhase.PERMANENT_FAILURE, ErrorKind.USER, code, message, info, cleanup)


def phase_info_system_failure(
    now: datetime, code: str, message: str, info: TaskInfo | None, cleanup: bool = False
) -> PhaseInfo:
    """Go ``PhaseInfoSystemFailure`` / ``...WithCleanup`` (R18): PermanentFailure of kind SYSTEM."""
    return _coded(now, PluginPhase.PERMANENT_FAILURE, ErrorKind.SYSTEM, code, message, info, cleanup)


def phase_info_retryable_failure(
    now: datetime, code: str, message: str, info: TaskInfo | None, cleanup: bool = False
) -> PhaseInfo:
    """Go ``PhaseInfoRetryableFailure`` / ``...WithCleanup`` (R18): RetryableFailure of kind USER."""
    return _coded(now, PluginPhase.RETRYABLE_FAILURE, ErrorKind.USER, code, message, info, cleanup)


def phase_info_system_retryable_failure(
    now: datetime, code: str, message: str, info: TaskInfo | None, cleanup: bool = False
) -> PhaseInfo:
    """Go ``PhaseInfoSystemRetryableFailure`` / ``...WithCleanup`` (R18): RetryableFailure of kind SYSTEM."""
    return _coded(now, PluginPhase.RETRYABLE_FAILURE, ErrorKind.SYSTEM, code, message, info, cleanup)
