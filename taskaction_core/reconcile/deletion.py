"""The deletion arm (R85–R91): abort, finalize, release, report ABORTED, then let Kubernetes delete the object.

It runs before the terminal check (R26), so terminal actions pass through it too. Go then records an ABORTED
event for an action that already succeeded or failed (Q1); with D1 cleanup still happens but no event is sent.

Go: ``taskaction_controller.go handleAbortAndFinalize`` and ``removeFinalizer``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from pyrsistent import pvector
from returns.result import Failure

from taskaction_core.decision import Decision, Done
from taskaction_core.effects import (
    AbortPlugin,
    FailPass,
    FinalEffect,
    FinalizePlugin,
    Log,
    LogLevel,
    RecordActionEvent,
    RecordWarning,
    RemoveFinalizer,
    Requeue,
)
from taskaction_core.observations import Observations
from taskaction_core.phase_info import phase_info_aborted
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.action_events import build_action_event
from taskaction_core.reconcile.cache import build_task_cache_config, release_cache_reservation
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.records import FINALIZER, TaskAction, is_terminal

MSG_ABORT_REASON: Final = "aborted"
NOTE_FINALIZATION_SKIPPED: Final = (
    "Could not build task execution context; skipping Abort/Finalize. Underlying resources may need manual cleanup: "
)


def handle_abort_and_finalize(task_action: TaskAction, observations: Observations, policy: Policy) -> Decision:
    """R85–R91 (X3–X9). Abort and Finalize failures requeue after rd and are retried next pass (so plugins must
    make them idempotent); a failed abort event requeues too; only the finalizer Update fails the pass.
    """
    if FINALIZER not in task_action.metadata.finalizers:
        return Decision(task_action, (), Done())
    if isinstance(observations.plugin, Failure):
        log = Log(LogLevel.WARNING, f"cannot resolve plugin during deletion: {observations.plugin.failure().message}")
        return remove_finalizer(task_action, (log,))
    plugin_id = observations.plugin.unwrap().plugin_id
    context = build_task_execution_context(task_action, policy)
    if isinstance(context, Failure):
        warning = RecordWarning(
            "FinalizationSkipped", "FinalizingTaskAction", NOTE_FINALIZATION_SKIPPED + context.failure()
        )
        return remove_finalizer(task_action, (warning,))
    retry = Requeue(policy.requeue_after)
    effects: tuple[FinalEffect, ...] = (
        AbortPlugin(plugin_id, context.unwrap(), retry),
        FinalizePlugin(plugin_id, context.unwrap(), retry),
        *_release(task_action, policy),
        *_abort_event(task_action, observations.now, policy),
    )
    return remove_finalizer(task_action, effects)


def _release(task_action: TaskAction, policy: Policy) -> tuple[FinalEffect, ...]:
    """R89: release a serialized reservation; a config error is only logged. R56: only with a catalog configured."""
    config = build_task_cache_config(task_action)
    if isinstance(config, Failure):
        return (Log(LogLevel.WARNING, f"cannot build cache config during deletion: {config.failure()}"),)
    cache = config.unwrap()
    if cache is None or not cache.serializable or not policy.catalog_enabled:
        return ()
    return (release_cache_reservation(cache),)


def _abort_event(task_action: TaskAction, now: datetime, policy: Policy) -> tuple[FinalEffect, ...]:
    """R90: ABORTED at ``now`` for the current attempt, built from the object as it is; no status is written."""
    if is_terminal(task_action.status.conditions) and policy.fixes(Deviation.D1_TERMINAL_DELETION_NO_ABORT_EVENT):
        return ()
    info = phase_info_aborted(now, 0, MSG_ABORT_REASON)
    event = build_action_event(task_action, info, now, policy.cluster_id, updated_time=now)
    return (RecordActionEvent(event, Requeue(policy.requeue_after)),)


def remove_finalizer(task_action: TaskAction, effects: tuple[FinalEffect, ...] = ()) -> Decision:
    """R91: remove the finalizer with an Update; its failure fails the pass, else DONE."""
    metadata = task_action.metadata
    remaining = pvector(f for f in metadata.finalizers if f != FINALIZER)
    working = replace(task_action, metadata=replace(metadata, finalizers=remaining))
    removal = RemoveFinalizer(FINALIZER, metadata.resource_version, FailPass())
    return Decision(working, (*effects, removal), Done())
