"""The coded PhaseInfo constructors keep the plugin's TaskInfo and default to no cleanup (R18, R21).

Go ``PhaseInfoFailure``/``PhaseInfoSystemFailure``/``PhaseInfoRetryableFailure``/``PhaseInfoSystemRetryableFailure``
store the given ``*TaskInfo`` as is (only the ``...WithCleanup`` variants set ``CleanupOnFailure``). Added to kill
mutants that survived the mutation run (docs/mutation-testing.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pyrsistent import pvector

from taskaction_core.phase_info import (
    ExternalResource,
    PhaseInfo,
    ReasonInfo,
    TaskInfo,
    TaskLog,
    phase_info_failure,
    phase_info_retryable_failure,
    phase_info_system_failure,
    phase_info_system_retryable_failure,
)
from taskaction_core.phases import CacheStatus

T0 = datetime(2026, 8, 8, 12, 0, 0, tzinfo=UTC)
EARLIER = T0 - timedelta(minutes=5)
PLUGIN_INFO = TaskInfo(
    occurred_at=EARLIER,
    logs=pvector([TaskLog("s3://logs/a0", "stdout")]),
    reported_at=EARLIER,
    external_resources=pvector([ExternalResource("pod-a0", CacheStatus.CACHE_MISS)]),
    additional_reasons=pvector([ReasonInfo("image pulled", EARLIER)]),
)
Coded = Callable[..., PhaseInfo]
CODED: tuple[Coded, ...] = (
    phase_info_failure,
    phase_info_system_failure,
    phase_info_retryable_failure,
    phase_info_system_retryable_failure,
)


@pytest.mark.parametrize("constructor", CODED)
def test_coded_phase_info_with_task_info_keeps_it_unchanged(constructor: Coded) -> None:
    """R18: the normaliser only fills a missing TaskInfo/occurred_at; a complete one is the plugin's and is kept."""
    info = constructor(T0, "OOMKilled", "out of memory", PLUGIN_INFO)
    assert info.info == PLUGIN_INFO


@pytest.mark.parametrize("constructor", CODED)
def test_coded_phase_info_without_cleanup_argument_does_not_clean_up(constructor: Coded) -> None:
    """R18/Q3: cleanup_on_failure is False unless the caller asks for the ``...WithCleanup`` form."""
    assert constructor(T0, "OOMKilled", "out of memory", None).cleanup_on_failure is False
    assert constructor(T0, "OOMKilled", "out of memory", None, True).cleanup_on_failure is True
