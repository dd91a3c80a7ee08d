"""The hash chain: what an audit entry is, how it is hashed, how it is appended.

An entry is the canonical JSON (sorted keys, no spaces, UTF-8) of ``seq``, ``at`` (UTC,
microseconds, ``Z``), ``actor``, ``action``, ``subject``, ``model``, ``details``, ``alg`` and
``prev_hash`` — the hash of the entry before it (64 zeros for the first) — and, for an entry
written while the HTTP service served a request, that request's ``request_id`` (the key is
absent otherwise, so entries written before request ids existed hash as they always did).
Its ``hash`` is the sha256 of those bytes, or their HMAC-SHA256 under ``CHARTER_AUDIT_KEY``
when the registry was created with a key. The row stores exactly those bytes (``body``) and
the hash; the database derives every other column from ``body``, so what is filtered is what
was hashed.

Appends happen inside the caller's transaction, after :class:`ChainWriter` has locked the
one-row head table: two processes cannot read the same head, so they cannot fork the chain,
and an entry commits or rolls back together with the state change it records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from charter.audit.request_context import current_request_id
from charter.audit.tables import audit_entries, audit_head
from charter.errors import CharterError, ConfigurationError
from charter.evidence import canonical_json

GENESIS = "0" * 64
ALG_SHA256 = "sha256"
ALG_HMAC = "hmac-sha256"
AUDIT_KEY_ENV = "CHARTER_AUDIT_KEY"


def audit_key() -> bytes | None:
    """The HMAC key from ``CHARTER_AUDIT_KEY``, or ``None``."""
    value = os.environ.get(AUDIT_KEY_ENV)
    return value.encode("utf-8") if value else None


def require_key(alg: str) -> bytes | None:
    """The key ``alg`` needs (``None`` for plain sha256), or an error saying to set it."""
    if alg == ALG_SHA256:
        return None
    key = audit_key()
    if key is None:
        raise ConfigurationError(
            "this registry's audit trail is keyed (HMAC-SHA256) and CHARTER_AUDIT_KEY is not set",
            hint="set CHARTER_AUDIT_KEY to the key the registry was created with",
            field=AUDIT_KEY_ENV,
        )
    return key


def utc_timestamp(moment: datetime | None = None) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ``: fixed width, so it sorts as it reads."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_body(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    model: str | None,
    details: Mapping[str, Any],
    alg: str,
    prev_hash: str,
    request_id: str | None = None,
) -> str:
    """The canonical JSON text of one entry: the bytes its hash is taken over.

    ``request_id`` is part of the body only when given.
    """
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "model": model,
        "details": dict(details),
        "alg": alg,
        "prev_hash": prev_hash,
    }
    if request_id is not None:
        fields["request_id"] = request_id
    return canonical_json(fields).decode("utf-8")


def hash_body(body: str | bytes, key: bytes | None = None) -> str:
    """Hex sha256 of ``body``, or its HMAC-SHA256 under ``key``."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.digest(key, data, "sha256").hex()


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit trail, as read back."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    model: str | None
    details: dict[str, Any]
    alg: str
    prev_hash: str
    hash: str
    request_id: str | None = None
    """The X-Request-Id of the HTTP call that caused the entry (``None`` outside the service)."""

    @classmethod
    def from_body(cls, body: str, hash_: str) -> AuditEntry:
        """Parse a stored body."""
        data = json.loads(body)
        return cls(
            seq=int(data["seq"]),
            at=data["at"],
            actor=data["actor"],
            action=data["action"],
            subject=data["subject"],
            model=data.get("model"),
            details=data.get("details") or {},
            alg=data.get("alg", ALG_SHA256),
            prev_hash=data["prev_hash"],
            hash=hash_,
            request_id=data.get("request_id"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for export): the hashed fields and the hash.

        ``request_id`` is present only when the entry has one, as in the hashed body, so an
        exported line without its ``hash`` is the hashed text again (verifiable offline).
        """
        out = {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "model": self.model,
            "details": self.details,
            "alg": self.alg,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.request_id is not None:
            out["request_id"] = self.request_id
        return out


@dataclass
class ChainWriter:
    """Appends entries inside one transaction, holding the head lock from the start.

    Create it first thing in a write transaction: on PostgreSQL it takes ``SELECT ... FOR
    UPDATE`` on the head row; on SQLite the transaction is already ``BEGIN IMMEDIATE``. Either
    way no other writer can read the head until this transaction ends.
    """

    connection: Connection
    alg: str = ALG_SHA256
    key: bytes | None = None
    seq: int = field(init=False, default=0)
    head: str = field(init=False, default=GENESIS)
    appended: list[AuditEntry] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        row = self.connection.execute(
            select(audit_head.c.seq, audit_head.c.hash)
            .where(audit_head.c.id == 1)
            .with_for_update()
        ).first()
        if row is None:
            raise CharterError(
                "the registry's audit head is missing: the store was never initialised",
                hint="run `charter init` to create the registry",
            )
        self.seq, self.head = int(row[0]), str(row[1])

    def append(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        model: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry after the current head and move the head to it."""
        seq = self.seq + 1
        at = utc_timestamp()
        request_id = current_request_id()
        body = entry_body(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            model=model,
            details=details or {},
            alg=self.alg,
            prev_hash=self.head,
            request_id=request_id,
        )
        digest = hash_body(body, self.key)
        self.connection.execute(insert(audit_entries).values(body=body, hash=digest))
        self.connection.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest)
        )
        entry = AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            model=model,
            details=dict(details or {}),
            alg=self.alg,
            prev_hash=self.head,
            hash=digest,
            request_id=request_id,
        )
        self.seq, self.head = seq, digest
        self.appended.append(entry)
        return entry


def initialise_head(connection: Connection) -> None:
    """Create the head row of an empty chain (``charter init``)."""
    exists = connection.execute(select(audit_head.c.id).where(audit_head.c.id == 1)).first()
    if exists is None:
        connection.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
