"""The audit trail's two tables, and the metadata the registry's tables share with them.

The trail is written and read through SQLAlchemy Core (no ORM objects in its hot path). Each
row of ``charter_audit_entries`` holds the entry's canonical JSON ``body`` and its ``hash``;
every other column is GENERATED from ``body`` by the database (see the migration), so the
columns used to filter the log cannot disagree with what was hashed.

The tables live here, not in :mod:`charter.registry.tables`, so that the audit package never
imports the registry: :mod:`charter.registry` imports :mod:`charter.audit`, never the other way.
The registry's declarative base uses :data:`metadata`, so Alembic sees one schema.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

#: Constraint names, identical to what the migrations created.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The one MetaData of a registry database: these tables and the registry's.
metadata = MetaData(naming_convention=NAMING)

audit_entries = Table(
    "charter_audit_entries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("seq", BigInteger),
    Column("at", String(32)),
    Column("actor", String(128)),
    Column("action", String(64)),
    Column("subject", Text),
    Column("model", String(256)),
    Column("prev_hash", String(64)),
    Column("request_id", String(128)),
)

#: One row: the sequence number and hash of the last entry. Every write transaction locks it
#: first, which serialises appends (and with them every state change) across processes.
audit_head = Table(
    "charter_audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
