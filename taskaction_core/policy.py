"""Limits and defaults of the reconciler (R110), and the switches for the deliberate deviations D1–D11.

Defaults are the Go executor's. Every deviation from the Go controller (``docs/go-parity.md``) is on by default and
can be switched off one by one to reproduce Go exactly, for example when shadow-testing against a Go executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Final

from taskaction_core.fastinit import fast_init

DEFAULT_REQUEUE_AFTER: Final = timedelta(seconds=10)
"""Go ``TaskActionDefaultRequeueDuration`` (R110)."""
DEFAULT_MAX_SYSTEM_FAILURES: Final = 3
"""Go ``DefaultMaxSystemFailures`` (R110)."""
DEFAULT_GC_INTERVAL: Final = timedelta(minutes=30)
DEFAULT_GC_MAX_TTL: Final = timedelta(hours=1)
STATUS_CONFLICT_RETRIES: Final = 5
"""R66: Kubernetes ``retry.DefaultRetry`` attempts for status writes."""


class Deviation(StrEnum):
    """A deliberate deviation from the Go controller (design.md §6). Each fixes a known Go defect."""

    D1_TERMINAL_DELETION_NO_ABORT_EVENT = "D1"
    D2_REPORT_FAILED_ATTEMPT = "D2"
    D3_CLEANUP_AT_SYSTEM_CEILING = "D3"
    D4_DURABLE_SYSTEM_FAILURE_COUNT = "D4"
    D5_COUNT_ENDLESS_FAILURES = "D5"
    D6_PER_ATTEMPT_SYSTEM_FAILURES = "D6"
    D7_NO_CACHE_RACE_WITH_LIVE_RESOURCE = "D7"
    D8_LOOKUP_ERROR_KEEPS_SERIALIZATION = "D8"
    D9_EXPLICIT_CATALOG_OUTCOMES = "D9"
    D10_TRUNCATE_CONDITION_MESSAGES = "D10"
    D11_COMPARE_WHOLE_STATUS = "D11"


ALL_DEVIATIONS: Final = frozenset(Deviation)
"""The default: every known Go defect is fixed."""
GO_COMPATIBLE: Final[frozenset[Deviation]] = frozenset()
"""No deviations: reproduce the Go controller exactly, defects included."""


@fast_init
@dataclass(frozen=True, slots=True)
class Policy:
    """Configuration the pure core reads. Construct it once; invalid values raise ``ValueError`` (Go: startup fails).

    ``catalog_enabled`` is False when no catalog client is configured (R52 step 1: caching is then off, but an
    unparsable template is still an error).
    """

    requeue_after: timedelta = DEFAULT_REQUEUE_AFTER
    max_system_failures: int = DEFAULT_MAX_SYSTEM_FAILURES
    cluster_id: str = ""
    catalog_enabled: bool = True
    default_service_account: str = ""
    deviations: frozenset[Deviation] = field(default=ALL_DEVIATIONS)

    def __post_init__(self) -> None:
        if self.requeue_after < timedelta(0):
            raise ValueError(f"requeue_after must not be negative, got {self.requeue_after}")
        if self.max_system_failures < 0:
            raise ValueError(f"max_system_failures must not be negative, got {self.max_system_failures}")
        if self.requeue_after == timedelta(0):
            object.__setattr__(self, "requeue_after", DEFAULT_REQUEUE_AFTER)
        unknown = [d for d in self.deviations if not isinstance(d, Deviation)]
        if unknown:
            raise ValueError(f"unknown deviations: {unknown!r}; use taskaction_core.policy.Deviation members")

    def fixes(self, deviation: Deviation) -> bool:
        """True when ``deviation`` is enabled, i.e. the Go defect it names is fixed."""
        return deviation in self.deviations


def max_system_failures(policy: Policy) -> int:
    """R60: the configured ceiling, where 0 (unset) means the default 3. Go: ``maxSystemFailures``."""
    return policy.max_system_failures or DEFAULT_MAX_SYSTEM_FAILURES
