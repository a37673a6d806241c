"""Running the real ``taskaction`` entry point in a subprocess, in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from taskaction_core.cli.scenarios import DemoSettings

TIMEOUT = 120.0


def taskaction(
    cwd: Path, *args: str, stdin: str | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``python -m taskaction_core.cli ARGS`` in ``cwd`` (so the default ``--db`` and ``--data`` land there)."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("TASKACTION_DB", None)
    env.pop("TASKACTION_DATA", None)
    env.pop("TASKACTION_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "taskaction_core.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have succeeded (its output in the assertion message otherwise)."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def settings_for(namespace: str = "default") -> DemoSettings:
    """Demo actions that run the demo task with this interpreter; the script is copied by :func:`install_script`."""
    return DemoSettings(
        namespace=namespace,
        run="clirun",
        python=sys.executable,
        script="tasks/demo_task.py",
        record="executions",
        cache_key="test",
        race_sleep=0.5,
        long_sleep=60.0,
    )


def install_script(data: Path) -> None:
    from taskaction_core.cli import demo_task

    (data / "tasks").mkdir(parents=True, exist_ok=True)
    (data / "tasks" / "demo_task.py").write_text(Path(demo_task.__file__).read_text(encoding="utf-8"), encoding="utf-8")
