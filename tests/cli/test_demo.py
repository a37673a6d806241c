"""``taskaction demo`` end to end through the real entry point: real processes, SQLite, local files (< 60 s)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.cli.helpers import ok, taskaction

DEMO_BUDGET = 60.0


@pytest.mark.demo
def test_demo_in_empty_directory_passes_every_check_within_a_minute(tmp_path: Path) -> None:
    started = time.monotonic()
    output = ok(taskaction(tmp_path, "demo"))
    elapsed = time.monotonic() - started

    checks = re.findall(r"^ ([✓✗]) (.+)$", output, flags=re.MULTILINE)
    assert [mark for mark, _ in checks] == ["✓"] * 6, output
    titles = " | ".join(title for _, title in checks)
    for topic in (
        "succeeds",
        "cache hit",
        "exactly one runs",
        "retries in place",
        "signalled",
        "deleted while running",
    ):
        assert topic in titles
    assert "all checks passed: 6/6" in output
    assert elapsed < DEMO_BUDGET, f"the demo took {elapsed:.1f} s"

    # What the demo left is ordinary state: the other commands read it.
    table = ok(taskaction(tmp_path, "get", "-n", "demo-1")).splitlines()
    phases = {line.split()[0]: line.split()[4] for line in table[1:]}
    assert phases == {name: "Succeeded" for name in ("approval", "flaky", "hello", "hello-again", "race-a", "race-b")}
    assert (tmp_path / "taskaction-data" / "demo-1" / "manifests.yaml").is_file()
