"""What every command shares: the consoles, JSON output, and the registry session.

Command modules import this module and never each other. :func:`open_registry` opens the
registry named by ``CHARTER_HOME`` / ``CHARTER_DATABASE_URL``; :func:`acting` is the user of
``CHARTER_TOKEN``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from charter.errors import CharterError, NotFoundError, PermissionDeniedError
from charter.terminal import terminal_safe

if TYPE_CHECKING:
    from charter.registry import Actor, Registry


class SafeConsole(Console):
    r"""A console that shows control characters in printed text as escapes (``\x1b``).

    Charter's own colours are styles, applied after this; what is escaped is text — a stored
    name, a reason, a message quoting user input — so nothing printed can drive the terminal
    (move the cursor, clear the screen, rewrite a line a reviewer reads).
    """

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment
            if segment.control
            else Segment(terminal_safe(segment.text, keep="\n\t"), segment.style, None)
            for segment in buffer
        )


console = SafeConsole()
err_console = SafeConsole(stderr=True)


#: The command-line option of each field the library names in its errors (when not ``--field``).
OPTIONS = {
    "roles": "--role",
    "role": "--role",
    "trusted_types": "--trust-type",
    "evidence": "--evidence",
    "CHARTER_AUDIT_KEY": None,
    "username": None,  # an argument, not an option
    "flag": None,
}


def option_for(field: str) -> str | None:
    """The option a user sets for ``field`` (``expires_days`` -> ``--expires-days``)."""
    if field in OPTIONS:
        return OPTIONS[field]
    if not field.replace("_", "").isalnum():  # a key path such as fairness.rules[0].max
        return None
    return "--" + field.replace("_", "-")


def print_error(exc: CharterError) -> None:
    """The message and hint of ``exc`` on standard error, naming the option at fault."""
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    hint = exc.hint or ""
    option = option_for(exc.field) if exc.field else None
    if option:
        hint = f"{hint} (option {option})" if hint else f"check the option {option}"
    if isinstance(exc, PermissionDeniedError) and exc.user and exc.role:
        hint += f" (`charter user grant {exc.user} --role {exc.role}`)"
    if hint:
        err_console.print(f"  [yellow]hint:[/] {hint}", highlight=False)


def open_registry() -> Registry:
    """The registry of this working directory / environment (an error when there is none)."""
    from charter.registry import Registry  # on first use: `charter --help` stays fast

    return Registry.open()


def find_registry() -> Registry | None:
    """The registry of this environment, or ``None`` when there is none.

    For commands that can run without a registry, such as ``charter monitor``.
    """
    try:
        return open_registry()
    except NotFoundError:
        return None


def acting(registry: Registry) -> Actor:
    """The user of ``$CHARTER_TOKEN`` (an error without one)."""
    return registry.actor_from_env()


def token_actor(registry: Registry) -> Actor | None:
    """The user of ``$CHARTER_TOKEN`` (a wrong token is an error); ``None`` without a token."""
    from charter.registry import TOKEN_ENV

    if not os.environ.get(TOKEN_ENV):
        return None
    return registry.actor_from_env()


#: The help of every ``--json`` option.
JSON_HELP = "Print JSON instead of text (one document on standard output, for scripts)."


def keep_whole(table: Table, *headers: str) -> Table:
    """Never truncate the identifiers of ``table``: its ``headers`` columns stay whole.

    At 80 columns without a TTY (a CI log) rich shrinks every column and cuts the ends off
    (``allowed_cate…``). The named columns get the width of their longest cell and never wrap;
    every other column folds its text onto more lines instead of cutting it. Call it after the
    rows are added.
    """
    for column in table.columns:
        # the width a cell shows, not its markup (``[green]passed[/]`` shows 6 cells)
        cells = [Text.from_markup(c) if isinstance(c, str) else Text(str(c)) for c in column.cells]
        if column.header in headers:
            column.min_width = max([len(str(column.header)), *(c.cell_len for c in cells)])
            column.no_wrap = True
        else:
            column.overflow = "fold"
    return table


def print_json(value: Any) -> None:
    """``value`` as pretty JSON on standard output."""
    console.print_json(json.dumps(value, default=str))


def print_token(token: str) -> None:
    """The token alone on standard output, so scripts can capture it."""
    typer.echo(token)
