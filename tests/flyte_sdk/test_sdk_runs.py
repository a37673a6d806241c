"""Real Flyte SDK tasks (``flyte==2.12.1``) run by ``a0`` through the reconciler, SQLite and local files (R40, R52,
R54, R57, R85–R91, R102–R106; reference/flyte-sdk-local.md §3–§5).

Every ``a0`` run costs about a second of CPU, so the module submits all independent scenarios at once when the
``world`` fixture starts, to one controller with several workers; each test then waits for its own actions. A test
that needs a previous step (the second run of a cached task, the abort of a running one) does that step itself.

Processes are found through ``/proc/<pid>/environ``: the supervisor and ``a0`` of an action carry its
``ACTION_NAME``, so "no process is left" is checked on the real process table, not on the plugin's bookkeeping.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Final

import pytest
from flyteidl2.core import tasks_pb2

from taskaction_core.action_event import ActionId
from taskaction_core.adapters.plugins.flyte_sdk import _sdk
from taskaction_core.adapters.plugins.flyte_sdk._sdk import BundleKind
from taskaction_core.adapters.plugins.flyte_sdk.local import LocalFlyte
from taskaction_core.adapters.plugins.flyte_sdk.plugin import NESTED_ACTIONS_UNSUPPORTED
from taskaction_core.adapters.plugins.flyte_sdk.submit import SubmitOptions
from taskaction_core.phases import ActionPhase, CacheStatus
from taskaction_core.policy import Policy
from taskaction_core.records import TaskAction, is_terminal

pytestmark = pytest.mark.skipif(
    not _sdk.sdk_available(), reason="the Flyte SDK is not installed: pip install -e '.[flyte]' (flyte==2.12.1)"
)

NAMESPACE: Final = "sdk"
TUTORIAL: Final = Path(__file__).resolve().parents[2] / "docs" / "tutorial-flyte-sdk.md"
WAIT: Final = 240.0
"""Seconds a test waits for its action: generous, because a loaded two-core machine runs ``a0`` in several seconds."""


@dataclass(frozen=True)
class Tutorial:
    """The tutorial's task file, its ``submit`` commands and the output it shows for each, in order."""

    module: str
    commands: list[str]
    outputs: list[str]

    @classmethod
    def read(cls) -> Tutorial:
        text = TUTORIAL.read_text(encoding="utf-8")
        module = re.search(r"`my_tasks\.py`:\n\n```python\n(.*?)```", text, re.DOTALL)
        assert module is not None, "the tutorial shows my_tasks.py"
        commands = re.findall(
            r"^python -m taskaction_core\.adapters\.plugins\.flyte_sdk submit .*$", text, re.MULTILINE
        )
        outputs = re.findall(r"```text\n(.*?)```", text, re.DOTALL)
        return cls(module.group(1), commands, outputs)

    def start(self, index: int, cwd: Path) -> subprocess.Popen[str]:
        """Run command ``index`` as written, with this interpreter as ``python``, in ``cwd``."""
        argv = [sys.executable, *shlex.split(self.commands[index])[1:]]
        return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class World:
    """The running controller, the task module and where each scenario records its executions."""

    local: LocalFlyte
    tasks: ModuleType
    logs: Path
    tutorial_dir: Path
    tutorial_first: subprocess.Popen[str]
    submitted_at: dict[str, float] = field(default_factory=dict)

    def log(self, name: str) -> str:
        return str(self.logs / name)

    def launches(self, name: str) -> list[str]:
        """The ``<attempt>-<pid>`` records of scenario ``name``: one per task process that reached user code."""
        directory = self.logs / name
        return sorted(path.name for path in directory.iterdir()) if directory.is_dir() else []

    def attempts_launched(self, name: str) -> list[int]:
        return sorted(int(record.split("-")[0]) for record in self.launches(name))

    def submit(self, name: str, task: object, inputs: Mapping[str, object], bundle: BundleKind = "none") -> TaskAction:
        self.submitted_at[name] = time.monotonic()
        return self.local.submit(task, inputs, SubmitOptions(namespace=NAMESPACE, name=name, bundle=bundle))

    def finished(self, name: str) -> TaskAction:
        task_action = self.local.wait(NAMESPACE, name, timeout=WAIT)
        assert task_action is not None, f"{name} was deleted"
        return task_action

    def events(self, task_action: TaskAction) -> list[ActionPhase]:
        spec = task_action.spec
        found = self.local.backend.events.events_for(
            ActionId(spec.project, spec.domain, spec.run_name, spec.action_name)
        )
        return [event.phase for event in found.unwrap()]


def processes_of(action_name: str) -> list[int]:
    """Live processes whose environment names this action (its supervisor and its task process)."""
    marker = f"ACTION_NAME={action_name}".encode()
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
            state = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ.split(b"\0") and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tests.flyte_sdk import sdk_tasks as tasks

    root = tmp_path_factory.mktemp("flyte-sdk")
    # R51: a serializable reservation lapses after 3 × rd without a pass, so the holder in the race test keeps it only
    # while its passes come less than 3 × rd apart. 2 s tolerates a pass delayed 4 s past its requeue on a loaded
    # machine (with 1 s, both racers ran once in a heavily loaded full run) and costs this module about a second.
    policy = Policy(requeue_after=timedelta(seconds=2))
    local = LocalFlyte(root / "taskaction.db", root / "data", workers=8, policy=policy, kill_grace=timedelta(seconds=1))
    tutorial, tutorial_dir = Tutorial.read(), root / "tutorial"
    tutorial_dir.mkdir()
    (tutorial_dir / "my_tasks.py").write_text(tutorial.module, encoding="utf-8")
    with local, tutorial.start(0, tutorial_dir) as first:
        world = World(local, tasks, root / "logs", tutorial_dir, first)
        world.submit("add", tasks.add, {"x": 40})
        world.submit("summarize", tasks.summarize, {"values": [1, 2, 3], "scale": 0.5, "labels": {"b": "2", "a": "1"}})
        world.submit("cached-first", tasks.cached_square, {"x": 7, "log": world.log("cached")})
        world.submit("race-a", tasks.serialized_square, {"x": 9, "log": world.log("race")})
        world.submit("race-b", tasks.serialized_square, {"x": 9, "log": world.log("race")})
        world.submit("flaky", tasks.flaky_with_checkpoint, {"log": world.log("flaky")})
        world.submit("fatal", tasks.fatal, {"log": world.log("fatal")})
        world.submit("system", tasks.system_broken, {"log": world.log("system")})
        world.submit("timeout", tasks.too_slow, {"log": world.log("timeout")})
        world.submit("abort", tasks.sleeper, {"seconds": 300.0, "log": world.log("abort")})
        world.submit("nested", tasks.parent, {"x": 1})
        world.submit("traced", tasks.traced, {"x": 4})
        world.submit("pkl-bundle", tasks.add, {"x": 1, "y": 2}, bundle="pkl")
        world.submit("tgz-bundle", tasks.add, {"x": 2, "y": 2}, bundle="tgz")
        world.submit("killed", tasks.killed, {"log": world.log("killed")})
        try:
            yield world
        finally:
            _abort_unfinished(world)
            first.kill()


def _abort_unfinished(world: World) -> None:
    """Delete whatever is still running, so no task process outlives the module (the controller aborts them)."""
    store = world.local.backend.store
    for name in world.submitted_at:
        found = store.get(NAMESPACE, name)
        if found.map(lambda ta: not is_terminal(ta.status.conditions)).value_or(False):
            store.delete(NAMESPACE, name)
    names = list(world.submitted_at)
    wait_until(lambda: not any(processes_of(name) for name in names), "every task process to end", seconds=30)


# -- success and typed outputs --------------------------------------------------------------------------------------


def test_sdk_task_success_outputs_are_read_back_typed(world: World) -> None:
    done = world.finished("add")
    assert world.local.outputs(done, world.tasks.add) == 42  # y = 2, the default, written by the SDK
    assert done.status.attempts == 1


def test_sdk_task_several_outputs_come_back_as_a_typed_tuple(world: World) -> None:
    done = world.finished("summarize")
    assert world.local.outputs(done, world.tasks.summarize) == (3.0, [2, 4, 6], "a=1,b=2")


@pytest.mark.parametrize(("bundle", "expected"), [("pkl", 3), ("tgz", 4)])
def test_sdk_task_code_bundle_runs_without_the_sources_on_the_path(world: World, bundle: str, expected: int) -> None:
    done = world.finished(f"{bundle}-bundle")
    assert world.local.outputs(done, world.tasks.add) == expected
    assert f"--{bundle}" in tasks_pb2.TaskTemplate.FromString(done.spec.task_template).container.args
    assert "PYTHONPATH" not in done.spec.env_vars


# -- caching (R52, R54) ---------------------------------------------------------------------------------------------


def test_sdk_cached_task_second_run_is_a_cache_hit_without_a_process(world: World) -> None:
    first = world.finished("cached-first")
    assert world.local.outputs(first, world.tasks.cached_square) == 49
    assert first.status.cache_status == CacheStatus.CACHE_POPULATED
    world.submit("cached-second", world.tasks.cached_square, {"x": 7, "log": world.log("cached")})
    second = world.finished("cached-second")
    assert world.local.outputs(second, world.tasks.cached_square) == 49
    assert second.status.cache_status == CacheStatus.CACHE_HIT
    assert world.attempts_launched("cached") == [0]  # one process, for the first action
    assert processes_of("cached-second") == []


def test_sdk_serialized_cached_task_raced_by_two_actions_runs_once(world: World) -> None:
    a, b = world.finished("race-a"), world.finished("race-b")
    assert world.local.outputs(a, world.tasks.serialized_square) == 81
    assert world.local.outputs(b, world.tasks.serialized_square) == 81
    assert len(world.launches("race")) == 1
    assert sorted([a.status.cache_status, b.status.cache_status]) == [
        CacheStatus.CACHE_HIT,
        CacheStatus.CACHE_POPULATED,
    ]


# -- failures (R40, R57, R58) -----------------------------------------------------------------------------------------


def test_sdk_task_failing_twice_succeeds_on_attempt_three_with_the_previous_checkpoint(world: World) -> None:
    done = world.finished("flaky")
    assert world.local.outputs(done, world.tasks.flaky_with_checkpoint) == "attempt=2 previous=progress-1"
    assert done.status.attempts == 3
    assert world.attempts_launched("flaky") == [0, 1, 2]


def test_sdk_non_recoverable_error_fails_permanently_without_retry(world: World) -> None:
    done = world.finished("fatal")
    error = done.status.error_state
    assert error is not None and error.code == "Fatal" and "the input can never work" in error.message
    assert done.status.attempts == 1
    assert world.attempts_launched("fatal") == [0]


def test_sdk_runtime_system_error_goes_through_system_failure_accounting(world: World) -> None:
    done = world.finished("system")
    error = done.status.error_state
    assert error is not None and error.code == "MaxSystemFailuresExceeded"
    assert "DiskGone" in error.message
    # The default ceiling is 3 (R60): four launches of the same attempt; the task's own retries are not used.
    assert world.attempts_launched("system") == [0, 0, 0, 0]
    assert done.status.attempts == 1


def test_sdk_task_killed_without_error_document_is_retried_as_interrupted(world: World) -> None:
    done = world.finished("killed")
    error = done.status.error_state
    assert error is not None and error.code == "Interrupted" and "SIGKILL" in error.message
    assert (error.kind, done.status.attempts) == ("USER", 2)
    assert world.attempts_launched("killed") == [0, 1]


def test_sdk_timeout_kills_the_process_group_and_fails_the_attempt(world: World) -> None:
    done = world.finished("timeout")
    error = done.status.error_state
    assert error is not None and error.code == "Timeout" and "[2s]" in error.message
    assert done.status.attempts == 1
    wait_until(lambda: not processes_of("timeout"), "the timed-out process group to be gone", seconds=10)


def test_sdk_abort_while_running_kills_the_process_and_records_aborted(world: World) -> None:
    wait_until(lambda: world.launches("abort") != [], "the sleeper to start its user code")
    assert processes_of("abort") != []
    running = world.local.backend.store.get(NAMESPACE, "abort").unwrap()
    assert world.local.backend.store.delete(NAMESPACE, "abort").unwrap() is None
    assert world.local.wait(NAMESPACE, "abort", timeout=WAIT) is None  # finalizer removed, object gone (R91)
    assert ActionPhase.ABORTED in world.events(running)
    assert processes_of("abort") == []


# -- nested calls and traces ----------------------------------------------------------------------------------------


def test_sdk_task_calling_another_task_fails_fast_with_a_clear_error(world: World) -> None:
    done = world.finished("nested")
    elapsed = time.monotonic() - world.submitted_at["nested"]
    error = done.status.error_state
    assert error is not None and error.code == NESTED_ACTIONS_UNSUPPORTED
    assert "leaf actions" in error.message
    assert done.status.attempts == 1
    assert elapsed < 120, f"took {elapsed:.0f}s: without the refusing endpoint the SDK retries for 20+ minutes"


def test_sdk_task_using_a_trace_succeeds(world: World) -> None:
    done = world.finished("traced")
    assert world.local.outputs(done, world.tasks.traced) == 8


# -- the tutorial ---------------------------------------------------------------------------------------------------


def test_tutorial_commands_run_the_task_then_hit_the_cache(world: World) -> None:
    tutorial = Tutorial.read()
    assert len(tutorial.commands) == 2 and len(tutorial.outputs) == 2
    stdout, stderr = world.tutorial_first.communicate(timeout=WAIT)
    assert (world.tutorial_first.returncode, stdout) == (0, tutorial.outputs[0]), stderr
    with tutorial.start(1, world.tutorial_dir) as again:
        stdout, stderr = again.communicate(timeout=WAIT)
    assert (again.returncode, stdout) == (0, tutorial.outputs[1]), stderr
    logs = sorted(path.parent.parent.name for path in (world.tutorial_dir / "taskaction-data").rglob("stdout.log"))
    assert logs == ["add-first"]  # one process ran, for the first command only
