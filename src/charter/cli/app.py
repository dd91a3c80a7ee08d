"""The ``charter`` command: a thin Typer layer over the library.

The CLI is a tree: this module imports the command modules (``*_cmds``) and mounts the Typer
app of each on :data:`app`; command modules import the shared :mod:`charter.cli.console`
(consoles, error printing, the registry session) and :mod:`charter.cli.findings`, never each
other. They import the library inside the command functions, so `charter --help` stays fast.
Errors derived from :class:`~charter.errors.CharterError` print their message and hint and exit
with the error's code (2: could not run, 1: a blocking rule failed); anything else exits 2 with
a short message, the traceback only with ``--debug``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from charter.cli import (
    audit_cmds,
    card_cmds,
    check_cmds,
    integrity_cmds,
    keys_cmds,
    mitigate_cmds,
    monitor_cmds,
    policy_cmds,
    registry_cmds,
    serve_cmds,
    serving_cmds,
    user_cmds,
)
from charter.cli.console import console, err_console, print_error
from charter.errors import CharterError

__all__ = ["app", "console", "err_console", "main", "run"]

app = typer.Typer(
    name="charter",
    help="Governance as code for machine-learning models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            version = metadata.version("charter-governance")
        except metadata.PackageNotFoundError:
            version = "unknown"
        typer.echo(f"charter {version}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.", envvar="CHARTER_DEBUG")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print Charter's version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    if debug:
        os.environ["CHARTER_DEBUG"] = "1"


#: The command modules, in the order their commands are listed by ``charter --help``.
COMMAND_MODULES = (
    check_cmds,
    mitigate_cmds,
    policy_cmds,
    user_cmds,
    registry_cmds,
    card_cmds,
    monitor_cmds,
    audit_cmds,
    keys_cmds,
    integrity_cmds,
    serve_cmds,
    serving_cmds,
)
for _module in COMMAND_MODULES:
    app.add_typer(_module.app)


def _register_commands() -> None:
    """Kept for callers of old: the commands are mounted when this module is imported."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by the ``charter`` console script)."""
    debug = "--debug" in (argv if argv is not None else sys.argv) or bool(
        os.environ.get("CHARTER_DEBUG")
    )
    try:
        # outside standalone mode click returns the code of a `typer.Exit` instead of raising
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            return code
    except CharterError as exc:
        if debug:
            err_console.print_exception()
        print_error(exc)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        return 130
    except SystemExit as exc:  # click's own usage errors end up here
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    except Exception as exc:
        usage, other = _click_exceptions()
        if isinstance(exc, usage):
            exc.show()  # type: ignore[attr-defined]
            return 2
        if isinstance(exc, other):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if debug:
            err_console.print_exception()
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False
        )
        err_console.print("  [yellow]hint:[/] run again with --debug and report the traceback")
        return 2
    return 0


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """Click's ``UsageError`` and ``ClickException``: recent Typer raises its vendored copies."""
    import click

    usage: list[type[Exception]] = [click.exceptions.UsageError]
    other: list[type[Exception]] = [click.exceptions.ClickException]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        usage.append(vendored.UsageError)
        other.append(vendored.ClickException)
    return tuple(usage), tuple(other)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
