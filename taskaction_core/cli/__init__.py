"""The ``taskaction`` command line: manifests, the embedded backend, the controller and the demo.

    pip install -e . && taskaction demo

:func:`main` is the console script. It turns every failure into one line on stderr and a non-zero exit status
(1 for errors, 2 for usage mistakes, 130 when interrupted); ``--debug`` (or ``TASKACTION_DEBUG=1``) adds the
traceback of an unexpected error.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status (also the process's
    when run as the console script)."""
    from taskaction_core.cli.app import CliError, cli

    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments or os.environ.get("TASKACTION_DEBUG", "") not in ("", "0")
    try:
        cli.main(args=arguments, prog_name="taskaction", standalone_mode=False)
    except CliError as error:
        click.echo(f"error: {error}", err=True)
        return 1
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as error:
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run again with --debug for the traceback)"
        click.echo(f"error: {type(error).__name__}: {error}{hint}", err=True)
        return 1
    return 0
