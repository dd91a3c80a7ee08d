"""What every command shares: the consoles, JSON output, and the registry session.

Command modules import this module and never each other. :func:`open_registry` opens the
registry named by ``CHARTER_HOME`` / ``CHARTER_DATABASE_URL``; :func:`acting` is the user of
``CHARTER_TOKEN``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from charter.errors import CharterError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from charter.registry import Actor, Registry

console = Console()
err_console = Console(stderr=True)


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


def print_json(value: Any) -> None:
    """``value`` as pretty JSON on standard output."""
    console.print_json(json.dumps(value, default=str))


def print_token(token: str) -> None:
    """The token alone on standard output, so scripts can capture it."""
    typer.echo(token)
