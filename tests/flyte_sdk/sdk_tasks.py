"""Flyte SDK tasks the tests run for real through ``a0`` (R40, R52, R57, R102; reference/flyte-sdk-local.md §3, §5).

Each task that must be counted records every execution as a file ``<record>/<attempt>-<pid>`` before doing anything
else, so a test can tell how many processes ran and on which attempts. This is an ordinary user module: the task
process imports it as ``tests.flyte_sdk.sdk_tasks`` through ``PYTHONPATH``.
"""

# mypy: allow-untyped-decorators
# (without the ``flyte`` extra installed, ``flyte`` is Any and so are its decorators)

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import flyte  # type: ignore[import-not-found, unused-ignore]
import flyte.errors  # type: ignore[import-not-found, unused-ignore]

env = flyte.TaskEnvironment(name="taskaction_tests")


def record(directory: str) -> int:
    """Record this execution (``<attempt>-<pid>``) and return the 0-based attempt number."""
    attempt = int(flyte.ctx().attempt_number)
    Path(directory).mkdir(parents=True, exist_ok=True)
    Path(directory, f"{attempt}-{os.getpid()}").touch()
    return attempt


@env.task
def add(x: int, y: int = 2) -> int:
    return x + y


@env.task
def summarize(values: list[int], scale: float, labels: dict[str, str]) -> tuple[float, list[int], str]:
    """Several typed outputs of different kinds: a float, a collection and a string."""
    joined = ",".join(f"{key}={labels[key]}" for key in sorted(labels))
    return sum(values) * scale, [v * 2 for v in values], joined


@env.task(cache="auto")
def cached_square(x: int, log: str) -> int:
    record(log)
    return x * x


@env.task(cache=flyte.Cache(behavior="auto", serialize=True))
def serialized_square(x: int, log: str) -> int:
    """Slow enough that a second action with the same inputs finds the reservation held (WaitingForCache)."""
    record(log)
    time.sleep(1.5)
    return x * x


@env.task(retries=2)
def flaky_with_checkpoint(log: str) -> str:
    """Fails on attempts 0 and 1, saving its progress; attempt 2 reports what the previous attempt saved."""
    attempt = record(log)
    checkpoint = flyte.ctx().checkpoint
    assert checkpoint is not None, "the plugin passes --checkpoint-path"
    previous = checkpoint.load_sync()
    seen = Path(previous).read_text() if previous is not None else "none"
    checkpoint.save_sync(f"progress-{attempt}".encode())
    if attempt < 2:
        raise ValueError(f"flaky on attempt {attempt}")
    return f"attempt={attempt} previous={seen}"


@env.task(retries=3)
def fatal(log: str) -> int:
    record(log)
    raise flyte.errors.NonRecoverableError("the input can never work", code="Fatal")


@env.task(retries=3)
def system_broken(log: str) -> int:
    record(log)
    raise flyte.errors.RuntimeSystemError("DiskGone", "the scratch disk is gone")


@env.task(retries=1)
def killed(log: str) -> int:
    """Dies by SIGKILL without writing error.pb, as an out-of-memory kill would."""
    record(log)
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@env.task(timeout=timedelta(seconds=2))
def too_slow(log: str) -> int:
    record(log)
    time.sleep(120)
    return 0


@env.task
def sleeper(seconds: float, log: str) -> int:
    record(log)
    time.sleep(seconds)
    return 0


@env.task
async def parent(x: int) -> int:
    """Calls another task: needs the Flyte control plane to run the child as its own action."""
    result: int = await add.aio(x, 1)
    return result


@flyte.trace
async def doubled(x: int) -> int:
    return x * 2


@env.task
async def traced(x: int) -> int:
    """Uses a trace: runs in-process, only its bookkeeping needs the control plane."""
    result: int = await doubled(x)
    return result
