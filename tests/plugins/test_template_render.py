"""Go's placeholder renderer (reference/flyte-sdk-local.md §2; R103–R105): table tests."""

from __future__ import annotations

from dataclasses import replace

import pytest
from returns.result import Failure, Success

from taskaction_core.adapters.plugins.template_render import (
    RenderError,
    RenderParams,
    needs_inputs,
    per_retry_unique_key,
    render,
)

PARAMS = RenderParams(
    input_path="s3://b/in/inputs.pb",
    input_prefix="s3://b/in",
    output_prefix="s3://b/out/1",
    raw_output_prefix="s3://b/raw/1",
    checkpoint_prefix="s3://b/out/1/_flytecheckpoints",
    prev_checkpoint_prefix="s3://b/out/0/_flytecheckpoints",
    generated_name="ta-1",
    namespace="team-a",
    inputs={"x": Success("7"), "names": Success("[a,b]"), "blobby": Failure("received an unexpected scalar type [x]")},
)


def rendered(text: str, params: RenderParams = PARAMS) -> str:
    return render([text], params).unwrap()[0]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.input}}", "s3://b/in/inputs.pb"),
        ("{{.Input}}", "s3://b/in/inputs.pb"),
        ("{{ .INPUT }}", "s3://b/in/inputs.pb"),
        ("{{$input}}", "s3://b/in/inputs.pb"),
        ("{{.inputPrefix}}", "s3://b/in"),
        ("{{.outputPrefix}}", "s3://b/out/1"),
        ("{{.rawOutputDataPrefix}}", "s3://b/raw/1"),
        ("{{.checkpointOutputPrefix}}", "s3://b/out/1/_flytecheckpoints"),
        ("{{.prevCheckpointPrefix}}", "s3://b/out/0/_flytecheckpoints"),
        ("{{.perRetryUniqueKey}}", "ta_1"),
        ("{{.taskTemplatePath}}", "inline://taskTemplate"),
        ("{{.namespace}}", "team-a"),
        ("{{.Inputs.x}}", "7"),
        ("{{ .inputs.names }}", "[a,b]"),
        ("--in={{.input}},out={{.outputPrefix}}", "--in=s3://b/in/inputs.pb,out=s3://b/out/1"),
        ("{{.input}}{{.input}}", "s3://b/in/inputs.pb" * 2),
    ],
)
def test_render_known_placeholder_is_substituted(template: str, expected: str) -> None:
    assert rendered(template) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{.runName}}",
        "{{.actionName}}",
        "{{.runStartTime}}",
        "{{input}}",
        "{.input}",
        "{{.input}",
        "{{.Inputs}}",
        "{{.inputs.}}",
        "plain --flag",
        "",
    ],
)
def test_render_unknown_or_malformed_placeholder_is_left_alone(template: str) -> None:
    assert rendered(template) == template


def test_render_empty_previous_checkpoint_becomes_two_double_quotes() -> None:
    params = replace(PARAMS, prev_checkpoint_prefix="")
    assert render(["--prev", "{{.prevCheckpointPrefix}}"], params).unwrap() == ("--prev", '""')


def test_render_renders_every_string_in_order() -> None:
    assert render(["a0", "--inputs", "{{.input}}", "--x", "{{.Inputs.x}}"], PARAMS).unwrap() == (
        "a0",
        "--inputs",
        "s3://b/in/inputs.pb",
        "--x",
        "7",
    )


def test_render_empty_template_is_empty() -> None:
    assert render([], PARAMS).unwrap() == ()


def test_render_substitution_is_sequential_like_go() -> None:
    params = replace(PARAMS, input_path="{{.outputPrefix}}/in")
    assert rendered("{{.input}}", params) == "s3://b/out/1/in"


def test_render_values_are_inserted_literally() -> None:
    params = replace(PARAMS, output_prefix=r"/data/\1/$name")
    assert rendered("{{.outputPrefix}}", params) == r"/data/\1/$name"


def test_render_missing_input_fails_with_go_message() -> None:
    result = render(["ok", "{{.Inputs.nope}}"], PARAMS)
    assert result == Failure(RenderError("input template [{{.Inputs.nope}}]: requested input is not found [nope]"))


def test_render_reports_every_bad_input_of_a_string() -> None:
    error = render(["{{.Inputs.nope}} {{.Inputs.blobby}}"], PARAMS).failure()
    assert error.message.splitlines() == [
        "input template [{{.Inputs.nope}}]: requested input is not found [nope]",
        "input template [{{.Inputs.blobby}}]: failed to bind a value to inputName [blobby]: "
        "received an unexpected scalar type [x]",
    ]


def test_render_input_names_are_case_sensitive() -> None:
    assert isinstance(render(["{{.Inputs.X}}"], PARAMS), Failure)


def test_render_empty_generated_name_fails() -> None:
    params = replace(PARAMS, generated_name="")
    assert render(["x"], params) == Failure(RenderError("Empty PerRetryUniqueKey"))


@pytest.mark.parametrize(
    ("generated_name", "key"),
    [
        ("ta-0", "ta_0"),
        ("0abc", "aabc"),
        ("--x--y", "ax_y"),
        ("a.b/c", "a_b_c"),
        ("fabcdefgh", "fabcdefgh"),
        ("_x", "_x"),
    ],
)
def test_per_retry_unique_key_sanitizes_the_generated_name(generated_name: str, key: str) -> None:
    assert per_retry_unique_key(generated_name) == key


@pytest.mark.parametrize(
    ("template", "expected"),
    [(["{{.Inputs.x}}"], True), (["a", "--v={{ $inputs.y }}"], True), (["{{.input}}", "{{.inputPrefix}}"], False)],
)
def test_needs_inputs_detects_input_placeholders(template: list[str], expected: bool) -> None:
    assert needs_inputs(template) is expected
