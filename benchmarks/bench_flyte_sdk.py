"""Benchmark: what running a Flyte SDK task through the reconciler costs on top of ``a0`` itself.

    python benchmarks/bench_flyte_sdk.py                 # 10 runs each, requeue 0.1 s and 1 s; --json, --runs N

Needs the ``flyte`` extra (``pip install -e '.[flyte]'``). In one process and one loop, alternating so both see the
same machine load, it times for a trivial task (``add(x, y) -> int``, cache off):

- **direct**: ``a0`` started with ``subprocess.run`` with the argv and environment the plugin would give it, from
  start to exit (the floor: interpreter start, SDK imports, the task, writing ``outputs.pb``);
- **reconciled**: ``LocalFlyte.run`` from the call to the typed result: building the template and ``inputs.pb``,
  creating the TaskAction in SQLite, the controller's passes (validation, finalizer, launch through the
  supervisor, polling every ``requeue_after``, success, events, status, labels) and reading the outputs back.

Two overheads are reported, each the median over ``--runs`` runs per requeue interval:

- **paired**: reconciled − direct, per pair of consecutive runs. Honest but noisy: on a loaded machine one ``a0``
  run varies by more than the overhead itself;
- **around a0**: reconciled − the lifetime of *that* run's ``a0`` process, taken from the supervisor's
  ``task.json`` (written once the process is started) and ``exit.json`` (written once it has exited) in the
  subprocess plugin's run directory. It leaves out ``a0``'s own variance, so it is the stable figure.

Polling dominates the overhead: a finished process is noticed on the next pass, on average half an interval late.
These are measurements, not assertions: nothing here fails a test run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from taskaction_core.adapters.plugins.flyte_sdk import _sdk
from taskaction_core.adapters.plugins.flyte_sdk.local import LocalFlyte
from taskaction_core.adapters.plugins.flyte_sdk.plugin import a0_entrypoint
from taskaction_core.adapters.plugins.flyte_sdk.submit import SubmitOptions
from taskaction_core.cli.backend import PROCESSES_DIR
from taskaction_core.policy import Policy

TASK_MODULE = textwrap.dedent(
    """
    import flyte

    env = flyte.TaskEnvironment(name="bench")


    @env.task
    def add(x: int, y: int) -> int:
        return x + y
    """
)


def _direct_run(task: _sdk.SdkTask, root: Path, work: Path, index: int) -> float:
    """Seconds for one ``a0`` run started by hand, as the plugin starts it (argv, environment, working directory)."""
    out = work / f"direct-{index}"
    out.mkdir(parents=True)
    (out / "inputs.pb").write_bytes(_sdk.encode_inputs(task, {"x": index, "y": 1}))
    argv = [
        *a0_entrypoint(),
        *("--inputs", str(out / "inputs.pb"), "--outputs-path", str(out), "--version", "local"),
        *("--raw-data-path", str(out), "--checkpoint-path", str(out / "_flytecheckpoints"), "--prev-checkpoint", '""'),
        *("--run-name", f"direct-{index}", "--name", f"direct-{index}", "--run-start-time", "1970-01-01T00:00:00Z"),
        *("--resolver", "flyte._internal.resolvers.default.DefaultTaskResolver", "mod", "bench_tasks"),
        *("instance", "add"),
    ]
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "ACTION_NAME": f"direct-{index}",
        "RUN_NAME": f"direct-{index}",
        "_U_ORG_NAME": "local",
        "FLYTE_INTERNAL_EXECUTION_PROJECT": "default",
        "FLYTE_INTERNAL_EXECUTION_DOMAIN": "development",
        "_U_RUN_BASE": str(work / "runs"),
        "FLYTE_ATTEMPT_NUMBER": "0",
        "FSSPEC_FILE_AUTO_MKDIR": "true",
        "PYTHONPATH": str(root),
        "_U_EP_OVERRIDE": "127.0.0.1:9",
        "_U_INSECURE": "1",
        "_F_MAX_RETRIES": "0",
    }
    start = time.perf_counter()
    subprocess.run(argv, cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    if not (out / "outputs.pb").is_file():
        raise RuntimeError(f"a0 wrote no outputs in {out}")
    return elapsed


def _reconciled_run(local: LocalFlyte, task: _sdk.SdkTask, root: Path, index: int, tag: str) -> tuple[float, float]:
    """Seconds from submitting the task to holding its typed result, and the lifetime of its ``a0`` process."""
    options = SubmitOptions(name=f"bench-{tag}-{index}", root_dir=root)
    start = time.perf_counter()
    value = local.run(task, {"x": index, "y": 1}, options)
    elapsed = time.perf_counter() - start
    if value != index + 1:
        raise RuntimeError(f"add({index}, 1) gave {value!r}")
    return elapsed, _process_lifetime(local, options.namespace, options.name)


def _process_lifetime(local: LocalFlyte, namespace: str, name: str) -> float:
    """From the supervisor's ``task.json`` (process started) to its ``exit.json`` (process reaped), in seconds."""
    uid = local.backend.store.get(namespace, name).unwrap().metadata.uid
    run = local.backend.data_dir / PROCESSES_DIR / namespace / f"{name}.{uid}" / f"{name}-0"
    return (run / "exit.json").stat().st_mtime - (run / "task.json").stat().st_mtime


def measure(runs: int, requeue_after: float, root: Path, work: Path) -> dict[str, Any]:
    task = _sdk.load_task("bench_tasks:add")
    tag = f"{int(requeue_after * 1000)}ms"
    policy = Policy(requeue_after=timedelta(seconds=requeue_after))
    direct: list[float] = []
    reconciled: list[float] = []
    lifetimes: list[float] = []
    with LocalFlyte(work / f"{tag}.db", work / f"data-{tag}", workers=2, policy=policy) as local:
        _reconciled_run(local, task, root, -1, tag)  # warm-up: SQLite schema, SDK imports in this process
        for index in range(runs):
            direct.append(_direct_run(task, root, work / tag, index))
            total, lifetime = _reconciled_run(local, task, root, index, tag)
            reconciled.append(total)
            lifetimes.append(lifetime)
    paired = [r - d for r, d in zip(reconciled, direct, strict=True)]
    around = [r - life for r, life in zip(reconciled, lifetimes, strict=True)]
    return {
        "requeue_after_s": requeue_after,
        "runs": runs,
        "direct_median_s": statistics.median(direct),
        "reconciled_median_s": statistics.median(reconciled),
        "a0_lifetime_in_reconciled_median_s": statistics.median(lifetimes),
        "overhead_paired_median_s": statistics.median(paired),
        "overhead_around_a0_median_s": statistics.median(around),
        "overhead_around_a0_min_s": min(around),
        "overhead_around_a0_max_s": max(around),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--requeue-after", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not _sdk.sdk_available():
        print("the Flyte SDK is not installed: pip install -e '.[flyte]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-flyte-sdk-") as scratch:
        root, work = Path(scratch, "code"), Path(scratch, "work")
        root.mkdir()
        (root / "bench_tasks.py").write_text(TASK_MODULE, encoding="utf-8")
        sys.path.insert(0, str(root))
        results = [measure(args.runs, interval, root, work) for interval in args.requeue_after]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    header = ("requeue", "runs", "a0 direct", "reconciled", "its a0", "paired", "around a0 (min..max)")
    print("{:>8} {:>5} {:>10} {:>11} {:>8} {:>8} {:>26}".format(*header))
    for r in results:
        around = (
            f"{r['overhead_around_a0_median_s']:.3f}s "
            f"({r['overhead_around_a0_min_s']:.3f}..{r['overhead_around_a0_max_s']:.3f})"
        )
        print(
            f"{r['requeue_after_s']:>7.2f}s {r['runs']:>5} {r['direct_median_s']:>9.3f}s "
            f"{r['reconciled_median_s']:>10.3f}s {r['a0_lifetime_in_reconciled_median_s']:>7.3f}s "
            f"{r['overhead_paired_median_s']:>7.3f}s {around:>26}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
