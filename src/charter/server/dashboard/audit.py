"""The audit trail, its verification and its export.

Entries come newest first, a page at a time (keyset on the sequence number, never an OFFSET),
filtered by actor, action, model, version and time range. The page shows the result of the last
verification of the hash chain, and links to the export of the current filter, streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response, StreamingResponse

from charter.audit.log import check_format, export_lines
from charter.errors import CharterError
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


def _subject(model: str | None, version: int | None) -> str | None:
    if version is None:
        return None
    if model is None:
        raise CharterError(
            "a version filter needs the model too", hint="fill in the model field as well"
        )
    return f"model:{model}/{version}"


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
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """A page of the trail under the filters, newest first."""
    filters: dict[str, Any] = {
        "actor": _blank(actor),
        "action": _blank(action),
        "model": _blank(model),
        "version": version,
        "since": _blank(since),
        "until": _blank(until),
        "request_id": _blank(request_id),
    }
    entries = registry_of(request).audit_log(
        actor=viewer.actor,
        user=filters["actor"],
        action=filters["action"],
        model=filters["model"],
        subject=_subject(filters["model"], version),
        since=filters["since"],
        until=filters["until"],
        request_id=filters["request_id"],
        before=before,
        descending=True,
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


@router.get("/audit/export.{fmt}")
def export(
    request: Request,
    fmt: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    actor: str | None = None,
    action: str | None = None,
    model: str | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    since: str | None = None,
    until: str | None = None,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """The entries under the current filter, oldest first, as JSON lines or CSV, streamed.

    The registry's own stream (:meth:`Registry.stream_audit`, read in batches) formatted by
    :func:`charter.audit.log.export_lines`, as the API exports; a refusal comes before the
    first byte, so it is a 403 page, not a broken download.
    """
    check_format(fmt)
    entries = registry_of(request).stream_audit(
        actor=viewer.actor,
        user=_blank(actor),
        action=_blank(action),
        model=_blank(model),
        subject=_subject(_blank(model), version),
        since=_blank(since),
        until=_blank(until),
        request_id=_blank(request_id),
    )
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    return StreamingResponse(
        _chunks(export_lines(entries, fmt=fmt)),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="charter-audit.{fmt}"'},
    )


def _chunks(lines: Iterator[str], per_chunk: int = 500) -> Iterator[bytes]:
    """Lines sent a few hundred at a time (fewer, larger writes)."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == per_chunk:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")
