"""Shared helpers for the task-path rule tables (tests/core/test_task.py, test_cache.py, test_failures.py).

Expected values are written out literally where the spec fixes them (the shard ``jy`` of ``default/ta``, output
paths, messages), so a test fails when the core drifts from the spec rather than agreeing with itself. The one
exception is the plugin-facing :class:`TaskExecutionContext`, which has its own tests (R103–R107) and is compared
here through :func:`context_of`.

:func:`drive` plays the interpreter's part in the round protocol (design.md §4): it answers each question from a
script, fails the test on a question the script did not expect, and bounds the number of rounds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flyteidl2.core import tasks_pb2
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, ErrorInfo, OutputReferences
from taskaction_core.context import TaskExecutionContext
from taskaction_core.decision import Ask, Decision, RequeueAfter
from taskaction_core.effects import (
    AcquireReservation,
    CacheKey,
    FailPass,
    FailureWarning,
    InvokePlugin,
    LookupCache,
    PatchLabels,
    PersistStatus,
    PutCache,
    Question,
    RecordActionEvent,
    StatusScope,
    WriteCachedOutputs,
)
from taskaction_core.observations import (
    CacheHit,
    CacheLookupOutcome,
    CachePutOutcome,
    CatalogErrorKind,
    CatalogFailure,
    HandleOutcome,
    Observations,
    PortFailure,
    Reservation,
    ReservationOutcome,
    WriteOutcome,
)
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind
from taskaction_core.policy import ALL_DEVIATIONS, GO_COMPATIBLE, Deviation, Policy
from taskaction_core.reconcile import reconcile
from taskaction_core.reconcile.context import build_task_execution_context
from taskaction_core.records import (
    LABEL_COMPLETED_TIME,
    LABEL_TERMINATION_STATUS,
    Condition,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionStatus,
)
from taskaction_core.template import Identifier
from taskaction_core.testing.builders import T0, a_task_action, observations_at

T1 = T0 + timedelta(seconds=30)
"""A second instant, so transition times and history entries of a later pass are distinguishable."""
RD = timedelta(seconds=10)
"""R110: the default requeue duration."""
AFTER_RD = RequeueAfter(RD)
OWNER = "default/ta"
"""R50: the reservation owner id of the builders' TaskAction."""
OTHER_OWNER = "default/other"
TEMPLATE_ID = Identifier(resource_type=1, project="p", domain="d", name="demo_env.add", version="v1", org="o")
INPUT_PATH = "s3://bucket/run/a0/inputs.pb"
CACHED_OUTPUTS = b"\x0a\x02o0"

DEFAULT = Policy()
"""Every deviation on: the product's default."""
GO = Policy(deviations=GO_COMPATIBLE)
"""No deviation: the Go controller, defects included."""


def without(*deviations: Deviation) -> Policy:
    """The default policy with ``deviations`` switched off (Go behaviour for exactly those)."""
    return Policy(deviations=ALL_DEVIATIONS - frozenset(deviations))


def a_task(**options: Any) -> TaskAction:
    """The builders' task action, read at resource version ``"1"`` unless told otherwise, so every test shows which
    version a write is made against."""
    options.setdefault("resource_version", "1")
    return a_task_action(**options)


def output_prefix(attempt: int = 1) -> str:
    """R108/R109: ``default/ta`` shards to ``jy``; base ``s3://bucket/run``, action ``a0``."""
    return f"s3://bucket/jy/run/a0/{attempt}"


def outputs_at(attempt: int = 1) -> str:
    return f"{output_prefix(attempt)}/outputs.pb"


def cache_key(task_action: TaskAction) -> CacheKey:
    """R49: the key the builders' cacheable template yields (interface read back with protobuf itself)."""
    template = tasks_pb2.TaskTemplate.FromString(task_action.spec.task_template)
    interface = bytes(template.interface.SerializeToString(deterministic=True))
    ignore = tuple(str(name) for name in template.metadata.cache_ignore_input_vars)
    return CacheKey(TEMPLATE_ID, task_action.spec.cache_key, ignore, interface, INPUT_PATH)


def context_of(task_action: TaskAction, policy: Policy = DEFAULT) -> TaskExecutionContext:
    """The plugin-facing context of the object's current attempt (tested on its own, R103–R107)."""
    return build_task_execution_context(task_action, policy).unwrap()


# --- status parts -------------------------------------------------------------------------------------------------


def cond(type_: str, status: str, reason: str, message: str = "", at: datetime = T0) -> Condition:
    """A condition as the controller writes it (observedGeneration 0)."""
    return Condition(type_, status, reason, message, at, 0)


def progressing(reason: str, message: str = "", status: str = "True", at: datetime = T0) -> Condition:
    return cond("Progressing", status, reason, message, at)


def hist(phase: str, message: str = "", at: datetime = T0) -> PhaseHistoryEntry:
    return PhaseHistoryEntry(phase, at, message)


def state_json(phase: str, at: datetime = T0) -> str:
    """R42 for the builders' object (run ``run1``, action ``a0``) at a UTC instant."""
    return f'{{"actionId":"run1/a0","phase":"{phase}","timestamp":"{at:%Y-%m-%dT%H:%M:%S}Z"}}'


# --- effects ------------------------------------------------------------------------------------------------------

PUBLISH_WARNING = FailureWarning(
    "ActionEventPublishFailed", "PublishingActionEvent", 'Failed to persist action event "a0": '
)


def event(
    phase: ActionPhase,
    *,
    attempt: int = 1,
    version: int = 0,
    updated: datetime = T0,
    reported: datetime = T0,
    error: tuple[str, ErrorKind] | None = None,
    cluster_events: tuple[tuple[str, datetime], ...] | None = None,
    cache_status: CacheStatus = CacheStatus.CACHE_DISABLED,
    with_outputs: bool = True,
) -> ActionEvent:
    """R68: the ActionEvent of the builders' object."""
    return ActionEvent(
        id=ActionId("p", "d", "run1", "a0"),
        attempt=attempt,
        phase=phase,
        version=version,
        updated_time=updated,
        reported_time=reported,
        cluster="",
        error_info=ErrorInfo(*error) if error is not None else None,
        outputs=(
            OutputReferences(outputs_at(attempt), f"{output_prefix(attempt)}/report.html") if with_outputs else None
        ),
        cluster_events=pvector(ClusterEvent(m, t) for m, t in cluster_events) if cluster_events is not None else None,
        cache_status=cache_status,
    )


def recorded(action_event: ActionEvent) -> RecordActionEvent:
    """R65 step 2: the event effect, failing the pass with the publish warning."""
    return RecordActionEvent(action_event, FailPass(), PUBLISH_WARNING)


def persisted(status: TaskActionStatus, resource_version: str = "1") -> PersistStatus:
    """R65 step 3 / R66: whole status, conflict retry, failure fails the pass."""
    return PersistStatus(status, StatusScope.WHOLE, True, resource_version, FailPass())


def terminal_labels(at: datetime = T0) -> PatchLabels:
    """R67: both GC labels, completed-time in Go layout ``2006-01-02.15-04`` UTC."""
    completed = f"{at:%Y-%m-%d.%H-%M}"
    return PatchLabels(pmap({LABEL_TERMINATION_STATUS: "terminated", LABEL_COMPLETED_TIME: completed}), FailPass())


# --- catalog and port outcomes ------------------------------------------------------------------------------------


def hit(outputs: bytes = CACHED_OUTPUTS) -> CacheLookupOutcome:
    return Success(CacheHit(outputs))


def not_found() -> CacheLookupOutcome:
    return Failure(CatalogFailure(CatalogErrorKind.NOT_FOUND, "entry not found"))


def lookup_error(message: str = "catalog unavailable") -> CacheLookupOutcome:
    return Failure(CatalogFailure(CatalogErrorKind.OTHER, message))


def reserved_by(owner: str = OWNER) -> ReservationOutcome:
    return Success(Reservation(owner))


def reservation_error(message: str = "deadline exceeded") -> ReservationOutcome:
    return Failure(PortFailure(message))


WRITE_OK: WriteOutcome = Success(None)
PUT_OK: CachePutOutcome = Success(None)


def write_failed(message: str = "disk full") -> WriteOutcome:
    return Failure(PortFailure(message))


def put_failed(kind: CatalogErrorKind = CatalogErrorKind.OTHER, message: str = "put rejected") -> CachePutOutcome:
    return Failure(CatalogFailure(kind, message))


# --- rounds -------------------------------------------------------------------------------------------------------

MAX_ROUNDS = 6
"""Five question kinds, each asked at most once per pass, plus the final decision."""


@dataclass(frozen=True)
class Script:
    """The interpreter's answers for one pass; a question without an answer here fails the test."""

    lookup: CacheLookupOutcome | None = None
    write: WriteOutcome | None = None
    reservation: ReservationOutcome | None = None
    handle: HandleOutcome | None = None
    put: CachePutOutcome | None = None
    now: datetime = T0
    plugin_id: str | None = "test-plugin"


def _answer(observations: Observations, question: Question, script: Script) -> Observations:
    match question:
        case LookupCache():
            assert script.lookup is not None, "unexpected LookupCache"
            return replace(observations, cache_lookup=script.lookup)
        case WriteCachedOutputs():
            assert script.write is not None, "unexpected WriteCachedOutputs"
            return replace(observations, cached_outputs_write=script.write)
        case AcquireReservation():
            assert script.reservation is not None, "unexpected AcquireReservation"
            return replace(observations, reservation=script.reservation)
        case InvokePlugin():
            assert script.handle is not None, "unexpected InvokePlugin"
            return replace(observations, handle=script.handle)
        case PutCache():
            assert script.put is not None, "unexpected PutCache"
            return replace(observations, cache_put=script.put)


def drive_with_questions(
    task_action: TaskAction, script: Script, policy: Policy = DEFAULT
) -> tuple[list[Question], Decision]:
    """Run one pass to its decision, answering questions from ``script``; returns the questions in order."""
    observations = observations_at(script.now, plugin_id=script.plugin_id)
    questions: list[Question] = []
    for _ in range(MAX_ROUNDS):
        round_ = reconcile(task_action, observations, policy)
        if isinstance(round_, Decision):
            return questions, round_
        questions.append(round_.question)
        observations = _answer(observations, round_.question, script)
    raise AssertionError(f"no decision after {MAX_ROUNDS} rounds: {questions}")


def drive(task_action: TaskAction, script: Script, policy: Policy = DEFAULT) -> Decision:
    """:func:`drive_with_questions` when only the decision matters."""
    return drive_with_questions(task_action, script, policy)[1]


def question_of(task_action: TaskAction, observations: Observations, policy: Policy = DEFAULT) -> Question:
    """The question one round asks; fails the test when the round decides instead."""
    round_ = reconcile(task_action, observations, policy)
    assert isinstance(round_, Ask), f"expected a question, got {round_}"
    return round_.question
