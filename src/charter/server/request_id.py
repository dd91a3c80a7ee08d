"""Request ids and access logs: a pure ASGI middleware around the whole application.

Every response carries ``X-Request-Id``: the caller's own when it is sane (at most 128
characters of ``A-Z a-z 0-9 . _ : -``), else a new UUID4. While the request is served the id
sits in :data:`charter.audit.request_context.request_id` (the registry records it on the audit
entries the call writes) and in ``scope["state"]["request_id"]`` (problem bodies quote it).

When the response is done, one JSON line goes to the ``charter.server.access`` logger::

    {"duration_ms": 3.2, "method": "POST", "path": "/api/v1/requests/4/approve",
     "request_id": "6f1c...", "status": 200, "user": "ann"}
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.audit import request_context

HEADER = b"x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger("charter.server.access")


def sane_request_id(value: str | None) -> str | None:
    """``value`` when it may serve as a request id, else ``None``."""
    if value is not None and _SANE.match(value):
        return value
    return None


class RequestIdMiddleware:
    """Give every HTTP request an id, echo it in ``X-Request-Id``, log one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", ()):
            if name == HEADER:
                given = sane_request_id(value.decode("latin-1"))
                break
        request_id = given or str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        token = request_context.request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_context.request_id.reset(token)
            _log_access(scope, status, started, request_id)


def _log_access(scope: Scope, status: int, started: float, request_id: str) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    state: dict[str, Any] = scope.get("state") or {}
    line = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "request_id": request_id,
        "user": state.get("username"),
    }
    access_log.info(json.dumps(line, sort_keys=True))
