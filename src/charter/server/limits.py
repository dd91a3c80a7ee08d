"""Size limits on request bodies: a pure ASGI middleware answering 413 with a problem.

Multipart bodies (uploads) may reach ``max_upload_bytes``; every other body
``max_body_bytes``. A declared ``Content-Length`` over the limit is refused before a byte is
read; a body that grows past it while streaming (chunked) is cut off, and whatever the
application was about to answer is replaced by the 413.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.server.problems import PROBLEM_JSON, problem_body


class _TooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse bodies larger than the limits with 413 ``application/problem+json``.

    Parameters
    ----------
    app
        The application.
    max_body_bytes
        Limit for bodies that are not ``multipart/form-data``.
    max_upload_bytes
        Limit for ``multipart/form-data`` bodies.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        upload = content_type.startswith("multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, limit, upload)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the 413 is sent below instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLargeError:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(scope, send, limit, upload)


async def _refuse(scope: Scope, send: Send, limit: int, upload: bool) -> None:
    what = "upload" if upload else "request body"
    setting = "CHARTER_MAX_UPLOAD_BYTES" if upload else "CHARTER_MAX_BODY_BYTES"
    state = scope.get("state") or {}
    request_id = state.get("request_id")
    body = problem_body(
        413,
        f"the {what} is larger than the {limit:,} bytes this server accepts",
        code="payload_too_large",
        hint=f"send less, or ask the operator to raise {setting}",
        instance=scope.get("path"),
        request_id=request_id,
        limit=limit,
    )
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
