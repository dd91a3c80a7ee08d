"""The registry's door to its audit trail: reading, exporting and verifying it.

Reading the trail needs the role auditor or admin (:attr:`Action.AUDIT_READ`); the work is done
by :mod:`charter.audit`, which knows nothing of the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import Select

from charter.audit.chain import AuditEntry, require_key
from charter.audit.log import (
    check_format,
    entries_query,
    export_entries,
    query_entries,
    stream_entries,
)
from charter.audit.verify import ChainReport, verify_chain
from charter.registry.records import Actor
from charter.registry.roles import Action
from charter.registry.store import Store


class Trail:
    """Audit access of one registry."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def audit_log(
        self,
        *,
        actor: Actor,
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        subject: str | None = None,
        request_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        descending: bool = False,
    ) -> list[AuditEntry]:
        """Audit entries matching the filters, in sequence order (role auditor or admin).

        See :func:`charter.audit.log.entries_query` for the filters and the keyset bounds.
        """
        self.store.require(actor, Action.AUDIT_READ, "audit")
        with self.store.engine.connect() as connection:
            return list(
                query_entries(
                    connection,
                    model=model,
                    actor=user,
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
            )

    def stream_audit(
        self,
        *,
        actor: Actor,
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        subject: str | None = None,
        request_id: str | None = None,
    ) -> Iterator[AuditEntry]:
        """Matching entries one at a time, read in batches: for exports of any size.

        The actor and the filters are checked now; the entries are read while the iterator is
        consumed (on a connection of its own, closed when it is exhausted or closed).
        """
        self.store.require(actor, Action.AUDIT_READ, "audit")
        query = entries_query(
            model=model,
            actor=user,
            action=action,
            since=since,
            until=until,
            limit=limit,
            subject=subject,
            request_id=request_id,
        )
        return self._stream(query)

    def _stream(self, query: Select[Any]) -> Iterator[AuditEntry]:
        with self.store.engine.connect() as connection:
            yield from stream_entries(connection, query)

    def export_audit(
        self,
        out: TextIO,
        *,
        actor: Actor,
        fmt: str = "jsonl",
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        subject: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Write matching entries as JSON lines or CSV to ``out``; returns how many."""
        check_format(fmt)
        entries = self.stream_audit(
            actor=actor,
            model=model,
            user=user,
            action=action,
            since=since,
            until=until,
            subject=subject,
            request_id=request_id,
        )
        return export_entries(entries, out, fmt=fmt)

    def verify_audit(
        self,
        *,
        actor: Actor,
        on_batch: Callable[[int], None] | None = None,
    ) -> ChainReport:
        """Verify the whole audit trail; returns a :class:`~charter.audit.verify.ChainReport`."""
        self.store.require(actor, Action.AUDIT_READ, "audit")
        return verify_chain(
            self.store.engine, key=require_key(self.store.audit_alg), on_batch=on_batch
        )
