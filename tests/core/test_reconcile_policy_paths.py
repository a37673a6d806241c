"""D10 on every path that writes a caller-supplied condition message (Q12, R30, R41, R61).

A condition message longer than the API server's 32,768 characters is cut and marked when D10 is on, and written
whole under Go semantics. Each path below hands its policy down to the cut; before these tests no test sent a long
message through them, so dropping the policy on the way went unnoticed (docs/mutation-testing.md).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyrsistent import pvector

from taskaction_core.phase_info import ExecutionError, PhaseInfo, TaskInfo, phase_info_queued
from taskaction_core.phases import ErrorKind, PluginPhase
from taskaction_core.policy import Deviation, Policy
from taskaction_core.reconcile.status import TRUNCATION_MARKER, StatusView, map_phase_to_conditions
from taskaction_core.records import MAX_CONDITION_MESSAGE, TaskAction
from taskaction_core.testing.builders import T0, handle_failed, handled
from tests.core.task_helpers import DEFAULT, GO, Script, a_task, drive, without

LONG = "m" * (MAX_CONDITION_MESSAGE + 1000)
CUT = LONG[: MAX_CONDITION_MESSAGE - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER
NO_D10 = without(Deviation.D10_TRUNCATE_CONDITION_MESSAGES)
EMPTY = StatusView(pvector(), pvector(), None)


def _messages(task_action: TaskAction) -> list[str]:
    return [condition.message for condition in task_action.status.conditions]


@pytest.mark.parametrize(
    "info",
    [
        phase_info_queued(T0, 0, LONG),
        PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T0), None, LONG),
        PhaseInfo(PluginPhase.INITIALIZING, 0, TaskInfo(occurred_at=T0), None, LONG),
        PhaseInfo(
            PluginPhase.RETRYABLE_FAILURE, 0, TaskInfo(occurred_at=T0), ExecutionError("E", LONG, ErrorKind.USER)
        ),
    ],
    ids=["queued", "running", "initializing", "retryable"],
)
def test_map_phase_to_conditions_long_message_d10_cuts_and_go_keeps(info: PhaseInfo) -> None:
    """R41 + D10: the Progressing message is cut under the default policy and whole without D10 (Go, Q12)."""
    assert [c.message for c in map_phase_to_conditions(EMPTY, info, T0, DEFAULT).conditions] == [CUT]
    assert [c.message for c in map_phase_to_conditions(EMPTY, info, T0, NO_D10).conditions] == [LONG]


def test_validation_failure_long_plugin_message_d10_cuts_both_conditions() -> None:
    """R30/X11 + D10: a task type long enough to make "no plugin found ..." exceed the limit is cut in Failed and
    Progressing; Go writes it whole."""
    task_action = a_task()
    task_action = replace(task_action, spec=replace(task_action.spec, task_type=LONG))
    script = Script(plugin_id=None)
    for policy, limited in ((DEFAULT, True), (GO, False)):
        messages = _messages(drive(task_action, script, policy).task_action)
        assert len(messages) == 2
        if limited:
            assert all(len(m) == MAX_CONDITION_MESSAGE and m.endswith(TRUNCATION_MARKER) for m in messages)
        else:
            assert all(len(m) > MAX_CONDITION_MESSAGE and LONG in m for m in messages)


def test_handle_running_long_reason_d10_cuts_the_progressing_message() -> None:
    """R39/R41 + D10 through the task pass: the Running reason becomes the Progressing message."""
    outcome = handled(PhaseInfo(PluginPhase.RUNNING, 0, TaskInfo(occurred_at=T0), None, LONG))
    assert _messages(drive(a_task(), Script(handle=outcome), DEFAULT).task_action) == [CUT]
    assert _messages(drive(a_task(), Script(handle=outcome), NO_D10).task_action) == [LONG]


@pytest.mark.parametrize(("policy", "expected"), [(DEFAULT, CUT), (NO_D10, LONG)])
def test_permanent_failure_long_error_message_d10_cuts_failed_and_progressing(policy: Policy, expected: str) -> None:
    """R58/R61 + D10: a non-retryable Handle error's message is written to Progressing and Failed."""
    outcome = handle_failed(LONG, "BadTaskSpecification")
    assert _messages(drive(a_task(), Script(handle=outcome), policy).task_action) == [expected, expected]
