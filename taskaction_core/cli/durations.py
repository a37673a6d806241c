"""Go duration strings for command-line options (``10s``, ``1m30s``, ``500ms``, ``1h``), the inverse of
:func:`~taskaction_core.gofmt.go_duration` for the units people type."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from returns.result import Failure, Result, Success

__all__ = ["parse_duration"]

_UNITS: Final = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> Result[timedelta, str]:
    """Go ``time.ParseDuration`` for non-negative values: a sequence of number+unit parts; ``0`` alone is zero."""
    stripped = text.strip()
    if stripped == "0":
        return Success(timedelta(0))
    position, total = 0, timedelta(0)
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None:
            return Failure(f"invalid duration {text!r}: use a number and a unit, e.g. 10s, 1m30s, 500ms, 1h")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not stripped:
        return Failure("invalid duration '': use a number and a unit, e.g. 10s, 1m30s, 500ms, 1h")
    return Success(total)
