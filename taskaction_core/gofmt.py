"""Go's text formatting where the wire depends on it (spec §0 Conventions, R11, R42, R81).

Condition messages, labels and StateJSON written by the Go controller are read by other Go components and by people
comparing the two implementations, so the few Go formatting routines those strings go through are reproduced here
byte for byte: ``strconv.Quote`` (``%q``), ``time.Duration.String``, ``Duration.Round(time.Second)``,
``time.RFC3339`` and the GC label layout ``2006-01-02.15-04``.

Known differences from Go, all confined to inputs Go itself cannot produce or to characters newer than Python's
Unicode database:

- Printability follows ``str.isprintable``, which by definition matches Go's ``strconv.IsPrint`` (letters, marks,
  numbers, punctuation, symbols and the ASCII space) but uses Python's Unicode database (14.0 on Python 3.11).
  Go 1.21+ uses a newer one (Go 1.27: Unicode 17.0), so characters assigned after Unicode 14 (about 15,000 code
  points, mostly CJK extensions and new emoji) are printed as-is by Go and escaped as ``\\u``/``\\U`` here. The
  reverse never happens.
- A Go string cannot hold a lone surrogate. :func:`go_quote` prints one as ``\\ufffd``, as Go's ``strconv.QuoteRune``
  does for a surrogate rune. :func:`go_quote_bytes` takes real Go strings (bytes), where invalid UTF-8 is ``\\xNN``.
- Durations are ``timedelta``s (microsecond precision, a wider range than Go's int64 nanoseconds): the ``ns`` unit
  never appears, and values beyond Go's ±292 years are formatted rather than wrapped.
- Naive datetimes are read as UTC (the core never consults the host time zone, which would be a hidden input).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

_SIMPLE_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}
_PLAIN_ASCII: Final = re.compile(r"[ !#-\[\]-~]*")
"""Printable ASCII other than ``"`` and ``\\``: quoted by Go exactly as it is."""
_ESCAPED_BYTE_FIRST: Final = 0xDC80
"""``surrogateescape`` maps an undecodable byte b to the lone surrogate U+DC00 + b (b ≥ 0x80)."""
_ESCAPED_BYTE_LAST: Final = 0xDCFF
_MICROSECOND: Final = timedelta(microseconds=1)
_SECOND_US: Final = 1_000_000
_NANOS_PER_SECOND: Final = 1_000_000_000


# --- strconv.Quote ------------------------------------------------------------------------------------------------


def go_quote(text: str) -> str:
    """Go ``strconv.Quote(text)``, i.e. ``fmt`` ``%q`` of a string (spec §0).

    Printable runes (``"`` and ``\\`` aside) are kept as they are, non-ASCII included; the rest become ``\\a``-style,
    ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN`` escapes with lowercase hex. Lone surrogates print as ``\\ufffd``.
    Text of printable ASCII without ``"`` or ``\\`` (names, the common case) is quoted without the per-rune walk.
    """
    if _PLAIN_ASCII.fullmatch(text):
        return f'"{text}"'
    return '"' + "".join(_quote_char(char, from_bytes=False) for char in text) + '"'


def go_quote_bytes(data: bytes) -> str:
    """Go ``strconv.Quote`` of a Go string given as its bytes: each byte of invalid UTF-8 becomes ``\\xNN``.

    Python's ``surrogateescape`` decoder rejects exactly what Go's ``utf8.DecodeRune`` rejects (overlong forms,
    surrogates, values past U+10FFFF, truncated sequences) and escapes the bytes of a bad sequence one by one,
    which is how Go steps over them.
    """
    decoded = data.decode("utf-8", "surrogateescape")
    return '"' + "".join(_quote_char(char, from_bytes=True) for char in decoded) + '"'


def _quote_char(char: str, *, from_bytes: bool) -> str:
    """One rune of Go ``appendEscapedRune`` (quote ``"``, not ASCII-only, not graphic-only)."""
    simple = _SIMPLE_ESCAPES.get(char)
    if simple is not None:
        return simple
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if from_bytes and _ESCAPED_BYTE_FIRST <= code <= _ESCAPED_BYTE_LAST:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return "\\ufffd"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# --- time.Duration ------------------------------------------------------------------------------------------------


def go_duration(duration: timedelta) -> str:
    """Go ``time.Duration.String()``: ``0s``, ``2µs``, ``1.5ms``, ``1.5s``, ``1m5s``, ``1h0m0s``, ``-2s`` (R81).

    Below one second the largest unit that keeps an integer part is used; from one second on, hours and minutes
    are printed once a larger unit is present, and fractions lose trailing zeros.
    """
    nanos = (duration // _MICROSECOND) * 1000
    sign = "-" if nanos < 0 else ""
    return sign + _format_unsigned_nanos(abs(nanos))


def _format_unsigned_nanos(nanos: int) -> str:
    if nanos == 0:
        return "0s"
    if nanos < _NANOS_PER_SECOND:
        return _format_sub_second(nanos)
    whole_seconds, fraction = divmod(nanos, _NANOS_PER_SECOND)
    text = f"{whole_seconds % 60}{_fraction(fraction, 9)}s"
    minutes = whole_seconds // 60
    if minutes == 0:
        return text
    text = f"{minutes % 60}m{text}"
    hours = minutes // 60
    return text if hours == 0 else f"{hours}h{text}"


def _format_sub_second(nanos: int) -> str:
    """Go ``Duration.format`` below one second. ``nanos`` is a whole number of microseconds, so never ``ns``."""
    unit, digits = ("µs", 3) if nanos < 1_000_000 else ("ms", 6)
    whole, fraction = divmod(nanos, 10**digits)
    return f"{whole}{_fraction(fraction, digits)}{unit}"


def _fraction(fraction: int, digits: int) -> str:
    """Go ``fmtFrac``: ``.ddd`` without trailing zeros, or nothing when the fraction is zero."""
    if fraction == 0:
        return ""
    return "." + f"{fraction:0{digits}d}".rstrip("0")


def round_half_away_seconds(duration: timedelta) -> timedelta:
    """Go ``Duration.Round(time.Second)``: to whole seconds, halves away from zero (R81).

    Go saturates at its largest Duration when rounding up would overflow; likewise a value that would round past
    ``timedelta.max`` gives ``timedelta.max`` (the most negative timedelta is whole seconds, so it cannot overflow).
    """
    micros = duration // _MICROSECOND
    seconds, remainder = divmod(abs(micros), _SECOND_US)
    if 2 * remainder >= _SECOND_US:
        seconds += 1
    signed = seconds if micros >= 0 else -seconds
    if signed > timedelta.max // timedelta(seconds=1):
        return timedelta.max
    return timedelta(seconds=signed)


# --- time.Time --------------------------------------------------------------------------------------------------


def rfc3339_seconds(moment: datetime) -> str:
    """Go ``t.Format(time.RFC3339)`` in ``moment``'s own zone, seconds precision (R42 StateJSON timestamp).

    ``Z`` when the offset is zero, else ``±hh:mm``; like Go, offset seconds are dropped (truncated toward zero).
    Sub-second digits are truncated, never rounded.
    """
    two, year = _TWO_DIGITS, moment.year
    zone = "Z" if moment.tzinfo is UTC else _zone(moment.utcoffset())
    return (
        f"{year if year >= 1000 else _year(year)}-{two[moment.month]}-{two[moment.day]}"
        f"T{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]}{zone}"
    )


_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(100))
"""Zero-padded 0–99, looked up instead of formatted: ``%02d`` costs about 1,000 machine instructions a field on
CPython 3.11, and every status write formats a timestamp."""


def _year(year: int) -> str:
    """Go's ``2006`` for years before 1000: zero-padded to four digits (datetime's years are 1–9999)."""
    return f"{year:04d}"


def _zone(offset: timedelta | None) -> str:
    """Go's ``Z07:00`` layout element; a sub-second offset (impossible in Go) is truncated like the rest."""
    micros = 0 if offset is None else offset // _MICROSECOND
    seconds = abs(micros) // _SECOND_US
    if seconds == 0:
        return "Z"
    minutes = seconds // 60
    sign = "-" if micros < 0 and minutes > 0 else "+"
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def label_time(moment: datetime) -> str:
    """The ``flyte.org/completed-time`` label value: Go layout ``2006-01-02.15-04`` in UTC, minute precision (R11).

    The layout sorts lexicographically in time order, which the garbage collector relies on (R119).
    """
    try:
        utc = moment if moment.tzinfo is UTC or moment.utcoffset() is None else moment.astimezone(UTC)
    except OverflowError:
        # The UTC instant lies outside datetime's range (a fixed offset at year 1 or 9999): saturate, so the label
        # still sorts correctly and reconcile stays total.
        offset = moment.utcoffset() or timedelta(0)
        utc = datetime.max if offset < timedelta(0) else datetime.min
    two, year = _TWO_DIGITS, utc.year
    return f"{year if year >= 1000 else _year(year)}-{two[utc.month]}-{two[utc.day]}.{two[utc.hour]}-{two[utc.minute]}"
