"""The per-launch supervisor of :class:`~taskaction_core.adapters.plugins.subprocess_plugin.SubprocessPlugin`.

Run as a script, never imported by the plugin (``python -I -S supervisor.py <launch.json>``): it uses the standard
library only, so it starts in a few tens of milliseconds whatever the controller has installed.

Why it exists. A controller that restarts while a task runs is no longer the task's parent: the kernel hands the
exit status to whoever reaps the orphan, and it is lost. The supervisor is the task's parent instead and outlives
any controller. It is started as the leader of a new session and process group (the task and its descendants stay
in that group, so one ``killpg`` reaches them all), and:

1. writes ``process.json`` (its pid, group id and kernel start time, plus the launch time and boot id it was
   given), so a controller that crashed right after starting it still finds it;
2. starts the task's command without a shell, stdin ``/dev/null``, stdout and stderr to the given files, all other
   file descriptors closed, in the given working directory; if that fails, writes ``{"launch_error": ...}`` to
   ``exit.json`` and stops;
3. waits for the task — SIGTERM and SIGINT sent to the group reach the task directly and do not stop this wait —
   and writes ``{"returncode": n}`` to ``exit.json`` (negative: killed by signal ``-n``);
4. kills what is left of the group, itself included: the group ends with its task, as a container's processes end
   with its main process.

It holds the launch lock (an inherited file descriptor) for its whole life, so the launch lock is held exactly
while a launch or its supervisor is alive. Every file is written atomically (temporary file, fsync, rename).

Go has no counterpart: the kubelet and the container runtime play this part for the k8s plugin (R102).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any


def write_json(path: str, document: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``document`` as sorted-key JSON, through a temporary name unique to this pid."""
    temporary = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def start_ticks(pid: int) -> int:
    """Field 22 of ``/proc/<pid>/stat``: the process's start time in clock ticks since boot."""
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    return int(text[text.rindex(")") + 2 :].split()[19])


def _keep_waiting(_signum: int, _frame: FrameType | None) -> None:
    """A caught (not ignored) signal: the wait resumes, and the task's exec resets the disposition to default."""


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    signal.signal(signal.SIGTERM, _keep_waiting)
    signal.signal(signal.SIGINT, _keep_waiting)
    pid = os.getpid()
    record = {**spec["record"], "pid": pid, "pgid": os.getpgid(0), "start_ticks": start_ticks(pid)}
    write_json(spec["process_path"], record)
    try:
        with open(spec["stdout"], "wb") as stdout, open(spec["stderr"], "wb") as stderr:
            task = subprocess.Popen(
                spec["argv"],
                cwd=spec["cwd"],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                close_fds=True,
            )
    except OSError as error:
        write_json(spec["exit_path"], {"launch_error": f"{type(error).__name__}: {error}"})
        return 0
    write_json(spec["task_path"], {"pid": task.pid})
    returncode = task.wait()
    write_json(spec["exit_path"], {"returncode": returncode})
    os.killpg(0, signal.SIGKILL)
    return 0  # not reached: the group kill above includes this process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
