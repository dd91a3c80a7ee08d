"""The registry's first schema: users, tokens, models, versions, evidence, promotion, audit.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

#: Columns of an audit entry GENERATED from its hashed ``body``: (name, type, JSON key).
_AUDIT_GENERATED = (
    ("seq", sa.BigInteger(), "seq"),
    ("at", sa.String(32), "at"),
    ("actor", sa.String(128), "actor"),
    ("action", sa.String(64), "action"),
    ("subject", sa.Text(), "subject"),
    ("model", sa.String(256), "model"),
    ("prev_hash", sa.String(64), "prev_hash"),
)


def _extract(dialect: str, key: str, column_type: sa.types.TypeEngine[Any]) -> str:
    if dialect == "postgresql":
        expression = f"((body::jsonb) ->> '{key}')"
        return f"({expression})::bigint" if isinstance(column_type, sa.BigInteger) else expression
    return f"json_extract(body, '$.{key}')"


def upgrade() -> None:
    """Create every table, the audit trail's generated columns and its append-only triggers."""
    dialect = op.get_bind().dialect.name
    op.create_table(
        "charter_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "charter_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(128), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "charter_user_roles",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("charter_users.id"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
    )
    op.create_table(
        "charter_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("charter_users.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("label", sa.String(128)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("revoked_at", _TS),
    )
    op.create_index("ix_charter_tokens_user_id", "charter_tokens", ["user_id"])
    op.create_table(
        "charter_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "charter_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("charter_models.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16)),
        sa.Column("stage_changed_at", _TS),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("artifact_format", sa.String(32), nullable=False),
        sa.Column("artifact_size", sa.BigInteger(), nullable=False),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("trusted_types", sa.JSON(), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        sa.Column("evidence_id", sa.Integer()),
        sa.Column("reference_profile", sa.JSON()),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("model_id", "number", name="uq_charter_versions_model_number"),
        sa.CheckConstraint(
            "stage IS NULL OR stage IN ('staging', 'production', 'archived')",
            name="ck_charter_versions_stage",
        ),
    )
    op.create_index("ix_charter_versions_artifact_sha256", "charter_versions", ["artifact_sha256"])
    op.create_index("ix_charter_versions_model_id", "charter_versions", ["model_id"])
    # at most one production version per model, also when two promotions race
    op.create_index(
        "uq_charter_versions_one_production",
        "charter_versions",
        ["model_id"],
        unique=True,
        sqlite_where=sa.text("stage = 'production'"),
        postgresql_where=sa.text("stage = 'production'"),
    )
    op.create_table(
        "charter_evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("charter_versions.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16)),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("report_sha256", sa.String(64)),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_charter_evidence_version_id", "charter_evidence", ["version_id"])
    op.create_table(
        "charter_promotion_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("charter_versions.id"), nullable=False),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", _TS),
        sa.Column("reason", sa.Text()),
    )
    op.create_index(
        "ix_charter_promotion_requests_version_id", "charter_promotion_requests", ["version_id"]
    )
    op.create_index(
        "ix_charter_promotion_requests_status", "charter_promotion_requests", ["status"]
    )
    op.create_table(
        "charter_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("charter_promotion_requests.id"),
            nullable=False,
        ),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("evidence_digest", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("withdrawn_at", _TS),
        sa.Column("withdrawn_reason", sa.Text()),
    )
    op.create_index("ix_charter_approvals_request_id", "charter_approvals", ["request_id"])
    op.create_table(
        "charter_stage_transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("charter_versions.id"), nullable=False),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("charter_promotion_requests.id")),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index(
        "ix_charter_stage_transitions_version_id", "charter_stage_transitions", ["version_id"]
    )
    op.create_table(
        "charter_aliases",
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("charter_models.id"), primary_key=True),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("charter_versions.id"), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "charter_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("charter_versions.id"), nullable=False),
        sa.Column("flag", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_charter_flags_version_id", "charter_flags", ["version_id"])

    # --- the audit trail ------------------------------------------------------------------
    op.create_table(
        "charter_audit_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        *(
            sa.Column(
                name,
                kind,
                sa.Computed(
                    _extract(dialect, key, kind),
                    # SQLite keeps the filter-only columns virtual (in their indexes, not in
                    # every row), which keeps rows small for `audit verify`; PostgreSQL 15
                    # has stored generated columns only
                    persisted=dialect != "sqlite" or name in ("seq", "prev_hash"),
                ),
            )
            for name, kind, key in _AUDIT_GENERATED
        ),
    )
    # one entry per sequence number and per predecessor: the chain cannot fork
    op.create_index("uq_charter_audit_entries_seq", "charter_audit_entries", ["seq"], unique=True)
    op.create_index(
        "uq_charter_audit_entries_prev_hash", "charter_audit_entries", ["prev_hash"], unique=True
    )
    op.create_index("ix_charter_audit_entries_hash", "charter_audit_entries", ["hash"])
    for column in ("at", "actor", "action", "model"):
        op.create_index(f"ix_charter_audit_entries_{column}", "charter_audit_entries", [column])
    op.create_table(
        "charter_audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_charter_audit_head_single_row"),
    )
    _append_only_triggers(dialect)


def _append_only_triggers(dialect: str) -> None:
    """Refuse UPDATE and DELETE on the audit trail inside the database itself."""
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER charter_audit_no_{event.lower()} BEFORE {event} "
                "ON charter_audit_entries BEGIN "
                "SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION charter_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER charter_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON charter_audit_entries FOR EACH STATEMENT "
            "EXECUTE FUNCTION charter_audit_append_only()"
        )


def downgrade() -> None:
    """Refuse: the first schema is not taken down."""
    raise NotImplementedError("the registry's first schema cannot be downgraded: nothing is lost")
