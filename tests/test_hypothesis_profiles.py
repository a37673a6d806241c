"""The Hypothesis profiles of tests/conftest.py: which one is chosen, and what the deterministic one promises."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.conftest import CI_PROFILE, DEV_PROFILE, choose_hypothesis_profile


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DEV_PROFILE),
        ({"CI": "true"}, CI_PROFILE),
        ({"CI": "1"}, CI_PROFILE),
        ({"CI": "false"}, DEV_PROFILE),
        ({"CI": ""}, DEV_PROFILE),
        ({"HYPOTHESIS_PROFILE": "ci"}, CI_PROFILE),
        ({"HYPOTHESIS_PROFILE": "dev", "CI": "true"}, DEV_PROFILE),
    ],
)
def test_choose_hypothesis_profile_environment_picks_expected_profile(environ: dict[str, str], expected: str) -> None:
    assert choose_hypothesis_profile(environ) == expected


def test_hypothesis_profile_loaded_matches_this_environment() -> None:
    assert settings.get_current_profile_name() == choose_hypothesis_profile(os.environ)


def test_hypothesis_profile_ci_is_deterministic_and_reproducible() -> None:
    ci = settings.get_profile(CI_PROFILE)
    assert (ci.derandomize, ci.deadline, ci.max_examples, ci.print_blob) == (True, None, 200, True)


def test_hypothesis_profile_dev_explores_one_hundred_examples() -> None:
    dev = settings.get_profile(DEV_PROFILE)
    assert (dev.derandomize, dev.max_examples) == (False, 100)
