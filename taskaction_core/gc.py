"""The garbage collector's expiry predicate (R119), pure: the sweep itself lives in the runtime.

Go: ``executor/pkg/controller/garbage_collector.go shouldDeleteTerminalTaskAction``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from taskaction_core.gofmt import label_time
from taskaction_core.records import LABEL_COMPLETED_TIME, LABEL_TERMINATION_STATUS, TERMINATED

GC_LABEL_SELECTOR: dict[str, str | None] = {LABEL_TERMINATION_STATUS: TERMINATED, LABEL_COMPLETED_TIME: None}
"""R118: termination-status=terminated and completed-time exists (None: existence only)."""


def should_delete_terminal_task_action(completed_time: str, now: datetime, max_ttl: timedelta) -> bool:
    """R119: keep an empty completed-time; delete everything when max_ttl ≤ 0; otherwise delete iff the label
    sorts strictly before the formatted cutoff ``now − max_ttl``.

    The comparison is on strings at minute precision, so an action completed in the cutoff's minute is kept and a
    malformed label such as ``abc`` sorts after digits and is never deleted (Q27).
    """
    if not completed_time:
        return False
    if max_ttl <= timedelta(0):
        return True
    try:
        cutoff = now - max_ttl
    except OverflowError:
        return False
    return completed_time < label_time(cutoff)
