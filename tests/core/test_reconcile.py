"""Dispatch of ``reconcile`` (R24–R29): the deletion arm first (R26), then the terminal short-circuit (R27, X10),
then condition vs task (R14, R28)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pyrsistent import pmap

from taskaction_core.decision import Ask, Decision, Done
from taskaction_core.effects import AbortPlugin, FailPass, InvokePlugin, PatchLabels, PersistStatus, RemoveFinalizer
from taskaction_core.observations import Observations
from taskaction_core.reconcile import decide_terminal, reconcile
from taskaction_core.records import LABEL_COMPLETED_TIME, LABEL_TERMINATION_STATUS, TaskAction
from taskaction_core.testing.builders import (
    PLUGIN_ID,
    T0,
    a_condition_action,
    a_task_action,
    handle_failed,
    observations_at,
    succeeded,
)
from tests.core.other_helpers import (
    DEFAULT,
    FAILED,
    GO,
    PROGRESSING,
    T1,
    T2,
    TRUE,
    cond,
    conds,
    succeeded_conditions,
    with_status,
)

TERMINAL_LABELS = pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: "2026-08-08.12-01"})


def _with_labels(task_action: TaskAction, labels: dict[str, str]) -> TaskAction:
    return replace(task_action, metadata=replace(task_action.metadata, labels=pmap(labels)))


def _with_action_type(task_action: TaskAction, action_type: str) -> TaskAction:
    return replace(task_action, spec=replace(task_action.spec, action_type=action_type))


# --- R26 deletion first -----------------------------------------------------------------------------------------------


def test_reconcile_deleted_terminal_task_goes_to_deletion_arm_not_labels_R26() -> None:
    ta = with_status(a_task_action(), conditions=succeeded_conditions(T1))
    ta = replace(ta, metadata=replace(ta.metadata, deletion_timestamp=T2))

    result = reconcile(ta, observations_at(T2), DEFAULT)

    assert isinstance(result, Decision)
    assert isinstance(result.effects[0], AbortPlugin)
    assert isinstance(result.effects[-1], RemoveFinalizer)
    assert not any(isinstance(e, PatchLabels) for e in result.effects)


def test_reconcile_deleted_condition_is_done_before_dispatch_R26() -> None:
    ta = a_condition_action()
    ta = replace(ta, metadata=replace(ta.metadata, deletion_timestamp=T2))

    assert reconcile(ta, observations_at(T2), DEFAULT) == Decision(ta, (), Done())


# --- R27 / X10 terminal short-circuit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conditions",
    [
        succeeded_conditions(T1 + timedelta(seconds=5)),
        conds(cond(PROGRESSING, "False", "PermanentFailure", "x", T0), cond(FAILED, TRUE, "PermanentFailure", "x", T1)),
        conds(cond(FAILED, TRUE, "InvalidSpec", "bad", T1), cond(PROGRESSING, "False", "InvalidSpec", "bad", T0)),
    ],
    ids=["succeeded", "failed", "validation-failed"],
)
def test_reconcile_terminal_without_labels_only_patches_labels_R27_X10(conditions: object) -> None:
    ta = with_status(a_task_action(labels={"keep": "1"}), conditions=conditions)

    result = reconcile(ta, observations_at(T2, handle=succeeded()), DEFAULT)

    labelled = _with_labels(ta, {"keep": "1", **TERMINAL_LABELS})
    assert result == Decision(labelled, (PatchLabels(TERMINAL_LABELS, FailPass()),), Done())


def test_reconcile_terminal_with_labels_does_nothing_R27_X10() -> None:
    ta = _with_labels(with_status(a_task_action(), conditions=succeeded_conditions()), dict(TERMINAL_LABELS))

    assert reconcile(ta, observations_at(T2), DEFAULT) == Decision(ta, (), Done())


@pytest.mark.parametrize(
    "observations",
    [
        observations_at(T2, plugin_id=None),
        observations_at(T2, handle=handle_failed("boom", "BadTaskSpecification")),
    ],
    ids=["plugin-unresolvable", "handle-error"],
)
def test_reconcile_terminal_ignores_plugin_and_observations_R27(observations: Observations) -> None:
    ta = _with_labels(with_status(a_task_action(), conditions=succeeded_conditions()), dict(TERMINAL_LABELS))

    assert reconcile(ta, observations, GO) == Decision(ta, (), Done())


def test_reconcile_terminal_invalid_spec_is_not_revalidated_R27() -> None:
    ta = with_status(
        replace(a_task_action(), spec=replace(a_task_action().spec, task_type="")), conditions=succeeded_conditions(T1)
    )

    result = reconcile(ta, observations_at(T2), DEFAULT)

    assert isinstance(result, Decision)
    assert result.effects == (PatchLabels(TERMINAL_LABELS, FailPass()),)


def test_decide_terminal_is_the_label_decision_R67_X10() -> None:
    ta = with_status(a_task_action(), conditions=succeeded_conditions(T1))

    assert decide_terminal(ta, observations_at(T2)) == reconcile(ta, observations_at(T2), DEFAULT)


# --- R28 / R14 condition vs task -------------------------------------------------------------------------------------


def test_reconcile_condition_action_type_goes_to_condition_path_R28() -> None:
    result = reconcile(a_condition_action(), observations_at(T1, plugin_id=None), DEFAULT)

    assert isinstance(result, Decision)
    assert result.task_action.status.conditions == conds(cond(PROGRESSING, TRUE, "Paused", "waiting for signal", T1))
    assert isinstance(result.effects[0], PersistStatus)


@pytest.mark.parametrize(
    "action_type", ["", "task", "Condition", "hitl"], ids=["empty", "task", "wrong-case", "unknown"]
)
def test_reconcile_non_condition_action_type_goes_to_task_path_R14_R28(action_type: str) -> None:
    ta = _with_action_type(a_task_action(), action_type)

    result = reconcile(ta, observations_at(T1), DEFAULT)

    assert isinstance(result, Ask)
    assert isinstance(result.question, InvokePlugin)
    assert result.question.plugin_id == PLUGIN_ID


@pytest.mark.parametrize("action_type", ["", "task", "unknown"])
def test_reconcile_condition_spec_without_condition_type_is_validated_as_task_R14_R28(action_type: str) -> None:
    ta = _with_action_type(a_condition_action(signal_value=b"v"), action_type)

    result = reconcile(ta, observations_at(T1), DEFAULT)

    assert isinstance(result, Decision)
    message = "required spec fields are empty: [taskType taskTemplate inputUri runOutputBase]"
    assert [(c.reason, c.message) for c in result.task_action.status.conditions] == [
        ("InvalidSpec", message),
        ("InvalidSpec", message),
    ]
