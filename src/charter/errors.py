"""The one error hierarchy of Charter, which every door can render.

Every error Charter raises on purpose derives from :class:`CharterError`. Its ``message`` says
what was wrong and its ``hint`` what to do next; ``code`` is a stable machine name, ``field``
the input at fault (when one is). The CLI prints message and hint and exits with ``exit_code``
(2: the command could not run; 1: a blocking rule failed or the audit trail is broken). The
HTTP service answers with ``http_status`` and :meth:`CharterError.to_problem`, an RFC 9457
``application/problem+json`` body, in one exception handler.

Hints raised below the doors name the field at fault (``reason``, ``expires_days``), never a
command-line flag: each door phrases its own (the CLI adds the option it maps the field to).

::

    CharterError                    invalid_input          400  exit 2
    ├── PolicyError                 policy_invalid         400  exit 2   (file, key_path)
    ├── DataError                   data_invalid           400  exit 2
    ├── ModelLoadError              model_load_failed      400  exit 2
    │   ├── UntrustedArtifactError  artifact_untrusted     400  exit 2
    │   └── ArtifactIntegrityError  artifact_altered       409  exit 2
    ├── CheckError                  check_invalid          400  exit 2
    ├── NotFoundError               not_found              404  exit 2
    ├── AuthenticationError         unauthenticated        401  exit 2
    ├── PermissionDeniedError       permission_denied      403  exit 2   (user, role)
    ├── ConflictError               conflict               409  exit 2
    ├── GateFailedError             gate_failed            422  exit 1   (promotion_request,
    │                                                                         problems)
    ├── IntegrityError              integrity_violated     409  exit 2   stored data altered
    │   └── AuditChainBrokenError   audit_chain_broken     409  exit 1
    └── ConfigurationError          configuration_missing  500  exit 2   e.g. no CHARTER_AUDIT_KEY
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

#: Problem ``type`` URIs are this prefix followed by the error's ``code``.
PROBLEM_TYPE_BASE = "urn:charter:error:"


class CharterError(Exception):
    """Base of every error Charter raises on purpose.

    Parameters
    ----------
    message
        What was wrong, in one sentence.
    hint
        What the user can do about it. Shown after the message.
    field
        The input at fault (a parameter or a key), when there is one.
    """

    code: ClassVar[str] = "invalid_input"
    title: ClassVar[str] = "Invalid input"
    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message

    def extra(self) -> dict[str, Any]:
        """The structured fields of this error beyond message and hint (``field``, ...)."""
        return {"field": self.field} if self.field is not None else {}

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        """The error as an RFC 9457 problem document.

        Parameters
        ----------
        instance
            The URI of the request that failed, if the door knows it.

        Returns
        -------
        dict
            ``type``, ``title``, ``status``, ``detail``, ``code``, ``hint`` (when there is one),
            ``instance`` (when given) and the error's structured fields.
        """
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.http_status,
            "detail": self.message,
            "code": self.code,
        }
        if self.hint:
            problem["hint"] = self.hint
        if instance:
            problem["instance"] = instance
        problem.update(self.extra())
        return problem


class PolicyError(CharterError):
    """A policy file that cannot be read or does not validate.

    Parameters
    ----------
    message
        What is wrong.
    file
        The policy file, when known.
    key_path
        Dotted path of the offending key inside the policy, e.g. ``fairness.rules[0].max``
        (also the error's ``field``).
    hint
        How to fix it.
    """

    code = "policy_invalid"
    title = "Invalid policy"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ":".join(p for p in (file, key_path) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint, field=key_path)
        self.file = file
        self.key_path = key_path

    def extra(self) -> dict[str, Any]:
        """``file`` and ``field`` (the key path), when known."""
        out = super().extra()
        if self.file is not None:
            out["file"] = self.file
        return out


class DataError(CharterError):
    """Input data that cannot be used: a missing column, NaN labels, mismatched lengths."""

    code = "data_invalid"
    title = "Unusable data"


class ModelLoadError(CharterError):
    """A model artifact that cannot be loaded: corrupt, wrong format, unknown types."""

    code = "model_load_failed"
    title = "Model cannot be loaded"


class UntrustedArtifactError(ModelLoadError):
    """A pickle or joblib artifact offered without trust (no matching sha256, no explicit flag)."""

    code = "artifact_untrusted"
    title = "Untrusted artifact"


class ArtifactIntegrityError(ModelLoadError):
    """An artifact whose content no longer matches the hash recorded for it."""

    code = "artifact_altered"
    title = "Artifact altered"
    http_status = 409


class CheckError(CharterError):
    """A check that is unknown, misconfigured, or cannot run on the given context."""

    code = "check_invalid"
    title = "Check cannot run"


class NotFoundError(CharterError):
    """A model, version, user, request or file that does not exist."""

    code = "not_found"
    title = "Not found"
    http_status = 404


class AuthenticationError(CharterError):
    """A missing, unknown, expired or revoked token."""

    code = "unauthenticated"
    title = "Not authenticated"
    http_status = 401


class PermissionDeniedError(CharterError):
    """An action the acting user's roles do not allow.

    Parameters
    ----------
    message, hint
        As for :class:`CharterError`.
    user
        Who was refused.
    role
        The role that would allow the action, when granting one would.
    """

    code = "permission_denied"
    title = "Permission denied"
    http_status = 403

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        user: str | None = None,
        role: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.user = user
        self.role = role

    def extra(self) -> dict[str, Any]:
        """``user`` and ``role`` (the role to grant), when known."""
        out = super().extra()
        out.update({k: v for k, v in (("user", self.user), ("role", self.role)) if v})
        return out


class ConflictError(CharterError):
    """A state change that conflicts with the current state (e.g. a decided request)."""

    code = "conflict"
    title = "Conflict with the current state"
    http_status = 409


class GateFailedError(CharterError):
    """A gate or promotion refused because a blocking rule failed.

    Parameters
    ----------
    message, hint
        As for :class:`CharterError`.
    request_id
        The refused promotion request, when a promotion was refused.
    problems
        Each reason for the refusal, one sentence each.
    """

    code = "gate_failed"
    title = "Refused by the policy"
    exit_code = 1
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        request_id: int | None = None,
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(message, hint=hint)
        self.request_id = request_id
        self.problems = list(problems)

    def extra(self) -> dict[str, Any]:
        """``promotion_request`` (the refused request's id, if any) and ``problems``."""
        out = super().extra()
        if self.request_id is not None:
            # not "request_id": in an HTTP problem that names the call (X-Request-Id)
            out["promotion_request"] = self.request_id
        out["problems"] = list(self.problems)
        return out


class IntegrityError(CharterError):
    """Stored data that no longer matches the digest recorded for it (changed behind Charter)."""

    code = "integrity_violated"
    title = "Stored data altered"
    http_status = 409


class AuditChainBrokenError(IntegrityError):
    """``charter audit verify`` found a broken chain: exit 1, like a failed gate."""

    code = "audit_chain_broken"
    title = "Audit trail broken"
    exit_code = 1


class SignatureError(CharterError):
    """A key or signature that cannot be used: unreadable, malformed, untrusted or not matching.

    Evidence whose signature by a trusted key no longer verifies was changed after signing; a
    checkpoint signed by no trusted key proves nothing.
    """

    code = "signature_invalid"
    title = "Invalid or untrusted signature"
    http_status = 422


class ConfigurationError(CharterError):
    """Charter is set up incompletely: e.g. a keyed audit trail and no ``CHARTER_AUDIT_KEY``."""

    code = "configuration_missing"
    title = "Configuration missing"
    http_status = 500


def all_errors() -> list[type[CharterError]]:
    """Every error class of the hierarchy, :class:`CharterError` first."""
    found: dict[type[CharterError], None] = {CharterError: None}
    queue = [CharterError]
    while queue:
        for sub in queue.pop(0).__subclasses__():
            if sub not in found:
                found[sub] = None
                queue.append(sub)
    return list(found)


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
