"""``reconcile``: the pure decision function (R24–R29 dispatch) and its named parts.

    reconcile(task_action, observations, policy) -> Ask | Decision

It is total (never raises on any record), deterministic and does no I/O. The deletion arm comes first (R26), then
the terminal short-circuit (R27), then condition vs task (R28).
"""

from __future__ import annotations

from taskaction_core.decision import Decision, Done, Round
from taskaction_core.fastinit import constructor
from taskaction_core.observations import Observations
from taskaction_core.policy import Policy
from taskaction_core.reconcile.condition import reconcile_condition
from taskaction_core.reconcile.deletion import handle_abort_and_finalize
from taskaction_core.reconcile.status import with_terminal_labels
from taskaction_core.reconcile.task import reconcile_task
from taskaction_core.records import ACTION_TYPE_CONDITION, TaskAction, is_terminal

__all__ = ["decide_terminal", "reconcile"]

_decision = constructor(Decision)
"""Built without ``type.__call__`` (fastinit.constructor): a terminal round is most passes' last."""
_DONE = Done()


def reconcile(task_action: TaskAction, observations: Observations, policy: Policy) -> Round:
    """One round of Go's ``Reconcile`` for one TaskAction (R24–R29).

    Returns :class:`~taskaction_core.decision.Ask` when an outside answer is needed first, else the final
    :class:`~taskaction_core.decision.Decision`. Go: ``taskaction_controller.go Reconcile``.
    """
    if task_action.metadata.deletion_timestamp is not None:
        return handle_abort_and_finalize(task_action, observations, policy)
    if is_terminal(task_action.status.conditions):
        return decide_terminal(task_action, observations)
    if task_action.spec.action_type == ACTION_TYPE_CONDITION:
        return reconcile_condition(task_action, observations, policy)
    return reconcile_task(task_action, observations, policy)


def decide_terminal(task_action: TaskAction, observations: Observations) -> Decision:
    """R27/X10: a terminal action only gets its GC labels; no plugin, catalog, event or status activity."""
    working, labels = with_terminal_labels(task_action, observations.now)
    return _decision(working, labels, _DONE)
