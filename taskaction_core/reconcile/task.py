"""The task path (R30–R48), step by step in Go's order.

Theory of operation. One pass validates the spec (R30), makes sure the finalizer is on (R31), checks that the task
execution context can be built (R33), consults the cache (R35), asks the plugin (R36), post-processes the cache
(R37), routes system and user retryable failures (R38–R40), maps the final phase to conditions and history (R41)
and writes event-then-status if anything changed (R46), then the GC labels (R47). Every outside answer arrives
through :class:`~taskaction_core.observations.Observations`; a missing one is asked for with :class:`Ask`.

Go: ``taskaction_controller.go reconcileTask``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Final, NamedTuple

from returns.result import Failure, Result, Success

from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Ask, Decision, Round, requeue_after
from taskaction_core.effects import (
    AbortPlugin,
    FinalEffect,
    Ignore,
    InvokePlugin,
    Log,
    LogLevel,
    PutCache,
)
from taskaction_core.fastinit import constructor
from taskaction_core.naming import max_attempts, observed_attempt
from taskaction_core.observations import Observations, PluginStateWrite
from taskaction_core.output_path import compute_action_output_path
from taskaction_core.phase_info import (
    ExecutionError,
    PhaseInfo,
    phase_info_failed,
    phase_info_queued,
)
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.action_events import observed_cache_status
from taskaction_core.reconcile.cache import (
    CacheConfig,
    PreExecution,
    cache_config,
    evaluate_cache_before_execution,
    post_execution,
)
from taskaction_core.reconcile.context import (
    attempt_context_error,
    build_task_execution_context,
    decoded_template,
)
from taskaction_core.reconcile.failures import (
    Cleanup,
    SystemErrorText,
    is_system_retryable_failure,
    record_system_error,
    reset_plugin_resource,
    system_error_from_phase_info,
)
from taskaction_core.reconcile.status import (
    mapped_status,
    record_action_event,
    state_json,
    terminal_metadata,
    update_task_action_status,
)
from taskaction_core.reconcile.validation import (
    decide_add_finalizer,
    decide_validation_failure,
    validate_task_action,
)
from taskaction_core.records import FINALIZER, TaskAction, TaskActionStatus, is_terminal

MSG_RESTARTING: Final = "restarting task"
CODE_MAX_RETRIES: Final = "MaxRetriesExceeded"
_LIVE_PHASES: Final = frozenset(
    p.wire_name
    for p in (
        PluginPhase.UNDEFINED,
        PluginPhase.WAITING_FOR_RESOURCES,
        PluginPhase.QUEUED,
        PluginPhase.INITIALIZING,
        PluginPhase.RUNNING,
    )
)


# Enum members read once: on CPython 3.11 every ``Enum.MEMBER`` lookup goes through EnumType's ``__getattr__``
# hook (about 1,000 machine instructions), which the hot path pays on every round (docs/design.md §7).
_D6, _D7 = Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES, Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE
_RETRYABLE_FAILURE = PluginPhase.RETRYABLE_FAILURE
# Records built on every round, through their constructor functions (fastinit.constructor, docs/design.md §7).
_task_action: Final = constructor(TaskAction)
_status: Final = constructor(TaskActionStatus)
_decision: Final = constructor(Decision)
_ask: Final = constructor(Ask)
_invoke_plugin: Final = constructor(InvokePlugin)


def reconcile_task(task_action: TaskAction, observations: Observations, policy: Policy) -> Round:
    """R30–R48: one pass of the task path."""
    invalid = validate_task_action(task_action, observations)
    if invalid is not None:
        return decide_validation_failure(task_action, invalid[0], invalid[1], observations.now, policy)
    if FINALIZER not in task_action.metadata.finalizers:
        return decide_add_finalizer(task_action)
    return _reconcile_attempt(task_action, observations, policy, observations.plugin.unwrap().plugin_id)


def resource_live(status: TaskActionStatus, policy: Policy) -> bool:
    """R34 ``alreadyRunning``: the persisted phase is exactly Running. With D7, any phase in which the plugin
    resource may already exist: WaitingForResources, Queued, Initializing, Running, and Undefined (written only
    after a Handle call, which may have launched it; found by the property suite)."""
    if _D7 in policy.deviations:  # Policy.fixes, inlined: every pass asks
        return status.plugin_phase in _LIVE_PHASES
    return status.plugin_phase == "PhaseRunning"


class _Pass(NamedTuple):
    """The fixed facts of one pass, so step functions take one argument instead of eight.

    A NamedTuple rather than a frozen dataclass: it is built on every pass and never leaves this module, and a
    tuple is built in about half the instructions (``benchmarks/bench_core.py``).
    """

    original: TaskAction
    observations: Observations
    policy: Policy
    plugin_id: str
    config: Result[CacheConfig | None, str]
    prefix: str
    now: datetime
    """``observations.now``, read once (a property here would cost a call on each of a round's reads)."""


def _attempt_facts(task_action: TaskAction) -> tuple[Result[CacheConfig | None, str], str | None, str]:
    """R49, R33 and R103 in one memo lookup: the cache config, the context error and the current output prefix.

    Keyed on the observed attempt, so attempts 0 (never started) and 1 share an entry, as they share every fact."""
    meta, spec = task_action.metadata, task_action.spec
    return _attempt_facts_cached(
        spec.task_template,
        spec.cache_key,
        spec.input_uri,
        meta.namespace,
        meta.name,
        spec.run_output_base,
        spec.action_name,
        observed_attempt(task_action.status.attempts),
    )


@lru_cache(maxsize=4096)
def _attempt_facts_cached(
    template: bytes, cache_key: str, input_uri: str, namespace: str, name: str, base: str, action: str, attempt: int
) -> tuple[Result[CacheConfig | None, str], str | None, str]:
    config = cache_config(template, cache_key, input_uri, namespace, name)
    error = attempt_context_error(namespace, name, base, action, attempt)
    prefix: str = compute_action_output_path(namespace, name, base, action, attempt).value_or("")
    return config, error, prefix


def _reconcile_attempt(task_action: TaskAction, observations: Observations, policy: Policy, plugin_id: str) -> Round:
    """R32–R48 once validation and the finalizer are settled."""
    config, error, prefix = _attempt_facts(task_action)
    if error is not None:
        facts = _Pass(task_action, observations, policy, plugin_id, config, "", observations.now)
        return _endless_failure(facts, error, (), with_context=False)
    facts = _Pass(task_action, observations, policy, plugin_id, config, prefix, observations.now)
    pre = evaluate_cache_before_execution(
        task_action, config, observations, policy, resource_live(task_action.status, policy), prefix
    )
    if not isinstance(pre, PreExecution):
        return _ask(pre)
    if pre.error is not None:
        return _endless_failure(facts, pre.error, pre.effects)
    if pre.info is not None:
        return _after_handle(facts, pre.info, None, (*pre.effects, *_abort_before_hit(facts, pre.info)), True)
    handled = observations.handle
    if handled is None:
        return _ask(_invoke_plugin(plugin_id, _context(facts)))
    if type(handled) is Failure:
        failure = handled.failure()
        cleanup = _cleanup(facts, with_context=True)
        return record_system_error(
            task_action,
            task_action,
            SystemErrorText(failure.message, failure.codes),
            cleanup,
            facts.now,
            policy,
            pre.effects,
        )
    outcome = handled.unwrap()
    return _after_handle(facts, outcome.transition.info, outcome.state_write, pre.effects, short_circuited=False)


_NO_EFFECTS: Final[tuple[FinalEffect, ...]] = ()
_MAYBE_LAUNCHED: Final = frozenset({PluginPhase.NOT_READY.wire_name, PluginPhase.WAITING_FOR_CACHE.wire_name})


def _abort_before_hit(facts: _Pass, info: PhaseInfo) -> tuple[FinalEffect, ...]:
    """D7: a cache hit in NotReady or WaitingForCache first aborts whatever an earlier Handle of this attempt may have
    launched (a plugin can report these after Running); Abort is idempotent, so this is a no-op when nothing runs.
    Found by the property suite."""
    phase = facts.original.status.plugin_phase
    policy = facts.policy
    if info.phase is not PluginPhase.SUCCESS or phase not in _MAYBE_LAUNCHED:
        return ()
    if not policy.fixes(Deviation.D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE):
        return ()
    return (
        AbortPlugin(
            facts.plugin_id, _context(facts), Ignore("aborting a possibly launched resource before a cache hit failed")
        ),
    )


def _after_handle(
    facts: _Pass,
    info: PhaseInfo,
    state_write: PluginStateWrite | None,
    effects: tuple[FinalEffect, ...],
    short_circuited: bool,
) -> Round:
    """R37–R48."""
    post = post_execution(
        facts.original, facts.config, info, short_circuited, facts.observations, facts.policy, facts.prefix
    )
    if isinstance(post, PutCache):
        return _ask(post)
    if post is not None:
        effects = (*effects, *post.effects)
        # X18 cannot happen here: post-processing fails only on a cache-config error, and the same config was built
        # from the same fields in pre-evaluation, which already exited on it (R52 step 1). Go has the same shape.
        assert post.error is None, post.error
        info = post.info
    if not short_circuited and is_system_retryable_failure(info):
        working, abort = reset_plugin_resource(facts.original, facts.plugin_id, _context(facts))
        # D3 has nothing left to clean: R62 just aborted the resource and R54 step 4 already released a serializable
        # reservation in ``effects``; a second Abort/Release at the ceiling would only duplicate them.
        cleanup = Cleanup(facts.plugin_id, None, None)
        error = system_error_from_phase_info(info)
        return record_system_error(facts.original, working, error, cleanup, facts.now, facts.policy, (*effects, abort))
    if not short_circuited and info.phase is _RETRYABLE_FAILURE:
        return _user_retryable_failure(facts, info, state_write, effects)
    return _finish(facts, info, state_write, effects)


def _user_retryable_failure(
    facts: _Pass, info: PhaseInfo, state_write: PluginStateWrite | None, effects: tuple[FinalEffect, ...]
) -> Decision:
    """R40: restart in place while attempts remain, else fail permanently with the attempt's error.

    With D2 the failed attempt is reported first (its ErrorState, history entry and a FAILED event for attempt n);
    Go replaces it by the Queued restart before anything is recorded (Q2).
    """
    status = facts.original.status
    current = status.attempts or 1
    template = decoded_template(facts.original)
    retries = template.metadata.retries if template is not None and template.metadata is not None else None
    if current >= max_attempts(retries):
        err = info.err or ExecutionError(CODE_MAX_RETRIES, f"task failed after {current} attempt(s)", ErrorKind.USER)
        failed = phase_info_failed(facts.now, PluginPhase.PERMANENT_FAILURE, err, info.info)
        return _finish(facts, failed, state_write, effects)
    abort = AbortPlugin(facts.plugin_id, _context(facts), Ignore("aborting the failed attempt before restart failed"))
    effects = (*effects, Log(LogLevel.INFO, f"restarting task after retryable failure: {_describe(info)}"), abort)
    restart = phase_info_queued(facts.now, 0, MSG_RESTARTING)
    if not facts.policy.fixes(Deviation.D2_REPORT_FAILED_ATTEMPT):
        return _finish(facts, restart, state_write, effects, restart_attempts=current + 1)
    reported = _apply(facts, facts.original.status, info, state_write)
    failed_view = replace(facts.original, status=reported)
    event = record_action_event(failed_view, info, facts.now, facts.policy)
    return _finish(facts, restart, state_write, (*effects, event), restart_attempts=current + 1, base=reported)


def _describe(info: PhaseInfo) -> str:
    return f"[{info.err.code}] {info.err.message}" if info.err is not None else info.reason


def _apply(
    facts: _Pass,
    base: TaskActionStatus,
    info: PhaseInfo,
    state_write: PluginStateWrite | None,
    restart_attempts: int | None = None,
) -> TaskActionStatus:
    """R39 and R41–R45: the status after ``info``, built only when some field actually changes."""
    policy, now = facts.policy, facts.now
    mapped = mapped_status(base.conditions, base.phase_history, base.error_state, info, now, policy)
    plugin_state, state_version = base.plugin_state, base.plugin_state_version
    if state_write is not None:
        plugin_state, state_version = state_write.state, state_write.version
    attempts, failures = base.attempts, base.system_failures
    if _D6 not in policy.deviations:  # Policy.fixes, inlined: every status write asks
        failures = 0
    if restart_attempts is not None:
        attempts, plugin_state, state_version, failures = restart_attempts, b"", 0, 0
    attempts = attempts or 1
    phase_name = info.phase.wire_name
    cache_status = int(observed_cache_status(info.info))
    if (
        mapped is None
        and plugin_state == base.plugin_state
        and state_version == base.plugin_state_version
        and attempts == base.attempts
        and failures == base.system_failures
        and phase_name == base.plugin_phase
        and info.version == base.plugin_phase_version
        and cache_status == base.cache_status
    ):
        return base
    if mapped is None:
        mapped = base.conditions, base.phase_history, base.error_state
    conditions, history, error_state = mapped
    return _status(
        state_json(facts.original, phase_name, now),
        plugin_state,
        state_version,
        phase_name,
        info.version,
        attempts,
        failures,
        cache_status,
        conditions,
        history,
        error_state,
        base.signal_value,
        base.signalled_by,
        base.signalled_at,
    )


def _finish(
    facts: _Pass,
    info: PhaseInfo,
    state_write: PluginStateWrite | None,
    effects: tuple[FinalEffect, ...],
    restart_attempts: int | None = None,
    base: TaskActionStatus | None = None,
) -> Decision:
    """R41–R48: apply the final phase, persist event-then-status if changed, label if terminal, AFTER(rd)."""
    original = facts.original
    status = _apply(facts, base if base is not None else original.status, info, state_write, restart_attempts)
    result = requeue_after(facts.policy.requeue_after)
    if status is original.status:
        return _decision(original, effects, result)
    metadata, labels = original.metadata, _NO_EFFECTS
    if is_terminal(status.conditions):
        metadata, labels = terminal_metadata(metadata, status.conditions, facts.now)
    # The GC labels do not enter the event or the status write, so the object is built once, labels included.
    working = _task_action(metadata, original.spec, status)
    updates = update_task_action_status(original, working, info, facts.now, facts.policy)
    return _decision(working, (*effects, *updates, *labels), result)


def _context(facts: _Pass) -> TaskExecutionContext:
    return build_task_execution_context(facts.original, facts.policy).unwrap()


def _cleanup(facts: _Pass, with_context: bool) -> Cleanup:
    config = facts.config
    # R56: nothing to release when no catalog is configured, even at the ceiling (D3).
    cache = config.unwrap() if isinstance(config, Success) and facts.policy.catalog_enabled else None
    return Cleanup(facts.plugin_id, _context(facts) if with_context else None, cache)


def _endless_failure(
    facts: _Pass, message: str, effects: tuple[FinalEffect, ...], with_context: bool = True
) -> Decision:
    """X13/X14/X18: Go logs and requeues forever without counting (Q6). With D5 it counts as a system failure,
    so the action ends in PermanentFailure after the ceiling."""
    if not facts.policy.fixes(Deviation.D5_COUNT_ENDLESS_FAILURES):
        log = Log(LogLevel.ERROR, message)
        return Decision(facts.original, (*effects, log), requeue_after(facts.policy.requeue_after))
    cleanup = _cleanup(facts, with_context)
    original = facts.original
    return record_system_error(original, original, SystemErrorText(message), cleanup, facts.now, facts.policy, effects)
