"""Flags can be resolved: who resolved one, when, and why; the row itself is kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the resolution columns to ``charter_flags`` (nullable: existing flags stay open)."""
    op.add_column("charter_flags", sa.Column("resolved_by", sa.String(128), nullable=True))
    op.add_column("charter_flags", sa.Column("resolved_at", sa.DateTime(timezone=True)))
    op.add_column("charter_flags", sa.Column("resolved_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Refuse: resolutions are part of the record and are not dropped."""
    raise NotImplementedError("flag resolutions cannot be downgraded away: nothing is lost")
