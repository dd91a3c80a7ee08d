"""What every command shares: the consoles, JSON output, and the registry session.

Command modules import this module and never each other. :func:`open_registry` opens the
registry named by ``CHARTER_HOME`` / ``CHARTER_DATABASE_URL``; :func:`acting` is the user of
``CHARTER_TOKEN``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from charter.registry import Actor, Registry

console = Console()
err_console = Console(stderr=True)


def open_registry() -> Registry:
    """The registry of this working directory / environment."""
    from charter.registry import Registry  # on first use: `charter --help` stays fast

    return Registry.open()


def acting(registry: Registry) -> Actor:
    """The user of ``$CHARTER_TOKEN``."""
    return registry.actor_from_env()


def print_json(value: Any) -> None:
    """``value`` as pretty JSON on standard output."""
    console.print_json(json.dumps(value, default=str))


def print_token(token: str) -> None:
    """The token alone on standard output, so scripts can capture it."""
    typer.echo(token)
