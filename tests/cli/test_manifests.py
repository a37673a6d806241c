"""Manifests: every field survives YAML and JSON round trips, and CRD validation errors name the field (R1–R5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyrsistent import pmap, pvector
from returns.result import Failure, Success

from taskaction_core.cli.manifests import (
    ManifestError,
    crd_schema,
    dump_json,
    dump_yaml,
    from_document,
    parse_manifests,
    read_manifest_file,
    validate_document,
)
from taskaction_core.records import (
    FINALIZER,
    Condition,
    ErrorState,
    ObjectMeta,
    PhaseHistoryEntry,
    TaskAction,
    TaskActionSpec,
    TaskActionStatus,
)

T0 = datetime(2026, 8, 8, 12, 0, 0, tzinfo=UTC)


def a_full_task_action(name: str = "full") -> TaskAction:
    """Every metadata, spec and status field set to a non-zero value (bytes that are not UTF-8 included)."""
    return TaskAction(
        metadata=ObjectMeta(
            name=name,
            namespace="team-a",
            uid="0b1c",
            labels=pmap({"flyte.org/run": "r1", "tier": "gold"}),
            annotations=pmap({"note": "yes: no"}),
            finalizers=pvector([FINALIZER]),
            deletion_timestamp=T0 + timedelta(hours=1),
            creation_timestamp=T0,
            resource_version="42",
            generation=3,
        ),
        spec=TaskActionSpec(
            run_name="r1",
            project="p",
            domain="d",
            action_name="a0",
            parent_action_name="root",
            action_type="task",
            condition_spec=b"\x00\xffcond",
            input_uri="s3://b/in/inputs.pb",
            run_output_base="s3://b/out",
            cache_key="ck-1",
            task_type="python",
            short_name="add",
            task_template=b"\x08\x01\x80tmpl",
            env_vars=pmap({"A": "1", "ON": "true"}),
            interruptible=False,
            group="g",
        ),
        status=TaskActionStatus(
            state_json='{"phase":"RUNNING"}',
            plugin_state=b"\x01\x02",
            plugin_state_version=1,
            plugin_phase="PhaseRunning",
            plugin_phase_version=2,
            attempts=2,
            system_failures=1,
            cache_status=3,
            conditions=pvector([Condition("Progressing", "True", "Executing", "running", T0, 0)]),
            phase_history=pvector(
                [PhaseHistoryEntry("Queued", T0), PhaseHistoryEntry("Executing", T0 + timedelta(microseconds=5), "go")]
            ),
            error_state=ErrorState("OOMKilled", "USER", "out of memory"),
            signal_value=b"\x0a\x00",
            signalled_by="me",
            signalled_at=T0 + timedelta(seconds=2),
        ),
    )


def test_crd_schema_shipped_in_package_is_the_v1_openapi_schema() -> None:
    schema = crd_schema()
    assert schema["properties"]["spec"]["properties"]["runName"]["maxLength"] == 30
    assert schema["required"] == ["spec"]


def test_parse_manifests_yaml_round_trip_keeps_every_field() -> None:
    original = a_full_task_action()
    parsed = parse_manifests(dump_yaml([original]), "x.yaml")
    assert parsed == Success((original,))


def test_parse_manifests_json_round_trip_keeps_every_field() -> None:
    original = a_full_task_action()
    assert parse_manifests(dump_json([original])) == Success((original,))


def test_parse_manifests_multi_document_yaml_keeps_order() -> None:
    first, second = a_full_task_action("one"), a_full_task_action("two")
    text = dump_yaml([first, second])
    assert text.startswith("---\n") and text.count("\n---\n") == 1
    assert parse_manifests(text) == Success((first, second))


@pytest.mark.parametrize("kind", ["TaskActionList", "List"])
def test_parse_manifests_list_kind_reads_its_items(kind: str) -> None:
    first, second = a_full_task_action("one"), a_full_task_action("two")
    document = json.loads(dump_json([first, second], as_list=True))
    document["kind"] = kind
    assert parse_manifests(json.dumps(document)) == Success((first, second))


def test_parse_manifests_yaml_flow_mapping_is_not_mistaken_for_json() -> None:
    text = "{apiVersion: flyte.org/v1, kind: TaskAction, metadata: {name: m}, spec: {runName: r, project: p, domain: d,"
    text += " actionName: a}}"
    assert parse_manifests(text).map(lambda items: items[0].spec.action_name) == Success("a")


def test_parse_manifests_json_array_reads_its_items() -> None:
    first = a_full_task_action("one")
    text = json.dumps([json.loads(dump_json([first]))])
    assert parse_manifests(text) == Success((first,))


def test_dump_yaml_quotes_strings_other_readers_would_retype() -> None:
    text = dump_yaml([a_full_task_action()])
    assert "creationTimestamp: '2026-08-08T12:00:00Z'" in text
    assert "'ON': 'true'" in text


def minimal(**spec: object) -> str:
    document = {
        "apiVersion": "flyte.org/v1",
        "kind": "TaskAction",
        "metadata": {"name": "m"},
        "spec": {"runName": "r", "project": "p", "domain": "d", "actionName": "a", **spec},
    }
    return json.dumps(document)


def test_parse_manifests_namespace_defaults_to_the_given_one() -> None:
    parsed = parse_manifests(minimal(), default_namespace="team-b")
    assert parsed.map(lambda items: items[0].metadata.namespace) == Success("team-b")


def test_parse_manifests_yaml_timestamp_stays_a_string_for_the_wire_reader() -> None:
    text = "apiVersion: flyte.org/v1\nkind: TaskAction\nmetadata: {name: m, creationTimestamp: 2026-08-08T12:00:00Z}\n"
    text += "spec: {runName: r, project: p, domain: d, actionName: a}\n"
    parsed = parse_manifests(text)
    assert parsed.map(lambda items: items[0].metadata.creation_timestamp) == Success(T0)


def test_parse_manifests_null_field_reads_as_absent() -> None:
    parsed = parse_manifests(minimal(parentActionName=None, interruptible=None))
    assert parsed.map(lambda items: (items[0].spec.parent_action_name, items[0].spec.interruptible)) == Success(
        (None, None)
    )


def errors_of(text: str) -> list[str]:
    parsed = parse_manifests(text, "m.yaml")
    assert isinstance(parsed, Failure), parsed
    return [str(error) for error in parsed.failure()]


CRD_VIOLATIONS = [
    ({"runName": "x" * 31}, "spec.runName: 'xxxxxxxxxxxxxxxxxxxx...' is too long (max 30)"),
    ({"project": ""}, "spec.project: '' is too short (min 1)"),
    ({"actionType": "job"}, "spec.actionType: 'job' is not one of: task, condition"),
    ({"cacheKey": "k" * 257}, "spec.cacheKey: 'kkkkkkkkkkkkkkkkkkkk...' is too long (max 256)"),
    ({"taskType": 7}, "spec.taskType: expected string, got integer 7"),
    ({"interruptible": "yes"}, "spec.interruptible: expected boolean, got string 'yes'"),
    ({"envVars": {"A-B": 1}}, 'spec.envVars["A-B"]: expected string, got integer 1'),
    ({"taskTemplate": "!!"}, "spec.taskTemplate: '!!' is not valid base64 (standard alphabet, padded)"),
    ({"parentActionName": ""}, "spec.parentActionName: '' is too short (min 1)"),
]


@pytest.mark.parametrize(("spec", "expected"), CRD_VIOLATIONS, ids=[e.split(":")[0] for _, e in CRD_VIOLATIONS])
def test_parse_manifests_crd_violation_names_the_field(spec: dict[str, object], expected: str) -> None:
    assert errors_of(minimal(**spec)) == [f"m.yaml: document 1 (m): {expected}"]


STATUS_VIOLATIONS = [
    ({"attempts": 2**31}, "status.attempts: 2147483648 is out of the int32 range [-2147483648, 2147483647]"),
    ({"signalledAt": "yesterday"}, "status.signalledAt: 'yesterday' is not an RFC 3339 date-time"),
    (
        {
            "conditions": [
                {"type": "Succeeded", "status": "Maybe", "reason": "r", "message": "", "lastTransitionTime": ""}
            ]
        },
        "status.conditions[0].status: 'Maybe' is not one of: True, False, Unknown",
    ),
    (
        {"conditions": [{"type": "Succeeded", "status": "True", "reason": "no spaces", "message": "m"}]},
        "status.conditions[0].lastTransitionTime: required field is missing",
    ),
    ({"phaseHistory": [{"phase": "Queued"}]}, "status.phaseHistory[0].occurredAt: required field is missing"),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_VIOLATIONS, ids=[e.split(":")[0] for _, e in STATUS_VIOLATIONS])
def test_parse_manifests_status_violation_names_the_field(status: dict[str, object], expected: str) -> None:
    document = json.loads(minimal())
    document["status"] = status
    assert f"m.yaml: document 1 (m): {expected}" in errors_of(json.dumps(document))


def test_parse_manifests_condition_reason_pattern_is_checked() -> None:
    document = json.loads(minimal())
    condition = {"type": "Failed", "status": "True", "reason": "no spaces", "message": "", "lastTransitionTime": ""}
    document["status"] = {"conditions": [condition]}
    assert any("status.conditions[0].reason: 'no spaces' does not match" in e for e in errors_of(json.dumps(document)))


def test_parse_manifests_every_violation_of_a_document_is_reported() -> None:
    document = json.loads(minimal(runName="x" * 31, actionType="job"))
    del document["spec"]["domain"]
    assert errors_of(json.dumps(document)) == [
        "m.yaml: document 1 (m): spec.actionType: 'job' is not one of: task, condition",
        "m.yaml: document 1 (m): spec.domain: required field is missing",
        "m.yaml: document 1 (m): spec.runName: 'xxxxxxxxxxxxxxxxxxxx...' is too long (max 30)",
    ]


def test_parse_manifests_errors_name_the_document_they_are_in() -> None:
    good = dump_yaml([a_full_task_action("good")])
    bad = "apiVersion: flyte.org/v1\nkind: TaskAction\nmetadata: {name: bad}\nspec: {runName: r}\n"
    errors = errors_of(f"{good}---\n{bad}")
    assert errors == [
        "m.yaml: document 2 (bad): spec.actionName: required field is missing",
        "m.yaml: document 2 (bad): spec.domain: required field is missing",
        "m.yaml: document 2 (bad): spec.project: required field is missing",
    ]


def test_parse_manifests_unknown_field_is_rejected_with_a_suggestion() -> None:
    assert errors_of(minimal(runname="r")) == [
        'm.yaml: document 1 (m): spec.runname: unknown field (did you mean "runName"?)'
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"kind": "TaskAction", "metadata": {"name": "m"}, "spec": {}}, "apiVersion: must be \"flyte.org/v1\", got ''"),
        ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m"}}, "kind: must be \"TaskAction\", got 'Pod'"),
        ({"apiVersion": "flyte.org/v1", "kind": "TaskAction", "spec": {}}, "metadata.name: required field is missing"),
    ],
)
def test_from_document_identity_problem_names_the_field(document: dict[str, object], expected: str) -> None:
    result = from_document(document)
    assert isinstance(result, Failure)
    assert expected in [str(error) for error in result.failure()]


def test_from_document_non_object_is_a_failure() -> None:
    assert from_document(["x"]) == Failure((ManifestError("", "expected a TaskAction object, got array"),))


def test_validate_document_valid_document_has_no_errors() -> None:
    assert validate_document(json.loads(dump_json([a_full_task_action()]))) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "m.yaml: no TaskAction documents found"),
        ("---\n---\n", "m.yaml: no TaskAction documents found"),
        ("a: [1\n", "m.yaml: not valid YAML: while parsing a flow sequence"),
        ('{"a": ', "m.yaml: not valid JSON: Expecting value"),
        ("kind: List\nitems: 3\n", "m.yaml: document 1: items: expected a list of TaskAction objects, got integer"),
        ("just text\n", "m.yaml: document 1: expected a TaskAction object, got string"),
    ],
)
def test_parse_manifests_unreadable_source_is_one_clear_error(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_parse_manifests_same_object_twice_is_an_error() -> None:
    text = dump_yaml([a_full_task_action("dup"), a_full_task_action("dup")])
    assert errors_of(text) == ["m.yaml: document 2 (dup): metadata.name: duplicate TaskAction team-a/dup"]


def test_read_manifest_file_missing_file_is_a_failure(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert read_manifest_file(str(missing)) == Failure(
        (ManifestError("", "cannot read: No such file or directory", str(missing)),)
    )


def test_read_manifest_file_reads_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(minimal(), encoding="utf-8")
    from_file = read_manifest_file(str(path))
    from_stdin = read_manifest_file("-", stdin_text=minimal())
    assert isinstance(from_file, Success) and from_file == from_stdin
