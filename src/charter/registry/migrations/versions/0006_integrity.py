"""Integrity: trusted keys, per-model approval floors, verified evidence, kinds of request.

* ``charter_trusted_keys``: Ed25519 public keys an admin trusts to sign evidence (the CI's);
  a key is revoked, never deleted, so old verifications stay explainable;
* ``charter_models.approval_floor``: the fewest approvals a promotion of the model to
  production needs, whatever its versions' policies say (set by an admin);
* ``charter_evidence.verified`` and ``signature``: how the registry verified a bundle
  (``rerun`` or ``signed:<keyid>``) and the DSSE envelope it was signed with;
* ``charter_promotion_requests.kind`` (``promotion``, ``demotion`` or ``rollback``) and
  ``changes`` (JSON list: how the policy is looser than production's).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the table and the nullable columns (existing rows keep their meaning)."""
    op.create_table(
        "charter_trusted_keys",
        sa.Column("keyid", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.add_column("charter_models", sa.Column("approval_floor", sa.Integer(), nullable=True))
    op.add_column("charter_evidence", sa.Column("verified", sa.String(80), nullable=True))
    op.add_column("charter_evidence", sa.Column("signature", sa.Text(), nullable=True))
    op.add_column(
        "charter_promotion_requests",
        sa.Column("kind", sa.String(16), nullable=False, server_default="promotion"),
    )
    op.add_column("charter_promotion_requests", sa.Column("changes", sa.Text(), nullable=True))


def downgrade() -> None:
    """Refuse: trusted keys and verifications are part of the record."""
    raise NotImplementedError("the integrity records cannot be downgraded away")
