"""The benchmark scripts still run: each once, at a tiny size, through its own command line.

Timings are never asserted here (benchmarks/README.md): a test checks that the script exits 0 and reports the
figures of the work it was asked to do. The scripts' own guards fail the run when the work went wrong: every action
finished, every ceiling transaction committed, the replayed statements left what the recorded run left.
``bench_core_instructions.py`` is left out: it needs valgrind, which the project does not install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from taskaction_core.adapters.plugins.flyte_sdk import _sdk

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> str:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    completed = subprocess.run(command, cwd=BENCHMARKS.parent, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, f"$ {' '.join(command)}\n{completed.stdout}{completed.stderr}"
    return completed.stdout


def _json(script: str, *args: str) -> Any:
    return json.loads(_run(script, *args, "--json"))


def test_bench_core_reports_every_round_and_target() -> None:
    report = _json("bench_core.py", "--rounds", "3", "--inner", "10")
    results = report["results"]
    for case in ("floor_replace_status_us", "a_steady_running_us", "b_running_to_success_us"):
        assert results[case] > 0
    assert set(report["met"]) and all(isinstance(met, bool) for met in report["met"].values())


def test_bench_runtime_drives_every_action_and_reports_the_steady_pass() -> None:
    text = _run("bench_runtime.py", "--actions", "30", "--large", "300", "--samples", "3", "--inner", "3")
    assert "throughput: 30 actions," in text
    assert "steady pass:" in text and "with 300 stored" in text


def test_bench_sqlite_counts_the_writing_passes_and_replays_the_library_statements() -> None:
    report = _json("bench_sqlite.py", "--actions", "20", "--workers", "2")
    library, replay = report["library"], report["replay"]
    # Queued, Running and Success each write the status with one event; the finalizer pass writes no status.
    assert (library["actions"], library["writing_passes"], library["events"]) == (20, 60, 60)
    assert library["passes_by_effects"]["AddFinalizer"] == 20
    assert [ceiling["transactions"] for ceiling in report["ceilings"]] == [60, 60]
    assert replay["run"]["writing_passes"] == 60 and replay["statements"] > 0
    assert report["ratio"] > 0 and report["replay_ratio"] > 0
    assert report["fakes"]["writing_passes"] == 60


@pytest.mark.skipif(not _sdk.sdk_available(), reason="the Flyte SDK is not installed: pip install -e '.[flyte]'")
def test_bench_flyte_sdk_runs_the_task_both_ways() -> None:
    (report,) = _json("bench_flyte_sdk.py", "--runs", "1", "--requeue-after", "0.1")
    assert report["runs"] == 1
    assert report["direct_median_s"] > 0 and report["reconciled_median_s"] > 0
