"""R41/R45 in ``reconcile.task._apply``: the status rebuilt when the phase mapping changes nothing but a scalar does.

R41 leaves the ErrorState unchanged for Running ("ErrorState is never cleared by this mapping"), and R45 writes the
new pluginPhaseVersion. When the conditions and history are already those of Running, the mapping writes nothing and
the status is rebuilt from the old parts: the ErrorState of an earlier failure must survive that rebuild.
Added to kill a mutant of ``_apply`` that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyrsistent import pvector

from taskaction_core.decision import Decision
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import ErrorState, TaskActionStatus
from taskaction_core.testing.builders import observations_at, running
from tests.core.task_helpers import DEFAULT, GO, T1, a_task, hist, progressing, state_json

EARLIER_ERROR = ErrorState("Crash", "SYSTEM", "node lost")
"""What an earlier system failure of the attempt recorded (R10)."""
RUNNING_WITH_ERROR = TaskActionStatus(
    state_json=state_json("PhaseRunning"),
    plugin_phase="PhaseRunning",
    attempts=1,
    conditions=pvector([progressing("Executing")]),
    phase_history=pvector([hist("Executing")]),
    error_state=EARLIER_ERROR,
)


@pytest.mark.parametrize("policy", [DEFAULT, GO], ids=["default", "go"])
def test_apply_unchanged_mapping_new_phase_version_keeps_error_state(policy: Policy) -> None:
    """R41 + R45: Running again with version 1 → only version and StateJSON change; ErrorState, conditions and
    history are carried over as they were."""
    task_action = a_task(status=RUNNING_WITH_ERROR)
    decision = reconcile(task_action, observations_at(T1, handle=running(version=1, now=T1)), policy)
    assert isinstance(decision, Decision)
    expected = replace(RUNNING_WITH_ERROR, state_json=state_json("PhaseRunning", T1), plugin_phase_version=1)
    assert decision.task_action.status == expected
