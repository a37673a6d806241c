"""Edge cases of the Go formatting routines (spec §0, R11, R81). Expected values checked against Go 1.27.

Added to kill mutants that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from taskaction_core.gofmt import go_quote, label_time, round_half_away_seconds


def test_go_quote_private_use_character_is_a_u_escape_not_a_replacement() -> None:
    """Go ``strconv.Quote("\\ue000")`` is ``"\\ue000"``: U+E000 is unprintable but not a surrogate (U+D800–U+DFFF)."""
    assert go_quote("\ue000") == '"\\ue000"'
    assert go_quote("\U00010000") == '"\U00010000"'


def test_round_half_away_seconds_huge_duration_rounds_on_exact_microseconds() -> None:
    """R81: rounding uses the exact microsecond count; just below a half stays down even where a float would not be
    able to tell (10^17 µs is far past 2^53)."""
    duration = timedelta(seconds=10**11, microseconds=499_999)
    assert round_half_away_seconds(duration) == timedelta(seconds=10**11)
    assert round_half_away_seconds(-duration) == timedelta(seconds=-(10**11))


@pytest.fixture
def host_zone_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put the process in UTC+05:30, so any read of the host time zone shows in the result."""
    monkeypatch.setenv("TZ", "XST-05:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_zone_not_utc")
def test_label_time_never_consults_the_host_time_zone() -> None:
    """R11: the completed-time label is UTC; a naive datetime is read as UTC (gofmt's module note), an aware one is
    converted to UTC, whatever the host's zone is."""
    assert label_time(datetime(2026, 8, 8, 12, 0)) == "2026-08-08.12-00"
    plus_two = timezone(timedelta(hours=2))
    assert label_time(datetime(2026, 8, 8, 12, 0, tzinfo=plus_two)) == "2026-08-08.10-00"
