"""Reading the audit trail: filtered queries and exports (JSON lines, CSV).

Filters run in the database on the columns it derives from each entry's hashed body, so a
filtered log shows exactly what was hashed. Entries are streamed in sequence order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Connection, Select, select

from charter.audit.chain import AuditEntry, utc_timestamp
from charter.audit.tables import audit_entries
from charter.errors import CharterError

EXPORT_FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "subject",
    "model",
    "details",
    "alg",
    "prev_hash",
    "hash",
    "request_id",
)


def _timestamp(value: datetime | str | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc_timestamp(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CharterError(
            f"{name} '{value}' is not a date or time",
            hint="use ISO 8601, e.g. 2025-03-01 or 2025-03-01T12:00:00Z",
            field=name,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return utc_timestamp(parsed)


def entries_query(
    *,
    model: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int | None = None,
    subject: str | None = None,
    request_id: str | None = None,
    after: int | None = None,
    before: int | None = None,
    descending: bool = False,
) -> Select[Any]:
    """The query of the entries matching every filter given, in sequence order.

    Bad filters (a ``since`` that is not a time) raise here, before anything is read.

    Parameters
    ----------
    model, actor, subject
        Exact model name, exact user name, exact subject (``model:credit-risk/3``).
    request_id
        Entries written while serving the HTTP request with this ``X-Request-Id``.
    action
        An action (``promotion.completed``) or a prefix ending in ``*`` (``promotion.*``).
    since, until
        UTC bounds on the entry time (inclusive, exclusive); naive times are taken as UTC.
    limit
        At most this many entries.
    after, before
        Only entries whose sequence number is above ``after`` / below ``before``: the keyset
        of a paginated read.
    descending
        Newest first.
    """
    order = audit_entries.c.seq.desc() if descending else audit_entries.c.seq
    query = select(audit_entries.c.body, audit_entries.c.hash).order_by(order)
    if subject is not None:
        query = query.where(audit_entries.c.subject == subject)
    if request_id is not None:
        query = query.where(audit_entries.c.request_id == request_id)
    if after is not None:
        query = query.where(audit_entries.c.seq > after)
    if before is not None:
        query = query.where(audit_entries.c.seq < before)
    if model is not None:
        query = query.where(audit_entries.c.model == model)
    if actor is not None:
        query = query.where(audit_entries.c.actor == actor)
    if action is not None:
        if action.endswith("*"):
            query = query.where(audit_entries.c.action.startswith(action[:-1], autoescape=True))
        else:
            query = query.where(audit_entries.c.action == action)
    lower, upper = _timestamp(since, "since"), _timestamp(until, "until")
    if lower is not None:
        query = query.where(audit_entries.c.at >= lower)
    if upper is not None:
        query = query.where(audit_entries.c.at < upper)
    if limit is not None:
        query = query.limit(limit)
    return query


def stream_entries(
    connection: Connection, query: Select[Any], *, batch_size: int = 10_000
) -> Iterator[AuditEntry]:
    """The entries ``query`` selects, fetched ``batch_size`` rows at a time."""
    result = connection.execution_options(yield_per=batch_size).execute(query)
    for body, digest in result:
        yield AuditEntry.from_body(body, digest)


def query_entries(
    connection: Connection,
    *,
    model: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int | None = None,
    subject: str | None = None,
    request_id: str | None = None,
    after: int | None = None,
    before: int | None = None,
    descending: bool = False,
    batch_size: int = 10_000,
) -> Iterator[AuditEntry]:
    """Entries matching every filter given, in sequence order (see :func:`entries_query`)."""
    query = entries_query(
        model=model,
        actor=actor,
        action=action,
        since=since,
        until=until,
        limit=limit,
        subject=subject,
        request_id=request_id,
        after=after,
        before=before,
        descending=descending,
    )
    return stream_entries(connection, query, batch_size=batch_size)


def check_format(fmt: str) -> None:
    """Refuse an export format other than :data:`EXPORT_FORMATS`."""
    if fmt not in EXPORT_FORMATS:
        raise CharterError(
            f"unknown export format '{fmt}'", hint="use jsonl or csv", field="format"
        )


def export_lines(entries: Iterable[AuditEntry], *, fmt: str = "jsonl") -> Iterator[str]:
    """Entries as lines of JSON or CSV (a header first), each ending in a newline: streamable."""
    check_format(fmt)
    return _jsonl(entries) if fmt == "jsonl" else _csv(entries)


def _jsonl(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(entry.to_dict(), sort_keys=True, ensure_ascii=False) + "\n"


def _csv(entries: Iterable[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for entry in entries:
        row = entry.to_dict()
        row["details"] = json.dumps(entry.details, sort_keys=True, ensure_ascii=False)
        yield line(row.get(c) for c in CSV_COLUMNS)


def export_entries(entries: Iterable[AuditEntry], out: TextIO, *, fmt: str = "jsonl") -> int:
    """Write entries to ``out`` as JSON lines or CSV; return how many were written."""
    count = 0
    for line in export_lines(entries, fmt=fmt):
        out.write(line)
        count += 1
    return count - 1 if fmt == "csv" else count  # the CSV header is no entry
