"""Every error of the HTTP service as an ``application/problem+json`` body (RFC 9457).

One place maps exceptions to responses. A :class:`~charter.errors.CharterError` renders
itself (:meth:`~charter.errors.CharterError.to_problem`: its status, stable ``code``, message,
hint and structured fields, such as a policy error's file and key path or a refused
promotion's problems); this module adds the path and the request id::

    {"type": "urn:charter:error:not_found", "title": "Not found", "status": 404,
     "detail": "no model named 'credit-risc'", "hint": "did you mean 'credit-risk'?",
     "code": "not_found", "instance": "/api/v1/models/credit-risc",
     "request_id": "6f1c..."}

Request validation errors become a 422 naming each field; routing's 404 and 405 become
problems too; anything unexpected is a 500 carrying the request id (to find the traceback in
the server's log) and nothing else.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from charter.errors import PROBLEM_TYPE_BASE, AuthenticationError, CharterError

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-Id"
_log = logging.getLogger("charter.server")


class Problem(BaseModel):
    """An error response (RFC 9457 problem details), as every route documents it."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI naming the kind of problem: urn:charter:error:<code>.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, this time.")
    code: str = Field(description="Stable machine-readable code, e.g. not_found.")
    hint: str | None = Field(default=None, description="What to do about it.")
    instance: str | None = Field(default=None, description="The path of the request.")
    request_id: str | None = Field(default=None, description="The request's X-Request-Id.")


def error_problem(exc: CharterError, *, instance: str | None = None) -> dict[str, Any]:
    """The problem body of a Charter error (JSON-able)."""
    body: dict[str, Any] = jsonable_encoder(exc.to_problem(instance=instance))
    return body


def request_id_of(request: Request) -> str | None:
    """The request id the middleware gave this request."""
    state = request.scope.get("state") or {}
    value = state.get("request_id")
    return str(value) if value else None


def problem_body(
    status: int,
    detail: str,
    *,
    code: str,
    hint: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The JSON body of a problem."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if hint:
        body["hint"] = hint
    body.update(jsonable_encoder({k: v for k, v in fields.items() if k not in body}))
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    return body


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    code: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> JSONResponse:
    """A problem response for ``request``, with its request id in the body and headers."""
    request_id = request_id_of(request)
    all_headers = dict(headers or {})
    if request_id:
        all_headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(
        problem_body(
            status,
            detail,
            code=code,
            hint=hint,
            instance=request.url.path,
            request_id=request_id,
            **fields,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=all_headers,
    )


def body_response(
    request: Request, body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem response carrying ``body`` and the request's id (in the body and headers)."""
    request_id = request_id_of(request)
    all_headers = dict(headers or {})
    if request_id:
        all_headers[REQUEST_ID_HEADER] = request_id
        body = {**body, "request_id": request_id}
    return JSONResponse(
        body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=all_headers
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ---------------------------------------------------------------------- handlers
async def _charter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CharterError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
    return body_response(request, error_problem(exc, instance=request.url.path), headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    malformed = any(e["type"] == "json_invalid" for e in errors)
    return problem_response(
        request,
        422,
        detail,
        code="malformed_json" if malformed else "validation_failed",
        hint="send a JSON body that parses (Content-Type: application/json)"
        if malformed
        else "fix the fields named; the OpenAPI document (/openapi.json) gives every shape",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        detail, hint = f"no route {request.url.path}", "the API's routes are listed at /docs"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
        hint = "allowed: " + (exc.headers or {}).get("Allow", "see /docs")
    else:
        detail, hint = str(exc.detail), None
    return problem_response(
        request,
        status,
        detail,
        code=_title(status).lower().replace(" ", "_").replace("-", "_"),
        hint=hint,
        headers=dict(exc.headers or {}),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = request_id_of(request)
    _log.error(
        "internal error in %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return problem_response(
        request,
        500,
        "internal error: the server failed in a way it did not anticipate",
        code="internal_error",
        hint=f"report it with the request id {request_id}; the server's log holds the details",
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(CharterError, _charter_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


#: The ``responses`` entry documenting problems on a route, for OpenAPI.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring ``statuses`` as problem bodies."""
    return {
        status: {
            "model": Problem,
            "description": _title(status),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
