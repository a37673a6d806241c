"""Machine instructions per core round, counted by valgrind: the same cases as ``bench_core.py``, load-independent.

    python benchmarks/bench_core_instructions.py              # needs valgrind (Debian: apt-get install valgrind)
    python benchmarks/bench_core_instructions.py --rounds 500 --json

Wall-clock medians on a shared 2-core machine move by ±30 % with the load; instruction counts do not (they vary by
well under 1 % between runs with a fixed ``PYTHONHASHSEED``). Each case runs twice under
``valgrind --tool=cachegrind --cache-sim=no``, once with ``--rounds`` calls and once with none; the difference divided
by ``--rounds`` is the cost of one call. The ratio to the floor is comparable to ``bench_core.py``'s, though
instructions are not time (fewer allocations also raise the instructions per cycle). Measurements only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CASES = ("floor_replace_status", "a_steady_running", "b_running_to_success", "c_success_10k_history")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _run_case(case: str, calls: int) -> None:
    """Child mode: build the cases as ``bench_core`` does, warm up, then make ``calls`` calls of ``case``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_core import build_cases

    fn = build_cases()[f"{case}_us"]
    for _ in range(50):
        fn()
    for _ in range(calls):
        fn()


def _instructions(case: str, calls: int) -> int:
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--child", case, str(calls)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    match = _REFS.search(done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _run_case(args.child[0], int(args.child[1]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {c: (pool.submit(_instructions, c, 0), pool.submit(_instructions, c, args.rounds)) for c in CASES}
        per_call = {c: (full.result() - empty.result()) / args.rounds for c, (empty, full) in jobs.items()}
    floor = per_call["floor_replace_status"]
    results: dict[str, float] = {f"{c}_instructions": round(v) for c, v in per_call.items()}
    results["a_over_floor"] = per_call["a_steady_running"] / floor
    results["b_over_floor"] = per_call["b_running_to_success"] / floor
    results["c_over_b"] = per_call["c_success_10k_history"] / per_call["b_running_to_success"]
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    print(f"valgrind instruction counts, {args.rounds} calls per case, PYTHONHASHSEED=0")
    for key, value in results.items():
        print(f"  {key:36s} {value:12,.2f}" if "over" in key else f"  {key:36s} {value:12,.0f}")


if __name__ == "__main__":
    main()
