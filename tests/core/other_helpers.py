"""Small shared values for the rule tables outside the task path (records, status, conditions, deletion, dispatch).

Nothing here decides anything: these are fixed instants, the two policies every table runs under, and one-line
record makers so that a table row reads like the rule it transcribes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pyrsistent import pvector
from pyrsistent.typing import PVector

from taskaction_core.phases import ConditionStatus, ConditionType
from taskaction_core.policy import GO_COMPATIBLE, Policy
from taskaction_core.records import Condition, PhaseHistoryEntry, TaskAction, TaskActionStatus
from taskaction_core.testing.builders import T0

T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
LATER = T0 + timedelta(hours=3, seconds=17)

DEFAULT = Policy()
"""Every deviation on (the default)."""
GO = Policy(deviations=GO_COMPATIBLE)
"""Go's behaviour, defects included."""

RD = DEFAULT.requeue_after
TRUE, FALSE = ConditionStatus.TRUE.value, ConditionStatus.FALSE.value
PROGRESSING = ConditionType.PROGRESSING.value
SUCCEEDED = ConditionType.SUCCEEDED.value
FAILED = ConditionType.FAILED.value

assert T0.tzinfo is UTC


def cond(type_: str, status: str, reason: str, message: str = "", at: datetime | None = T0) -> Condition:
    """A condition as the controller writes it (observedGeneration 0)."""
    return Condition(type_, status, reason, message, at, 0)


def conds(*items: Condition) -> PVector[Condition]:
    return pvector(items)


def entry(phase: str, at: datetime = T0, message: str = "") -> PhaseHistoryEntry:
    return PhaseHistoryEntry(phase, at, message)


def history(*items: PhaseHistoryEntry) -> PVector[PhaseHistoryEntry]:
    return pvector(items)


def with_status(task_action: TaskAction, **fields: object) -> TaskAction:
    """``task_action`` with some status fields replaced."""
    status: TaskActionStatus = replace(task_action.status, **fields)  # type: ignore[arg-type]
    return replace(task_action, status=status)


def succeeded_conditions(at: datetime = T0) -> PVector[Condition]:
    """What a successful task leaves (R41 Success row)."""
    return conds(
        cond(PROGRESSING, FALSE, "Completed", "TaskAction has completed", at),
        cond(SUCCEEDED, TRUE, "Completed", "TaskAction completed successfully", at),
    )
