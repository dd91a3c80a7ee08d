"""What every command shares: the consoles, JSON output, and the registry session.

Command modules import this module and never each other. :func:`open_registry` opens the
registry named by ``CHARTER_HOME`` / ``CHARTER_DATABASE_URL``; :func:`acting` is the user of
``CHARTER_TOKEN``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.segment import Segment

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
