"""The request id of the HTTP call being served, readable from anywhere below the server.

The HTTP service sets :data:`request_id` for each request (see
:mod:`charter.server.request_id`); the registry reads it when it writes an audit entry, so an
auditor can tie an entry to the call that caused it. It lives here, low in the import graph,
so the registry never imports the server. Outside a request (the CLI, a script) it is ``None``.
"""

from __future__ import annotations

from contextvars import ContextVar

#: The id of the request being served, or ``None`` outside the HTTP service.
request_id: ContextVar[str | None] = ContextVar("charter_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request being served, or ``None`` outside one."""
    return request_id.get()
