"""Reading the audit trail: filtered queries and exports (JSON lines, CSV).

Filters run in the database on the columns it derives from each entry's hashed body, so a
filtered log shows exactly what was hashed. Entries are streamed in sequence order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TextIO

from sqlalchemy import Connection, select

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
            f"--{name} '{value}' is not a date or time",
            hint="use ISO 8601, e.g. 2025-03-01 or 2025-03-01T12:00:00Z",
        ) from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return utc_timestamp(parsed)


def query_entries(
    connection: Connection,
    *,
    model: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    limit: int | None = None,
    batch_size: int = 10_000,
) -> Iterator[AuditEntry]:
    """Entries matching every filter given, in sequence order.

    Parameters
    ----------
    model, actor
        Exact model name, exact user name.
    action
        An action (``promotion.completed``) or a prefix ending in ``*`` (``promotion.*``).
    since, until
        UTC bounds on the entry time (inclusive, exclusive); naive times are taken as UTC.
    limit
        At most this many entries.
    """
    query = select(audit_entries.c.body, audit_entries.c.hash).order_by(audit_entries.c.seq)
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
    result = connection.execution_options(yield_per=batch_size).execute(query)
    for body, digest in result:
        yield AuditEntry.from_body(body, digest)


def export_entries(entries: Iterable[AuditEntry], out: TextIO, *, fmt: str = "jsonl") -> int:
    """Write entries to ``out`` as JSON lines or CSV; return how many were written."""
    if fmt not in EXPORT_FORMATS:
        raise CharterError(
            f"unknown export format '{fmt}'", hint="use --format jsonl or --format csv"
        )
    count = 0
    if fmt == "jsonl":
        for entry in entries:
            out.write(json.dumps(entry.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = entry.to_dict()
        row["details"] = json.dumps(entry.details, sort_keys=True, ensure_ascii=False)
        writer.writerow([row[c] for c in CSV_COLUMNS])
        count += 1
    return count
