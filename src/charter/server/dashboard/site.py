"""What every dashboard page shares: templates, the navigation, the viewer, error pages.

Pages are rendered on the server with Jinja2. htmx (vendored) only enhances them: a form posts
normally and the server redirects, unless the request says ``HX-Request``, in which case the
page module returns the fragment to swap in place. Every route goes through
:class:`DashboardRoute`, which turns a missing session into a redirect to the login form and a
:class:`~charter.errors.CharterError` into an HTML page with the error's status, message and
hint (the service's own words).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response

from charter.errors import CharterError
from charter.registry import Registry
from charter.registry.roles import Action, permitted
from charter.server import deps
from charter.server.dashboard.session import CSRF_FIELD, LoginRequiredError, Sessions, Viewer

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass(frozen=True)
class NavItem:
    """A navigation link, shown to those whose roles allow ``action``."""

    label: str
    href: str
    action: Action


#: The navigation: each entry appears only for roles that the permission matrix allows.
NAVIGATION = (
    NavItem("Inbox", "/inbox", Action.PROMOTION_APPROVE),
    NavItem("Models", "/models", Action.VERSION_READ),
    NavItem("Compare", "/compare", Action.VERSION_READ),
    NavItem("Audit", "/audit", Action.AUDIT_READ),
    NavItem("Admin", "/admin", Action.USER_LIST),
)


def may(viewer: Viewer, action: Action | str) -> bool:
    """Whether the viewer's roles allow ``action``.

    Only to show a link or a button, never to authorize: the registry checks again when the
    action is taken.
    """
    return permitted(viewer.actor.roles, Action(action))


def _when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt) + " UTC"


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def _brief(details: Mapping[str, Any]) -> str:
    """An audit entry's details on one line: ``key=value; ...``, hashes cut to 12 digits."""
    parts = []
    for key in sorted(details):
        if key == "request_id":
            continue
        value = details[key]
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}={_HEX64.sub(lambda m: m.group(0)[:12] + '…', text)}")
    return "; ".join(parts)


def _tojson_attr(value: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (``</`` cannot end it)."""
    text = json.dumps(value, allow_nan=False, default=str).replace("</", "<\\/")
    return Markup(text)


def _query(params: Mapping[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", False)}
    return "?" + urlencode(merged) if merged else "?"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["num"] = _number
    env.filters["jsonblock"] = _tojson_attr
    env.filters["brief"] = _brief
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.globals["query"] = _query
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


ENV = _environment()


def registry_of(request: Request) -> Registry:
    """The registry the application serves (opened once by the app factory)."""
    return deps.registry(request)


def sessions_of(request: Request) -> Sessions:
    """The session keeper, built once per application from its secret key."""
    state = request.app.state
    sessions: Sessions | None = getattr(state, "dashboard_sessions", None)
    if sessions is None:
        secret = state.settings.secret_key
        key = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret)
        sessions = Sessions(key)
        state.dashboard_sessions = sessions
    return sessions


def current_viewer(request: Request) -> Viewer:
    """FastAPI dependency: the logged-in user, or a redirect to the login form."""
    return sessions_of(request).viewer(request, registry_of(request))


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (and a fragment is wanted, not a page)."""
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the navigation the viewer may see."""
    nav = [item for item in NAVIGATION if viewer is not None and may(viewer, item.action)]
    html = ENV.get_template(template).render(
        request=request,
        viewer=viewer,
        nav=nav,
        path=request.url.path,
        may=(lambda action: viewer is not None and may(viewer, action)),
        Action=Action,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: Request, error: CharterError, viewer: Viewer | None) -> HTMLResponse:
    """The page (or fragment, for htmx) telling the user what went wrong and what to do."""
    if is_htmx(request):
        html = ENV.get_template("_error.html.j2").render(error=error)
        return HTMLResponse(html, status_code=error.http_status)
    return render(request, "error.html.j2", viewer, status_code=error.http_status, error=error)


def redirect(url: str) -> RedirectResponse:
    """After a POST: see the result with a GET (303)."""
    return RedirectResponse(url, status_code=303)


class InvalidAddressError(CharterError):
    """A page's query or path parameter that does not validate."""

    code = "invalid_address"
    title = "Invalid address"
    http_status = 422


def _invalid(exc: RequestValidationError) -> CharterError:
    """A page's bad query or path parameter, as a 422 saying which and why."""
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return InvalidAddressError(
        "the address is not valid: " + "; ".join(parts),
        hint="check the link, or go back and use the page's own links and forms",
    )


class DashboardRoute(APIRoute):
    """A route that answers with pages: login redirects and HTML error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the endpoint (and its dependencies) to catch what pages turn into HTML."""
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequiredError as needed:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                if request.method != "GET":
                    target = "/"
                params = {"next": target}
                if needed.reason:
                    params["reason"] = needed.reason
                if is_htmx(request):
                    response = Response(status_code=204)
                    response.headers["HX-Redirect"] = "/login?" + urlencode(params)
                    return response
                return redirect("/login?" + urlencode(params))
            except (CharterError, RequestValidationError) as raised:
                error = raised if isinstance(raised, CharterError) else _invalid(raised)
                try:
                    viewer = current_viewer(request)
                except LoginRequiredError:
                    viewer = None
                return error_page(request, error, viewer)

        return handler
