"""TaskAction ⇄ JSON document (R1–R5): wire names, base64 bytes, RFC 3339 times, absent vs empty, field errors."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap, pvector

from taskaction_core.adapters.serialization import (
    IGNORED_METADATA_FIELDS,
    WireDocument,
    format_time,
    from_json,
    from_wire,
    parse_time,
    to_json,
    to_wire,
)
from taskaction_core.records import (
    SPEC_WIRE_NAMES,
    STATUS_WIRE_NAMES,
    Condition,
    ErrorState,
    ObjectMeta,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)

T0 = datetime(2026, 3, 1, 12, 30, 45, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 12, 31, 0, 123400, tzinfo=UTC)


def a_full_task_action() -> TaskAction:
    """Every field set to a non-zero value."""
    return TaskAction(
        metadata=ObjectMeta(
            name="run1-a0",
            namespace="flyte",
            uid="0b7c5c6e-0000-4000-8000-000000000001",
            labels=pmap({"flyte.org/run": "run1", "app": "x"}),
            annotations=pmap({"note": "hello"}),
            finalizers=pvector(["flyte.org/plugin-finalizer"]),
            deletion_timestamp=T1,
            creation_timestamp=T0,
            resource_version="42",
            generation=3,
        ),
        spec=TaskActionSpec(
            run_name="run1",
            project="p",
            domain="d",
            action_name="a0",
            parent_action_name="root",
            action_type="task",
            condition_spec=b"\x01\x02",
            input_uri="s3://b/in",
            run_output_base="s3://b/out",
            cache_key="v1",
            task_type="python-task",
            short_name="t",
            task_template=b"\x00\x01\xff",
            env_vars=pmap({"A": "1"}),
            interruptible=True,
            group="g",
        ),
        status=TaskActionStatus(
            state_json='{"phase":"x"}',
            plugin_state=b"\xfa\xfb",
            plugin_state_version=255,
            plugin_phase="Running",
            plugin_phase_version=2**32 - 1,
            attempts=2,
            system_failures=1,
            cache_status=3,
            conditions=pvector(
                [
                    Condition("Progressing", "True", "Executing", "running", T0, 0),
                    Condition("Succeeded", "True", "Completed", "", T1, 7),
                ]
            ),
            phase_history=pvector([PhaseHistoryEntry("Queued", T0), PhaseHistoryEntry("Executing", T1, "go")]),
            error_state=ErrorState("Code", "USER", "boom"),
            signal_value=b"\x08\x01",
            signalled_by="alice",
            signalled_at=T1,
        ),
    )


# -- round trips -------------------------------------------------------------------------------------------------------


def test_wire_round_trip_full_object_is_identity() -> None:
    full = a_full_task_action()
    assert from_wire(to_wire(full)).unwrap() == full


def test_wire_round_trip_through_json_text_is_identity() -> None:
    full = a_full_task_action()
    assert from_json(to_json(full)).unwrap() == full


def test_wire_round_trip_minimal_object_is_identity() -> None:
    minimal = TaskAction(metadata=ObjectMeta(name="a"))
    assert from_wire(to_wire(minimal)).unwrap() == minimal


def test_to_json_equal_objects_give_equal_text() -> None:
    one = a_full_task_action()
    other = replace(one, metadata=replace(one.metadata, labels=pmap({"app": "x", "flyte.org/run": "run1"})))
    assert to_json(one) == to_json(other)


# -- wire names and encodings (R3, R5) -----------------------------------------------------------------------------


def test_to_wire_full_object_uses_every_spec_and_status_wire_name() -> None:
    document = to_wire(a_full_task_action())
    assert set(_object(document, "spec")) == set(SPEC_WIRE_NAMES.values())
    assert set(_object(document, "status")) == set(STATUS_WIRE_NAMES.values())
    assert set(_object(document, "metadata")) == {
        "name",
        "namespace",
        "uid",
        "labels",
        "annotations",
        "finalizers",
        "deletionTimestamp",
        "creationTimestamp",
        "resourceVersion",
        "generation",
    }


def test_to_wire_full_object_matches_golden_document() -> None:
    document = to_wire(a_full_task_action())
    assert document["apiVersion"] == "flyte.org/v1"
    assert document["kind"] == "TaskAction"
    assert _object(document, "metadata")["creationTimestamp"] == "2026-03-01T12:30:45Z"
    assert _object(document, "metadata")["deletionTimestamp"] == "2026-03-01T12:31:00.1234Z"
    assert _object(document, "metadata")["labels"] == {"app": "x", "flyte.org/run": "run1"}
    spec = _object(document, "spec")
    assert spec["taskTemplate"] == "AAH/"
    assert spec["conditionSpec"] == "AQI="
    assert spec["envVars"] == {"A": "1"}
    status = _object(document, "status")
    assert status["pluginState"] == "+vs="
    assert status["conditions"] == [
        {
            "type": "Progressing",
            "status": "True",
            "reason": "Executing",
            "message": "running",
            "lastTransitionTime": "2026-03-01T12:30:45Z",
        },
        {
            "type": "Succeeded",
            "status": "True",
            "reason": "Completed",
            "message": "",
            "lastTransitionTime": "2026-03-01T12:31:00.1234Z",
            "observedGeneration": 7,
        },
    ]
    assert status["phaseHistory"] == [
        {"phase": "Queued", "occurredAt": "2026-03-01T12:30:45Z"},
        {"phase": "Executing", "occurredAt": "2026-03-01T12:31:00.1234Z", "message": "go"},
    ]
    assert status["errorState"] == {"code": "Code", "kind": "USER", "message": "boom"}


def test_to_wire_zero_values_are_omitted() -> None:
    assert to_wire(TaskAction(metadata=ObjectMeta(name="a"))) == {
        "apiVersion": "flyte.org/v1",
        "kind": "TaskAction",
        "metadata": {"name": "a"},
        "spec": {},
    }


@pytest.mark.parametrize(
    ("spec", "wire"),
    [
        (TaskActionSpec(parent_action_name=None), {}),
        (TaskActionSpec(parent_action_name=""), {"parentActionName": ""}),
        (TaskActionSpec(interruptible=None), {}),
        (TaskActionSpec(interruptible=False), {"interruptible": False}),
        (TaskActionSpec(interruptible=True), {"interruptible": True}),
    ],
)
def test_wire_nullable_spec_fields_keep_absent_apart_from_empty(spec: TaskActionSpec, wire: WireDocument) -> None:
    task_action = TaskAction(metadata=ObjectMeta(name="a"), spec=spec)
    assert to_wire(task_action)["spec"] == wire
    assert from_wire(to_wire(task_action)).unwrap() == task_action


@pytest.mark.parametrize(
    ("error_state", "wire"),
    [(None, None), (ErrorState(), {}), (ErrorState(kind="SYSTEM"), {"kind": "SYSTEM"})],
)
def test_wire_error_state_keeps_absent_apart_from_empty(error_state: ErrorState | None, wire: object) -> None:
    task_action = TaskAction(metadata=ObjectMeta(name="a"), status=TaskActionStatus(error_state=error_state))
    status = to_wire(task_action).get("status", {})
    assert isinstance(status, dict)
    assert status.get("errorState") == wire
    assert from_wire(to_wire(task_action)).unwrap() == task_action


def test_from_wire_null_fields_read_as_absent() -> None:
    document = {
        "metadata": {"name": "a", "labels": None, "deletionTimestamp": None},
        "spec": {"runName": None, "parentActionName": None, "taskTemplate": None},
        "status": None,
    }
    assert from_wire(document).unwrap() == TaskAction(metadata=ObjectMeta(name="a"))


def test_from_wire_without_api_version_and_kind_is_accepted() -> None:
    assert from_wire({"metadata": {"name": "a"}}).unwrap() == TaskAction(metadata=ObjectMeta(name="a"))


def test_from_wire_ignored_kubernetes_metadata_fields_are_dropped() -> None:
    metadata: dict[str, object] = {"name": "a"}
    metadata.update({field: [{"x": 1}] for field in sorted(IGNORED_METADATA_FIELDS)})
    assert from_wire({"metadata": metadata}).unwrap() == TaskAction(metadata=ObjectMeta(name="a"))


# -- field errors --------------------------------------------------------------------------------------------------


def a_document() -> WireDocument:
    return to_wire(a_full_task_action())


def with_field(path: tuple[str | int, ...], value: object) -> WireDocument:
    """The full document with the field at ``path`` set to ``value`` (``...`` deletes it)."""
    document = copy.deepcopy(a_document())
    target: object = document
    for step in path[:-1]:
        target = _child(target, step)
    last = path[-1]
    if isinstance(target, list) and isinstance(last, int):
        target[last] = value
    elif isinstance(target, dict) and value is ...:
        del target[last]
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise AssertionError(f"no field {path} in the document")
    return document


def _child(container: object, step: str | int) -> object:
    if isinstance(container, dict):
        return container[step]
    if isinstance(container, list) and isinstance(step, int):
        return container[step]
    raise AssertionError(f"cannot step into {container!r} with {step!r}")


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (with_field(("spec", "runName"), 3), "spec.runName: expected a string, got integer 3"),
        (with_field(("spec", "interruptible"), "yes"), "spec.interruptible: expected a boolean, got string 'yes'"),
        (
            with_field(("spec", "taskTemplate"), "not base64!"),
            "spec.taskTemplate: not valid base64 (standard alphabet, padded)",
        ),
        (
            with_field(("spec", "conditionSpec"), "AQI"),
            "spec.conditionSpec: not valid base64 (standard alphabet, padded)",
        ),
        (with_field(("spec", "runname"), "x"), 'spec.runname: unknown field (did you mean "runName"?)'),
        (with_field(("spec", "runNam"), "x"), 'spec.runNam: unknown field (did you mean "runName"?)'),
        (with_field(("spec", "zzz"), "x"), "spec.zzz: unknown field"),
        (with_field(("spec", "envVars", "A"), 1), 'spec.envVars["A"]: expected a string, got integer 1'),
        (with_field(("status", "attempts"), -1), "status.attempts: -1 is out of range [0, 4294967295]"),
        (with_field(("status", "attempts"), True), "status.attempts: expected an integer, got boolean True"),
        (with_field(("status", "attempts"), 1.0), "status.attempts: expected an integer, got number 1.0"),
        (with_field(("status", "pluginStateVersion"), 256), "status.pluginStateVersion: 256 is out of range [0, 255]"),
        (
            with_field(("status", "cacheStatus"), 2**31),
            "status.cacheStatus: 2147483648 is out of range [-2147483648, 2147483647]",
        ),
        (
            with_field(("status", "conditions", 1, "lastTransitionTime"), "yesterday"),
            'status.conditions[1].lastTransitionTime: not an RFC 3339 time: "yesterday"',
        ),
        (with_field(("status", "conditions", 0), "x"), "status.conditions[0]: expected an object, got string 'x'"),
        (with_field(("status", "conditions"), {}), "status.conditions: expected a list, got object {}"),
        (
            with_field(("status", "phaseHistory", 0, "occurredAt"), ...),
            "status.phaseHistory[0].occurredAt: required",
        ),
        (with_field(("status", "errorState", "kind"), 1), "status.errorState.kind: expected a string, got integer 1"),
        (with_field(("status", "errorState", "extra"), 1), "status.errorState.extra: unknown field"),
        (with_field(("metadata", "labels", "app"), 1), 'metadata.labels["app"]: expected a string, got integer 1'),
        (with_field(("metadata", "finalizers"), "x"), "metadata.finalizers: expected a list, got string 'x'"),
        (with_field(("metadata", "finalizers", 0), 7), "metadata.finalizers[0]: expected a string, got integer 7"),
        (
            with_field(("metadata", "generation"), -1),
            "metadata.generation: -1 is out of range [0, 9223372036854775807]",
        ),
        (with_field(("metadata",), ...), "metadata: required"),
        (with_field(("kind",), "Pod"), 'kind: expected "TaskAction", got "Pod"'),
        (with_field(("apiVersion",), "flyte.org/v2"), 'apiVersion: expected "flyte.org/v1", got "flyte.org/v2"'),
        (with_field(("Spec",), {}), 'Spec: unknown field (did you mean "spec"?)'),
        ([1], "document: expected an object, got list [1]"),
    ],
)
def test_from_wire_invalid_field_error_names_the_field(document: object, error: str) -> None:
    assert from_wire(document).failure() == error


def test_from_json_malformed_text_is_a_failure() -> None:
    assert from_json("{").failure().startswith("not valid JSON: ")


def test_from_json_non_object_is_a_failure() -> None:
    assert from_json("[]").failure() == "document: expected an object, got list []"


def test_from_wire_long_value_is_excerpted_in_error() -> None:
    error = from_wire(with_field(("spec", "runName"), ["x" * 100])).failure()
    assert error.startswith("spec.runName: expected a string, got list ['xxx")
    assert error.endswith("…")
    assert len(error) < 100


# -- times -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 1, tzinfo=UTC), "2026-03-01T00:00:00Z"),
        (datetime(2026, 3, 1, 0, 0, 0, 500000, tzinfo=UTC), "2026-03-01T00:00:00.5Z"),
        (datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=UTC), "2026-03-01T00:00:00.000001Z"),
        (datetime(2026, 3, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))), "2026-03-01T00:00:00Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00Z"),  # Hypothesis found: strftime's %Y is unpadded
    ],
)
def test_format_time_is_rfc3339_utc(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30)), timezone(timedelta(hours=14))]),
    )
)
def test_format_time_equals_the_field_by_field_layout(moment: datetime) -> None:
    """The isoformat shortcut is RFC 3339 in UTC: four-digit year, the fraction without trailing zeros, then Z."""
    utc = moment.astimezone(UTC)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    assert format_time(moment) == f"{text}{fraction}Z"


def test_format_time_naive_datetime_raises() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-03-01T02:00:00+02:00", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-02-28T23:30:00-00:30", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01t00:00:00z", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T00:00:00.123456789Z", datetime(2026, 3, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_time_accepts_offsets_and_nanoseconds(text: str, moment: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == moment
    assert parsed is not None
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01",
        "2026-03-01T00:00:00",
        "2026-03-01 00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-03-01T24:00:00Z",
        "2026-03-01T00:00:60Z",
        "2026-03-01T00:00:00+24:00",
        "2026-03-01T00:00:00+01:60",
        "2026-03-01T00:00:00.Z",
        "0001-01-01T00:00:00+01:00",
        "２０２６-03-01T00:00:00Z",
    ],
)
def test_parse_time_rejects_non_rfc3339(text: str) -> None:
    assert parse_time(text) is None


# -- property --------------------------------------------------------------------------------------------------------

_texts = st.text(max_size=8)
_times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([UTC])
).map(lambda moment: moment.astimezone(UTC))
_maps = st.dictionaries(_texts, _texts, max_size=3).map(pmap)
_uint32 = st.integers(0, 2**32 - 1)

_metas = st.builds(
    ObjectMeta,
    name=_texts,
    namespace=_texts,
    uid=_texts,
    labels=_maps,
    annotations=_maps,
    finalizers=st.lists(_texts, max_size=3).map(pvector),
    deletion_timestamp=st.none() | _times,
    creation_timestamp=st.none() | _times,
    resource_version=_texts,
    generation=st.integers(0, 2**63 - 1),
)
_specs = st.builds(
    TaskActionSpec,
    run_name=_texts,
    parent_action_name=st.none() | _texts,
    condition_spec=st.binary(max_size=8),
    task_template=st.binary(max_size=8),
    env_vars=_maps,
    interruptible=st.none() | st.booleans(),
)
_statuses = st.builds(
    TaskActionStatus,
    state_json=_texts,
    plugin_state=st.binary(max_size=8),
    plugin_state_version=st.integers(0, 255),
    plugin_phase_version=_uint32,
    attempts=_uint32,
    system_failures=_uint32,
    cache_status=st.integers(-(2**31), 2**31 - 1),
    conditions=st.lists(
        st.builds(
            Condition,
            type=_texts,
            status=_texts,
            reason=_texts,
            message=_texts,
            last_transition_time=st.none() | _times,
            observed_generation=st.integers(0, 2**63 - 1),
        ),
        max_size=3,
    ).map(pvector),
    phase_history=st.lists(st.builds(PhaseHistoryEntry, _texts, _times, _texts), max_size=3).map(pvector),
    error_state=st.none() | st.builds(ErrorState, _texts, _texts, _texts),
    signal_value=st.binary(max_size=8),
    signalled_at=st.none() | _times,
)


@given(st.builds(TaskAction, metadata=_metas, spec=_specs, status=_statuses))
def test_wire_round_trip_any_task_action_is_identity(task_action: TaskAction) -> None:
    assert from_json(to_json(task_action)).unwrap() == task_action
    assert json.loads(to_json(task_action)) == to_wire(task_action)


@given(st.builds(TaskAction, metadata=_metas, spec=_specs, status=_statuses))
def test_to_json_is_the_sorted_compact_dump_of_to_wire(task_action: TaskAction) -> None:
    """to_json assembles its text from parts (the spec's memoized); it must be exactly the one-piece dump."""
    expected = json.dumps(to_wire(task_action), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert to_json(task_action) == expected
    assert to_json(task_action) == expected  # again, the spec's text now from the memo


@pytest.mark.parametrize(
    "meta",
    [
        ObjectMeta(name=""),
        ObjectMeta(name="", resource_version="7"),
        ObjectMeta(name="", uid="u"),
        ObjectMeta(name="", uid="u", resource_version="7"),
        ObjectMeta(name="n", resource_version="7"),
        ObjectMeta(name="n", uid="u"),
        ObjectMeta(name="n", uid="u", resource_version='7"\\'),
    ],
)
def test_to_json_metadata_text_around_the_resource_version_is_exact(meta: ObjectMeta) -> None:
    task_action = TaskAction(metadata=meta)
    expected = json.dumps(to_wire(task_action), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert to_json(task_action) == expected
    other_revision = replace(meta, resource_version="12")
    assert json.loads(to_json(TaskAction(metadata=other_revision)))["metadata"]["resourceVersion"] == "12"


def test_to_json_memoized_spec_text_follows_a_changed_spec() -> None:
    task_action = a_full_task_action()
    first = to_json(task_action)
    changed = replace(task_action, spec=replace(task_action.spec, short_name="other-name"))
    assert json.loads(to_json(changed))["spec"]["shortName"] == "other-name"
    assert to_json(task_action) == first


def _object(document: WireDocument, name: str) -> WireDocument:
    value = document[name]
    assert isinstance(value, dict)
    return value


def _one_piece_dump(task_action: TaskAction) -> str:
    return json.dumps(to_wire(task_action), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_to_json_full_object_is_the_sorted_compact_dump_of_to_wire() -> None:
    task_action = a_full_task_action()
    assert to_json(task_action) == _one_piece_dump(task_action)


@pytest.mark.parametrize(
    "status",
    [
        TaskActionStatus(),
        TaskActionStatus(error_state=ErrorState()),  # written although empty: errorState is nullable (R5)
        TaskActionStatus(cache_status=-3),
        TaskActionStatus(conditions=pvector([Condition("", "", "")])),
        TaskActionStatus(phase_history=pvector([PhaseHistoryEntry("", T0, "")])),
        TaskActionStatus(state_json='{"a":"\\u2028\x00\x7f é\\"/"}', signalled_by="\ud800"),
    ],
)
def test_to_json_edge_status_is_the_sorted_compact_dump_of_to_wire(status: TaskActionStatus) -> None:
    task_action = TaskAction(metadata=ObjectMeta(name="n", labels=pmap({"é": "\n", "a": ""})), status=status)
    assert to_json(task_action) == _one_piece_dump(task_action)


def test_to_json_memoized_parts_never_serve_the_text_of_an_earlier_object() -> None:
    # Each iteration drops its records, so CPython reuses their addresses (ids) for the next iteration's: a memo keyed
    # by id alone, not holding its objects, would hand back the first iteration's text.
    for index in range(300):
        task_action = TaskAction(
            metadata=ObjectMeta(name="n", labels=pmap({"i": str(index)})),
            spec=TaskActionSpec(run_name=f"run-{index}"),
            status=TaskActionStatus(
                conditions=pvector([Condition("Progressing", "True", f"r{index}")]),
                phase_history=pvector([PhaseHistoryEntry(f"p{index}", T0)]),
            ),
        )
        assert to_json(task_action) == _one_piece_dump(task_action)


def test_to_json_memoized_parts_follow_a_status_write_that_changes_them() -> None:
    task_action = a_full_task_action()
    first = to_json(task_action)
    history = task_action.status.phase_history.append(PhaseHistoryEntry("Completed", T1, "done"))
    conditions = task_action.status.conditions.set(0, Condition("Progressing", "False", "Completed", "done", T1))
    written = replace(task_action, status=replace(task_action.status, phase_history=history, conditions=conditions))

    assert to_json(written) == _one_piece_dump(written)
    assert to_json(task_action) == first
