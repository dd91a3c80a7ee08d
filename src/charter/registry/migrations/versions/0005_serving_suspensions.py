"""Serving can be suspended (the stop button): who suspended a model, why, and its resumption.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``charter_serving_suspensions`` (rows are kept; resuming fills ``resumed_*``)."""
    op.create_table(
        "charter_serving_suspensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("charter_models.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suspended_by", sa.String(128), nullable=False),
        sa.Column("suspended_at", _TS, nullable=False),
        sa.Column("resumed_by", sa.String(128), nullable=True),
        sa.Column("resumed_at", _TS, nullable=True),
        sa.Column("resumed_reason", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_charter_serving_suspensions_model_id", "charter_serving_suspensions", ["model_id"]
    )


def downgrade() -> None:
    """Refuse: suspensions are part of the record (EU AI Act Art. 14) and are not dropped."""
    raise NotImplementedError("serving suspensions cannot be downgraded away: nothing is lost")
