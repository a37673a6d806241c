"""``python -m taskaction_core.adapters.plugins.flyte_sdk submit``: run a Flyte SDK task through the reconciler.

    python -m taskaction_core.adapters.plugins.flyte_sdk submit my_tasks.py:add -i x=1 -i y=2
    taskaction describe add-5f0c2a1b            # the same --db and --data: what the controller did

``submit`` builds the task's template offline, writes its inputs, creates the TaskAction in the ``taskaction``
database (``--db``, ``--data``, as the ``taskaction`` command), runs a controller with the Flyte SDK plugin until
the action is finished, and prints its outputs. Exit status 0 when it succeeded, 1 otherwise.

:data:`submit_command` is a plain click command, so the ``taskaction`` group can adopt it with
``cli.add_command(submit_command)``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from taskaction_core.adapters.plugins.flyte_sdk import _sdk
from taskaction_core.adapters.plugins.flyte_sdk.local import DEFAULT_REQUEUE, LocalFlyte, TaskActionFailed
from taskaction_core.adapters.plugins.flyte_sdk.plugin import DEFAULT_DOMAIN, DEFAULT_PROJECT
from taskaction_core.adapters.plugins.flyte_sdk.submit import SubmitOptions
from taskaction_core.cli.backend import DEFAULT_DATA, DEFAULT_DB
from taskaction_core.phases import CacheStatus
from taskaction_core.policy import Policy

__all__ = ["main", "submit_command"]


def _inputs(task: _sdk.SdkTask, pairs: tuple[str, ...]) -> dict[str, object]:
    inputs: dict[str, object] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="-i/--input")
        inputs[name] = _sdk.parse_input_value(task, name, text)
    return inputs


@click.command("submit")
@click.argument("task")
@click.option("-i", "--input", "pairs", multiple=True, help="An input as NAME=VALUE; VALUE is JSON or plain text.")
@click.option("--name", default="", help="TaskAction name (default: <function>-<8 hex>).")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("--run", "run_name", default="", help="Run name (default: the action name).")
@click.option("--project", default=DEFAULT_PROJECT, show_default=True)
@click.option("--domain", default=DEFAULT_DOMAIN, show_default=True)
@click.option("--bundle", type=click.Choice(["none", "pkl", "tgz"]), default="none", show_default=True)
@click.option("--root-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB, show_default=True)
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for the action.")
@click.option(
    "--requeue-after",
    type=float,
    default=DEFAULT_REQUEUE.total_seconds(),
    show_default=True,
    help="Poll interval in seconds.",
)
def submit_command(
    task: str,
    pairs: tuple[str, ...],
    name: str,
    namespace: str,
    run_name: str,
    project: str,
    domain: str,
    bundle: _sdk.BundleKind,
    root_dir: Path | None,
    db: Path,
    data: Path,
    workers: int,
    timeout: float,
    requeue_after: float,
) -> None:
    """Run Flyte SDK task TASK (MODULE:TASK or FILE.py:TASK) as a TaskAction and print its outputs."""
    try:
        sdk_task = _sdk.load_task(task)
        inputs = _inputs(sdk_task, pairs)
    except _sdk.SdkError as error:
        raise click.ClickException(str(error)) from None
    options = SubmitOptions(
        namespace=namespace,
        name=name,
        run_name=run_name,
        project=project,
        domain=domain,
        root_dir=root_dir,
        bundle=bundle,
    )
    policy = Policy(requeue_after=timedelta(seconds=requeue_after))
    with LocalFlyte(db, data, workers=workers, policy=policy) as local:
        try:
            submitted = local.submit(sdk_task, inputs, options)
        except (_sdk.SdkError, RuntimeError) as error:
            raise click.ClickException(str(error)) from None
        meta = submitted.metadata
        click.echo(
            f"taskaction.flyte.org/{meta.name} created (namespace {meta.namespace}, run {submitted.spec.run_name})"
        )
        finished = local.wait(meta.namespace, meta.name, timeout)
        if finished is None:
            raise click.ClickException(f"taskaction.flyte.org/{meta.name} was deleted before it finished")
        try:
            value = local.outputs(finished, sdk_task)
        except TaskActionFailed as error:
            raise click.ClickException(str(error)) from None
    cache = CacheStatus(finished.status.cache_status).name.removeprefix("CACHE_").lower()
    click.echo(f"taskaction.flyte.org/{meta.name} succeeded (attempts {finished.status.attempts}, cache {cache})")
    click.echo(repr(value))


@click.group()
def cli() -> None:
    """Flyte SDK tasks through the TaskAction reconciler."""


cli.add_command(submit_command)


def main() -> int:
    """The module's entry point; the exit status."""
    try:
        cli.main(prog_name="python -m taskaction_core.adapters.plugins.flyte_sdk", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
