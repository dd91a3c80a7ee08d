"""The stop button on a model's page: suspend its serving with a reason, and resume it.

Both forms call :meth:`charter.server.serving.Serving.suspend` and ``resume`` — the same calls
as ``POST /api/v1/models/{name}/suspend|resume`` — which go through
:mod:`charter.registry.serving` (permission, audit) and stop or restart the serving at once. With
htmx the serving panel is swapped in place; without JavaScript the form posts and the browser is
redirected to the model's page. A refusal is the registry's own message, shown in the panel.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from charter.errors import CharterError
from charter.registry import serving as registry_serving
from charter.server.dashboard.models import model_page
from charter.server.dashboard.session import CSRF_FIELD, Viewer
from charter.server.dashboard.site import (
    DashboardRoute,
    current_viewer,
    is_htmx,
    redirect,
    registry_of,
    render,
    sessions_of,
)
from charter.server.serving import serving_of

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _act(
    request: Request, viewer: Viewer, name: str, csrf: str, action: str, reason: str
) -> Response:
    sessions_of(request).check_csrf(viewer, csrf)
    registry = registry_of(request)
    state = serving_of(request)
    error: CharterError | None = None
    try:
        if action == "suspend":
            state.suspend(name, reason, actor=viewer.actor)
        else:
            state.resume(name, actor=viewer.actor, reason=reason or None)
    except CharterError as refused:
        error = refused
    status = error.http_status if error else 200
    if is_htmx(request):
        return render(
            request,
            "_serving.html.j2",
            viewer,
            status_code=status,
            name=name,
            suspension=registry_serving.suspension(registry, name),
            error=error,
        )
    if error is not None:
        page = model_page(registry, name, viewer.actor)
        return render(
            request,
            "model.html.j2",
            viewer,
            status_code=status,
            page=page,
            name=name,
            before=None,
            error=error,
        )
    return redirect(f"/models/{quote(name, safe='')}#serving")


@router.post("/models/{name}/suspend")
def suspend(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Suspend the serving of ``name`` as the logged-in user (approver or admin)."""
    return _act(request, viewer, name, csrf_token, "suspend", reason)


@router.post("/models/{name}/resume")
def resume(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Resume the serving of ``name`` as the logged-in user (approver or admin)."""
    return _act(request, viewer, name, csrf_token, "resume", reason)
