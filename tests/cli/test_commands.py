"""The ``taskaction`` commands through the real entry point (a subprocess), on a temporary directory.

Each test starts from an empty directory: the default ``./taskaction.db`` and ``./taskaction-data`` land there.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from returns.result import Success

from taskaction_core.cli.manifests import dump_yaml, parse_manifests
from taskaction_core.cli.scenarios import APPROVAL, HELLO, demo_actions
from tests.cli.helpers import install_script, ok, settings_for, taskaction

DATA = "taskaction-data"


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_apply_run_get_describe_events_delete_round_trip(tmp_path: Path) -> None:
    install_script(tmp_path / DATA)
    actions = demo_actions(settings_for())
    manifest = write(tmp_path / "hello.yaml", dump_yaml([actions[HELLO]]))

    assert ok(taskaction(tmp_path, "apply", "-f", manifest)) == "taskaction.flyte.org/hello created\n"
    assert ok(taskaction(tmp_path, "apply", "-f", manifest)) == "taskaction.flyte.org/hello unchanged\n"
    ok(taskaction(tmp_path, "run", "--until-idle", "--requeue-after", "200ms", "--timeout", "60s"))

    table = ok(taskaction(tmp_path, "get"))
    assert table.splitlines()[0].split()[:5] == ["NAME", "RUN", "ACTION", "TASKTYPE", "PHASE"]
    assert table.splitlines()[1].split()[:5] == ["hello", "clirun", "hello", "python", "Succeeded"]

    stored = parse_manifests(ok(taskaction(tmp_path, "get", "hello", "-o", "yaml")))
    assert isinstance(stored, Success)
    (hello,) = stored.unwrap()
    assert hello.spec == actions[HELLO].spec
    assert [entry.phase for entry in hello.status.phase_history] == ["Queued", "Executing", "Completed"]
    listed = json.loads(ok(taskaction(tmp_path, "get", "-o", "json")))
    assert (listed["kind"], [item["metadata"]["name"] for item in listed["items"]]) == ("TaskActionList", ["hello"])

    page = ok(taskaction(tmp_path, "describe", "hello"))
    for expected in (r"Phase +Succeeded", r"Cache status +POPULATED", r"Output URI +file://runs/\w\w/clirun/hello/1/"):
        assert re.search(expected, page), expected
    assert "Phase history" in page and "Completed  TaskAction completed successfully" in page

    events = ok(taskaction(tmp_path, "events", "hello")).splitlines()
    assert [line.split()[3:5] for line in events[1:]] == [["1", "Queued"], ["1", "Running"], ["1", "Succeeded"]]

    assert ok(taskaction(tmp_path, "delete", "hello")).startswith("taskaction.flyte.org/hello marked for deletion")
    ok(taskaction(tmp_path, "run", "--until-idle", "--requeue-after", "200ms", "--timeout", "60s", "--quiet"))
    assert ok(taskaction(tmp_path, "get")) == "No TaskActions found in namespace default.\n"


def test_apply_changed_spec_is_configured_and_labels_merge(tmp_path: Path) -> None:
    action = demo_actions(settings_for())[HELLO]
    ok(taskaction(tmp_path, "apply", "-f", "-", stdin=dump_yaml([action])))
    changed = dump_yaml([action]).replace("cacheKey: test", "cacheKey: test-2")
    assert ok(taskaction(tmp_path, "apply", "-f", "-", stdin=changed)) == "taskaction.flyte.org/hello configured\n"
    stored = parse_manifests(ok(taskaction(tmp_path, "get", "hello", "-o", "yaml")))
    assert stored.map(lambda items: items[0].spec.cache_key) == Success("test-2")


def test_signal_condition_round_trip_and_refusals(tmp_path: Path) -> None:
    actions = demo_actions(settings_for())
    manifest = write(tmp_path / "approval.yaml", dump_yaml([actions[APPROVAL], actions[HELLO]]))
    ok(taskaction(tmp_path, "apply", "-f", manifest))
    run = ("run", "--until-idle", "--requeue-after", "200ms", "--timeout", "60s", "--quiet")

    signalled = taskaction(tmp_path, "signal", APPROVAL, "--value", '{"ship": true}', "--by", "alice")
    assert ok(signalled) == "taskaction.flyte.org/approval signalled by alice\n"
    ok(taskaction(tmp_path, *run))

    page = ok(taskaction(tmp_path, "describe", APPROVAL))
    assert re.search(r"Phase +Succeeded", page)
    assert re.search(r"Signal +\{\"ship\": true\} by 'alice' at 20", page)
    assert re.search(r'Signaled +condition signalled by "alice"', page)

    again = taskaction(tmp_path, "signal", APPROVAL, "--value", "1", "--by", "bob")
    assert (again.returncode, again.stderr) == (1, 'error: "approval" was already signalled by "alice"\n')
    task = taskaction(tmp_path, "signal", HELLO, "--value", "1", "--by", "bob")
    assert (task.returncode, task.stderr) == (1, 'error: "hello" is not a condition (spec.actionType is "task")\n')


def test_gc_deletes_expired_terminal_task_actions_only(tmp_path: Path) -> None:
    actions = demo_actions(settings_for())
    ok(taskaction(tmp_path, "apply", "-f", "-", stdin=dump_yaml([actions[APPROVAL]])))
    ok(taskaction(tmp_path, "signal", APPROVAL, "--value", "true", "--by", "me"))
    ok(taskaction(tmp_path, "run", "--until-idle", "--requeue-after", "200ms", "--quiet"))

    kept = ok(taskaction(tmp_path, "gc", "--max-ttl", "1h"))
    assert kept == "gc sweep (max TTL 1h0m0s): 0 deleted, 0 already gone, 0 failed, 1 kept\n"
    swept = ok(taskaction(tmp_path, "gc", "--max-ttl", "0"))
    assert swept == "gc sweep (max TTL 0s): 1 deleted, 0 already gone, 0 failed, 0 kept\n"
    assert ok(taskaction(tmp_path, "get")) == "No TaskActions found in namespace default.\n"


def invalid_manifest(tmp_path: Path) -> list[str]:
    text = dump_yaml([demo_actions(settings_for())[HELLO]]).replace("runName: clirun", "runName: " + "r" * 31)
    return ["apply", "-f", write(tmp_path / "bad.yaml", text)]


ERRORS = [
    (
        invalid_manifest,
        "error: invalid manifest:\n  {tmp}/bad.yaml: document 1 (hello): spec.runName: 'rrrrrrrrrrrrrrrrrrrr...' is"
        " too long (max 30)\n",
    ),
    (lambda _: ["apply", "-f", "missing.yaml"], "error: invalid manifest:\n  missing.yaml: cannot read: No such file"),
    (lambda _: ["get"], "error: no database at {tmp}/taskaction.db (apply a manifest first, or pass --db)\n"),
    (lambda _: ["gc", "--max-ttl", "soon"], "error: --max-ttl: invalid duration 'soon'"),
    (lambda _: ["signal", "x", "--value", "{", "--by", "me"], "error: --value is not a JSON literal"),
]


@pytest.mark.parametrize(("arguments", "expected"), ERRORS, ids=["crd", "no-file", "no-db", "duration", "json"])
def test_error_is_one_clear_line_without_traceback(tmp_path: Path, arguments: object, expected: str) -> None:
    assert callable(arguments)
    result = taskaction(tmp_path, *arguments(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(expected.format(tmp=tmp_path)), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_not_found_is_reported_in_api_server_words(tmp_path: Path) -> None:
    ok(taskaction(tmp_path, "apply", "-f", "-", stdin=dump_yaml([demo_actions(settings_for())[APPROVAL]])))
    result = taskaction(tmp_path, "describe", "nope")
    assert (result.returncode, result.stderr) == (1, 'error: taskactions.flyte.org "nope" not found\n')


def test_usage_error_exits_2_without_traceback(tmp_path: Path) -> None:
    result = taskaction(tmp_path, "get", "-o", "xml")
    assert result.returncode == 2
    assert "Invalid value for '-o' / '--output'" in result.stderr and "Traceback" not in result.stderr


def test_run_prints_phase_changes_and_stops_cleanly_on_interrupt(tmp_path: Path) -> None:
    ok(taskaction(tmp_path, "apply", "-f", "-", stdin=dump_yaml([demo_actions(settings_for())[APPROVAL]])))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "taskaction_core.cli", "run", "--requeue-after", "200ms"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        try:
            deadline = time.monotonic() + 60
            while "Paused" not in ok(taskaction(tmp_path, "get")) and time.monotonic() < deadline:
                time.sleep(0.2)
            run.send_signal(signal.SIGINT)
            output, errors = run.communicate(timeout=60)
        finally:
            run.kill()
    lines = output.splitlines()
    assert lines[0].startswith("controller running with 4 workers on "), output
    assert lines[1:] == ["default/approval: Paused", lines[-1]] and lines[-1].startswith("controller stopped after ")
    assert run.returncode == 0, errors
