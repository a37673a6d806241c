"""Terminal is absorbing (R27, X10): whatever the world says, a terminal action that is not being deleted gets only
its GC labels (once), keeps its status and spec, asks nothing and ends DONE."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.decision import Decision, Done
from taskaction_core.effects import PatchLabels
from taskaction_core.observations import Observations
from taskaction_core.policy import Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.records import TaskAction
from taskaction_core.testing import strategies as tas

TERMINAL_ACTIONS = st.one_of(
    tas.valid_task_actions(terminal=True, finalizer=None),
    tas.valid_condition_actions(terminal=True),
    tas.malformed_task_actions(deleted=False, terminal=True),
)


@given(TERMINAL_ACTIONS, st.from_type(Observations), st.from_type(Policy))
def test_reconcile_terminal_changes_nothing_but_labels(
    ta: TaskAction, observations: Observations, policy: Policy
) -> None:
    decision = reconcile(ta, observations, policy)
    assert isinstance(decision, Decision)
    assert decision.result == Done()
    assert all(isinstance(effect, PatchLabels) for effect in decision.effects)
    assert decision.task_action.status == ta.status
    assert decision.task_action.spec == ta.spec
    patched = ta.metadata.labels
    for effect in decision.effects:
        assert isinstance(effect, PatchLabels)
        patched = patched.update(effect.labels)
    assert decision.task_action.metadata == replace(ta.metadata, labels=patched)
    again = reconcile(decision.task_action, observations, policy)
    assert again == Decision(decision.task_action, (), Done())
