"""Administration: users, their roles, and tokens.

Tokens are created and revoked here; a new token is shown once, and only its hash is kept.
Every action is the registry's, as the logged-in user.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from charter.errors import CharterError
from charter.registry import IssuedToken, Role
from charter.registry.roles import Action
from charter.server.dashboard.session import CSRF_FIELD, Viewer
from charter.server.dashboard.site import (
    DashboardRoute,
    current_viewer,
    may,
    redirect,
    registry_of,
    render,
    sessions_of,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _page(
    request: Request,
    viewer: Viewer,
    *,
    issued: IssuedToken | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    registry = registry_of(request)
    users = registry.list_users(actor=viewer.actor)
    tokens = (
        registry.list_tokens(actor=viewer.actor)
        if may(viewer, Action.TOKEN_MANAGE)
        else registry.list_tokens(actor=viewer.actor, username=viewer.actor.username)
    )
    return render(
        request,
        "admin.html.j2",
        viewer,
        status_code=status_code,
        users=users,
        tokens=tokens,
        roles=[r.value for r in Role],
        issued=issued,
        done=done,
    )


@router.get("/admin")
def admin(
    request: Request, viewer: Annotated[Viewer, Depends(current_viewer)], done: str | None = None
) -> Response:
    """Users, roles and tokens."""
    return _page(request, viewer, done=done)


@router.post("/admin/users")
def add_user(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    username: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Create a user with roles and a first token, shown once on the page returned."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    wanted = [_role(r) for r in roles or []]
    issued = registry_of(request).add_user(
        username.strip(), wanted, actor=viewer.actor, label="dashboard"
    )
    return _page(request, viewer, issued=issued, status_code=201)


def _role(value: str) -> Role:
    from charter.registry.roles import parse_role

    return parse_role(value)


@router.post("/admin/users/{username}/roles")
def change_role(
    request: Request,
    username: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    role: Annotated[str, Form()] = "",
    change: Annotated[str, Form()] = "grant",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Grant or revoke one role."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    registry = registry_of(request)
    if change == "grant":
        registry.grant(username, [_role(role)], actor=viewer.actor)
    elif change == "revoke":
        registry.revoke_role(username, _role(role), actor=viewer.actor)
    else:
        raise CharterError(f"unknown change '{change}'", hint="grant or revoke")
    return redirect(f"/admin?done={change}d+{role}+for+{username}")


@router.post("/admin/users/{username}/disable")
def disable(
    request: Request,
    username: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Disable a user: their tokens stop working, their history stays."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    registry_of(request).disable_user(username, actor=viewer.actor)
    return redirect(f"/admin?done=disabled+{username}")


@router.post("/admin/tokens")
def create_token(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    username: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """A new token (one's own, or for another user as admin), shown once."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    days: int | None = None
    if expires_days.strip():
        try:
            days = int(expires_days)
        except ValueError:
            raise CharterError(
                f"'{expires_days}' is not a number of days", hint="e.g. 90, or leave it empty"
            ) from None
    issued = registry_of(request).create_token(
        actor=viewer.actor,
        username=username.strip() or None,
        label=label.strip() or None,
        expires_days=days,
    )
    return _page(request, viewer, issued=issued, status_code=201)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    token_id: int,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Revoke a token by id."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    registry_of(request).revoke_token(token_id, actor=viewer.actor)
    return redirect(f"/admin?done=revoked+token+{token_id}")
