"""The command line's store operations, durations and error channel, in process (fast, and able to inject faults)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyrsistent import pmap
from returns.result import Failure, Result, Success

from taskaction_core.cli import main, operations
from taskaction_core.cli.backend import Backend, data_dir_mounts, default_plugins, open_backend
from taskaction_core.cli.durations import parse_duration
from taskaction_core.cli.scenarios import APPROVAL, HELLO, demo_actions
from taskaction_core.interpreter.ports import StoreError, StoreErrorKind
from taskaction_core.records import TaskAction
from tests.cli.helpers import settings_for

T0 = datetime(2026, 8, 8, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    opened = open_backend(tmp_path / "t.db", tmp_path / "data")
    assert isinstance(opened, Success)
    found: Backend = opened.unwrap()
    return found


def test_apply_task_action_reapply_keeps_controller_labels_and_merges_new_ones(backend: Backend) -> None:
    action = demo_actions(settings_for())[HELLO]
    operations.apply_task_action(backend.store, action).unwrap()
    backend.store.patch_labels("default", HELLO, {"flyte.org/termination-status": "terminated"}).unwrap()
    relabelled = action.__class__(
        metadata=action.metadata.__class__(name=HELLO, namespace="default", labels=pmap({"team": "a"})),
        spec=action.spec,
    )
    applied = operations.apply_task_action(backend.store, relabelled).unwrap()
    assert applied.outcome is operations.ApplyOutcome.CONFIGURED
    assert dict(applied.task_action.metadata.labels) == {
        "app.kubernetes.io/part-of": "taskaction-demo",
        "flyte.org/termination-status": "terminated",
        "team": "a",
    }


def test_signal_condition_conflicting_writer_is_retried_and_signal_fields_only_are_written(backend: Backend) -> None:
    operations.apply_task_action(backend.store, demo_actions(settings_for())[APPROVAL]).unwrap()
    store = backend.store
    original_update = store.update_status
    conflicts = iter([True, True])

    def flaky_update(task_action: TaskAction) -> Result[TaskAction, StoreError]:
        if next(conflicts, False):
            return Failure(StoreError(StoreErrorKind.CONFLICT, "the object has been modified"))
        return original_update(task_action)

    store.update_status = flaky_update  # type: ignore[method-assign]
    signalled = operations.signal_condition(store, "default", APPROVAL, b"\x01", "me", T0)
    assert isinstance(signalled, Success)
    status = store.get("default", APPROVAL).unwrap().status
    assert (status.signal_value, status.signalled_by, status.signalled_at) == (b"\x01", "me", T0)
    assert list(status.conditions) == []


def test_signal_condition_missing_object_is_not_found(backend: Backend) -> None:
    assert operations.signal_condition(backend.store, "default", "nope", b"\x01", "me", T0) == Failure(
        'taskactions.flyte.org "nope" not found'
    )


@pytest.mark.parametrize(
    ("text", "decoded"),
    [("true", "true"), ("42", "42"), ('"ok"', '"ok"'), ('{"k": [1, 2.5]}', '{"k": [1, 2.5]}'), ("null", "null")],
)
def test_encode_signal_value_json_literal_round_trips(text: str, decoded: str) -> None:
    encoded = operations.encode_signal_value(text)
    assert encoded.map(operations.decode_signal_value) == Success(decoded)


def test_encode_signal_value_value_without_literal_form_is_a_failure() -> None:
    assert isinstance(operations.encode_signal_value("{"), Failure)
    assert operations.decode_signal_value(b"\xff\xff") == "<2 bytes>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("10s", timedelta(seconds=10)),
        ("1m30s", timedelta(seconds=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(minutes=90)),
        ("2h45m", timedelta(hours=2, minutes=45)),
    ],
)
def test_parse_duration_go_syntax_is_read(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == Success(expected)


@pytest.mark.parametrize("text", ["", "10", "5x", "s", "1m 30s", "-1s"])
def test_parse_duration_invalid_text_is_a_failure(text: str) -> None:
    assert isinstance(parse_duration(text), Failure)


def test_data_dir_mounts_relative_host_lands_in_data_dir_and_absolute_url_is_kept(backend: Backend) -> None:
    mounts = data_dir_mounts(Path("/srv/data"))
    assert mounts == {"file://": "file:///srv/data/", "file:///": "file:///"}
    store = backend.data_store
    assert store.resolve("file://runs/ab/x/outputs.pb") == f"file://{backend.data_dir}/runs/ab/x/outputs.pb"
    assert store.resolve("file:///tmp/x") == "file:///tmp/x"


def test_main_unexpected_error_is_one_line_and_debug_adds_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*_: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(operations, "list_task_actions", boom)
    db = str(tmp_path / "t.db")
    open_backend(Path(db), tmp_path / "data").unwrap().close()

    assert main(["get", "--db", db]) == 1
    quiet = capsys.readouterr().err
    assert quiet == "error: RuntimeError: boom (run again with --debug for the traceback)\n"
    assert main(["get", "--db", db, "--debug"]) == 1
    loud = capsys.readouterr().err
    assert "Traceback (most recent call last)" in loud and loud.endswith("error: RuntimeError: boom\n")


def test_backend_ports_group_a_pass_s_writes_in_one_sqlite_transaction(backend: Backend) -> None:
    """The CLI's controller commits a pass's event, status and labels together (the database's unit of work)."""
    ports = backend.ports(default_plugins(backend))
    assert ports.unit_of_work == backend.database.unit_of_work
