"""The ``taskaction`` command: kubectl-like verbs over the embedded backend, plus the controller and a demo.

    taskaction apply -f examples/demo.yaml
    taskaction run --until-idle
    taskaction get -o wide
    taskaction describe hello

Every command takes ``--db`` (the SQLite file, default ``./taskaction.db``) and ``--data`` (the data directory,
default ``./taskaction-data``); see :mod:`~taskaction_core.cli.backend`. Failures print one line on stderr and exit
non-zero; ``--debug`` adds the traceback of an unexpected error. Output meant for programs (``-o yaml``, ``-o json``)
is plain text on stdout; everything else is for people (rich tables).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click
from returns.result import Failure, Result
from rich.text import Text

from taskaction_core.adapters.plugins.flyte_sdk.__main__ import submit_command
from taskaction_core.cli import operations, render
from taskaction_core.cli.backend import DEFAULT_DATA, DEFAULT_DB, Backend, default_plugins, open_backend
from taskaction_core.cli.durations import parse_duration
from taskaction_core.gofmt import go_duration
from taskaction_core.policy import Policy
from taskaction_core.records import FINALIZER, TaskAction

if TYPE_CHECKING:
    from taskaction_core.interpreter.driver import PassReport

# Heavier modules (jsonschema, the runtime, the demo) are imported by the commands that use them, so that every
# command starts quickly.

__all__ = ["CliError", "cli"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_CLI_REQUEUE: Final = "1s"
"""The CLI polls running tasks every second; Go's controller default is 10 s (R110), meant for pods."""


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path
    data: Path
    debug: bool


def unwrap(result: Result[T, Any]) -> T:
    """The success value, or a :class:`CliError` carrying the failure's text."""
    if isinstance(result, Failure):
        failure = result.failure()
        if isinstance(failure, tuple):
            raise CliError("\n".join(str(item) for item in failure))
        raise CliError(str(failure))
    return result.unwrap()


def common_options(function: F) -> F:
    """``--db``, ``--data`` and ``--debug`` on every command (so they may follow the verb, as with kubectl)."""
    options = [
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            default=DEFAULT_DB,
            show_default=True,
            envvar="TASKACTION_DB",
            help="SQLite file holding TaskActions, cache, ActionEvents and warnings.",
        ),
        click.option(
            "--data",
            type=click.Path(file_okay=False, path_type=Path),
            default=DEFAULT_DATA,
            show_default=True,
            envvar="TASKACTION_DATA",
            help="Data directory: task inputs and outputs (file://DIR/... URIs) and process records.",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks and debug logs."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _settings(db: Path, data: Path, debug: bool) -> Settings:
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return Settings(db, data, debug)


@contextmanager
def _backend(settings: Settings, *, create: bool = False) -> Iterator[Backend]:
    backend = unwrap(open_backend(settings.db, settings.data, create=create))
    try:
        yield backend
    finally:
        backend.close()


def _namespace_option(function: F) -> F:
    return click.option("-n", "--namespace", default="default", show_default=True, help="Namespace.")(function)


def _duration(value: str, option: str) -> timedelta:
    parsed = parse_duration(value)
    if isinstance(parsed, Failure):
        raise CliError(f"{option}: {parsed.failure()}")
    return parsed.unwrap()


class _InOrder(click.Group):
    """Commands listed in the order they are defined (the order of a session), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog="Start with: taskaction demo",
)
@click.version_option(package_name="taskaction-core", prog_name="taskaction")
def cli() -> None:
    """Run Flyte 2 TaskActions on this machine: SQLite + local files + real processes."""


# --------------------------------------------------------------------------------------------------------------------
# apply / get / describe / delete


@cli.command()
@click.option(
    "-f", "--filename", "files", multiple=True, required=True, help="Manifest file (YAML or JSON); - is stdin."
)
@_namespace_option
@common_options
def apply(files: tuple[str, ...], namespace: str, db: Path, data: Path, debug: bool) -> None:
    """Create TaskActions from manifests, or update their spec (multi-document YAML, JSON, lists)."""
    from taskaction_core.cli import manifests

    settings = _settings(db, data, debug)
    stdin = sys.stdin.read() if "-" in files else None
    task_actions: list[TaskAction] = []
    problems: list[str] = []
    for file in files:
        read = manifests.read_manifest_file(file, stdin, namespace)
        if isinstance(read, Failure):
            problems += [str(error) for error in read.failure()]
        else:
            task_actions += read.unwrap()
    if problems:
        raise CliError("invalid manifest:\n" + "\n".join(f"  {problem}" for problem in problems))
    with _backend(settings, create=True) as backend:
        for task_action in task_actions:
            applied = unwrap(operations.apply_task_action(backend.store, task_action))
            click.echo(f"taskaction.flyte.org/{task_action.metadata.name} {applied.outcome.value}")


@cli.command()
@click.argument("name", required=False)
@_namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option(
    "-o", "--output", type=click.Choice(["table", "wide", "yaml", "json"]), default="table", show_default=True
)
@common_options
def get(name: str | None, namespace: str, all_namespaces: bool, output: str, db: Path, data: Path, debug: bool) -> None:
    """List TaskActions, or show one (as a table, YAML or JSON manifests)."""
    from taskaction_core.cli import manifests

    settings = _settings(db, data, debug)
    with _backend(settings) as backend:
        if name is not None:
            found: tuple[TaskAction, ...] = (unwrap(operations.get_task_action(backend.store, namespace, name)),)
        else:
            found = unwrap(operations.list_task_actions(backend.store, None if all_namespaces else namespace))
        now = backend.clock.now()
    if output == "yaml":
        click.echo(manifests.dump_yaml(found), nl=False)
    elif output == "json":
        click.echo(manifests.dump_json(found, as_list=name is None), nl=False)
    elif not found:
        click.echo(f"No TaskActions found in {'any namespace' if all_namespaces else f'namespace {namespace}'}.")
    else:
        table = render.task_actions_table(found, now, wide=output == "wide", namespaces=all_namespaces)
        render.console().print(table)


@cli.command()
@click.argument("name")
@_namespace_option
@common_options
def describe(name: str, namespace: str, db: Path, data: Path, debug: bool) -> None:
    """Show one TaskAction: conditions, phase timeline, ActionEvents, error, output URI, warnings."""
    settings = _settings(db, data, debug)
    with _backend(settings) as backend:
        task_action = unwrap(operations.get_task_action(backend.store, namespace, name))
        events = unwrap(operations.events_of(backend.events, [task_action]))
        warnings = backend.recorder.events_for(namespace, name)
        page = render.describe(task_action, events, warnings, backend.clock.now())
    render.console().print(page)


@cli.command()
@click.argument("names", nargs=-1, required=True)
@_namespace_option
@common_options
def delete(names: tuple[str, ...], namespace: str, db: Path, data: Path, debug: bool) -> None:
    """Delete TaskActions. A task holding the plugin finalizer is aborted by a running controller, then removed."""
    settings = _settings(db, data, debug)
    with _backend(settings) as backend:
        for name in names:
            outcome = unwrap(operations.delete_task_action(backend.store, namespace, name))
            click.echo(f"taskaction.flyte.org/{name} {outcome.value}")
            if outcome is operations.DeleteOutcome.MARKED:
                click.echo("  (the controller aborts it and removes the finalizer: taskaction run)")


@cli.command("signal")
@click.argument("name")
@click.option("--value", required=True, help='The signal as a JSON literal: true, 42, "ok", [1, 2], {"k": "v"}.')
@click.option("--by", "by", required=True, help="Who signals (status.signalledBy).")
@_namespace_option
@common_options
def signal_command(name: str, value: str, by: str, namespace: str, db: Path, data: Path, debug: bool) -> None:
    """Signal a waiting condition (writes signalValue, signalledBy, signalledAt, like the Signal RPC)."""
    settings = _settings(db, data, debug)
    encoded = unwrap(operations.encode_signal_value(value))
    with _backend(settings) as backend:
        now = backend.clock.now()
        unwrap(operations.signal_condition(backend.store, namespace, name, encoded, by, now))
    click.echo(f"taskaction.flyte.org/{name} signalled by {by}")


@cli.command()
@click.argument("name", required=False)
@_namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="Every stored ActionEvent.")
@common_options
def events(name: str | None, namespace: str, all_namespaces: bool, db: Path, data: Path, debug: bool) -> None:
    """Show the ActionEvents the controller sent to the event sink (one per attempt, phase and version)."""
    settings = _settings(db, data, debug)
    with _backend(settings) as backend:
        if name is not None:
            selected: tuple[TaskAction, ...] | None = (
                unwrap(operations.get_task_action(backend.store, namespace, name)),
            )
        elif all_namespaces:
            selected = None
        else:
            selected = unwrap(operations.list_task_actions(backend.store, namespace))
        found = unwrap(operations.events_of(backend.events, selected))
    if name is None:
        found = tuple(sorted(found, key=lambda event: event.updated_time))
    if not found:
        click.echo("No ActionEvents found.")
        return
    render.console().print(render.events_table(found))


# --------------------------------------------------------------------------------------------------------------------
# run / gc / demo


@cli.command()
@click.option("--workers", type=click.IntRange(min=1), default=4, show_default=True, help="Worker threads.")
@click.option("--until-idle", is_flag=True, help="Stop once every TaskAction is finished or waiting for a signal.")
@click.option("--timeout", default="10m", show_default=True, help="With --until-idle: give up after this long.")
@click.option("--requeue-after", default=DEFAULT_CLI_REQUEUE, show_default=True, help="Poll interval (Go: 10s).")
@click.option("--quiet", is_flag=True, help="Do not print phase changes.")
@common_options
def run(
    workers: int,
    until_idle: bool,
    timeout: str,
    requeue_after: str,
    quiet: bool,
    db: Path,
    data: Path,
    debug: bool,
) -> None:
    """Run the controller: reconcile every TaskAction with the subprocess plugin, SQLite and local files."""
    from taskaction_core.runtime.controller import Controller

    settings = _settings(db, data, debug)
    requeue = _duration(requeue_after, "--requeue-after")
    limit = _duration(timeout, "--timeout")
    with _backend(settings, create=True) as backend:
        printer = PhasePrinter(quiet)
        policy = Policy(requeue_after=requeue)
        controller = Controller(backend.ports(default_plugins(backend)), policy, workers=workers, on_pass=printer)
        if not until_idle:
            click.echo(f"controller running with {workers} workers on {backend.db_path}; Ctrl-C stops it")
        controller.start()
        try:
            if until_idle:
                horizon = 2 * policy.requeue_after.total_seconds()
                controller.run_until_idle(timeout=limit.total_seconds(), horizon=horizon)
            else:
                _wait_for_stop_signal()
        except TimeoutError as error:
            raise CliError(f"not idle after {timeout}: {error}") from None
        finally:
            controller.stop()
    stats = controller.stats()
    click.echo(f"controller stopped after {stats.passes} passes ({stats.failed} failed)")


class PhasePrinter:
    """The ``run`` command's live log: one line whenever a pass leaves a TaskAction in a new phase."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._phases: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def __call__(self, report: PassReport) -> None:
        key = (report.namespace, report.name)
        if self._quiet or (report.task_action is None and key not in self._phases):
            return
        phase = "Deleted" if report.task_action is None else render.display_phase(report.task_action)
        with self._lock:
            before = self._phases.get(key)
            self._phases[key] = phase
        if before != phase:
            arrow = f"{before} → {phase}" if before else phase
            line = Text.assemble(f"{report.namespace}/{report.name}: ", (arrow, render.phase_style(phase)))
            render.console().print(line)


def _wait_for_stop_signal() -> None:
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(0.5):
        pass


@cli.command()
@click.option("--max-ttl", default="1h", show_default=True, help="Delete terminal TaskActions older than this (R119).")
@common_options
def gc(max_ttl: str, db: Path, data: Path, debug: bool) -> None:
    """One garbage-collector sweep: delete terminal TaskActions whose completed-time label is older than --max-ttl."""
    from taskaction_core.runtime.gc import GarbageCollector

    settings = _settings(db, data, debug)
    ttl = _duration(max_ttl, "--max-ttl")
    with _backend(settings) as backend:
        report = GarbageCollector(backend.store, backend.clock, interval=timedelta(0), max_ttl=ttl).sweep()
        if report.error is not None:
            raise CliError(f"gc: listing terminal TaskActions failed: {report.error}")
        held = [ta for ta in unwrap(operations.list_task_actions(backend.store, None)) if _held(ta)]
    click.echo(
        f"gc sweep (max TTL {go_duration(ttl)}): {report.deleted} deleted, {report.already_gone} already gone,"
        f" {report.failed} failed, {report.kept} kept"
    )
    for task_action in held:
        meta = task_action.metadata
        click.echo(f"  {meta.namespace}/{meta.name} is held by {FINALIZER} until a controller runs (taskaction run)")


def _held(task_action: TaskAction) -> bool:
    """Deleted, but the plugin finalizer keeps it until the deletion arm has aborted and finalized it (R85–R91)."""
    return task_action.metadata.deletion_timestamp is not None and FINALIZER in task_action.metadata.finalizers


@cli.command()
@click.option("--workers", type=click.IntRange(min=2), default=4, show_default=True, help="Controller workers.")
@common_options
def demo(workers: int, db: Path, data: Path, debug: bool) -> None:
    """Run real TaskActions end to end (cache hit, cache race, retry, condition, abort), show and verify them."""
    from taskaction_core.cli.demo import run_demo

    settings = _settings(db, data, debug)
    if not run_demo(settings.db, settings.data, workers):
        raise CliError("the demo failed: see the checks above")


# Flyte 2 SDK tasks: `taskaction submit FILE.py:TASK -i name=value` builds the template offline, creates the
# TaskAction and runs it to completion with the `python` SDK plugin (taskaction_core.adapters.plugins.flyte_sdk).
cli.add_command(submit_command, name="submit")
