"""Audit pages by keyset under a filter: composite indexes ending in the sequence number.

A page of the trail is ``WHERE <filter> AND seq < :cursor ORDER BY seq DESC LIMIT n``. With
an index on the filter column alone the database reads every matching entry and sorts them (a
million entries: seconds); with ``(column, seq)`` it walks the index backwards and stops after
``n`` rows, on SQLite and PostgreSQL alike. The single-column indexes these extend are dropped
(the composite index serves their lookups as well). ``subject`` (one version's entries) gets
one too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLE = "charter_audit_entries"
_EXTENDED = ("actor", "action", "model")


def upgrade() -> None:
    """Create the ``(column, seq)`` indexes, drop the single-column ones they extend."""
    for column in (*_EXTENDED, "subject"):
        op.create_index(f"ix_{_TABLE}_{column}_seq", _TABLE, [column, "seq"])
    for column in _EXTENDED:
        op.drop_index(f"ix_{_TABLE}_{column}", table_name=_TABLE)


def downgrade() -> None:
    """Back to the single-column indexes of 0001."""
    for column in _EXTENDED:
        op.create_index(f"ix_{_TABLE}_{column}", _TABLE, [column])
    for column in (*_EXTENDED, "subject"):
        op.drop_index(f"ix_{_TABLE}_{column}_seq", table_name=_TABLE)
