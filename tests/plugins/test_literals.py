"""flyteidl2 literals ⇄ Python values, and Go ``serializeLiteral``'s simple string forms."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flyteidl2.core import literals_pb2
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from taskaction_core.adapters.plugins.literals import (
    LiteralConversionError,
    Value,
    from_literal,
    from_literal_map_bytes,
    go_format_float,
    template_strings_from_literal_map_bytes,
    to_literal,
    to_literal_map_bytes,
    to_template_string,
)

MOMENT = datetime(2026, 8, 8, 12, 30, 15, 250_000, tzinfo=UTC)

# -- round trips -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -(2**63),
        2**63 - 1,
        1.5,
        -0.0,
        math.inf,
        "",
        "héllo",
        b"",
        b"\x00\xff",
        MOMENT,
        datetime(1, 1, 1, tzinfo=UTC),
        timedelta(0),
        timedelta(days=2, microseconds=7),
        timedelta(microseconds=-1500001),
        [],
        [1, "two", None, [3.0]],
        {},
        {"a": 1, "b": {"c": [b"x", MOMENT]}},
    ],
)
def test_literal_round_trip_preserves_value_and_type(value: Value) -> None:
    back = from_literal(to_literal(value))
    assert back == value
    assert type(back) is type(value)


def test_literal_bool_is_a_boolean_not_an_integer() -> None:
    assert to_literal(True).scalar.primitive.WhichOneof("value") == "boolean"


def test_literal_nan_round_trips_as_nan() -> None:
    back = from_literal(to_literal(math.nan))
    assert isinstance(back, float) and math.isnan(back)


def test_literal_datetime_in_another_zone_reads_back_as_the_same_instant_in_utc() -> None:
    local = datetime(2026, 8, 8, 14, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))
    back = from_literal(to_literal(local))
    assert back == MOMENT
    assert isinstance(back, datetime) and back.tzinfo is UTC


def test_literal_timestamp_nanoseconds_are_truncated_to_microseconds() -> None:
    literal = literals_pb2.Literal()
    literal.scalar.primitive.datetime.seconds = 0
    literal.scalar.primitive.datetime.nanos = 1_999
    assert from_literal(literal) == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=st.just(UTC))
    | st.timedeltas(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), values, max_size=4))
def test_literal_map_bytes_round_trip_any_supported_values(named: dict[str, Value]) -> None:
    assert from_literal_map_bytes(to_literal_map_bytes(named)) == named


def test_literal_map_bytes_are_deterministic() -> None:
    assert to_literal_map_bytes({"b": 1, "a": {"y": 2, "x": 3}}) == to_literal_map_bytes(
        {"a": {"x": 3, "y": 2}, "b": 1}
    )


def test_literal_map_empty_bytes_are_no_values() -> None:
    assert from_literal_map_bytes(b"") == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime(2026, 1, 1), "naive datetime"),
        (2**63, "does not fit in 64 bits"),
        ({1: "x"}, "map keys must be str"),
        ({1.5}, "set has no literal form"),
        ([1, object()], r"value\[1\]: object has no literal form"),
        ((1, 2), "tuple has no literal form"),
    ],
)
def test_literal_unsupported_value_is_a_conversion_error(value: object, message: str) -> None:
    with pytest.raises(LiteralConversionError, match=message):
        to_literal(value)


def test_literal_tagged_binary_is_not_supported() -> None:
    literal = literals_pb2.Literal()
    literal.scalar.binary.value, literal.scalar.binary.tag = b"\x81", "msgpack"
    with pytest.raises(LiteralConversionError, match="tag 'msgpack'"):
        from_literal(literal)


@pytest.mark.parametrize("build", ["blob", "empty literal", "empty scalar", "empty primitive"])
def test_literal_unsupported_literal_is_a_conversion_error(build: str) -> None:
    literal = literals_pb2.Literal()
    if build == "blob":
        literal.scalar.blob.uri = "s3://b/f"
    elif build == "empty scalar":
        literal.scalar.SetInParent()
    elif build == "empty primitive":
        literal.scalar.primitive.SetInParent()
    with pytest.raises(LiteralConversionError):
        from_literal(literal)


def test_literal_map_corrupt_bytes_are_a_conversion_error() -> None:
    with pytest.raises(LiteralConversionError, match="not a LiteralMap"):
        from_literal_map_bytes(b"\xff\xff\xff")


# -- template strings (Go serializeLiteral) --------------------------------------------------------------------------


def _scalar(**fields: Any) -> Any:
    literal = literals_pb2.Literal()
    for name, value in fields.items():
        if name == "blob":
            literal.scalar.blob.uri = value
        elif name == "schema":
            literal.scalar.schema.uri = value
    return literal


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (to_literal(42), "42"),
        (to_literal(-7), "-7"),
        (to_literal(True), "true"),
        (to_literal(False), "false"),
        (to_literal(2.5), "2.5"),
        (to_literal(1e6), "1e+06"),
        (to_literal("a b"), "a b"),
        (to_literal(MOMENT), "2026-08-08T12:30:15.25Z"),
        (to_literal(datetime(2026, 1, 1, tzinfo=UTC)), "2026-01-01T00:00:00Z"),
        (to_literal(timedelta(minutes=1, seconds=30)), "1m30s"),
        (to_literal([1, 2, [3]]), "[1,2,[3]]"),
        (to_literal([]), "[]"),
        (_scalar(blob="s3://b/file"), "s3://b/file"),
        (_scalar(schema="s3://b/schema"), "s3://b/schema"),
    ],
)
def test_template_string_of_supported_literal_matches_go(literal: Any, expected: str) -> None:
    assert to_template_string(literal) == Success(expected)


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        (to_literal({"a": 1}), "received an unexpected primitive type [*core.Literal_Map]"),
        (to_literal(None), "received an unexpected scalar type [*core.Scalar_NoneType]"),
        (to_literal(b"x"), "received an unexpected scalar type [*core.Scalar_Binary]"),
        (to_literal([1, None]), "received an unexpected scalar type [*core.Scalar_NoneType]"),
        (literals_pb2.Literal(), "received an unexpected primitive type [*core.Literal_Nil]"),
    ],
)
def test_template_string_of_unsupported_literal_fails_like_go(literal: Any, message: str) -> None:
    assert to_template_string(literal) == Failure(message)


def test_template_strings_of_a_map_keep_failures_per_name() -> None:
    strings = template_strings_from_literal_map_bytes(to_literal_map_bytes({"x": 3, "m": {"k": 1}}))
    assert strings["x"] == Success("3")
    assert isinstance(strings["m"], Failure)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (100.0, "100"),
        (999999.0, "999999"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (2.5e-10, "2.5e-10"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1 / 3, "0.3333333333333333"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_go_format_float_matches_go_percent_v(value: float, expected: str) -> None:
    assert go_format_float(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_format_float_round_trips_through_float(value: float) -> None:
    assert float(go_format_float(value)) == value
