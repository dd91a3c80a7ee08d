"""FastAPI dependencies: the app's registry, the acting user, the request id.

Routes never check roles: they resolve the :class:`~charter.registry.Actor` and pass it to the
registry, whose service layer authorizes and audits every call.

Where the actor's token comes from is a list of :data:`TokenSource` callables tried in order.
The REST API reads ``Authorization: Bearer <token>`` only (:data:`actor`). A door with another
credential builds its own dependency in one line, e.g. the dashboard's session cookie::

    page_actor = authenticated(bearer_token, session_token)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.errors import CharterError
from charter.registry import Action, Actor, Registry
from charter.registry.roles import roles_for
from charter.server.problems import request_id_of
from charter.server.settings import ServerSettings

#: Reads one credential from a request: a token, or ``None`` when this source has none.
TokenSource = Callable[[Request], str | None]

#: The OpenAPI security scheme of the API (never raises: a missing token is the registry's 401).
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A Charter token (`charter user add`, `charter token create`, "
    "or POST /api/v1/tokens), sent as `Authorization: Bearer <token>`.",
)


def registry(request: Request) -> Registry:
    """The registry this application opened at startup."""
    opened = getattr(request.app.state, "registry", None)
    if opened is None:
        raise CharterError(
            "the server has no registry open",
            hint="create_app() opens it in its lifespan: run the app under uvicorn, or use "
            "TestClient as a context manager",
        )
    assert isinstance(opened, Registry)
    return opened


def settings(request: Request) -> ServerSettings:
    """The settings the application was built with."""
    value = request.app.state.settings
    assert isinstance(value, ServerSettings)
    return value


def request_id(request: Request) -> str | None:
    """The ``X-Request-Id`` of this request."""
    return request_id_of(request)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticated(*sources: TokenSource) -> Callable[..., Actor]:
    """A dependency resolving the actor from the first of ``sources`` that gives a token.

    The token goes through :meth:`Registry.authenticate` (the same hashed tokens as the CLI);
    an absent, unknown, expired or revoked token is its :class:`AuthenticationError` (401).
    """

    def resolve(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Actor:
        token = next((t for source in sources if (t := source(request))), None)
        actor = registry(request).authenticate(token)
        request.state.username = actor.username  # for the access log
        return actor

    return resolve


#: The acting user of an API call (Bearer token).
actor = authenticated(bearer_token)


def performs(*actions: Action) -> dict[str, Any]:
    """OpenAPI extension naming the registry actions a route performs, and who may.

    Documentation only: the registry checks the roles when the route calls it. The tests read
    it to send every route a caller without the role. A route acting on one's own or on
    another's (tokens) names both actions.
    """
    return {
        "x-charter-actions": [a.value for a in actions],
        "x-charter-roles": {a.value: roles_for(a) for a in actions},
    }


RegistryDep = Annotated[Registry, Depends(registry)]
ActorDep = Annotated[Actor, Depends(actor)]
SettingsDep = Annotated[ServerSettings, Depends(settings)]
RequestIdDep = Annotated[str | None, Depends(request_id)]
