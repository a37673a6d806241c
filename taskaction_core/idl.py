"""The flyteidl2 boundary: protobuf bytes in, core records out, and ActionEvent records back to the wire.

Theory of operation. The core never touches a protobuf message: ``spec.taskTemplate`` and ``spec.conditionSpec`` are
decoded here into the records of :mod:`taskaction_core.template`, and :class:`~taskaction_core.action_event.ActionEvent`
records are encoded here into ``flyteidl2.workflow.ActionEvent`` messages (R68–R76). Decoding is pure (parsing bytes
is not I/O) and total: unparsable bytes give ``Failure(DecodeError)``, never an exception, because the bytes come from
the outside world (R49, R80, R107 treat them as an error value, not a crash).

Decoding is memoized (``functools.lru_cache``, 1024 entries, keyed on the bytes): every reconcile round of a steady
TaskAction re-reads the same template, and a cached call costs well under a microsecond instead of a protobuf parse.
The cache holds only immutable records, so sharing them between callers is safe.

Empty bytes decode to the empty message (``TaskTemplate()`` with no id and no metadata, ``ConditionSpec()`` with no
timeout), which is what protobuf does. The reconciler checks emptiness itself before decoding (R80's
``has empty conditionSpec`` error), so this module does not invent a second meaning for ``b""``.

Typing. flyteidl2 ships ``.pyi`` stubs but no ``py.typed`` marker, and protobuf ships neither, so mypy (PEP 561) does
not read them and sees every message as ``Any`` (the project config ignores the missing imports). The ``Any`` stays
inside this module: every field read is converted with ``str``/``int``/``bool``/``bytes`` or an enum constructor
before it reaches a record. The two functions that take or return a message (:func:`encode_action_event`,
:func:`decode_action_event`) are necessarily ``Any``-typed for mypy; adapters that only store events should use the
fully typed :func:`encode_action_event_bytes` / :func:`decode_action_event_bytes`.

Go: ``proto.Unmarshal`` in ``cache.buildTaskCacheConfig``, ``cond.conditionDeadline``, ``tem.NewTaskExecutionMetadata``
and ``ctl.buildActionEvent``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from flyteidl2.common import identifier_pb2 as common_identifier_pb2
from flyteidl2.core import execution_pb2, identifier_pb2, tasks_pb2
from flyteidl2.workflow import run_definition_pb2
from pyrsistent import pvector
from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, ErrorInfo, OutputReferences
from taskaction_core.phase_info import TaskLog
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind
from taskaction_core.template import ConditionSpec, DecodeError, Identifier, TaskMetadata, TaskTemplate

_CACHE_SIZE: Final = 1024

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DURATION_SECONDS: Final = 315_576_000_000
"""google.protobuf.Duration's documented range is ±10,000 years; anything beyond is not a valid Duration."""
_NANOS_PER_SECOND: Final = 1_000_000_000
_MIN_TIMESTAMP_SECONDS: Final = -62_135_596_800
"""0001-01-01T00:00:00Z, the lower bound of google.protobuf.Timestamp (and of ``datetime``)."""
_MAX_TIMESTAMP_SECONDS: Final = 253_402_300_799
"""9999-12-31T23:59:59Z, the upper bound of google.protobuf.Timestamp (and of ``datetime``)."""


# --- decoding spec bytes ------------------------------------------------------------------------------------------


def decode_task_template(data: bytes) -> Result[TaskTemplate, DecodeError]:
    """Decode ``spec.taskTemplate`` (``flyteidl2.core.TaskTemplate``) into a :class:`TaskTemplate` (R49, R106, R107).

    Total: corrupt bytes or an out-of-range ``metadata.timeout`` give ``Failure``. Memoized on the bytes.
    """
    return _decode_task_template_cached(data)


def decode_condition_spec(data: bytes) -> Result[ConditionSpec, DecodeError]:
    """Decode ``spec.conditionSpec`` (``flyteidl2.workflow.ConditionAction``) into a :class:`ConditionSpec` (R80).

    ``timeout`` is None only when the field is absent; a zero or negative duration is kept as it is, because R80's
    caller treats ``timeout <= 0`` as "no deadline" itself. Total and memoized like :func:`decode_task_template`.
    """
    return _decode_condition_spec_cached(data)


def _parse(message: Any, data: bytes) -> Result[None, DecodeError]:
    """Parse ``data`` into ``message`` in place; any parser complaint becomes a :class:`DecodeError`.

    The parser is C (upb) or pure Python depending on the protobuf build, and neither documents the full set of
    exceptions malformed input can raise (the pure-Python one has raised IndexError and struct.error in the past).
    The input is outside-world bytes, so every exception *from the parse call alone* is a decode failure.
    """
    try:
        message.ParseFromString(data)
    except Exception as error:
        return Failure(DecodeError(str(error)))
    return Success(None)


def _read_task_template(message: Any) -> Result[TaskTemplate, DecodeError]:
    metadata: Result[TaskMetadata | None, DecodeError] = Success(None)
    if message.HasField("metadata"):
        metadata = _read_task_metadata(message.metadata)
    return metadata.map(lambda read: _task_template(message, read))


def _task_template(message: Any, metadata: TaskMetadata | None) -> TaskTemplate:
    security = message.security_context
    return TaskTemplate(
        id=identifier_from_proto(message.id) if message.HasField("id") else None,
        type=str(message.type),
        metadata=metadata,
        interface=_sub_message_bytes(message, "interface"),
        container=_sub_message_bytes(message, "container"),
        security_context=_sub_message_bytes(message, "security_context"),
        has_secrets=len(security.secrets) > 0,
        service_account=str(security.run_as.k8s_service_account),
    )


def _read_task_metadata(metadata: Any) -> Result[TaskMetadata | None, DecodeError]:
    """R49/R107 facts. ``retries`` is None when the RetryStrategy is absent; ``timeout`` None when absent or zero."""
    timeout: Result[timedelta | None, DecodeError] = Success(None)
    if metadata.HasField("timeout"):
        timeout = _to_timedelta(metadata.timeout, "TaskMetadata.timeout").map(_none_if_zero)
    return timeout.map(
        lambda read: TaskMetadata(
            discoverable=bool(metadata.discoverable),
            discovery_version=str(metadata.discovery_version),
            cache_serializable=bool(metadata.cache_serializable),
            cache_ignore_input_vars=pvector(str(name) for name in metadata.cache_ignore_input_vars),
            retries=int(metadata.retries.retries) if metadata.HasField("retries") else None,
            timeout=read,
            interruptible=bool(metadata.interruptible),
        )
    )


def _none_if_zero(timeout: timedelta) -> timedelta | None:
    """A zero ``metadata.timeout`` is protobuf's zero value: "no timeout"."""
    return timeout if timeout else None


def _sub_message_bytes(message: Any, field: str) -> bytes:
    """The deterministic serialization of a sub-message the core passes through unopened; ``b""`` when absent."""
    if not message.HasField(field):
        return b""
    return bytes(getattr(message, field).SerializeToString(deterministic=True))


def _read_condition_spec(message: Any) -> Result[ConditionSpec, DecodeError]:
    timeout: Result[timedelta | None, DecodeError] = Success(None)
    if message.HasField("timeout"):
        timeout = _to_timedelta(message.timeout, "ConditionAction.timeout")
    return timeout.map(lambda read: ConditionSpec(name=str(message.name), prompt=str(message.prompt), timeout=read))


def _decode_task_template_uncached(data: bytes) -> Result[TaskTemplate, DecodeError]:
    message = tasks_pb2.TaskTemplate()
    return _parse(message, data).bind(lambda _: _read_task_template(message))


def _decode_condition_spec_uncached(data: bytes) -> Result[ConditionSpec, DecodeError]:
    message = run_definition_pb2.ConditionAction()
    return _parse(message, data).bind(lambda _: _read_condition_spec(message))


# The public functions wrap the caches so that mypy keeps their ``bytes`` parameter type (a bare ``lru_cache``
# wrapper accepts any Hashable).
_decode_task_template_cached = lru_cache(maxsize=_CACHE_SIZE)(_decode_task_template_uncached)
_decode_condition_spec_cached = lru_cache(maxsize=_CACHE_SIZE)(_decode_condition_spec_uncached)


# --- identifiers --------------------------------------------------------------------------------------------------


def identifier_from_proto(message: identifier_pb2.Identifier) -> Identifier:
    """``flyteidl2.core.Identifier`` → :class:`Identifier` (resource type as its enum number)."""
    return Identifier(
        resource_type=int(message.resource_type),
        project=str(message.project),
        domain=str(message.domain),
        name=str(message.name),
        version=str(message.version),
        org=str(message.org),
    )


def identifier_to_proto(identifier: Identifier) -> identifier_pb2.Identifier:
    """:class:`Identifier` → ``flyteidl2.core.Identifier`` (the inverse of :func:`identifier_from_proto`)."""
    return identifier_pb2.Identifier(
        resource_type=identifier.resource_type,
        project=identifier.project,
        domain=identifier.domain,
        name=identifier.name,
        version=identifier.version,
        org=identifier.org,
    )


# --- ActionEvent --------------------------------------------------------------------------------------------------


def encode_action_event(event: ActionEvent) -> run_definition_pb2.ActionEvent:
    """The ``flyteidl2.workflow.ActionEvent`` for ``event`` (R68–R76).

    Optional parts are set only when present, so the receiver can tell "absent" from "empty": ``error_info`` (R70),
    ``outputs`` (R72), ``cluster_events`` (R71), ``log_context``. ``id.run.org`` is never set (R68, R76), and
    ``start_time``, ``end_time`` and ``cache_metadata`` never are (R68). Timestamps keep full microsecond precision.

    Raises ValueError when ``event.log_context`` is not a serialized ``core.LogContext``: whoever built the TaskInfo
    (a plugin adapter) broke its contract, which is a programmer error, not an outcome of the world.
    Go: ``ctl.buildActionEvent``.
    """
    message = run_definition_pb2.ActionEvent(
        id=_action_id_to_proto(event.id),
        attempt=event.attempt,
        phase=int(event.phase),
        version=event.version,
        cluster=event.cluster,
        cache_status=int(event.cache_status),
        log_info=[_task_log_to_proto(log) for log in event.log_info],
    )
    _set_timestamp(message.updated_time, event.updated_time)
    _set_timestamp(message.reported_time, event.reported_time)
    if event.error_info is not None:
        message.error_info.message = event.error_info.message
        message.error_info.kind = int(event.error_info.kind)
    if event.outputs is not None:
        message.outputs.output_uri = event.outputs.output_uri
        message.outputs.report_uri = event.outputs.report_uri
    for cluster_event in event.cluster_events or ():
        _set_cluster_event(message.cluster_events.add(), cluster_event)
    if event.log_context:
        _set_log_context(message, event.log_context)
    return message


def decode_action_event(message: run_definition_pb2.ActionEvent) -> ActionEvent:
    """The inverse of :func:`encode_action_event`, for event-sink adapters and round-trip tests.

    Protobuf cannot tell an absent repeated field from an empty one, so an empty ``cluster_events`` list decodes as
    None (R71's "absent list"). ``log_context`` comes back as its deterministic serialization. Raises ValueError for
    values :func:`encode_action_event` never produces (an enum number the core does not know, a timestamp outside
    protobuf's range); :func:`decode_action_event_bytes` turns those into a ``Failure``.
    """
    error = message.error_info
    outputs = message.outputs
    return ActionEvent(
        id=_action_id_from_proto(message.id),
        attempt=int(message.attempt),
        phase=ActionPhase(message.phase),
        version=int(message.version),
        updated_time=_to_datetime(message.updated_time),
        reported_time=_to_datetime(message.reported_time),
        cluster=str(message.cluster),
        error_info=ErrorInfo(str(error.message), ErrorKind(error.kind)) if message.HasField("error_info") else None,
        outputs=(
            OutputReferences(str(outputs.output_uri), str(outputs.report_uri)) if message.HasField("outputs") else None
        ),
        cluster_events=pvector(_cluster_event_from_proto(item) for item in message.cluster_events) or None,
        log_info=pvector(_task_log_from_proto(log) for log in message.log_info),
        log_context=_sub_message_bytes(message, "log_context"),
        cache_status=CacheStatus(message.cache_status),
    )


def encode_action_event_bytes(event: ActionEvent) -> bytes:
    """The deterministic wire bytes of :func:`encode_action_event` (the typed route for adapters that store events)."""
    return bytes(encode_action_event(event).SerializeToString(deterministic=True))


def decode_action_event_bytes(data: bytes) -> Result[ActionEvent, DecodeError]:
    """Total inverse of :func:`encode_action_event_bytes`: corrupt bytes or unknown values give ``Failure``."""
    message = run_definition_pb2.ActionEvent()
    return _parse(message, data).bind(lambda _: _read_action_event(message))


def _read_action_event(message: Any) -> Result[ActionEvent, DecodeError]:
    try:
        return Success(decode_action_event(message))
    except ValueError as error:
        return Failure(DecodeError(f"invalid flyteidl2.workflow.ActionEvent: {error}"))


def _action_id_to_proto(action_id: ActionId) -> common_identifier_pb2.ActionIdentifier:
    run = common_identifier_pb2.RunIdentifier(
        project=action_id.project, domain=action_id.domain, name=action_id.run_name
    )
    return common_identifier_pb2.ActionIdentifier(run=run, name=action_id.name)


def _action_id_from_proto(message: Any) -> ActionId:
    run = message.run
    return ActionId(str(run.project), str(run.domain), str(run.name), str(message.name))


def _task_log_to_proto(log: TaskLog) -> execution_pb2.TaskLog:
    message = execution_pb2.TaskLog(
        uri=log.uri,
        name=log.name,
        message_format=log.message_format,
        ShowWhilePending=log.show_while_pending,
        HideOnceFinished=log.hide_once_finished,
    )
    if log.ttl_seconds:
        message.ttl.seconds = log.ttl_seconds
    return message


def _task_log_from_proto(message: Any) -> TaskLog:
    return TaskLog(
        uri=str(message.uri),
        name=str(message.name),
        message_format=int(message.message_format),
        ttl_seconds=int(message.ttl.seconds),
        show_while_pending=bool(message.ShowWhilePending),
        hide_once_finished=bool(message.HideOnceFinished),
    )


def _set_cluster_event(message: Any, event: ClusterEvent) -> None:
    """R71: only ``message`` and ``occurred_at``; type, reason, source_component and count stay zero."""
    message.message = event.message
    _set_timestamp(message.occurred_at, event.occurred_at)


def _cluster_event_from_proto(message: Any) -> ClusterEvent:
    return ClusterEvent(str(message.message), _to_datetime(message.occurred_at))


def _set_log_context(message: Any, data: bytes) -> None:
    try:
        message.log_context.MergeFromString(data)
    except Exception as error:
        raise ValueError(f"ActionEvent.log_context is not a serialized flyteidl2.core.LogContext: {error}") from error


# --- time conversions ---------------------------------------------------------------------------------------------


def _set_timestamp(timestamp: Any, moment: datetime) -> None:
    """Write an aware ``datetime`` into a ``Timestamp`` exactly (integer arithmetic, no float rounding).

    ``timedelta`` normalises to non-negative seconds and microseconds within the day, which is exactly
    Timestamp's convention (``nanos`` is never negative). A naive ``datetime`` raises TypeError: records hold UTC times.
    """
    delta = moment - _EPOCH
    timestamp.seconds = delta.days * 86_400 + delta.seconds
    timestamp.nanos = delta.microseconds * 1_000


def _to_datetime(timestamp: Any) -> datetime:
    """A ``Timestamp`` as an aware UTC ``datetime``, nanoseconds truncated to microseconds. ValueError if invalid.

    Truncation (not rounding) keeps the last valid instant, 9999-12-31T23:59:59.999999999Z, inside ``datetime``.
    """
    seconds, nanos = int(timestamp.seconds), int(timestamp.nanos)
    if not (_MIN_TIMESTAMP_SECONDS <= seconds <= _MAX_TIMESTAMP_SECONDS and 0 <= nanos < _NANOS_PER_SECOND):
        raise ValueError(f"timestamp out of range: seconds={seconds} nanos={nanos}")
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1_000)


def _to_timedelta(duration: Any, field: str) -> Result[timedelta, DecodeError]:
    """A ``Duration`` as a ``timedelta`` (nanoseconds rounded to microseconds), sign kept.

    Out-of-range values (beyond ±10,000 years, or nanos beyond ±1 s) are not valid Durations and would overflow
    ``timedelta``, so they are a decode failure rather than an exception.
    """
    seconds, nanos = int(duration.seconds), int(duration.nanos)
    if abs(seconds) > _MAX_DURATION_SECONDS or abs(nanos) >= _NANOS_PER_SECOND:
        return Failure(DecodeError(f"{field} out of range: seconds={seconds} nanos={nanos}"))
    return Success(timedelta(seconds=seconds, microseconds=nanos / 1_000))
