"""R11/R119: ``gofmt.label_time`` saturates when the UTC instant of a fixed-offset time lies outside datetime's range.

Go's ``time.Time`` has a wider range and formats the true UTC instant; Python cannot represent it, so the label is
clamped to the first or last minute datetime can hold, which keeps reconcile total and the labels ordered (found
by tests/properties/test_regressions.py::test_reconcile_terminal_condition_time_at_range_edge_returns_labels).
Added to kill the mutants of the saturation branch that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from taskaction_core.gofmt import label_time

WEST = timezone(timedelta(hours=-5))
"""UTC-05:00: a moment late on 9999-12-31 here is already in year 10000 in UTC."""
EAST = timezone(timedelta(hours=5))
"""UTC+05:00: a moment early on 0001-01-01 here is still in year 0 in UTC."""


def test_label_time_negative_offset_past_year_9999_saturates_to_last_minute() -> None:
    """R11: the UTC instant is past datetime.max, so the label is the latest one (it still sorts last, R119)."""
    assert label_time(datetime(9999, 12, 31, 23, 59, tzinfo=WEST)) == "9999-12-31.23-59"


def test_label_time_positive_offset_before_year_1_saturates_to_first_minute() -> None:
    """R11: the UTC instant is before datetime.min, so the label is the earliest one (it still sorts first, R119)."""
    assert label_time(datetime(1, 1, 1, 0, 0, tzinfo=EAST)) == "0001-01-01.00-00"


def test_label_time_saturated_labels_keep_time_order() -> None:
    """R119: the garbage collector compares labels as strings, so the clamped ends stay ordered around a normal one."""
    earliest = label_time(datetime(1, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=3))))
    ordinary = label_time(datetime(2026, 8, 8, 12, 0, tzinfo=WEST))
    latest = label_time(datetime(9999, 12, 31, 22, 0, tzinfo=timezone(timedelta(hours=-3))))
    assert (earliest, ordinary, latest) == ("0001-01-01.00-00", "2026-08-08.17-00", "9999-12-31.23-59")
