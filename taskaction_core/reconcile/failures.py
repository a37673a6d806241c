"""System-error accounting and permanent failure (R57–R63).

"System failure" is infrastructure trouble (a plugin call error, a SYSTEM retryable phase, and with D5 the failures
Go would retry forever); "attempt" is the user's retry budget. The two never share a counter.

Go: ``taskaction_controller.go recordSystemError``, ``finalizePermanentFailure``, ``resetPluginResource``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from pyrsistent.typing import PVector

from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Decision, Done, RequeueAfter
from taskaction_core.effects import (
    AbortPlugin,
    FailPass,
    FinalEffect,
    Ignore,
    Log,
    LogLevel,
    PersistStatus,
    RecordWarning,
    StatusScope,
)
from taskaction_core.fastinit import fast_init
from taskaction_core.gofmt import go_quote
from taskaction_core.phase_info import ExecutionError, PhaseInfo, phase_info_failed
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy, max_system_failures
from taskaction_core.reconcile.cache import CacheConfig, release_cache_reservation
from taskaction_core.reconcile.status import (
    StatusView,
    map_phase_to_conditions,
    status_changed,
    update_task_action_status,
    with_terminal_labels,
)
from taskaction_core.records import TaskAction

NON_RETRYABLE_CODES: Final = ("BadTaskSpecification", "MetadataTooLarge")
"""R58, checked in this order."""
CODE_MAX_SYSTEM_FAILURES: Final = "MaxSystemFailuresExceeded"
MSG_SYSTEM_RETRYABLE: Final = "system retryable failure"


@fast_init
@dataclass(frozen=True, slots=True)
class SystemErrorText:
    """An infrastructure error to account for: its full text and the Flyte codes along its cause chain (R58)."""

    message: str
    codes: tuple[str, ...] | PVector[str] = ()


@fast_init
@dataclass(frozen=True, slots=True)
class Cleanup:
    """What D3 needs to clean up when the ceiling is reached: the plugin resource and a held reservation."""

    plugin_id: str
    context: TaskExecutionContext | None
    cache: CacheConfig | None


def non_retryable_code(error: SystemErrorText) -> str | None:
    """R58: the first non-retryable code (in R58's order) carried anywhere along the cause chain."""
    for code in NON_RETRYABLE_CODES:
        if code in error.codes:
            return code
    return None


# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_RETRYABLE_FAILURE, _SYSTEM = PluginPhase.RETRYABLE_FAILURE, ErrorKind.SYSTEM


def is_system_retryable_failure(info: PhaseInfo) -> bool:
    """R63: a RetryableFailure phase whose error is of kind SYSTEM."""
    return info.phase is _RETRYABLE_FAILURE and info.err is not None and info.err.kind is _SYSTEM


def system_error_from_phase_info(info: PhaseInfo) -> SystemErrorText:
    """R63: ``[<code>] <message>``, or ``system retryable failure``; it carries no code (Q15)."""
    if info.err is None:
        return SystemErrorText(MSG_SYSTEM_RETRYABLE)
    return SystemErrorText(f"[{info.err.code}] {info.err.message}")


def reset_plugin_resource(
    working: TaskAction, plugin_id: str, context: TaskExecutionContext
) -> tuple[TaskAction, AbortPlugin]:
    """R62: abort the resource (errors only logged) and forget the plugin state; attempts stay, so the relaunch
    reuses the resource name (Q25). Go: ``resetPluginResource``."""
    status = replace(working.status, plugin_state=b"", plugin_state_version=0)
    abort = AbortPlugin(plugin_id, context, Ignore("aborting the plugin resource before a system retry failed"))
    return replace(working, status=status), abort


def record_system_error(
    original: TaskAction,
    working: TaskAction,
    error: SystemErrorText,
    cleanup: Cleanup,
    now: datetime,
    policy: Policy,
    effects: tuple[FinalEffect, ...] = (),
) -> Decision:
    """R57: count one system failure, or fail permanently on a non-retryable code or past the ceiling.

    Below the ceiling Go writes the counter best-effort against the stale object and ignores errors (Q5); with D4
    the write is retried on conflict and a failure fails the pass, so the count cannot be lost.
    Go: ``recordSystemError``.
    """
    code = non_retryable_code(error)
    if code is not None:
        exec_error = ExecutionError(code, error.message, ErrorKind.USER)
        return finalize_permanent_failure(original, working, exec_error, cleanup, now, policy, effects)
    warning = RecordWarning(
        "FailedPluginHandle", "HandlingPlugin", f"Plugin {go_quote(cleanup.plugin_id)} system error: {error.message}"
    )
    effects = (*effects, Log(LogLevel.ERROR, f"plugin system error: {error.message}"), warning)
    failures = working.status.system_failures + 1
    working = replace(working, status=replace(working.status, system_failures=failures))
    if failures > max_system_failures(policy):
        message = f"plugin {go_quote(cleanup.plugin_id)} failed with system error {failures} times: {error.message}"
        exec_error = ExecutionError(CODE_MAX_SYSTEM_FAILURES, message, ErrorKind.SYSTEM)
        return finalize_permanent_failure(original, working, exec_error, cleanup, now, policy, effects)
    if status_changed(original.status, working.status, policy):
        effects = (*effects, _persist_system_failures(original, working, policy))
    return Decision(working, effects, RequeueAfter(policy.requeue_after))


def _persist_system_failures(original: TaskAction, working: TaskAction, policy: Policy) -> PersistStatus:
    rv = original.metadata.resource_version
    if policy.fixes(Deviation.D4_DURABLE_SYSTEM_FAILURE_COUNT):
        return PersistStatus(working.status, StatusScope.WHOLE, True, rv, FailPass())
    return PersistStatus(working.status, StatusScope.WHOLE, False, rv, Ignore("best-effort system failure count"))


def finalize_permanent_failure(
    original: TaskAction,
    working: TaskAction,
    exec_error: ExecutionError,
    cleanup: Cleanup,
    now: datetime,
    policy: Policy,
    effects: tuple[FinalEffect, ...] = (),
) -> Decision:
    """R61: fail permanently with ``exec_error``: conditions, ErrorState and history, then event + status, then
    the GC labels; result DONE. Attempts, cacheStatus, stateJson and plugin state are left as they are.

    With D3 the plugin resource is aborted and a held reservation released first (Go leaks both, Q4).
    Go: ``finalizePermanentFailure``.
    """
    info = phase_info_failed(now, PluginPhase.PERMANENT_FAILURE, exec_error, None)
    status = working.status
    view = map_phase_to_conditions(
        StatusView(status.conditions, status.phase_history, status.error_state), info, now, policy
    )
    status = replace(
        status,
        conditions=view.conditions,
        phase_history=view.history,
        error_state=view.error_state,
        plugin_phase=PluginPhase.PERMANENT_FAILURE.wire_name,
        plugin_phase_version=0,
    )
    working = replace(working, status=status)
    effects = (*effects, *_ceiling_cleanup(cleanup, policy))
    effects = (*effects, *update_task_action_status(original, working, info, now, policy))
    working, labels = with_terminal_labels(working, now)
    return Decision(working, (*effects, *labels), Done())


def _ceiling_cleanup(cleanup: Cleanup, policy: Policy) -> tuple[FinalEffect, ...]:
    if not policy.fixes(Deviation.D3_CLEANUP_AT_SYSTEM_CEILING):
        return ()
    effects: list[FinalEffect] = []
    if cleanup.context is not None:
        effects.append(AbortPlugin(cleanup.plugin_id, cleanup.context, Ignore("abort at permanent failure failed")))
    if cleanup.cache is not None and cleanup.cache.serializable:
        effects.append(release_cache_reservation(cleanup.cache))
    return tuple(effects)
