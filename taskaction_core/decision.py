"""What ``reconcile`` returns: a question to answer, or the final decision of the pass (design.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from taskaction_core.effects import FinalEffect, Question
from taskaction_core.fastinit import fast_init
from taskaction_core.records import TaskAction


@fast_init
@dataclass(frozen=True, slots=True)
class Done:
    """Go ``ctrl.Result{}``: nothing scheduled; the next pass comes from a watch event (R29)."""


@fast_init
@dataclass(frozen=True, slots=True)
class RequeueAfter:
    """Go ``ctrl.Result{RequeueAfter: after}``."""

    after: timedelta


ControllerResult = Done | RequeueAfter


@lru_cache(maxsize=64)
def requeue_after(after: timedelta) -> RequeueAfter:
    """The :class:`RequeueAfter` for ``after``, shared: a policy's requeue duration ends almost every pass."""
    return RequeueAfter(after)


@fast_init
@dataclass(frozen=True, slots=True)
class Ask:
    """The core needs the outcome of ``question`` before it can decide; perform it and reconcile again."""

    question: Question


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """The final decision of one pass.

    ``task_action`` is the working object after the pass (what a successful write of every effect leaves in the
    store); ``effects`` run in order; ``result`` applies when no effect's failure meaning cuts the pass short.
    """

    task_action: TaskAction
    effects: tuple[FinalEffect, ...]
    result: ControllerResult


Round = Ask | Decision
