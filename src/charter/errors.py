"""The one error hierarchy of Charter.

Every error Charter raises on purpose derives from :class:`CharterError`. Its message says
what was wrong; its ``hint`` says what to do next. The CLI prints both and exits with
``exit_code`` (2 for "the command could not run", 1 for "a blocking rule failed"); the HTTP
service maps ``http_status`` onto the response.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CharterError(Exception):
    """Base of every error Charter raises on purpose.

    Parameters
    ----------
    message
        What was wrong, in one sentence.
    hint
        What the user can do about it. Shown after the message.
    """

    exit_code: int = 2
    http_status: int = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class PolicyError(CharterError):
    """A policy file that cannot be read or does not validate.

    Parameters
    ----------
    message
        What is wrong.
    file
        The policy file, when known.
    key_path
        Dotted path of the offending key inside the policy, e.g. ``fairness.rules[0].max``.
    hint
        How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ":".join(p for p in (file, key_path) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.file = file
        self.key_path = key_path


class DataError(CharterError):
    """Input data that cannot be used: a missing column, NaN labels, mismatched lengths."""


class ModelLoadError(CharterError):
    """A model artifact that cannot be loaded: corrupt, wrong format, unknown types."""


class UntrustedArtifactError(ModelLoadError):
    """A pickle or joblib artifact offered without trust (no matching sha256, no explicit flag)."""


class ArtifactIntegrityError(ModelLoadError):
    """An artifact whose content no longer matches the hash recorded for it."""


class CheckError(CharterError):
    """A check that is unknown, misconfigured, or cannot run on the given context."""


class NotFoundError(CharterError):
    """A model, version, user, request or file that does not exist."""

    http_status = 404


class AuthenticationError(CharterError):
    """A missing, unknown, expired or revoked token."""

    http_status = 401


class PermissionDeniedError(CharterError):
    """An action the acting user's roles do not allow."""

    http_status = 403


class ConflictError(CharterError):
    """A state change that conflicts with the current state (e.g. a decided request)."""

    http_status = 409


class GateFailedError(CharterError):
    """A gate or promotion refused because a blocking rule failed.

    Parameters
    ----------
    message
        What was refused and why.
    hint
        What to do about it.
    problems
        Each reason on its own (a refused promotion's list), when known.
    """

    exit_code = 1
    http_status = 422

    def __init__(
        self, message: str, *, hint: str | None = None, problems: Iterable[str] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems) if problems is not None else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return a ``"did you mean 'x'?"`` phrase for the closest candidate, if any is close.

    Parameters
    ----------
    word
        The unknown word the user wrote.
    candidates
        The words that would have been valid.

    Returns
    -------
    str or None
        The phrase, or ``None`` when no candidate is close enough.
    """
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None
