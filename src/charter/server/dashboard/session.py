"""The dashboard's login session and its CSRF tokens.

Logging in exchanges a registry token for a session cookie. The cookie holds the token
encrypted and authenticated with Fernet (AES-CBC and HMAC-SHA256, from ``cryptography``) under
a key derived from the server's secret key, and it expires (:data:`SESSION_SECONDS`, checked
from the Fernet timestamp as well as by the browser). Each request authenticates the token again
through :meth:`charter.registry.Registry.authenticate`, so a revoked token, an expired one or a
disabled user ends the session at once, and the roles are always the current ones. The cookie is
``HttpOnly``, ``SameSite=Strict``, and ``Secure`` when the page was served over HTTPS.

Every form carries a CSRF token: an ``itsdangerous`` signature of the session's random id
(signed double submit, tied to the session). The login form, before any session exists, is tied
the same way to a short-lived pre-session cookie. A form whose token does not match is refused
with a 403 before anything is done.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

from charter.errors import AuthenticationError, PermissionDeniedError
from charter.registry import Actor, Registry

SESSION_COOKIE = "charter_session"
LOGIN_COOKIE = "charter_login"
CSRF_FIELD = "csrf_token"
#: How long a login lasts (8 hours: a working day).
SESSION_SECONDS = 8 * 3600
LOGIN_FORM_SECONDS = 3600


class LoginRequiredError(Exception):
    """No valid session: the page redirects to the login form (and says why, if known)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "log in to continue")
        self.reason = reason


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a request: who they are and the CSRF token of their forms."""

    actor: Actor
    csrf: str
    session_id: str


class Sessions:
    """Issues, reads and ends sessions, and checks CSRF tokens, under one secret key.

    Parameters
    ----------
    secret_key
        The server's secret (``CHARTER_SECRET_KEY``); the cookie and CSRF keys derive from it.
    """

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"charter-dashboard-session\0" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._signer = Signer(secret_key, salt="charter-dashboard-csrf")

    # ---------------------------------------------------------------- sessions
    def start(self, response: Response, request: Request, token: str) -> None:
        """Set the session cookie for ``token`` (already authenticated by the caller)."""
        payload = json.dumps({"token": token, "sid": secrets.token_urlsafe(18)}).encode()
        response.set_cookie(
            SESSION_COOKIE,
            self._fernet.encrypt(payload).decode(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")

    def end(self, response: Response) -> None:
        """Clear the session cookie."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    def viewer(self, request: Request, registry: Registry) -> Viewer:
        """The logged-in user, or :class:`LoginRequiredError`.

        The token in the cookie is authenticated again: revoking it logs the session out.
        """
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise LoginRequiredError()
        try:
            data = json.loads(self._fernet.decrypt(raw.encode(), ttl=SESSION_SECONDS))
            token, sid = str(data["token"]), str(data["sid"])
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise LoginRequiredError("your session expired; log in again") from None
        try:
            actor = registry.authenticate(token)
        except AuthenticationError as exc:
            raise LoginRequiredError(exc.message) from None
        return Viewer(actor=actor, csrf=self.csrf_for(sid), session_id=sid)

    # ---------------------------------------------------------------- CSRF
    def csrf_for(self, session_id: str) -> str:
        """The CSRF token of the forms of session ``session_id``."""
        return self._signer.get_signature(session_id).decode()

    def check_csrf(self, viewer: Viewer, submitted: str | None) -> None:
        """Refuse (403) a form whose CSRF token is not the session's."""
        if not submitted or not secrets.compare_digest(submitted, viewer.csrf):
            raise _csrf_refusal()

    def login_csrf(self, request: Request) -> tuple[str, str | None]:
        """The CSRF token of the login form, and a new pre-session nonce to set if needed."""
        nonce = request.cookies.get(LOGIN_COOKIE)
        fresh = None
        if not nonce or len(nonce) > 64:
            nonce = fresh = secrets.token_urlsafe(18)
        return self.csrf_for("login:" + nonce), fresh

    def set_login_nonce(self, response: Response, request: Request, nonce: str) -> None:
        """Set the pre-session cookie the login form's CSRF token is tied to."""
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=LOGIN_FORM_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    def check_login_csrf(self, request: Request, submitted: str | None) -> None:
        """Refuse a login form not tied to this browser's pre-session cookie."""
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce or not submitted:
            raise _csrf_refusal()
        try:
            ok = self._signer.verify_signature(("login:" + nonce).encode(), submitted.encode())
        except BadSignature:  # pragma: no cover - verify_signature returns False instead
            ok = False
        if not ok:
            raise _csrf_refusal()


def _csrf_refusal() -> PermissionDeniedError:
    return PermissionDeniedError(
        "the form's CSRF token does not match your session: nothing was changed",
        hint="reload the page and submit the form again (forms expire when you log in again)",
    )
