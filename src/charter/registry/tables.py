"""The registry's tables (SQLAlchemy 2 declarative).

The schema is created and changed only by the Alembic migrations shipped in
:mod:`charter.registry.migrations`; these classes describe it for queries. Every table is
prefixed ``charter_`` so a registry can share a PostgreSQL database with other tools (MLflow's
tables have names such as ``model_versions``).

Nothing is ever deleted: versions are archived, requests decided, approvals withdrawn, tokens
revoked, and the audit trail only grows (the migration adds triggers that refuse UPDATE and
DELETE on it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# The audit tables live in charter.audit (which never imports the registry); they are
# re-exported here for the callers that know them by this path.
from charter.audit.tables import NAMING as NAMING
from charter.audit.tables import audit_entries as audit_entries
from charter.audit.tables import audit_head as audit_head
from charter.audit.tables import metadata


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone and always returned as aware UTC (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base sharing the audit tables' :class:`MetaData`."""

    metadata = metadata
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Meta(Base):
    """Settings of this registry: audit algorithm, artifact store, creation time."""

    __tablename__ = "charter_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TrustedKey(Base):
    """An Ed25519 public key an admin trusts to sign evidence (migration 0004)."""

    __tablename__ = "charter_trusted_keys"
    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    public_pem: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column()


class User(Base):
    """A person or service account."""

    __tablename__ = "charter_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(128))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "charter_user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("charter_users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Token(Base):
    """An API token; only its sha256 is kept."""

    __tablename__ = "charter_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("charter_users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class RegisteredModel(Base):
    """A named model; its versions carry everything else."""

    __tablename__ = "charter_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    #: Fewest approvals a promotion to production needs (set by an admin; migration 0004).
    approval_floor: Mapped[int | None] = mapped_column(Integer)


class Version(Base):
    """One registered version of a model: artifact, lineage, policy, evidence, stage."""

    __tablename__ = "charter_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "number", name="uq_charter_versions_model_number"),
        # at most one production version per model, whatever the application does
        Index(
            "uq_charter_versions_one_production",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("charter_models.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(16))
    stage_changed_at: Mapped[datetime | None] = mapped_column()
    artifact_sha256: Mapped[str] = mapped_column(String(64), index=True)
    artifact_format: Mapped[str] = mapped_column(String(32))
    artifact_size: Mapped[int] = mapped_column(BigInteger)
    artifact_uri: Mapped[str] = mapped_column(Text)
    trusted_types: Mapped[list[Any]] = mapped_column(default=list)
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    policy: Mapped[dict[str, Any]] = mapped_column()
    policy_sha256: Mapped[str] = mapped_column(String(64))
    #: The current gate evidence (a row of charter_evidence; no FK, the two tables refer to
    #: each other).
    evidence_id: Mapped[int | None] = mapped_column(Integer)
    reference_profile: Mapped[dict[str, Any] | None] = mapped_column()
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))


class EvidenceRecord(Base):
    """An evidence bundle kept for a version: its gate evidence, or monitoring evidence."""

    __tablename__ = "charter_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # gate | monitoring
    stage: Mapped[str | None] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)  # the bundle's canonical JSON, byte for byte
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(128))
    #: How the registry verified it: ``rerun`` or ``signed:<keyid>`` (migration 0004).
    verified: Mapped[str | None] = mapped_column(String(80))
    #: The DSSE envelope it came signed with.
    signature: Mapped[str | None] = mapped_column(Text)


class PromotionRequest(Base):
    """A request to move a version to a stage, and how it was decided."""

    __tablename__ = "charter_promotion_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"), index=True)
    to_stage: Mapped[str] = mapped_column(String(16))
    # pending | completed | rejected | refused | superseded
    status: Mapped[str] = mapped_column(String(16), index=True)
    required_approvals: Mapped[int] = mapped_column(Integer)
    evidence_digest: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    #: promotion | demotion (out of production) | rollback (migration 0004)
    kind: Mapped[str] = mapped_column(String(16), default="promotion", server_default="promotion")
    #: JSON list: how the version's policy is looser than production's
    changes: Mapped[str | None] = mapped_column(Text)


class Approval(Base):
    """One approver's yes to a request, for the evidence it was given on."""

    __tablename__ = "charter_approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("charter_promotion_requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(128))
    evidence_digest: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class StageTransition(Base):
    """A version's move from one stage to another: the promotion history."""

    __tablename__ = "charter_stage_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("charter_promotion_requests.id"))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Alias(Base):
    """A free name pointing at one version of a model."""

    __tablename__ = "charter_aliases"
    model_id: Mapped[int] = mapped_column(ForeignKey("charter_models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128))


class Flag(Base):
    """A mark on a version, such as ``needs-review`` raised by monitoring.

    Open while ``resolved_at`` is empty; resolving fills ``resolved_by``, ``resolved_at`` and
    ``resolved_reason`` (migration 0002) and keeps the row.
    """

    __tablename__ = "charter_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("charter_versions.id"), index=True)
    flag: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_reason: Mapped[str | None] = mapped_column(Text)


class ServingSuspension(Base):
    """The serving of a model suspended by a person (the stop button), and its resumption.

    Open while ``resumed_at`` is empty; resuming fills the ``resumed_*`` columns and keeps the
    row (migration 0005).
    """

    __tablename__ = "charter_serving_suspensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("charter_models.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    suspended_by: Mapped[str] = mapped_column(String(128))
    suspended_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_by: Mapped[str | None] = mapped_column(String(128))
    resumed_at: Mapped[datetime | None] = mapped_column()
    resumed_reason: Mapped[str | None] = mapped_column(Text)
