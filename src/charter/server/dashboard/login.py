"""Logging in with a registry token, logging out, and the front door (``/``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, Response

from charter.errors import AuthenticationError
from charter.registry.roles import Action
from charter.server.dashboard.session import CSRF_FIELD, LoginRequiredError, Viewer
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


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
def home(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    """Approvers land on their inbox; everyone else on the models."""
    return redirect("/inbox" if may(viewer, Action.PROMOTION_APPROVE) else "/models")


@router.get("/login")
def login_form(
    request: Request, next: str | None = None, reason: str | None = None
) -> HTMLResponse:
    """The login form: paste a registry token."""
    try:
        viewer: Viewer | None = current_viewer(request)
    except LoginRequiredError:
        viewer = None
    sessions = sessions_of(request)
    csrf, fresh = sessions.login_csrf(request)
    response = render(
        request, "login.html.j2", viewer, next=_safe_next(next), reason=reason, login_csrf=csrf
    )
    if fresh is not None:
        sessions.set_login_nonce(response, request, fresh)
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Check the token with the registry and start a session; a bad token shows why."""
    sessions = sessions_of(request)
    sessions.check_login_csrf(request, csrf_token)
    try:
        registry_of(request).authenticate(token.strip())
    except AuthenticationError as error:
        response = render(
            request,
            "login.html.j2",
            None,
            status_code=401,
            next=_safe_next(next),
            error=error,
            login_csrf=csrf_token,
        )
        return response
    done = redirect(_safe_next(next))
    sessions.start(done, request, token.strip())
    return done


@router.post("/logout")
def logout(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """End the session (the token itself stays valid for the API and the CLI)."""
    sessions = sessions_of(request)
    sessions.check_csrf(viewer, csrf_token)
    response = redirect("/login?reason=" + "you+are+logged+out")
    sessions.end(response)
    return response
