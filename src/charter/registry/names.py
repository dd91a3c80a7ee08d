r"""What the registry accepts as a name or a piece of text, and how long each may be.

Every name (model, user, alias, flag, token label) and every free text (reason, comment, note,
description) goes through one function here before the database sees it, so:

* a pattern matches the **whole** value (``fullmatch``; ``$`` would accept ``"ann\n"``, which
  prints as ``ann`` and so could pass for another user);
* no value holds a control character (C0/C1, DEL) or an invisible format character (bidi
  overrides, zero-width joiners), which could rewrite a terminal line or hide text;
* each length limit is one constant, equal to the size of the column that stores it, checked
  here — SQLite would store a longer value and PostgreSQL would refuse it with an SQL error.

:func:`terminal_safe` is the other half: text printed to a terminal has its control characters
shown as escapes, whatever is already stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from charter.errors import CharterError
from charter.terminal import control_characters, terminal_safe

__all__ = [
    "check_alias",
    "check_flag",
    "check_label",
    "check_model_name",
    "check_params",
    "check_text",
    "check_username",
    "terminal_safe",
    "version_number",
]

#: Column sizes (registry/tables.py) and the limits enforced before a write.
MODEL_NAME_MAX = 256
USERNAME_MAX = 128
ALIAS_MAX = 128
FLAG_MAX = 64
TOKEN_LABEL_MAX = 128
#: Free text (reasons, comments, notes, descriptions) is stored as TEXT; kept readable.
TEXT_MAX = 4000

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]*")
_DIGITS = re.compile(r"[0-9]+")
#: Aliases may not look like these (they name versions already).
RESERVED_REFS = ("staging", "production", "archived", "latest")


def _control_characters(value: str) -> list[str]:
    return control_characters(value)


def _escaped(value: str, limit: int = 80) -> str:
    shown = terminal_safe(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _name(value: object, *, what: str, pattern: re.Pattern[str], limit: int, allowed: str) -> str:
    if not isinstance(value, str) or not value:
        raise CharterError(f"the {what} is empty", hint=f"give a {what}: {allowed}")
    bad = _control_characters(value)
    if bad:
        raise CharterError(
            f"the {what} '{_escaped(value)}' holds a control character"
            f" ({', '.join(sorted({_codepoint(c) for c in bad}))})",
            hint=f"a {what} uses {allowed}; a trailing newline from a script counts too",
        )
    if len(value) > limit:
        raise CharterError(
            f"the {what} '{_escaped(value, 40)}' is {len(value)} characters long; at most"
            f" {limit} are allowed",
            hint=f"choose a shorter {what}",
        )
    if not pattern.fullmatch(value):
        raise CharterError(f"'{_escaped(value)}' is not a valid {what}", hint=f"use {allowed}")
    return value


def check_model_name(value: str) -> str:
    """A model name: letters, digits, ``_ - .``, at most :data:`MODEL_NAME_MAX` characters."""
    return _name(
        value,
        what="model name",
        pattern=_NAME,
        limit=MODEL_NAME_MAX,
        allowed="letters, digits, '_', '-' and '.', starting with a letter or digit",
    )


def check_username(value: str) -> str:
    """A user name: letters, digits, ``_ - . @``, at most :data:`USERNAME_MAX` characters."""
    return _name(
        value,
        what="user name",
        pattern=_USERNAME,
        limit=USERNAME_MAX,
        allowed="letters, digits, '_', '-', '.' and '@', starting with a letter or digit",
    )


def check_alias(value: str) -> str:
    """An alias such as ``champion``: a name that is not a number, a stage or ``latest``."""
    _name(
        value,
        what="alias",
        pattern=_NAME,
        limit=ALIAS_MAX,
        allowed="letters, digits, '_', '-' and '.', starting with a letter or digit",
    )
    if _DIGITS.fullmatch(value) or value in RESERVED_REFS:
        raise CharterError(
            f"'{value}' cannot be an alias",
            hint="aliases are names such as 'champion'; not a number, 'latest' or a stage",
        )
    return value


def check_flag(value: str) -> str:
    """A flag such as ``needs-review``: at most :data:`FLAG_MAX` characters."""
    return _name(
        value,
        what="flag",
        pattern=_NAME,
        limit=FLAG_MAX,
        allowed="letters, digits, '_', '-' and '.', e.g. needs-review",
    )


def check_label(value: str | None) -> str | None:
    """A token's label: free text on one line, at most :data:`TOKEN_LABEL_MAX` characters."""
    return check_text(value, what="token label", limit=TOKEN_LABEL_MAX)


def check_text(value: str | None, *, what: str, limit: int = TEXT_MAX) -> str | None:
    """A reason, comment, note or description: one line of printable text, or ``None``."""
    if value is None:
        return None
    bad = _control_characters(value)
    if bad:
        raise CharterError(
            f"the {what} holds a control character"
            f" ({', '.join(sorted({_codepoint(c) for c in bad}))}): '{_escaped(value)}'",
            hint=f"write the {what} as one line of printable text",
        )
    if len(value) > limit:
        raise CharterError(
            f"the {what} is {len(value)} characters long; at most {limit} are allowed",
            hint=f"shorten the {what}; link to a longer document instead",
        )
    return value


def check_params(params: Mapping[str, Any] | None) -> None:
    """Recorded parameters: names and string values are text like any other (nested too)."""

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str):
            check_text(value, what=f"parameter {where}")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                check_text(str(key), what="parameter name", limit=TOKEN_LABEL_MAX)
                walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    walk(dict(params or {}), "")


def version_number(text: str) -> int | None:
    """The version number ``text`` spells in ASCII digits (``"3"``), else ``None``.

    ``str.isdigit`` accepts ``"²"`` and other Unicode digits that ``int`` refuses.
    """
    return int(text) if _DIGITS.fullmatch(text) else None


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"
