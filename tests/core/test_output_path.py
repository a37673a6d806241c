"""Output and input locations (R72, R103, R104, R108, R109, Q30).

The R109 golden table is transcribed verbatim. The other R108 expectations were produced by Go 1.27 running R108's
algorithm (``url.Parse``, replace ``Path``, ``String``) with namespace ``ns``, name ``nm`` (shard ``zc``), attempt 3.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from taskaction_core.output_path import (
    OutputPathError,
    checkpoint_prefix,
    compute_action_output_path,
    fnv1a_32,
    input_path,
    input_prefix,
    outputs_uri,
    report_uri,
    shard,
)

# --- R109 golden table, verbatim ------------------------------------------------------------------------------------

R109_SHARDS = [
    ("flyte/my-action-abc", "hu"),
    ("flyte/ta-abc", "j2"),
    ("default/cacheable-action", "1m"),
    ("default/abort-test-resource", "cb"),
    ("default/test-resource", "3s"),
    ("default/handle-err-resource", "c4"),
    ("/", "2o"),
    ("ns-a/action-1", "97"),
    ("ns-b/action-1", "es"),
    ("ns-a/action-2", "7a"),
    ("ns-c/action-99", "a8"),
    ("prod/long-running-task-xyz", "rx"),
]


@pytest.mark.parametrize(("key", "expected"), R109_SHARDS)
def test_shard_r109_golden_table_matches(key: str, expected: str) -> None:
    """R109: every shard of the golden table."""
    assert shard(key) == expected


R109_EXAMPLES = [
    (
        "flyte",
        "my-action-abc",
        "s3://my-bucket/org/proj/dev/run123",
        "action-0",
        1,
        "s3://my-bucket/hu/org/proj/dev/run123/action-0/1",
    ),
    (
        "default",
        "cacheable-action",
        "mem://bucket/run-output",
        "action-name",
        1,
        "mem://bucket/1m/run-output/action-name/1",
    ),
    ("default", "abort-test-resource", "/tmp/output", "abort-action", 1, "/cb/tmp/output/abort-action/1"),
]


@pytest.mark.parametrize(("namespace", "name", "base", "action", "attempt", "expected"), R109_EXAMPLES)
def test_compute_action_output_path_r109_golden_examples_match(
    namespace: str, name: str, base: str, action: str, attempt: int, expected: str
) -> None:
    """R109: the example column of the golden table."""
    assert compute_action_output_path(namespace, name, base, action, attempt) == Success(expected)


def test_outputs_uri_r109_golden_example_matches() -> None:
    """R109/R72: ``flyte/ta-abc`` with the same base, attempt 1, as an ``output_uri``."""
    prefix = compute_action_output_path("flyte", "ta-abc", "s3://my-bucket/org/proj/dev/run123", "action-0", 1)
    assert prefix.map(outputs_uri) == Success("s3://my-bucket/j2/org/proj/dev/run123/action-0/1/outputs.pb")


FNV_CASES = [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)]


@pytest.mark.parametrize(("data", "expected"), FNV_CASES)
def test_fnv1a_32_reference_vectors_match(data: bytes, expected: int) -> None:
    """R109/R105: FNV-1a 32-bit reference values (offset basis 2166136261, prime 16777619)."""
    assert fnv1a_32(data) == expected


# --- R108 against Go ------------------------------------------------------------------------------------------------

R108_CASES = [
    ("s3://my-bucket/org/proj/dev/run123/", "action-0", "s3://my-bucket/zc/org/proj/dev/run123/action-0/3"),
    ("s3://my-bucket/org/proj/dev/run123///", "action-0", "s3://my-bucket/zc/org/proj/dev/run123/action-0/3"),
    ("S3://My-Bucket/Run", "act", "s3://My-Bucket/zc/Run/act/3"),
    ("s3:bucket/x", "act", "s3:bucket/x"),
    ("s3:", "act", "s3:///zc/act/3"),
    ("s3:/x", "act", "s3:/zc/x/act/3"),
    ("s3:///x", "act", "s3:///zc/x/act/3"),
    ("s3://b", "act", "s3://b/zc/act/3"),
    ("s3://b/", "act", "s3://b/zc/act/3"),
    ("", "act", "/zc/act/3"),
    ("/", "act", "/zc/act/3"),
    ("tmp/output", "act", "/zc/tmp/output/act/3"),
    ("s3://b/x?versionId=3#frag", "act", "s3://b/zc/x/act/3?versionId=3#frag"),
    ("s3://b/x?", "act", "s3://b/zc/x/act/3?"),
    ("s3://b/a%2Fb", "act", "s3://b/zc/a/b/act/3"),
    ("s3://b/a b", "act", "s3://b/zc/a%20b/act/3"),
    ("s3://b/x", "a b/c?d", "s3://b/zc/x/a%20b/c%3Fd/3"),
    ("s3://b/x", "é", "s3://b/zc/x/%C3%A9/3"),
    ("s3://b/x", "", "s3://b/zc/x//3"),
    ("s3://u:p@h:9000/x", "act", "s3://u:p@h:9000/zc/x/act/3"),
    ("abfs://c@acct.dfs.core.windows.net/p", "act", "abfs://c@acct.dfs.core.windows.net/zc/p/act/3"),
    ("gs://b/x#a b", "act", "gs://b/zc/x/act/3#a%20b"),
    ("file:///tmp/x", "act", "file:///zc/tmp/x/act/3"),
    ("s3://[::1]:9000/x", "act", "s3://[::1]:9000/zc/x/act/3"),
    ("*", "act", "/zc/%2A/act/3"),
    ("a:b", "act", "a:b"),
]


@pytest.mark.parametrize(("base", "action", "expected"), R108_CASES)
def test_compute_action_output_path_table_matches_go(base: str, action: str, expected: str) -> None:
    """R108/Q30: trailing slashes, opaque bases, lowercased scheme, re-escaping, query and fragment kept."""
    assert compute_action_output_path("ns", "nm", base, action, 3) == Success(expected)


R108_ERROR_CASES = [
    (":foo", 'invalid RunOutputBase ":foo": parse ":foo": missing protocol scheme'),
    (
        "s3://b/\x00",
        'invalid RunOutputBase "s3://b/\\x00": parse "s3://b/\\x00": net/url: invalid control character in URL',
    ),
    ("s3://b/%zz", 'invalid RunOutputBase "s3://b/%zz": parse "s3://b/%zz": invalid URL escape "%zz"'),
    ("s3://h:x/p", 'invalid RunOutputBase "s3://h:x/p": parse "s3://h:x/p": invalid port ":x" after host'),
    ("s3://b/x#%", 'invalid RunOutputBase "s3://b/x#%": parse "s3://b/x#%": invalid URL escape "%"'),
    ("s3://[1.2.3.4]/x", 'invalid RunOutputBase "s3://[1.2.3.4]/x": parse "s3://[1.2.3.4]/x": invalid IP-literal'),
    (
        "s3://b/é\x7f",
        'invalid RunOutputBase "s3://b/é\\x7f": parse "s3://b/é\\x7f": net/url: invalid control character in URL',
    ),
    ("%€", 'invalid RunOutputBase "%€": parse "%€": invalid URL escape "%\\xe2\\x82"'),
]


@pytest.mark.parametrize(("base", "message"), R108_ERROR_CASES)
def test_compute_action_output_path_invalid_base_fails_with_go_message(base: str, message: str) -> None:
    """R108: ``invalid RunOutputBase "<base>": <url.Error>``, both quoted as Go's ``%q``."""
    assert compute_action_output_path("ns", "nm", base, "act", 3) == Failure(OutputPathError(message))


def test_compute_action_output_path_lone_surrogate_base_is_quoted_as_invalid_bytes() -> None:
    """R108, documented: a lone surrogate stands for its WTF-8 bytes, which Go would quote byte by byte."""
    result = compute_action_output_path("ns", "nm", ":\ud800", "act", 3)
    expected = 'invalid RunOutputBase ":\\xed\\xa0\\x80": parse ":\\xed\\xa0\\x80": missing protocol scheme'
    assert result == Failure(OutputPathError(expected))


def test_compute_action_output_path_lone_surrogate_in_opaque_base_round_trips() -> None:
    """R108: raw parts of the base come back unchanged, whatever the ``str`` holds."""
    assert compute_action_output_path("ns", "nm", "s3:b\udc80", "act", 3) == Success("s3:b\udc80")


def test_compute_action_output_path_shard_is_stable_across_attempts() -> None:
    """R108: the shard depends only on namespace and name, so attempts differ only in the last segment."""
    first = compute_action_output_path("flyte", "ta-abc", "s3://b/run", "a0", 1)
    second = compute_action_output_path("flyte", "ta-abc", "s3://b/run", "a0", 2)
    assert (first, second) == (Success("s3://b/j2/run/a0/1"), Success("s3://b/j2/run/a0/2"))


URL_ALPHABET = "sS3hb:/?#%@[]._-~ 1fFeE\x00\x7féü\ud800"


@given(st.text(), st.text(), st.text(alphabet=URL_ALPHABET) | st.text(), st.text(), st.integers(0, 2**32 - 1))
def test_compute_action_output_path_any_strings_total(
    namespace: str, name: str, base: str, action: str, attempt: int
) -> None:
    """R108: total on every ``str``: a ``str`` path or an ``OutputPathError`` quoting the base, never an exception."""
    result = compute_action_output_path(namespace, name, base, action, attempt)
    match result:
        case Success(path):
            assert isinstance(path, str)
        case Failure(OutputPathError(message)):
            assert message.startswith("invalid RunOutputBase ")
        case _:
            pytest.fail(f"unexpected result {result!r}")


SAFE_SEGMENT = st.text(alphabet="abcXYZ019-_.~", min_size=1, max_size=12)


@given(SAFE_SEGMENT, SAFE_SEGMENT, st.lists(SAFE_SEGMENT, max_size=4), SAFE_SEGMENT, st.integers(0, 2**32 - 1))
def test_compute_action_output_path_plain_bucket_path_follows_the_layout(
    namespace: str, name: str, segments: list[str], action: str, attempt: int
) -> None:
    """R108: ``<scheme>://<bucket>/<shard>/<rest of base>/<actionName>/<attempt>`` for plain names."""
    rest = "/".join(segments)
    result = compute_action_output_path(namespace, name, f"s3://bucket/{rest}/", action, attempt)
    middle = f"{rest}/" if rest else ""
    assert result == Success(f"s3://bucket/{shard(f'{namespace}/{name}')}/{middle}{action}/{attempt}")


@given(st.text())
def test_shard_any_key_is_two_base36_characters(key: str) -> None:
    """R109: two characters of the alphabet, letters first."""
    assert re.fullmatch("[a-z0-9]{2}", shard(key))


# --- R72, R103, R104 ------------------------------------------------------------------------------------------------

URI_CASES = [
    ("s3://b/p", "s3://b/p/outputs.pb", "s3://b/p/report.html"),
    ("s3://b/p/", "s3://b/p/outputs.pb", "s3://b/p/report.html"),
    ("s3://b/p///", "s3://b/p/outputs.pb", "s3://b/p/report.html"),
    ("", "/outputs.pb", "/report.html"),
]


@pytest.mark.parametrize(("prefix", "outputs", "report"), URI_CASES)
def test_outputs_and_report_uri_trailing_slashes_dropped(prefix: str, outputs: str, report: str) -> None:
    """R72: trailing ``/`` stripped from the prefix, then ``/outputs.pb`` and ``/report.html`` appended."""
    assert (outputs_uri(prefix), report_uri(prefix)) == (outputs, report)


def test_checkpoint_prefix_appends_flytecheckpoints() -> None:
    """R103: ``<outputPrefix>/_flytecheckpoints``."""
    assert checkpoint_prefix("s3://b/j2/run/a0/1") == "s3://b/j2/run/a0/1/_flytecheckpoints"


INPUT_CASES = [
    ("s3://b/x/inputs.pb", "s3://b/x"),
    ("s3://b/x", "s3://b/x"),
    ("s3://b/x/", "s3://b/x/"),
    ("s3://b/x/inputs.pb/inputs.pb", "s3://b/x/inputs.pb"),
    ("s3://b/xinputs.pb", "s3://b/xinputs.pb"),
    ("s3://b/x/inputs.pbx", "s3://b/x/inputs.pbx"),
    ("/inputs.pb", ""),
    ("", ""),
]


@pytest.mark.parametrize(("input_uri", "expected"), INPUT_CASES)
def test_input_prefix_exact_trailing_inputs_pb_removed_once(input_uri: str, expected: str) -> None:
    """R104: exactly one trailing ``/inputs.pb`` is removed; anything else is kept as is."""
    assert input_prefix(input_uri) == expected


def test_input_path_with_or_without_suffix_is_the_same_file() -> None:
    """R104: ``s3://b/x/inputs.pb`` and ``s3://b/x`` name the same inputs file."""
    assert (
        input_path(input_prefix("s3://b/x/inputs.pb")) == input_path(input_prefix("s3://b/x")) == "s3://b/x/inputs.pb"
    )
