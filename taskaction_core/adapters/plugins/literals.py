"""flyteidl2 literals ⇄ Python values, and a literal's simple string form for ``{{.Inputs.<name>}}``.

Two conversions live here, both at the flyteidl2 boundary (design.md §5):

1. Python values ⇄ ``core.Literal`` for the Python-callable plugin: ``None`` ⇄ ``scalar.none_type``, ``bool`` ⇄
   ``primitive.boolean``, ``int`` ⇄ ``primitive.integer`` (64-bit), ``float`` ⇄ ``primitive.float_value``, ``str`` ⇄
   ``primitive.string_value``, ``bytes`` ⇄ ``scalar.binary`` (untagged), aware ``datetime`` ⇄ ``primitive.datetime``
   (read back in UTC), ``timedelta`` ⇄ ``primitive.duration``, ``list`` ⇄ ``collection``, ``dict[str, ...]`` ⇄
   ``map``. Nanoseconds below a microsecond are truncated on the way in; naive datetimes, non-string keys, other
   types and tagged binaries (the Flyte SDK's msgpack) are :class:`LiteralConversionError`.
   Whole files are ``core.LiteralMap`` bytes, which is wire-identical to the ``flyteidl2.task.Inputs`` and
   ``Outputs`` the Flyte SDK reads and writes (reference/flyte-sdk-local.md §2).
2. :func:`to_template_string`: Go ``serializeLiteral`` of ``template.go``. Collections are ``[a,b]``; integers and
   booleans as Go's ``%v``; floats as Go's ``%v`` (shortest ``%g``: ``1e+06``, ``123456``, ``1e-05``); strings
   verbatim; datetimes RFC 3339 with nanoseconds; blobs and schemas their URI. Anything else is
   an error naming the Go type, as Go's is. Deviation: Go prints a duration as the protobuf message's text form,
   which the protobuf library deliberately keeps unstable; here it is Go's ``time.Duration`` string (``1m30s``).

The protobuf messages are ``Any`` to mypy (flyteidl2 ships no ``py.typed``); the ``Any`` stays in this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeAlias

from flyteidl2.core import literals_pb2
from google.protobuf.message import DecodeError as ProtoDecodeError
from returns.result import Failure, Result, Success

from taskaction_core.gofmt import go_duration

__all__ = [
    "LiteralConversionError",
    "Value",
    "from_literal",
    "from_literal_map_bytes",
    "go_format_float",
    "template_strings_from_literal_map_bytes",
    "to_literal",
    "to_literal_map_bytes",
    "to_template_string",
]

Value: TypeAlias = "bool | int | float | str | bytes | datetime | timedelta | list[Value] | dict[str, Value] | None"
"""The Python values that convert to and from literals."""

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class LiteralConversionError(ValueError):
    """A value or literal outside the supported types (the message names the path, e.g. ``o0[2]['k']``)."""


# --- Python → literal ---------------------------------------------------------------------------------------------


def to_literal(value: object, path: str = "value") -> Any:
    """The ``core.Literal`` for ``value``; :class:`LiteralConversionError` when it has no literal form."""
    literal = literals_pb2.Literal()
    if isinstance(value, list):
        literal.collection.SetInParent()  # an empty collection is still a collection
        for index, item in enumerate(value):
            literal.collection.literals.append(to_literal(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        literal.map.SetInParent()
        _fill_map(literal.map, value, path)
    else:
        _fill_scalar(literal.scalar, value, path)
    return literal


def _fill_map(message: Any, values: Mapping[Any, object], path: str) -> None:
    for key, item in values.items():
        if not isinstance(key, str):
            raise LiteralConversionError(f"{path}: map keys must be str, got {type(key).__name__}")
        message.literals[key].CopyFrom(to_literal(item, f"{path}[{key!r}]"))


def _fill_scalar(scalar: Any, value: object, path: str) -> None:
    if value is None:
        scalar.none_type.SetInParent()
    elif isinstance(value, bytes):
        scalar.binary.value = value
    else:
        _fill_primitive(scalar.primitive, value, path)


def _fill_primitive(primitive: Any, value: object, path: str) -> None:
    if isinstance(value, bool):
        primitive.boolean = value
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise LiteralConversionError(f"{path}: integer {value} does not fit in 64 bits")
        primitive.integer = value
    elif isinstance(value, float):
        primitive.float_value = value
    elif isinstance(value, str):
        primitive.string_value = value
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise LiteralConversionError(f"{path}: naive datetime {value.isoformat()}; give it a timezone")
        micros = (value - _EPOCH) // _MICROSECOND
        primitive.datetime.seconds, rest = divmod(micros, 1_000_000)
        primitive.datetime.nanos = rest * 1000
    elif isinstance(value, timedelta):
        micros = value // _MICROSECOND
        seconds = abs(micros) // 1_000_000 * (1 if micros >= 0 else -1)
        primitive.duration.seconds = seconds
        primitive.duration.nanos = (micros - seconds * 1_000_000) * 1000
    else:
        raise LiteralConversionError(f"{path}: {type(value).__name__} has no literal form")


def to_literal_map_bytes(values: Mapping[str, object]) -> bytes:
    """Serialized ``core.LiteralMap`` (deterministic) of named values: an ``outputs.pb`` or ``inputs.pb``."""
    literal_map = literals_pb2.LiteralMap()
    _fill_map(literal_map, values, "")
    return bytes(literal_map.SerializeToString(deterministic=True))


# --- literal → Python ---------------------------------------------------------------------------------------------


def from_literal(literal: Any, path: str = "value") -> Value:
    """The Python value of a ``core.Literal``; :class:`LiteralConversionError` for unsupported literal types."""
    kind = literal.WhichOneof("value")
    if kind == "collection":
        return [from_literal(item, f"{path}[{index}]") for index, item in enumerate(literal.collection.literals)]
    if kind == "map":
        return {key: from_literal(item, f"{path}[{key!r}]") for key, item in literal.map.literals.items()}
    if kind == "scalar":
        return _from_scalar(literal.scalar, path)
    raise LiteralConversionError(f"{path}: unsupported literal {kind or 'with no value'}")


def _from_scalar(scalar: Any, path: str) -> Value:
    kind = scalar.WhichOneof("value")
    if kind == "none_type":
        return None
    if kind == "binary":
        if scalar.binary.tag:
            raise LiteralConversionError(f"{path}: binary with tag {scalar.binary.tag!r} is not supported")
        return bytes(scalar.binary.value)
    if kind == "primitive":
        return _from_primitive(scalar.primitive, path)
    raise LiteralConversionError(f"{path}: unsupported scalar {kind or 'with no value'}")


def _from_primitive(primitive: Any, path: str) -> Value:
    kind = primitive.WhichOneof("value")
    if kind == "integer":
        return int(primitive.integer)
    if kind == "float_value":
        return float(primitive.float_value)
    if kind == "string_value":
        return str(primitive.string_value)
    if kind == "boolean":
        return bool(primitive.boolean)
    if kind == "datetime":
        seconds, nanos = int(primitive.datetime.seconds), int(primitive.datetime.nanos)
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    if kind == "duration":
        seconds, nanos = int(primitive.duration.seconds), int(primitive.duration.nanos)
        return timedelta(seconds=seconds, microseconds=int(nanos / 1000))
    raise LiteralConversionError(f"{path}: primitive with no value")


def from_literal_map_bytes(data: bytes) -> dict[str, Value]:
    """Named Python values of a serialized ``core.LiteralMap`` (empty bytes: no values)."""
    literal_map = _parse_literal_map(data)
    return {name: from_literal(literal, name) for name, literal in literal_map.literals.items()}


def _parse_literal_map(data: bytes) -> Any:
    literal_map = literals_pb2.LiteralMap()
    try:
        literal_map.ParseFromString(data)
    except ProtoDecodeError as error:
        raise LiteralConversionError(f"not a LiteralMap: {error}") from error
    return literal_map


# --- the simple string form (Go serializeLiteral) -----------------------------------------------------------------


def template_strings_from_literal_map_bytes(data: bytes) -> dict[str, Result[str, str]]:
    """Each input's simple string form, or why it has none; :class:`LiteralConversionError` for corrupt bytes."""
    literal_map = _parse_literal_map(data)
    return {name: to_template_string(literal) for name, literal in literal_map.literals.items()}


def to_template_string(literal: Any) -> Result[str, str]:
    """Go ``serializeLiteral``: the string an ``{{.Inputs.<name>}}`` placeholder becomes."""
    kind = literal.WhichOneof("value")
    if kind == "collection":
        parts: list[str] = []
        for item in literal.collection.literals:
            part = to_template_string(item)
            if isinstance(part, Failure):
                return part
            parts.append(part.unwrap())
        return Success("[" + ",".join(parts) + "]")
    if kind == "scalar":
        return _scalar_template_string(literal.scalar)
    return Failure(f"received an unexpected primitive type [*core.Literal_{_go_name(kind)}]")


def _scalar_template_string(scalar: Any) -> Result[str, str]:
    kind = scalar.WhichOneof("value")
    if kind == "primitive":
        return _primitive_template_string(scalar.primitive)
    if kind == "blob":
        return Success(str(scalar.blob.uri))
    if kind == "schema":
        return Success(str(scalar.schema.uri))
    return Failure(f"received an unexpected scalar type [*core.Scalar_{_go_name(kind)}]")


def _primitive_template_string(primitive: Any) -> Result[str, str]:
    kind = primitive.WhichOneof("value")
    if kind == "integer":
        return Success(str(int(primitive.integer)))
    if kind == "boolean":
        return Success("true" if primitive.boolean else "false")
    if kind == "float_value":
        return Success(go_format_float(float(primitive.float_value)))
    if kind == "string_value":
        return Success(str(primitive.string_value))
    if kind == "datetime":
        return Success(_rfc3339_nano(int(primitive.datetime.seconds), int(primitive.datetime.nanos)))
    if kind == "duration":
        seconds, nanos = int(primitive.duration.seconds), int(primitive.duration.nanos)
        return Success(go_duration(timedelta(seconds=seconds, microseconds=int(nanos / 1000))))
    return Failure("received an unexpected primitive type [<nil>]")


def _go_name(field: str | None) -> str:
    """The Go oneof wrapper's suffix for a proto field name: ``none_type`` → ``NoneType``."""
    return "".join(part.capitalize() for part in (field or "nil").split("_"))


def _rfc3339_nano(seconds: int, nanos: int) -> str:
    """Go ``t.Format(time.RFC3339Nano)`` in UTC: fractional seconds without trailing zeros, ``Z`` zone."""
    moment = _EPOCH + timedelta(seconds=seconds)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def go_format_float(value: float) -> str:
    """Go ``fmt``'s ``%v`` of a float64 (``strconv.FormatFloat(v, 'g', -1, 64)``).

    The shortest digits that round-trip (the same digits as Python's ``repr``), in exponent form when the decimal
    exponent is below -4 or at least 6 (Go uses precision 6 for that decision when printing the shortest form):
    ``1e+06``, ``123456``, ``1e-05``, ``0.0001``, ``+Inf``, ``NaN``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    assert isinstance(exponent, int)
    point = len(digit_tuple) + exponent
    decimal_exponent = point - 1
    if decimal_exponent < -4 or decimal_exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent_sign = "-" if decimal_exponent < 0 else "+"
        return f"{sign}{mantissa}e{exponent_sign}{abs(decimal_exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"
