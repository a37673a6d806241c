"""Go text formatting (spec §0 Conventions, R11, R42, R81): ``%q``, ``Duration.String``, ``Round``, RFC 3339, labels.

Every expected value in these tables was produced by Go 1.27 (``strconv.Quote``, ``time.Duration``, ``time.Time``).
"""

from __future__ import annotations

import ast
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.gofmt import (
    go_duration,
    go_quote,
    go_quote_bytes,
    label_time,
    rfc3339_seconds,
    round_half_away_seconds,
)

# --- §0 strconv.Quote -------------------------------------------------------------------------------------------

QUOTE_CASES = [
    ("", '""'),
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
    ("\x00\x01\x1f\x7f", '"\\x00\\x01\\x1f\\x7f"'),
    ("café ünïcode 日本", '"café ünïcode 日本"'),
    ("\u00a0", '"\\u00a0"'),
    ("\u200b\ufeff", '"\\u200b\\ufeff"'),
    ("\u0085", '"\\u0085"'),
    ("\u2028", '"\\u2028"'),
    ("\U000e0001", '"\\U000e0001"'),
    ("\U0010ffff", '"\\U0010ffff"'),
    ("\U0001f600", '"\U0001f600"'),
    ("\ufffd", '"\ufffd"'),
    ("'single'", "\"'single'\""),
]


@pytest.mark.parametrize(("text", "expected"), QUOTE_CASES)
def test_go_quote_table_matches_go_strconv_quote(text: str, expected: str) -> None:
    """§0: ``%q`` escapes quotes, backslashes and non-printable runes; printable non-ASCII stays as is."""
    assert go_quote(text) == expected


@pytest.mark.parametrize("surrogate", ["\ud800", "\udbff", "\udc80", "\udfff"])
def test_go_quote_lone_surrogate_prints_replacement_escape(surrogate: str) -> None:
    """§0, documented difference: no Go string holds a surrogate; we print Go's ``QuoteRune`` form ``\\ufffd``."""
    assert go_quote("a" + surrogate) == '"a\\ufffd"'


@pytest.mark.skipif(unicodedata.unidata_version >= "15.0.0", reason="U+1FAE8 is assigned in this Python's Unicode")
def test_go_quote_character_newer_than_python_unicode_is_escaped() -> None:
    """§0, documented difference: U+1FAE8 (Unicode 15) is printed as-is by Go 1.27 but escaped with Unicode 14."""
    assert go_quote("\U0001fae8") == '"\\U0001fae8"'


QUOTE_BYTES_CASES = [
    (b"", '""'),
    (b"ok", '"ok"'),
    (b"\xc3\xa9", '"é"'),
    (b"\xff", '"\\xff"'),
    (b"a\x80b", '"a\\x80b"'),
    (b"%\xe2\x82", '"%\\xe2\\x82"'),
    (b"\xe2\x82\xe2\x82\xac", '"\\xe2\\x82€"'),
    (b"\xc0\x80", '"\\xc0\\x80"'),
    (b"\xed\xa0\x80", '"\\xed\\xa0\\x80"'),
    (b"\xf4\x90\x80\x80", '"\\xf4\\x90\\x80\\x80"'),
    (b'\x01\n"', '"\\x01\\n\\""'),
    (b"\xef\xbb\xbf", '"\\ufeff"'),
]


@pytest.mark.parametrize(("data", "expected"), QUOTE_BYTES_CASES)
def test_go_quote_bytes_invalid_utf8_escapes_each_byte(data: bytes, expected: str) -> None:
    """§0: Go quotes each byte of invalid UTF-8 (overlong, surrogate, > U+10FFFF, truncated) as ``\\xNN``."""
    assert go_quote_bytes(data) == expected


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_go_quote_any_text_reads_back_as_the_same_string(text: str) -> None:
    """§0: Go's escapes are a subset of Python's, so a quoted string evaluates back to itself."""
    quoted = go_quote(text)
    assert quoted.startswith('"')
    assert ast.literal_eval(quoted) == text


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_go_quote_bytes_of_valid_utf8_equals_go_quote(text: str) -> None:
    """§0: for valid UTF-8 the byte and the ``str`` forms agree."""
    assert go_quote_bytes(text.encode("utf-8")) == go_quote(text)


# --- §0, R81 Duration.String --------------------------------------------------------------------------------------

DURATION_CASES = [
    (timedelta(0), "0s"),
    (timedelta(microseconds=1), "1µs"),
    (timedelta(microseconds=2), "2µs"),
    (timedelta(microseconds=999), "999µs"),
    (timedelta(microseconds=1000), "1ms"),
    (timedelta(microseconds=1500), "1.5ms"),
    (timedelta(microseconds=1001), "1.001ms"),
    (timedelta(microseconds=999_999), "999.999ms"),
    (timedelta(seconds=1), "1s"),
    (timedelta(seconds=1.5), "1.5s"),
    (timedelta(seconds=2), "2s"),
    (timedelta(seconds=1, microseconds=1), "1.000001s"),
    (timedelta(seconds=59), "59s"),
    (timedelta(seconds=60), "1m0s"),
    (timedelta(seconds=65), "1m5s"),
    (timedelta(minutes=59, seconds=59), "59m59s"),
    (timedelta(hours=1), "1h0m0s"),
    (timedelta(hours=1, seconds=1), "1h0m1s"),
    (timedelta(hours=25, minutes=3, seconds=4.25), "25h3m4.25s"),
    (timedelta(days=3650), "87600h0m0s"),
    (timedelta(seconds=-2), "-2s"),
    (timedelta(microseconds=-1500), "-1.5ms"),
    (timedelta(microseconds=-1), "-1µs"),
    (timedelta(minutes=-1, seconds=-5), "-1m5s"),
]


@pytest.mark.parametrize(("duration", "expected"), DURATION_CASES)
def test_go_duration_table_matches_go_duration_string(duration: timedelta, expected: str) -> None:
    """§0/R81: Go ``Duration.String`` forms: ``0s``, ``2µs``, ``1.5ms``, ``1m5s``, ``1h0m0s``, ``-2s``."""
    assert go_duration(duration) == expected


# --- R81 Duration.Round(time.Second) -----------------------------------------------------------------------------

ROUND_CASES = [
    (timedelta(0), timedelta(0)),
    (timedelta(microseconds=499_999), timedelta(0)),
    (timedelta(microseconds=500_000), timedelta(seconds=1)),
    (timedelta(seconds=1, microseconds=499_999), timedelta(seconds=1)),
    (timedelta(seconds=1, microseconds=500_000), timedelta(seconds=2)),
    (timedelta(seconds=2, microseconds=500_000), timedelta(seconds=3)),
    (timedelta(microseconds=-499_999), timedelta(0)),
    (timedelta(microseconds=-500_000), timedelta(seconds=-1)),
    (timedelta(seconds=-2, microseconds=-500_000), timedelta(seconds=-3)),
    (timedelta(seconds=-2, microseconds=-400_000), timedelta(seconds=-2)),
    (timedelta(seconds=65, microseconds=200_000), timedelta(seconds=65)),
    (timedelta.min, timedelta.min),
]


@pytest.mark.parametrize(("duration", "expected"), ROUND_CASES)
def test_round_half_away_seconds_table_rounds_halves_away_from_zero(duration: timedelta, expected: timedelta) -> None:
    """R81: ``Duration.Round(time.Second)`` rounds to whole seconds, halves away from zero."""
    assert round_half_away_seconds(duration) == expected


def test_round_half_away_seconds_past_timedelta_max_saturates() -> None:
    """R81: Go saturates at its largest Duration on overflow; we saturate at ``timedelta.max``."""
    assert round_half_away_seconds(timedelta.max) == timedelta.max


def test_round_half_away_seconds_just_below_max_rounds_down_to_whole_seconds() -> None:
    """R81: the largest value that rounds down still gives whole seconds."""
    below = timedelta.max - timedelta(microseconds=500_000)
    assert round_half_away_seconds(below) == timedelta.max - timedelta(microseconds=999_999)


@given(st.timedeltas())
def test_round_half_away_seconds_result_is_whole_seconds_within_half_a_second(duration: timedelta) -> None:
    """R81: the result is whole seconds and at most half a second away (or saturated at the top)."""
    rounded = round_half_away_seconds(duration)
    if rounded == timedelta.max:
        assert duration > timedelta.max - timedelta(seconds=1)
    else:
        assert rounded.microseconds == 0
        assert abs(rounded - duration) <= timedelta(microseconds=500_000)


# --- R42 time.RFC3339 ----------------------------------------------------------------------------------------------

RFC3339_CASES = [
    (datetime(2026, 8, 8, 12, 0, tzinfo=UTC), "2026-08-08T12:00:00Z"),
    (datetime(2026, 8, 8, 12, 0, 59, 999_999, tzinfo=UTC), "2026-08-08T12:00:59Z"),
    (datetime(2026, 8, 8, 14, 0, tzinfo=timezone(timedelta(hours=2))), "2026-08-08T14:00:00+02:00"),
    (datetime(2026, 8, 8, 6, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), "2026-08-08T06:30:00-05:30"),
    (
        datetime(2026, 8, 8, 12, 0, tzinfo=timezone(timedelta(hours=12, minutes=34, seconds=56))),
        "2026-08-08T12:00:00+12:34",
    ),
    (datetime(2026, 8, 8, 12, 0, tzinfo=timezone(timedelta(seconds=-30))), "2026-08-08T12:00:00+00:00"),
    (datetime(2026, 8, 8, 12, 0, tzinfo=timezone(timedelta(seconds=-61))), "2026-08-08T12:00:00-00:01"),
    (datetime(2026, 8, 8, 12, 0, tzinfo=timezone(timedelta(microseconds=1))), "2026-08-08T12:00:00Z"),
    (datetime(2026, 8, 8, 12, 0), "2026-08-08T12:00:00Z"),
    (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z"),
]


@pytest.mark.parametrize(("moment", "expected"), RFC3339_CASES)
def test_rfc3339_seconds_table_matches_go_time_rfc3339(moment: datetime, expected: str) -> None:
    """R42: StateJSON's timestamp is Go ``time.RFC3339`` in the instant's own zone, seconds truncated."""
    assert rfc3339_seconds(moment) == expected


# --- R11 completed-time label -------------------------------------------------------------------------------------

LABEL_TIME_CASES = [
    (datetime(2026, 8, 8, 12, 0, tzinfo=UTC), "2026-08-08.12-00"),
    (datetime(2026, 8, 8, 12, 0, 59, 999_999, tzinfo=UTC), "2026-08-08.12-00"),
    (datetime(2026, 8, 8, 14, 7, tzinfo=timezone(timedelta(hours=2))), "2026-08-08.12-07"),
    (datetime(2026, 8, 8, 22, 30, tzinfo=timezone(timedelta(hours=-3))), "2026-08-09.01-30"),
    (datetime(2026, 1, 2, 3, 4), "2026-01-02.03-04"),
]


@pytest.mark.parametrize(("moment", "expected"), LABEL_TIME_CASES)
def test_label_time_table_formats_utc_minutes(moment: datetime, expected: str) -> None:
    """R11: ``flyte.org/completed-time`` is layout ``2006-01-02.15-04`` in UTC; naive instants are read as UTC."""
    assert label_time(moment) == expected


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)))
def test_label_time_order_follows_time_order(first: datetime, second: datetime) -> None:
    """R11/R119: the label sorts lexicographically in time order (at minute precision)."""
    if first <= second:
        assert label_time(first) <= label_time(second)
    else:
        assert label_time(first) >= label_time(second)
