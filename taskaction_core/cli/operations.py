"""What the commands do to the store, as functions returning ``Result`` values (no printing, no exit codes).

Each write follows the API server's rules as the reconciler does: ``apply`` creates or updates the object (never its
status, R1), ``signal`` writes only the three fields the actions service's Signal RPC writes (R78) through the
status subresource with the conflict retry of R66, and ``delete`` asks the store to delete, which for an object with
the plugin finalizer only sets ``deletionTimestamp`` and leaves the rest to the controller's deletion arm (R85–R91).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Final

from flyteidl2.core import literals_pb2
from google.protobuf.message import DecodeError as ProtoDecodeError
from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent, ActionId
from taskaction_core.adapters.plugins.literals import LiteralConversionError, from_literal, to_literal
from taskaction_core.adapters.sqlite import SqliteEventSink, SqliteTaskActionStore
from taskaction_core.gofmt import go_quote
from taskaction_core.interpreter.ports import StoreError, StoreErrorKind
from taskaction_core.policy import STATUS_CONFLICT_RETRIES
from taskaction_core.records import ACTION_TYPE_CONDITION, FINALIZER, TaskAction, is_terminal

__all__ = [
    "Applied",
    "ApplyOutcome",
    "DeleteOutcome",
    "action_id",
    "apply_task_action",
    "decode_signal_value",
    "delete_task_action",
    "encode_signal_value",
    "events_of",
    "get_task_action",
    "list_task_actions",
    "signal_condition",
]

CONFLICT_RETRY_DELAY: Final = 0.010
"""R66: about 10 ms between attempts."""


class ApplyOutcome(Enum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Applied:
    """One object of an ``apply``: what happened to it and the object as stored afterwards."""

    outcome: ApplyOutcome
    task_action: TaskAction


class DeleteOutcome(Enum):
    DELETED = "deleted"
    """Gone at once: no finalizer (a condition, a task that failed validation, or one already finalized)."""
    MARKED = "marked for deletion"
    """The plugin finalizer holds it: a running controller aborts the task, then removes it (R85–R91)."""


def _store_text(error: StoreError) -> str:
    return f"{error.kind.value}: {error.message}"


def _with_conflict_retry(
    write: Callable[[], Result[TaskAction, StoreError]], sleep: Callable[[float], None] = time.sleep
) -> Result[TaskAction, StoreError]:
    """R66: up to :data:`STATUS_CONFLICT_RETRIES` attempts about 10 ms apart; only conflicts are retried."""
    result = write()
    for _ in range(STATUS_CONFLICT_RETRIES - 1):
        if not (isinstance(result, Failure) and result.failure().kind is StoreErrorKind.CONFLICT):
            break
        sleep(CONFLICT_RETRY_DELAY)
        result = write()
    return result


def get_task_action(store: SqliteTaskActionStore, namespace: str, name: str) -> Result[TaskAction, str]:
    """The object, or ``taskactions.flyte.org "<name>" not found`` in the API server's words."""
    return store.get(namespace, name).alt(lambda e: e.message if e.kind is StoreErrorKind.NOT_FOUND else _store_text(e))


def list_task_actions(store: SqliteTaskActionStore, namespace: str | None) -> Result[tuple[TaskAction, ...], str]:
    """Every object in ``namespace`` (None: all), ordered by namespace and name, paging through the store."""
    items: list[TaskAction] = []
    token = ""
    while True:
        page = store.list(namespace, {}, limit=500, continue_token=token)
        if isinstance(page, Failure):
            return Failure(_store_text(page.failure()))
        items += page.unwrap().items
        token = page.unwrap().continue_token
        if not token:
            return Success(tuple(items))


def apply_task_action(store: SqliteTaskActionStore, wanted: TaskAction) -> Result[Applied, str]:
    """Create ``wanted``, or update the stored object's spec, labels and annotations to it (``kubectl apply``).

    Labels and annotations are merged into the stored ones, so the controller's GC labels (R11) survive a re-apply;
    finalizers and status are never touched (the status subresource belongs to the controller, R1).
    """
    meta = wanted.metadata
    fresh = replace(wanted, metadata=replace(meta, resource_version="", uid=""))
    created = store.create(fresh)
    if isinstance(created, Success):
        return Success(Applied(ApplyOutcome.CREATED, created.unwrap()))
    if created.failure().kind is not StoreErrorKind.ALREADY_EXISTS:
        return Failure(_store_text(created.failure()))
    outcome: list[ApplyOutcome] = []

    def update() -> Result[TaskAction, StoreError]:
        current = store.get(meta.namespace, meta.name)
        if isinstance(current, Failure):
            return current
        stored = current.unwrap()
        merged = replace(
            stored.metadata,
            labels=stored.metadata.labels.update(meta.labels),
            annotations=stored.metadata.annotations.update(meta.annotations),
        )
        candidate = replace(stored, metadata=merged, spec=wanted.spec)
        outcome[:] = [ApplyOutcome.UNCHANGED if candidate == stored else ApplyOutcome.CONFIGURED]
        return store.update(candidate) if candidate != stored else Success(stored)

    return _with_conflict_retry(update).map(lambda stored: Applied(outcome[0], stored)).alt(_store_text)


def delete_task_action(store: SqliteTaskActionStore, namespace: str, name: str) -> Result[DeleteOutcome, str]:
    """Delete; an object holding the plugin finalizer is only marked, and a controller finishes the job."""
    found = get_task_action(store, namespace, name)
    if isinstance(found, Failure):
        return Failure(found.failure())
    deleted = store.delete(namespace, name)
    if isinstance(deleted, Failure):
        return Failure(_store_text(deleted.failure()))
    held = FINALIZER in found.unwrap().metadata.finalizers
    return Success(DeleteOutcome.MARKED if held else DeleteOutcome.DELETED)


def encode_signal_value(text: str) -> Result[bytes, str]:
    """A JSON literal (``true``, ``42``, ``"yes"``, ``{"k": [1, 2]}``) as serialized ``core.Literal`` bytes (R5)."""
    try:
        value = json.loads(text)
    except ValueError as error:
        return Failure(f"--value is not a JSON literal: {error}")
    try:
        literal: Any = to_literal(value, "value")
    except LiteralConversionError as error:
        return Failure(f"--value has no Flyte literal form: {error}")
    return Success(bytes(literal.SerializeToString(deterministic=True)))


def decode_signal_value(data: bytes) -> str:
    """``status.signalValue`` as JSON text for people; the raw size when it is not a literal of a known type."""
    try:
        literal: Any = literals_pb2.Literal.FromString(data)
        return json.dumps(from_literal(literal), default=str)
    except (ProtoDecodeError, LiteralConversionError):
        return f"<{len(data)} bytes>"


def signal_condition(
    store: SqliteTaskActionStore, namespace: str, name: str, value: bytes, by: str, now: datetime
) -> Result[TaskAction, str]:
    """The actions service's Signal RPC: write ``signalValue``, ``signalledBy`` and ``signalledAt`` only (R78).

    Refused for anything but a condition, for one already signalled (the value is set exactly once) and for one that
    already finished. Written to the status subresource with the conflict retry of R66, re-reading each time.
    """
    refusal: list[str] = []

    def write() -> Result[TaskAction, StoreError]:
        current = store.get(namespace, name)
        if isinstance(current, Failure):
            return current
        task_action = current.unwrap()
        problem = _signal_refusal(task_action)
        if problem is not None:
            refusal.append(problem)
            return Success(task_action)
        status = replace(task_action.status, signal_value=value, signalled_by=by, signalled_at=now)
        return store.update_status(replace(task_action, status=status))

    written = _with_conflict_retry(write).alt(
        lambda e: e.message if e.kind is StoreErrorKind.NOT_FOUND else _store_text(e)
    )
    if refusal:
        return Failure(refusal[-1])
    return written


def _signal_refusal(task_action: TaskAction) -> str | None:
    name, status = go_quote(task_action.metadata.name), task_action.status
    if task_action.spec.action_type != ACTION_TYPE_CONDITION:
        return f"{name} is not a condition (spec.actionType is {go_quote(task_action.spec.action_type)})"
    if status.signal_value:
        return f"{name} was already signalled by {go_quote(status.signalled_by)}"
    if is_terminal(status.conditions):
        return f"{name} has already finished"
    return None


def action_id(task_action: TaskAction) -> ActionId:
    """The ActionEvent identity of a TaskAction (R68): project, domain, run name and action name."""
    spec = task_action.spec
    return ActionId(project=spec.project, domain=spec.domain, run_name=spec.run_name, name=spec.action_name)


def events_of(sink: SqliteEventSink, task_actions: Sequence[TaskAction] | None) -> Result[tuple[ActionEvent, ...], str]:
    """The stored ActionEvents of ``task_actions`` in arrival order, or every stored event (None)."""
    if task_actions is None:
        try:
            return Success(sink.events)
        except sqlite3.Error as error:
            return Failure(f"cannot read the ActionEvents: {error}")
    found: list[ActionEvent] = []
    for task_action in task_actions:
        events = sink.events_for(action_id(task_action))
        if isinstance(events, Failure):
            return Failure(events.failure().message)
        found += events.unwrap()
    return Success(tuple(found))
