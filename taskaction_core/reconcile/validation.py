"""Step 1 and 2 of the task path: spec validation (R30) and the finalizer (R31).

Go: ``taskaction_controller.go validateTaskAction`` and the first steps of ``reconcileTask``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from returns.result import Failure

from taskaction_core.decision import Decision, Done
from taskaction_core.effects import (
    AddFinalizer,
    FailPass,
    FinalEffect,
    Ignore,
    PersistStatus,
    RecordWarning,
    StatusScope,
)
from taskaction_core.gofmt import go_quote
from taskaction_core.observations import Observations
from taskaction_core.phases import ConditionStatus, ConditionType, Reason
from taskaction_core.policy import Policy
from taskaction_core.reconcile.status import set_conditions
from taskaction_core.records import FINALIZER, TaskAction

REQUIRED_SPEC_FIELDS: Final = (
    ("run_name", "runName"),
    ("project", "project"),
    ("domain", "domain"),
    ("action_name", "actionName"),
    ("task_type", "taskType"),
    ("task_template", "taskTemplate"),
    ("input_uri", "inputUri"),
    ("run_output_base", "runOutputBase"),
)
"""R30: checked in this order; the message lists the wire names."""


def validate_task_action(task_action: TaskAction, observations: Observations) -> tuple[Reason, str] | None:
    """R30: (reason, message) when a required field is empty or no plugin serves the task type, else None.

    Go: ``validateTaskAction`` and the plugin resolution in ``reconcileTask``.
    """
    spec = task_action.spec
    complete = (
        spec.run_name
        and spec.project
        and spec.domain
        and spec.action_name
        and spec.task_type
        and spec.task_template
        and spec.input_uri
        and spec.run_output_base
    )
    if not complete:
        missing = [wire for field, wire in REQUIRED_SPEC_FIELDS if not getattr(spec, field)]
        return Reason.INVALID_SPEC, f"required spec fields are empty: [{' '.join(missing)}]"
    if type(observations.plugin) is Failure:
        message = observations.plugin.failure().message
        return Reason.PLUGIN_NOT_FOUND, f"no plugin found for task type {go_quote(spec.task_type)}: {message}"
    return None


def decide_validation_failure(
    task_action: TaskAction, reason: Reason, message: str, now: datetime, policy: Policy
) -> Decision:
    """R30/X11: a Warning event, Failed=True then Progressing=False, one direct status write whose error is
    ignored, result DONE. No ErrorState, history, ActionEvent or finalizer (Q7)."""
    warning_reason = "FailedPluginResolve" if reason is Reason.PLUGIN_NOT_FOUND else "FailedValidation"
    updates = (
        (ConditionType.FAILED.value, ConditionStatus.TRUE.value, reason.value, message),
        (ConditionType.PROGRESSING.value, ConditionStatus.FALSE.value, reason.value, message),
    )
    conditions = set_conditions(task_action.status.conditions, updates, now, policy)
    working = replace(task_action, status=replace(task_action.status, conditions=conditions))
    effects: tuple[FinalEffect, ...] = (
        RecordWarning(warning_reason, "ValidatingTaskAction", message),
        PersistStatus(
            working.status,
            StatusScope.WHOLE,
            False,
            task_action.metadata.resource_version,
            Ignore("validation status write (Go ignores its error)"),
        ),
    )
    return Decision(working, effects, Done())


def decide_add_finalizer(task_action: TaskAction) -> Decision:
    """R31/X12: add the finalizer with an Update and stop; the Update's watch event drives the next pass."""
    metadata = task_action.metadata
    working = replace(task_action, metadata=replace(metadata, finalizers=metadata.finalizers.append(FINALIZER)))
    return Decision(working, (AddFinalizer(FINALIZER, metadata.resource_version, FailPass()),), Done())
