"""The hot path's shortcuts agree with the general code they skip (go_quote, StateJSON escaping, Go times)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from taskaction_core.gofmt import _quote_char, go_quote, label_time, rfc3339_seconds
from taskaction_core.reconcile.status import _json_safe

_ASCII_HEAVY = st.text(alphabet=st.characters(max_codepoint=0x7F) | st.sampled_from("é\u2028\x00\ufffd"), max_size=12)


@given(_ASCII_HEAVY)
def test_go_quote_fast_path_equals_the_rune_walk(text: str) -> None:
    walked = '"' + "".join(_quote_char(char, from_bytes=False) for char in text) + '"'
    assert go_quote(text) == walked


@given(_ASCII_HEAVY)
def test_json_safe_is_exactly_text_go_json_writes_unescaped(text: str) -> None:
    """R42: the shortcut may only skip ``json.dumps`` when Go would write the text as it is."""
    unescaped = json.dumps(text, ensure_ascii=True)[1:-1] == text and not any(c in text for c in "<>&")
    assert _json_safe(text) == (unescaped and text.isprintable())


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(0))])))
def test_go_times_utc_fast_path_equals_the_offset_path(moment: datetime) -> None:
    """R11/R42: a datetime in ``UTC`` formats exactly like the same instant in another zero-offset zone."""
    same_instant = moment.replace(tzinfo=timezone(timedelta(0))) if moment.tzinfo is UTC else moment
    assert rfc3339_seconds(moment) == rfc3339_seconds(same_instant)
    if moment.tzinfo is UTC:
        assert label_time(moment) == label_time(same_instant)
        assert rfc3339_seconds(moment).endswith("Z")


@given(st.datetimes(timezones=st.none() | st.just(UTC)))
def test_go_times_digit_table_equals_strftime_layout(moment: datetime) -> None:
    """R11/R42: the two-digit table and year padding give Go's ``2006-01-02T15:04:05`` and ``2006-01-02.15-04``."""
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    assert rfc3339_seconds(moment) == f"{date}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    assert label_time(moment) == f"{date}.{moment.hour:02d}-{moment.minute:02d}"
