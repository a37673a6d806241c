"""A manual clock: time moves only when a test says so (design.md §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Lock
from typing import Final

DEFAULT_START: Final = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock:
    """The fake :class:`~taskaction_core.interpreter.ports.Clock`. Thread-safe; never moves backwards by ``advance``."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._lock = Lock()
        self._now = _utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (≥ 0) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot advance by a negative duration, got {delta}")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (forwards or backwards: tests of clock skew need both)."""
        moved = _utc(when)
        with self._lock:
            self._now = moved


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the clock needs a timezone-aware datetime, got {when!r}")
    return when.astimezone(UTC)
