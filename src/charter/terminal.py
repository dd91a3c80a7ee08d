"""Printing user text to a terminal without letting it drive the terminal.

Names, reasons and messages quoting user input are printed; a control character in them (an
ANSI escape, a carriage return, a bidi override) could move the cursor, clear the screen or
make one name look like another. :func:`terminal_safe` shows them as escapes instead. Kept
free of imports so that the CLI can use it on every line it prints.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories shown as escapes: controls, format characters (bidi overrides, zero-width
#: joiners), surrogates, private use, line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def control_characters(text: str) -> list[str]:
    """The control and format characters in ``text``, in order."""
    return [c for c in text if unicodedata.category(c) in CONTROL_CATEGORIES]


def terminal_safe(text: str, *, keep: str = "") -> str:
    r"""``text`` with control and format characters shown as escapes (``\n``, ``\x1b``, ...).

    Use on any user-supplied text printed to a terminal: an escape sequence in a stored name
    or reason could otherwise move the cursor, recolour or rewrite what the reader sees.
    ``keep`` lists characters to leave as they are (``"\n\t"`` for whole lines of output).
    """
    if not control_characters(text):
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if c not in keep and unicodedata.category(c) in CONTROL_CATEGORIES
        else c
        for c in text
    )
