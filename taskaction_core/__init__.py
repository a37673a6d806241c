"""taskaction_core: Flyte 2's TaskAction reconciler as a pure functional core and a thin interpreter.

The pure core, importable from here:

* :func:`reconcile` — one decision round: ``reconcile(task_action, observations, policy) -> Ask | Decision``;
* the records (:class:`TaskAction`, :class:`TaskActionStatus`, …), :class:`Observations`, the effects and
  :class:`Policy`;
* one pure counterpart for every method of Go's ``TaskActionReconciler`` (see ``docs/go-parity.md``):
  :func:`evaluate_cache_before_execution`, :func:`finalize_cache_after_execution`,
  :func:`write_task_outputs_to_cache`, :func:`release_cache_reservation`, :func:`max_system_failures`,
  :func:`reset_plugin_resource`, :func:`record_system_error`, :func:`finalize_permanent_failure`,
  :func:`ensure_terminal_labels`, :func:`handle_abort_and_finalize`, :func:`remove_finalizer`,
  :func:`update_task_action_status`, :func:`build_action_event`.
"""

from taskaction_core.action_event import ActionEvent
from taskaction_core.decision import Ask, ControllerResult, Decision, Done, RequeueAfter, Round
from taskaction_core.observations import Observations
from taskaction_core.policy import Deviation, Policy, max_system_failures
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.action_events import build_action_event
from taskaction_core.reconcile.cache import (
    evaluate_cache_before_execution,
    finalize_cache_after_execution,
    release_cache_reservation,
    write_task_outputs_to_cache,
)
from taskaction_core.reconcile.deletion import handle_abort_and_finalize, remove_finalizer
from taskaction_core.reconcile.failures import (
    finalize_permanent_failure,
    record_system_error,
    reset_plugin_resource,
)
from taskaction_core.reconcile.status import ensure_terminal_labels, update_task_action_status
from taskaction_core.records import ObjectMeta, TaskAction, TaskActionSpec, TaskActionStatus, is_terminal

__all__ = [
    "ActionEvent",
    "Ask",
    "ControllerResult",
    "Decision",
    "Deviation",
    "Done",
    "ObjectMeta",
    "Observations",
    "Policy",
    "RequeueAfter",
    "Round",
    "TaskAction",
    "TaskActionSpec",
    "TaskActionStatus",
    "build_action_event",
    "ensure_terminal_labels",
    "evaluate_cache_before_execution",
    "finalize_cache_after_execution",
    "finalize_permanent_failure",
    "handle_abort_and_finalize",
    "is_terminal",
    "max_system_failures",
    "reconcile",
    "record_system_error",
    "release_cache_reservation",
    "remove_finalizer",
    "reset_plugin_resource",
    "update_task_action_status",
    "write_task_outputs_to_cache",
]
