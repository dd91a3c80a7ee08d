"""The audit trail, its verification and its export.

Entries come newest first, a page at a time (keyset on the sequence number, never an OFFSET),
filtered by actor, action, model, version and time range. The page shows the result of the last
verification of the hash chain, and links to the export of the current filter, streamed.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TextIO, cast

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response, StreamingResponse

from charter.errors import CharterError
from charter.registry import Registry
from charter.server.dashboard.session import CSRF_FIELD, Viewer
from charter.server.dashboard.site import (
    DashboardRoute,
    current_viewer,
    redirect,
    registry_of,
    render,
    sessions_of,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE = 50
_FILTERS = ("actor", "action", "model", "version", "since", "until")


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying the chain, and when it was done."""

    report: dict[str, Any]
    at: datetime
    by: str


def _verifications(request: Request) -> dict[int, Verification]:
    state = request.app.state
    found: dict[int, Verification] | None = getattr(state, "dashboard_verifications", None)
    if found is None:
        found = {}
        state.dashboard_verifications = found
    return found


def last_verification(request: Request) -> Verification | None:
    """The latest verification run from this server process, if any."""
    return _verifications(request).get(id(registry_of(request)))


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@router.get("/audit")
def audit(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    since: str | None = None,
    until: str | None = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """A page of the trail under the filters."""
    who, what, which = _blank(actor), _blank(action), _blank(model)
    lower, upper = _blank(since), _blank(until)
    if version is not None and which is None:
        raise CharterError(
            "a version filter needs the model too", hint="fill in the model field as well"
        )
    filters: dict[str, Any] = {
        "actor": who,
        "action": what,
        "model": which,
        "version": version,
        "since": lower,
        "until": upper,
    }
    entries = registry_of(request).audit_page(
        actor=viewer.actor,
        user=who,
        action=what,
        model=which,
        version=version,
        since=lower,
        until=upper,
        before=before,
        limit=PAGE + 1,
    )
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    active = {k: v for k, v in filters.items() if v is not None}
    return render(
        request,
        "audit.html.j2",
        viewer,
        entries=entries,
        filters=filters,
        active=active,
        before=before,
        next_before=entries[-1].seq if more and entries else None,
        verification=last_verification(request),
    )


@router.post("/audit/verify")
def verify(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Verify the whole chain now (auditors and admins) and keep the result for the page."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    registry = registry_of(request)
    report = registry.verify_audit(actor=viewer.actor)
    _verifications(request)[id(registry)] = Verification(
        report=report.to_dict(), at=datetime.now(UTC), by=viewer.actor.username
    )
    return redirect("/audit#verification")


def _stream(registry: Registry, viewer: Viewer, fmt: str, filters: dict[str, Any]) -> Iterator[str]:
    """Run the registry's export in a thread, yielding its text as it is written."""
    chunks: queue.Queue[str | BaseException | None] = queue.Queue(maxsize=64)

    class _Writer(io.TextIOBase):
        def __init__(self) -> None:
            self.buffer: list[str] = []
            self.size = 0

        def write(self, text: str) -> int:
            self.buffer.append(text)
            self.size += len(text)
            if self.size >= 64 * 1024:
                self.flush()
            return len(text)

        def flush(self) -> None:
            if self.buffer:
                chunks.put("".join(self.buffer))
                self.buffer, self.size = [], 0

    def work() -> None:
        writer = _Writer()
        try:
            registry.export_audit(cast(TextIO, writer), actor=viewer.actor, fmt=fmt, **filters)
            writer.flush()
            chunks.put(None)
        except BaseException as exc:  # handed to the response, which ends the stream
            chunks.put(exc)

    threading.Thread(target=work, daemon=True, name="charter-audit-export").start()
    while True:
        item = chunks.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


@router.get("/audit/export.{fmt}")
def export(
    request: Request,
    fmt: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """The entries under the current filter, as JSON lines or CSV, streamed."""
    if fmt not in ("jsonl", "csv"):
        raise CharterError(f"unknown export format '{fmt}'", hint="use export.jsonl or export.csv")
    registry = registry_of(request)
    # refuse before the stream starts (a refusal mid-stream could not become a 403 page)
    registry.audit_page(actor=viewer.actor, limit=1)
    filters = {
        "user": _blank(actor),
        "action": _blank(action),
        "model": _blank(model),
        "since": _blank(since),
        "until": _blank(until),
    }
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return StreamingResponse(
        _stream(registry, viewer, fmt, filters),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="charter-audit.{fmt}"'},
    )
