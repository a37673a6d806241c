"""The flyteidl2 boundary (taskaction_core.idl): decoding spec bytes, encoding ActionEvents, and enum drift.

Every protobuf message here is built with flyteidl2 itself, so the tests pin our reading of the real wire format,
not our own idea of it. Rules: R49, R68–R76, R80, R106, R107 (taskaction-behavior.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

import pytest
from flyteidl2.common import phase_pb2
from flyteidl2.core import (
    catalog_pb2,
    execution_pb2,
    identifier_pb2,
    interface_pb2,
    literals_pb2,
    security_pb2,
    tasks_pb2,
    types_pb2,
)
from flyteidl2.workflow import run_definition_pb2
from google.protobuf import duration_pb2
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pvector
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from taskaction_core.action_event import ActionEvent, ActionId, ClusterEvent, ErrorInfo, OutputReferences
from taskaction_core.idl import (
    decode_action_event,
    decode_action_event_bytes,
    decode_condition_spec,
    decode_task_template,
    encode_action_event,
    encode_action_event_bytes,
    identifier_from_proto,
    identifier_to_proto,
)
from taskaction_core.phase_info import TaskLog
from taskaction_core.phases import ActionPhase, CacheStatus, ErrorKind
from taskaction_core.template import ConditionSpec, DecodeError, Identifier, TaskMetadata, TaskTemplate

T0 = datetime(2026, 8, 8, 12, 0, 0, 123456, tzinfo=UTC)
T1 = datetime(2026, 8, 8, 12, 0, 5, 654321, tzinfo=UTC)


def _failure_message(result: Result[object, DecodeError]) -> str:
    """The DecodeError text of a Failure; fails the test if the result is a Success."""
    assert not is_successful(result), f"expected a Failure, got {result}"
    error = result.failure()
    assert isinstance(error, DecodeError)
    return error.message


# --- TaskTemplate -------------------------------------------------------------------------------------------------


def _interface() -> interface_pb2.TypedInterface:
    integer = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)
    variables = interface_pb2.VariableMap(variables=[interface_pb2.VariableEntry(key="x", value={"type": integer})])
    return interface_pb2.TypedInterface(inputs=variables, outputs=variables)


def _container() -> tasks_pb2.Container:
    return tasks_pb2.Container(image="cr.flyte.org/img:1", args=["pyflyte-execute", "--inputs", "{{.input}}"])


def _security_context() -> security_pb2.SecurityContext:
    return security_pb2.SecurityContext(
        run_as=security_pb2.Identity(k8s_service_account="task-sa"),
        secrets=[security_pb2.Secret(group="db", key="password")],
    )


def _full_template() -> tasks_pb2.TaskTemplate:
    return tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.ResourceType.TASK,
            project="flytesnacks",
            domain="development",
            name="wf.train",
            version="v7",
            org="acme",
        ),
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(
            discoverable=True,
            discovery_version="1.0",
            cache_serializable=True,
            cache_ignore_input_vars=["seed", "debug"],
            retries=literals_pb2.RetryStrategy(retries=3),
            timeout=duration_pb2.Duration(seconds=90, nanos=500_000_000),
            interruptible=True,
        ),
        interface=_interface(),
        container=_container(),
        security_context=_security_context(),
    )


def test_decode_task_template_full_message_reads_every_field() -> None:
    # R49 (cache key parts), R106 (secrets label), R107 (retries, service account).
    message = _full_template()

    result = decode_task_template(message.SerializeToString())

    assert result == Success(
        TaskTemplate(
            id=Identifier(1, "flytesnacks", "development", "wf.train", "v7", "acme"),
            type="python-task",
            metadata=TaskMetadata(
                discoverable=True,
                discovery_version="1.0",
                cache_serializable=True,
                cache_ignore_input_vars=pvector(["seed", "debug"]),
                retries=3,
                timeout=timedelta(seconds=90, milliseconds=500),
                interruptible=True,
            ),
            interface=_interface().SerializeToString(deterministic=True),
            container=_container().SerializeToString(deterministic=True),
            security_context=_security_context().SerializeToString(deterministic=True),
            has_secrets=True,
            service_account="task-sa",
        )
    )


def test_decode_task_template_passthrough_bytes_parse_back_to_the_sub_messages() -> None:
    template = decode_task_template(_full_template().SerializeToString()).unwrap()

    assert interface_pb2.TypedInterface.FromString(template.interface) == _interface()
    assert tasks_pb2.Container.FromString(template.container) == _container()
    assert security_pb2.SecurityContext.FromString(template.security_context) == _security_context()


def test_decode_task_template_metadata_is_a_pvector_of_ignored_inputs() -> None:
    template = decode_task_template(_full_template().SerializeToString()).unwrap()

    assert template.metadata is not None
    assert type(template.metadata.cache_ignore_input_vars) is type(pvector())


def test_decode_task_template_absent_id_and_metadata_give_none() -> None:
    # R49: no metadata → caching not enabled; R107: no metadata → max attempts 1.
    message = tasks_pb2.TaskTemplate(type="python-task", container=_container())

    template = decode_task_template(message.SerializeToString()).unwrap()

    assert template.id is None
    assert template.metadata is None
    assert template.type == "python-task"
    assert template.interface == b""
    assert template.security_context == b""
    assert template.has_secrets is False
    assert template.service_account == ""


def test_decode_task_template_empty_identifier_is_present_not_none() -> None:
    # HasField, not truthiness: an id with only defaults was still set by the sender.
    message = tasks_pb2.TaskTemplate()
    message.id.SetInParent()

    template = decode_task_template(message.SerializeToString()).unwrap()

    assert template.id == Identifier()


def test_decode_task_template_absent_retries_gives_none_and_zero_retries_gives_zero() -> None:
    # R107: an absent RetryStrategy and `retries: 0` both mean one attempt, but only the latter is "present".
    absent = tasks_pb2.TaskTemplate(metadata=tasks_pb2.TaskMetadata(discoverable=True))
    zero = tasks_pb2.TaskTemplate(metadata=tasks_pb2.TaskMetadata(retries=literals_pb2.RetryStrategy()))

    absent_metadata = decode_task_template(absent.SerializeToString()).unwrap().metadata
    zero_metadata = decode_task_template(zero.SerializeToString()).unwrap().metadata

    assert absent_metadata == TaskMetadata(discoverable=True, retries=None)
    assert zero_metadata == TaskMetadata(retries=0)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (None, None),
        (duration_pb2.Duration(), None),
        (duration_pb2.Duration(seconds=30), timedelta(seconds=30)),
        (duration_pb2.Duration(nanos=1_000), timedelta(microseconds=1)),
        (duration_pb2.Duration(seconds=-5), timedelta(seconds=-5)),
    ],
    ids=["absent", "zero", "thirty-seconds", "one-microsecond", "negative-kept"],
)
def test_decode_task_template_timeout_is_none_when_absent_or_zero(
    duration: duration_pb2.Duration | None, expected: timedelta | None
) -> None:
    metadata = tasks_pb2.TaskMetadata(discoverable=True)
    if duration is not None:
        metadata.timeout.CopyFrom(duration)
    message = tasks_pb2.TaskTemplate(metadata=metadata)

    template = decode_task_template(message.SerializeToString()).unwrap()

    assert template.metadata is not None
    assert template.metadata.timeout == expected


def test_decode_task_template_out_of_range_timeout_is_a_failure() -> None:
    # Beyond ±10,000 years is not a valid Duration, and would overflow timedelta if converted.
    message = tasks_pb2.TaskTemplate(metadata=tasks_pb2.TaskMetadata(timeout=duration_pb2.Duration(seconds=2**62)))

    message_text = _failure_message(decode_task_template(message.SerializeToString()))

    assert "TaskMetadata.timeout out of range" in message_text


def test_decode_task_template_security_context_without_secrets_has_no_secrets() -> None:
    context = security_pb2.SecurityContext(run_as=security_pb2.Identity(k8s_service_account="sa"))
    message = tasks_pb2.TaskTemplate(security_context=context)

    template = decode_task_template(message.SerializeToString()).unwrap()

    assert template.has_secrets is False
    assert template.service_account == "sa"
    assert template.security_context == context.SerializeToString(deterministic=True)


def test_decode_task_template_empty_bytes_give_the_empty_template() -> None:
    # Documented choice: b"" is the empty message, as protobuf says; the reconciler checks emptiness first (R80).
    assert decode_task_template(b"") == Success(TaskTemplate())


@pytest.mark.parametrize(
    ("data", "explanation"),
    [
        (b"\xff\xff\xff", "corrupt"),
        (_full_template().SerializeToString()[:-3], "corrupt"),
        (run_definition_pb2.ConditionAction(name="approve", prompt="ok?").SerializeToString(), "corrupt"),
        (b"\x12\x02\xff\xfe", "UTF-8"),
    ],
    ids=["garbage", "truncated", "condition-action-instead", "bad-utf8-type"],
)
def test_decode_task_template_unparsable_bytes_give_failure_naming_the_type(data: bytes, explanation: str) -> None:
    message_text = _failure_message(decode_task_template(data))

    assert "flyteidl2.core.TaskTemplate" in message_text
    assert explanation in message_text


def test_decode_task_template_equal_bytes_hit_the_cache() -> None:
    # The hot path: a steady reconcile round re-decodes the same template (equal bytes, maybe a new object).
    data = _full_template().SerializeToString()

    first = decode_task_template(data)
    second = decode_task_template(bytes(bytearray(data)))

    assert second is first


@given(st.binary())
def test_decode_task_template_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = decode_task_template(data)

    assert isinstance(result, Success | Failure)
    if is_successful(result):
        assert isinstance(result.unwrap(), TaskTemplate)
    else:
        assert isinstance(result.failure(), DecodeError)


# --- ConditionSpec ------------------------------------------------------------------------------------------------


def test_decode_condition_spec_with_timeout_reads_name_prompt_and_timeout() -> None:
    # R80: deadline = creationTimestamp + timeout.
    message = run_definition_pb2.ConditionAction(
        name="approve", prompt="Ship it?", timeout=duration_pb2.Duration(seconds=3600)
    )

    assert decode_condition_spec(message.SerializeToString()) == Success(
        ConditionSpec(name="approve", prompt="Ship it?", timeout=timedelta(hours=1))
    )


def test_decode_condition_spec_without_timeout_gives_none() -> None:
    # R80: absent → no deadline.
    message = run_definition_pb2.ConditionAction(name="approve")

    assert decode_condition_spec(message.SerializeToString()) == Success(ConditionSpec(name="approve"))


@pytest.mark.parametrize("seconds", [0, -30])
def test_decode_condition_spec_present_non_positive_timeout_is_kept(seconds: int) -> None:
    # R80: the caller, not the decoder, reads timeout <= 0 as "no deadline".
    message = run_definition_pb2.ConditionAction(timeout=duration_pb2.Duration(seconds=seconds))

    spec = decode_condition_spec(message.SerializeToString()).unwrap()

    assert spec.timeout == timedelta(seconds=seconds)


def test_decode_condition_spec_out_of_range_timeout_is_a_failure() -> None:
    message = run_definition_pb2.ConditionAction(timeout=duration_pb2.Duration(seconds=1, nanos=2_000_000_000))

    message_text = _failure_message(decode_condition_spec(message.SerializeToString()))

    assert "ConditionAction.timeout out of range" in message_text


def test_decode_condition_spec_empty_bytes_give_the_empty_spec() -> None:
    assert decode_condition_spec(b"") == Success(ConditionSpec())


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xff\xff",
        run_definition_pb2.ConditionAction(name="approve", prompt="ok?").SerializeToString()[:-1],
        tasks_pb2.TaskTemplate(container=_container()).SerializeToString(),
    ],
    ids=["garbage", "truncated", "task-template-instead"],
)
def test_decode_condition_spec_unparsable_bytes_give_failure_naming_the_type(data: bytes) -> None:
    # R80: the caller prefixes "failed to unmarshal conditionSpec: " to this explanation.
    message_text = _failure_message(decode_condition_spec(data))

    assert "flyteidl2.workflow.ConditionAction" in message_text


def test_decode_condition_spec_equal_bytes_hit_the_cache() -> None:
    data = run_definition_pb2.ConditionAction(name="cached").SerializeToString()

    assert decode_condition_spec(bytes(bytearray(data))) is decode_condition_spec(data)


@given(st.binary())
def test_decode_condition_spec_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = decode_condition_spec(data)

    assert isinstance(result, Success | Failure)
    if is_successful(result):
        assert isinstance(result.unwrap(), ConditionSpec)
    else:
        assert isinstance(result.failure(), DecodeError)


# --- Identifier ---------------------------------------------------------------------------------------------------


def test_identifier_to_proto_then_from_proto_is_identity() -> None:
    identifier = Identifier(1, "p", "d", "n", "v", "o")

    message = identifier_to_proto(identifier)

    assert message == identifier_pb2.Identifier(
        resource_type=1, project="p", domain="d", name="n", version="v", org="o"
    )
    assert identifier_from_proto(message) == identifier


# --- ActionEvent --------------------------------------------------------------------------------------------------


def _log_context() -> bytes:
    context = execution_pb2.LogContext(
        pods=[execution_pb2.PodLogContext(namespace="ns", pod_name="ta-0")], primary_pod_name="ta-0"
    )
    return bytes(context.SerializeToString(deterministic=True))


def _full_event() -> ActionEvent:
    return ActionEvent(
        id=ActionId(project="p", domain="d", run_name="r1", name="a0"),
        attempt=2,
        phase=ActionPhase.FAILED,
        version=3,
        updated_time=T0,
        reported_time=T1,
        cluster="c-east",
        error_info=ErrorInfo("boom", ErrorKind.USER),
        outputs=OutputReferences("s3://b/ab/r1/a0/2/outputs.pb", "s3://b/ab/r1/a0/2/report.html"),
        cluster_events=pvector([ClusterEvent("OOMKilled", T0), ClusterEvent("retrying", T1)]),
        log_info=pvector(
            [
                TaskLog("https://logs/1", "Kubernetes", 2, 3600, show_while_pending=True, hide_once_finished=True),
                TaskLog("https://logs/2"),
            ]
        ),
        log_context=_log_context(),
        cache_status=CacheStatus.CACHE_MISS,
    )


def _minimal_event() -> ActionEvent:
    return ActionEvent(
        id=ActionId("p", "d", "r1", "a0"),
        attempt=1,
        phase=ActionPhase.QUEUED,
        version=0,
        updated_time=T0,
        reported_time=T0,
    )


def test_encode_action_event_full_event_sets_the_r68_fields() -> None:
    message = encode_action_event(_full_event())

    assert message.id.run.project == "p"
    assert message.id.run.domain == "d"
    assert message.id.run.name == "r1"
    assert message.id.name == "a0"
    assert (message.attempt, message.phase, message.version) == (2, phase_pb2.ACTION_PHASE_FAILED, 3)
    assert (message.updated_time.seconds, message.updated_time.nanos) == (int(T0.timestamp()), 123_456_000)
    assert (message.reported_time.seconds, message.reported_time.nanos) == (int(T1.timestamp()), 654_321_000)
    assert message.cluster == "c-east"
    assert message.cache_status == catalog_pb2.CACHE_MISS
    assert message.error_info == run_definition_pb2.ErrorInfo(
        message="boom", kind=run_definition_pb2.ErrorInfo.KIND_USER
    )
    assert message.outputs.output_uri == "s3://b/ab/r1/a0/2/outputs.pb"
    assert message.outputs.report_uri == "s3://b/ab/r1/a0/2/report.html"
    assert execution_pb2.LogContext.FromString(_log_context()) == message.log_context


def test_encode_action_event_task_logs_carry_every_field() -> None:
    message = encode_action_event(_full_event())

    first, second = message.log_info
    assert (first.uri, first.name, first.message_format) == ("https://logs/1", "Kubernetes", 2)
    assert first.ttl.seconds == 3600
    assert first.ShowWhilePending is True
    assert first.HideOnceFinished is True
    assert second.uri == "https://logs/2"
    assert not second.HasField("ttl")


def test_encode_action_event_cluster_events_have_only_message_and_occurred_at() -> None:
    # R71: type, reason, source_component and count stay zero.
    message = encode_action_event(_full_event())

    first = message.cluster_events[0]
    assert [event.message for event in message.cluster_events] == ["OOMKilled", "retrying"]
    assert (first.occurred_at.seconds, first.occurred_at.nanos) == (int(T0.timestamp()), 123_456_000)
    assert {field.name for field, _ in first.ListFields()} == {"message", "occurred_at"}


def test_encode_action_event_minimal_event_leaves_optional_parts_unset() -> None:
    # R68, R70, R71, R72: absent stays absent; org, start/end time and cache metadata are never set.
    message = encode_action_event(_minimal_event())

    for field in ("error_info", "outputs", "log_context", "start_time", "end_time", "cache_metadata"):
        assert not message.HasField(field), field
    assert len(message.cluster_events) == 0
    assert len(message.log_info) == 0
    assert {field.name for field, _ in message.id.run.ListFields()} == {"project", "domain", "name"}


def test_encode_action_event_never_sets_org() -> None:
    # R76: org is never set, even when everything else is.
    message = encode_action_event(_full_event())

    assert message.id.run.org == ""
    assert "org" not in {field.name for field, _ in message.id.run.ListFields()}


@pytest.mark.parametrize("event", [_full_event(), _minimal_event()], ids=["full", "minimal"])
def test_decode_action_event_of_encoded_event_is_identity(event: ActionEvent) -> None:
    assert decode_action_event(encode_action_event(event)) == event


@pytest.mark.parametrize("event", [_full_event(), _minimal_event()], ids=["full", "minimal"])
def test_decode_action_event_bytes_of_encoded_bytes_is_identity(event: ActionEvent) -> None:
    assert decode_action_event_bytes(encode_action_event_bytes(event)) == Success(event)


def test_decode_action_event_empty_cluster_events_come_back_absent() -> None:
    # Protobuf has no presence for repeated fields: an empty list and R71's absent list are the same wire bytes.
    event = replace(_minimal_event(), cluster_events=pvector())

    assert decode_action_event(encode_action_event(event)).cluster_events is None


def test_encode_action_event_timestamps_before_the_epoch_are_exact() -> None:
    before = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    event = ActionEvent(ActionId("p", "d", "r", "a"), 1, ActionPhase.QUEUED, 0, before, before)

    message = encode_action_event(event)

    assert (message.updated_time.seconds, message.updated_time.nanos) == (-1, 500_000_000)
    assert decode_action_event(message).updated_time == before


def test_encode_action_event_malformed_log_context_raises_value_error() -> None:
    # A programmer error of whoever built the TaskInfo, not an outcome of the world.
    event = ActionEvent(ActionId("p", "d", "r", "a"), 1, ActionPhase.QUEUED, 0, T0, T0, log_context=b"\xff\xff\xff")

    with pytest.raises(ValueError, match=r"log_context is not a serialized flyteidl2\.core\.LogContext"):
        encode_action_event(event)


def test_decode_action_event_last_valid_nanosecond_truncates_to_the_last_microsecond() -> None:
    message = encode_action_event(_minimal_event())
    message.updated_time.seconds = 253_402_300_799
    message.updated_time.nanos = 999_999_999

    event = decode_action_event(message)

    assert event.updated_time == datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


def _corrupted(field: str, value: int) -> bytes:
    message = encode_action_event(_minimal_event())
    if field == "phase":
        message.phase = value
    elif field == "cache_status":
        message.cache_status = value
    else:
        message.reported_time.seconds = value
    return bytes(message.SerializeToString())


@pytest.mark.parametrize(
    ("data", "explanation"),
    [
        (b"\xff\xff\xff", "flyteidl2.workflow.ActionEvent"),
        (_corrupted("phase", 99), "ActionPhase"),
        (_corrupted("cache_status", 42), "CacheStatus"),
        (_corrupted("reported_time", 2**40), "timestamp out of range"),
    ],
    ids=["garbage", "unknown-phase", "unknown-cache-status", "timestamp-out-of-range"],
)
def test_decode_action_event_bytes_invalid_input_gives_failure(data: bytes, explanation: str) -> None:
    assert explanation in _failure_message(decode_action_event_bytes(data))


@given(st.binary())
def test_decode_action_event_bytes_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = decode_action_event_bytes(data)

    assert isinstance(result, Success | Failure)


_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
_TIMES = st.datetimes(timezones=st.just(UTC))
_UINT32 = st.integers(0, 2**32 - 1)

_TASK_LOGS = st.builds(
    TaskLog,
    uri=_TEXT,
    name=_TEXT,
    message_format=st.integers(0, 2),
    ttl_seconds=st.integers(0, 10**9),
    show_while_pending=st.booleans(),
    hide_once_finished=st.booleans(),
)
_EVENTS = st.builds(
    ActionEvent,
    id=st.builds(ActionId, _TEXT, _TEXT, _TEXT, _TEXT),
    attempt=_UINT32,
    phase=st.sampled_from(ActionPhase),
    version=_UINT32,
    updated_time=_TIMES,
    reported_time=_TIMES,
    cluster=_TEXT,
    error_info=st.none() | st.builds(ErrorInfo, _TEXT, st.sampled_from(ErrorKind)),
    outputs=st.none() | st.builds(OutputReferences, _TEXT, _TEXT),
    cluster_events=st.none() | st.lists(st.builds(ClusterEvent, _TEXT, _TIMES), min_size=1).map(pvector),
    log_info=st.lists(_TASK_LOGS, max_size=3).map(pvector),
    log_context=st.sampled_from([b"", _log_context()]),
    cache_status=st.sampled_from(CacheStatus),
)


@given(_EVENTS)
def test_decode_action_event_of_any_encoded_event_is_identity(event: ActionEvent) -> None:
    assert decode_action_event_bytes(encode_action_event_bytes(event)) == Success(event)


# --- enum drift ---------------------------------------------------------------------------------------------------


def _proto_names(
    items: Mapping[str, int], prefix: str = "", aliases: Mapping[str, str] | None = None
) -> dict[str, int]:
    """The proto enum as name → number with ``prefix`` stripped and proto names renamed to core names."""
    renamed = aliases or {}
    stripped = {name.removeprefix(prefix): number for name, number in items.items()}
    return {renamed.get(name, name): number for name, number in stripped.items()}


def _core_names(enum: type[IntEnum]) -> dict[str, int]:
    return {member.name: member.value for member in enum}


@pytest.mark.parametrize(
    ("core", "proto"),
    [
        (ActionPhase, _proto_names(dict(phase_pb2.ActionPhase.items()), "ACTION_PHASE_")),
        (CacheStatus, _proto_names(dict(catalog_pb2.CatalogCacheStatus.items()))),
        (ErrorKind, _proto_names(dict(execution_pb2.ExecutionError.ErrorKind.items()))),
        (
            ErrorKind,
            _proto_names(dict(run_definition_pb2.ErrorInfo.Kind.items()), "KIND_", {"UNSPECIFIED": "UNKNOWN"}),
        ),
    ],
    ids=["ActionPhase", "CacheStatus", "ErrorKind-vs-ExecutionError", "ErrorKind-vs-ErrorInfo"],
)
def test_core_enum_matches_proto_enum_in_both_directions(core: type[IntEnum], proto: dict[str, int]) -> None:
    # design.md §5: the core keeps its own enums with the same numbers; a drift must fail here, not on the wire.
    assert _core_names(core) == proto
