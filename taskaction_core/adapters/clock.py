"""The system clock: the production :class:`~taskaction_core.interpreter.ports.Clock` (design.md §7)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """Wall-clock time, timezone-aware UTC. Stateless and thread-safe.

    Not monotonic: it follows the host's clock, like the Go controller's ``time.Now()``. The core only compares
    times it received as observations (R80 deadlines, R94 expiry), so a step of the host clock shifts those
    decisions exactly as it would in Go.
    """

    def now(self) -> datetime:
        return datetime.now(UTC)
