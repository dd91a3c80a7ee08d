"""The audit trail: filtered pages, verification, streamed exports (auditors and admins).

Pages go newest first by default and are cut by keyset on the sequence number: pass a page's
``next`` as ``cursor`` to read on. Filters are the CLI's (actor, action with a trailing ``*``
for a prefix, model, time range) plus ``version`` (with ``model``) and ``request_id``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from charter.audit.chain import AuditEntry
from charter.audit.log import export_lines
from charter.errors import CharterError
from charter.registry import Action
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.pages import Page, page_of
from charter.server.problems import problem_responses

router = APIRouter(tags=["audit"])
_READ = problem_responses(401, 403, 422)


class Entry(BaseModel):
    """One audit entry, as hashed, with its hash."""

    seq: int
    at: str = Field(description="UTC, ISO 8601 with microseconds.")
    actor: str
    action: str
    subject: str
    model: str | None
    details: dict[str, Any]
    alg: str
    prev_hash: str
    hash: str
    request_id: str | None = Field(
        default=None, description="The X-Request-Id of the HTTP call that caused it."
    )


class Verification(BaseModel):
    """The outcome of verifying the whole chain."""

    ok: bool
    checked: int = Field(description="Entries verified before the first break (all when ok).")
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    kind: str | None = Field(default=None, description="altered, deleted, inserted, reordered.")
    detail: str = ""
    verified_at: datetime


class ExportFormat(StrEnum):
    """Formats of an export."""

    JSONL = "jsonl"
    CSV = "csv"


class Filters(BaseModel):
    """The filters of a read of the trail."""

    actor: str | None = None
    action: str | None = None
    model: str | None = None
    version: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None

    def subject(self) -> str | None:
        """The subject a version filter means."""
        if self.version is None:
            return None
        if self.model is None:
            raise CharterError(
                "the version filter needs the model",
                hint="pass model=NAME with version=N",
            )
        return f"model:{self.model}/{self.version}"


def filters(
    actor: Annotated[str | None, Query(description="Only entries by this user.")] = None,
    action: Annotated[
        str | None, Query(description="This action; a trailing * matches a prefix.")
    ] = None,
    model: Annotated[str | None, Query(description="Only entries about this model.")] = None,
    version: Annotated[
        int | None, Query(ge=1, description="Only entries about this version (with model).")
    ] = None,
    since: Annotated[datetime | None, Query(description="From (inclusive), ISO 8601.")] = None,
    until: Annotated[datetime | None, Query(description="Until (exclusive), ISO 8601.")] = None,
    request_id: Annotated[
        str | None,
        Query(max_length=128, description="Only entries caused by the call with this id."),
    ] = None,
) -> Filters:
    """The filters from the query string."""
    return Filters(
        actor=actor,
        action=action,
        model=model,
        version=version,
        since=since,
        until=until,
        request_id=request_id,
    )


FiltersDep = Annotated[Filters, Depends(filters)]


def _entry(entry: AuditEntry) -> Entry:
    return Entry.model_validate(entry.to_dict())


@router.get(
    "/audit",
    openapi_extra=performs(Action.AUDIT_READ),
    summary="Audit entries, a page at a time",
    responses=_READ,
)
def audit_log(
    registry: RegistryDep,
    actor: ActorDep,
    where: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Entries per page.")] = 100,
    cursor: Annotated[
        int | None, Query(ge=0, description="The `next` of the previous page.")
    ] = None,
    order: Annotated[
        Literal["desc", "asc"], Query(description="desc: newest first; asc: oldest first.")
    ] = "desc",
) -> Page[Entry]:
    """Entries matching the filters; ``next`` is the cursor of the following page."""
    descending = order == "desc"
    rows = registry.audit_log(
        actor=actor,
        model=where.model,
        user=where.actor,
        action=where.action,
        since=where.since,
        until=where.until,
        subject=where.subject(),
        request_id=where.request_id,
        limit=limit + 1,
        before=cursor if descending else None,
        after=None if descending else cursor,
        descending=descending,
    )
    return page_of([_entry(e) for e in rows], key=lambda e: e.seq, limit=limit)


@router.get(
    "/audit/verify",
    openapi_extra=performs(Action.AUDIT_READ),
    summary="Verify the chain",
    responses=_READ,
)
async def verify(registry: RegistryDep, actor: ActorDep) -> Verification:
    """Recompute every hash and link (off the event loop); report the first break."""
    report = await run_in_threadpool(lambda: registry.verify_audit(actor=actor))
    data = report.to_dict()
    data["kind"] = str(data["kind"]) if data.get("kind") else None
    return Verification(**data, verified_at=datetime.now().astimezone())


@router.get(
    "/audit/export",
    openapi_extra=performs(Action.AUDIT_READ),
    summary="Export entries (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
        **_READ,
    },
)
async def export(
    registry: RegistryDep,
    actor: ActorDep,
    where: FiltersDep,
    format: Annotated[ExportFormat, Query(description="jsonl or csv.")] = ExportFormat.JSONL,
) -> StreamingResponse:
    """Every matching entry with its hashes, oldest first, as JSON lines or CSV, streamed.

    Without its ``hash`` key each JSON line is the exact text that was hashed.
    """
    subject = where.subject()
    entries = await run_in_threadpool(
        lambda: registry.stream_audit(
            actor=actor,
            model=where.model,
            user=where.actor,
            action=where.action,
            since=where.since,
            until=where.until,
            subject=subject,
            request_id=where.request_id,
        )
    )
    media = "application/x-ndjson" if format is ExportFormat.JSONL else "text/csv; charset=utf-8"
    return StreamingResponse(
        _chunks(export_lines(entries, fmt=format.value)),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit.{format.value}"'},
    )


def _chunks(lines: Iterator[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Lines gathered into chunks of about ``size`` bytes (fewer, larger writes)."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode("utf-8")
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")
