"""Audit entries name the HTTP request that caused them; the HTTP service's background jobs.

``request_id`` is GENERATED from the hashed body, like every other filter column of the audit
trail: an entry written while serving a request carries ``"request_id"`` in its body (older
entries do not, so their bodies and hashes are unchanged and the chain verifies as before).
``charter_jobs`` keeps the state of the service's background jobs (registration with training
data), so any worker answers a poll.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the generated ``request_id`` column (indexed) and the jobs table."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # PostgreSQL 15 has stored generated columns only
        op.execute(
            "ALTER TABLE charter_audit_entries ADD COLUMN request_id VARCHAR(128) "
            "GENERATED ALWAYS AS (((body::jsonb) ->> 'request_id')) STORED"
        )
    else:
        # SQLite adds virtual generated columns in place (kept in the index, not the rows)
        op.execute(
            "ALTER TABLE charter_audit_entries ADD COLUMN request_id VARCHAR(128) "
            "GENERATED ALWAYS AS (json_extract(body, '$.request_id')) VIRTUAL"
        )
    op.create_index("ix_charter_audit_entries_request_id", "charter_audit_entries", ["request_id"])
    op.create_table(
        "charter_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("location", sa.String(512)),
        sa.Column("result", sa.JSON()),
        sa.Column("problem", sa.JSON()),
    )


def downgrade() -> None:
    """Refuse: request ids are part of the audit record."""
    raise NotImplementedError("request ids cannot be downgraded away: nothing is lost")
