"""The bounded exhaustive explorer: laws at every state, liveness, and the generated diagram is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskaction_core.policy import ALL_DEVIATIONS, GO_COMPATIBLE, Deviation, Policy
from taskaction_core.testing.explorer import (
    Exploration,
    explore,
    failure_cycles,
    phase_label,
    render_docs,
    unable_to_finish,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def default_exploration() -> Exploration:
    return explore()


def test_explorer_default_policy_every_state_obeys_the_laws(default_exploration: Exploration) -> None:
    assert default_exploration.violations == []
    assert len(default_exploration.states) > 100
    assert default_exploration.transitions > 500


def test_explorer_default_policy_every_state_can_finish_without_deletion(default_exploration: Exploration) -> None:
    assert unable_to_finish(default_exploration) == []


def test_explorer_default_policy_has_no_failure_livelock_D5_D6(default_exploration: Exploration) -> None:
    assert failure_cycles(default_exploration) == []


def test_explorer_reaches_every_terminal_outcome(default_exploration: Exploration) -> None:
    labels = {phase_label(key) for key in default_exploration.states}
    assert {"Succeeded", "Failed_PermanentFailure", "Deleted", "WaitingForCache", "Running", "Queued"} <= labels


@pytest.mark.parametrize(
    ("deviations", "why"),
    [
        (GO_COMPATIBLE, "Go: Running passes reset the counter (#8066) and some failures never count (Q6)"),
        (ALL_DEVIATIONS - {Deviation.D6_PER_ATTEMPT_SYSTEM_FAILURES}, "fail → relaunch → Running → fail (#8066)"),
        (ALL_DEVIATIONS - {Deviation.D5_COUNT_ENDLESS_FAILURES}, "reservation errors retried forever (Q6)"),
    ],
)
def test_explorer_finds_the_go_livelocks_when_the_fix_is_off(deviations: frozenset[Deviation], why: str) -> None:
    # The liveness check bites: switching a fix off brings back a cycle decided by failures.
    result = explore(Policy(max_system_failures=1, deviations=deviations))
    assert failure_cycles(result), why


def test_state_machine_doc_is_generated_from_the_current_core(default_exploration: Exploration) -> None:
    committed = (DOCS / "state-machine.md").read_text(encoding="utf-8")
    assert committed == render_docs(default_exploration), (
        "docs/state-machine.md is stale: run `python -m taskaction_core.testing.explorer --write-docs docs`"
    )
    assert (DOCS / "state-machine.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
