"""Policy: defaults (R110), validation of negative values, 0 meaning the default (R110, Q16), deviation switches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from taskaction_core.policy import (
    ALL_DEVIATIONS,
    DEFAULT_MAX_SYSTEM_FAILURES,
    DEFAULT_REQUEUE_AFTER,
    GO_COMPATIBLE,
    STATUS_CONFLICT_RETRIES,
    Deviation,
    Policy,
    max_system_failures,
)


def test_policy_defaults_are_the_go_executor_defaults_R110() -> None:
    policy = Policy()

    assert (
        policy.requeue_after,
        policy.max_system_failures,
        policy.cluster_id,
        policy.catalog_enabled,
        policy.default_service_account,
        policy.deviations,
    ) == (timedelta(seconds=10), 3, "", True, "", ALL_DEVIATIONS)
    assert (
        timedelta(seconds=10),
        3,
        5,
    ) == (DEFAULT_REQUEUE_AFTER, DEFAULT_MAX_SYSTEM_FAILURES, STATUS_CONFLICT_RETRIES)


def test_policy_negative_requeue_after_is_rejected_R110() -> None:
    with pytest.raises(ValueError, match=r"requeue_after must not be negative, got -1 day, 23:59:59"):
        Policy(requeue_after=timedelta(seconds=-1))


def test_policy_negative_max_system_failures_is_rejected_R110() -> None:
    with pytest.raises(ValueError, match=r"max_system_failures must not be negative, got -1"):
        Policy(max_system_failures=-1)


def test_policy_zero_requeue_after_means_ten_seconds_R110() -> None:
    assert Policy(requeue_after=timedelta(0)).requeue_after == timedelta(seconds=10)


def test_policy_positive_requeue_after_is_kept_R110() -> None:
    assert Policy(requeue_after=timedelta(milliseconds=1)).requeue_after == timedelta(milliseconds=1)


@pytest.mark.parametrize(("configured", "effective"), [(0, 3), (1, 1), (3, 3), (10, 10)])
def test_max_system_failures_zero_means_three_R60_Q16(configured: int, effective: int) -> None:
    policy = Policy(max_system_failures=configured)

    assert policy.max_system_failures == configured
    assert max_system_failures(policy) == effective


def test_policy_unknown_deviation_is_rejected_design_s6() -> None:
    with pytest.raises(ValueError, match=r"unknown deviations: \['D1'\]"):
        Policy(deviations=frozenset({"D1"}))  # type: ignore[arg-type]


def test_policy_fixes_reports_each_switch_design_s6() -> None:
    only_d10 = Policy(deviations=frozenset({Deviation.D10_TRUNCATE_CONDITION_MESSAGES}))

    assert [d for d in Deviation if only_d10.fixes(d)] == [Deviation.D10_TRUNCATE_CONDITION_MESSAGES]
    assert all(Policy().fixes(d) for d in Deviation)
    assert not any(Policy(deviations=GO_COMPATIBLE).fixes(d) for d in Deviation)


def test_deviation_values_are_the_design_ids_D1_to_D11() -> None:
    assert [d.value for d in Deviation] == [f"D{n}" for n in range(1, 12)]
    assert frozenset(Deviation) == ALL_DEVIATIONS
    assert frozenset() == GO_COMPATIBLE
