"""The garbage collector's expiry predicate (R119, Q27) and label selector (R118)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from taskaction_core.gc import GC_LABEL_SELECTOR, should_delete_terminal_task_action
from taskaction_core.policy import DEFAULT_GC_INTERVAL, DEFAULT_GC_MAX_TTL

NOW = datetime(2026, 8, 8, 13, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)

# (completed-time label, max TTL, delete?) — the cutoff for NOW and one hour is "2026-08-08.12-00".
R119_TABLE = [
    ("", HOUR, False),
    ("", timedelta(0), False),
    ("", -HOUR, False),
    ("2026-08-08.12-00", timedelta(0), True),
    ("2099-01-01.00-00", timedelta(0), True),
    ("abc", -HOUR, True),
    ("2026-08-08.11-59", HOUR, True),
    ("2025-12-31.23-59", HOUR, True),
    ("2026-08-08.12-00", HOUR, False),
    ("2026-08-08.12-01", HOUR, False),
    ("2026-08-08.13-00", HOUR, False),
    ("abc", HOUR, False),
    ("abc", timedelta(days=3650), False),
    ("2026-08-08", HOUR, True),
]


@pytest.mark.parametrize(
    ("completed", "max_ttl", "delete"),
    R119_TABLE,
    ids=[
        "empty-keeps",
        "empty-keeps-zero-ttl",
        "empty-keeps-negative-ttl",
        "zero-ttl-deletes",
        "zero-ttl-deletes-future",
        "negative-ttl-deletes-malformed",
        "minute-before-cutoff-deletes",
        "long-ago-deletes",
        "same-minute-as-cutoff-kept",
        "after-cutoff-kept",
        "just-now-kept",
        "abc-never-deleted",
        "abc-never-deleted-long-ttl",
        "date-only-prefix-sorts-first",
    ],
)
def test_should_delete_terminal_task_action_table_R119_Q27(completed: str, max_ttl: timedelta, delete: bool) -> None:
    assert should_delete_terminal_task_action(completed, NOW, max_ttl) is delete


def test_should_delete_terminal_task_action_cutoff_is_formatted_in_utc_R119_R11() -> None:
    now_plus_two = NOW.astimezone(timezone(timedelta(hours=2)))

    assert should_delete_terminal_task_action("2026-08-08.11-59", now_plus_two, HOUR) is True
    assert should_delete_terminal_task_action("2026-08-08.12-00", now_plus_two, HOUR) is False


def test_should_delete_terminal_task_action_cutoff_before_year_one_keeps_R119() -> None:
    assert should_delete_terminal_task_action("0001-01-01.00-00", NOW, timedelta(days=999_999_999)) is False


def test_gc_label_selector_and_defaults_R118_R110() -> None:
    assert GC_LABEL_SELECTOR == {"flyte.org/termination-status": "terminated", "flyte.org/completed-time": None}
    assert (timedelta(minutes=30), timedelta(hours=1)) == (DEFAULT_GC_INTERVAL, DEFAULT_GC_MAX_TTL)
