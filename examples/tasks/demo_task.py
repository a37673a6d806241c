"""The demo's task: a real process that the subprocess plugin launches, as a Flyte task's container would run.

    python demo_task.py --outputs {{.outputPrefix}} --record executions [--value 41] [--sleep 0.5]
                        [--fail-first-time executions/flaky.marker]

It records that it ran (``<record>/<ACTION_NAME>-<pid>.json``: the demo counts real executions from these files),
waits ``--sleep`` seconds, then writes ``o0 = value + 1`` as a ``core.LiteralMap`` to ``<outputs>/outputs.pb``. With
``--fail-first-time MARKER`` it fails (exit 1) when MARKER does not exist yet, creating it: a flaky task that
succeeds when retried. SIGTERM ends it at once (its default action), as a container's main process ends when its
pod is deleted. Relative paths and ``file://DIR/...`` URIs are relative to the working directory (the data directory).

Standard library and flyteidl2 only, so it starts fast; the demo copies this file into its work directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from flyteidl2.core import literals_pb2


def local(uri: str) -> Path:
    """A ``file://`` URL or a plain path as a local path (``file://runs/x`` is ``runs/x``)."""
    return Path(uri.removeprefix("file://"))


def record_execution(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    action = os.environ.get("ACTION_NAME", "unknown")
    document = {"action": action, "run": os.environ.get("RUN_NAME", ""), "pid": os.getpid(), "started": time.time()}
    (directory / f"{action}-{os.getpid()}.json").write_text(json.dumps(document), encoding="utf-8")


def write_outputs(prefix: Path, value: int) -> None:
    outputs = literals_pb2.LiteralMap()
    outputs.literals["o0"].scalar.primitive.integer = value
    prefix.mkdir(parents=True, exist_ok=True)
    temporary = prefix / ".outputs.pb.tmp"
    temporary.write_bytes(outputs.SerializeToString(deterministic=True))
    temporary.replace(prefix / "outputs.pb")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outputs", required=True, help="the output prefix ({{.outputPrefix}})")
    parser.add_argument("--record", required=True, help="directory where each execution leaves a record")
    parser.add_argument("--value", type=int, default=41)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--fail-first-time", metavar="MARKER", help="fail unless MARKER exists (and create it)")
    args = parser.parse_args(argv)
    record_execution(local(args.record))
    if args.fail_first_time:
        marker = local(args.fail_first_time)
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            print("simulated flaky failure: the service was not ready, try again", file=sys.stderr)
            return 1
    time.sleep(args.sleep)
    write_outputs(local(args.outputs), args.value + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
