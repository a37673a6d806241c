"""Test-suite wide configuration: the Hypothesis profiles.

Two profiles (style.md, "Tests"): ``dev`` explores with fresh randomness on every run, ``ci`` is deterministic so a
red CI run reproduces byte for byte on a laptop. The profile is chosen by ``HYPOTHESIS_PROFILE``; without it, the
``CI`` variable that CI runners set selects ``ci``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest
from hypothesis import settings

from taskaction_core.memo import clear_caches

DEV_PROFILE = "dev"
CI_PROFILE = "ci"

# derandomize is explicit: Hypothesis' own default turns it on whenever it detects CI, and dev must explore.
settings.register_profile(DEV_PROFILE, max_examples=100, derandomize=False)
settings.register_profile(CI_PROFILE, derandomize=True, deadline=None, max_examples=200, print_blob=True)

_FALSE_WORDS = frozenset({"", "0", "false", "no"})


def choose_hypothesis_profile(environ: Mapping[str, str]) -> str:
    """Name the profile to load: an explicit ``HYPOTHESIS_PROFILE`` wins, then ``CI`` (set, not false) means ``ci``."""
    explicit = environ.get("HYPOTHESIS_PROFILE")
    if explicit:
        return explicit
    if environ.get("CI", "").strip().lower() not in _FALSE_WORDS:
        return CI_PROFILE
    return DEV_PROFILE


settings.load_profile(choose_hypothesis_profile(os.environ))


@pytest.fixture(autouse=True)
def _fresh_memo_caches() -> None:
    """Every test starts with empty core memo caches, so no test passes on a result another test computed
    (mutation testing depends on this: a cached result would hide a mutated decoder)."""
    clear_caches()
