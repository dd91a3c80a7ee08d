"""What the registry hands back: immutable records, detached from the database.

These are the registry's public read models; the CLI prints them, the HTTP service returns
them as JSON (``model_dump(mode="json")``), cards and compliance reports are built from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from charter.registry.roles import Role


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Actor(_Record):
    """Who is acting: a user (resolved from a token) and the roles they hold.

    Or a part of Charter itself reading on its own account: :meth:`system` (the card builder
    verifying the audit trail it cites, a monitoring run without a token). A system actor may
    only read (:data:`~charter.registry.roles.SYSTEM_PERMISSIONS`); its name, ``system:...``,
    cannot be a user's, and it is what an audit entry records when one is refused.
    """

    username: str
    roles: frozenset[Role] = frozenset()
    kind: Literal["user", "system"] = "user"

    @classmethod
    def system(cls, purpose: str) -> Actor:
        """A system actor for an in-process caller that Charter trusts, e.g. ``"cards"``."""
        return cls(username=f"system:{purpose}", kind="system")

    @property
    def is_system(self) -> bool:
        """Whether this is a system actor rather than a user."""
        return self.kind == "system"

    def holds(self, role: Role | str) -> bool:
        """Whether the actor holds ``role``."""
        return Role(role) in self.roles


class UserInfo(_Record):
    """A user as listed by ``charter user list``."""

    username: str
    roles: list[str]
    created_at: datetime
    created_by: str | None = None
    disabled: bool = False


class IssuedToken(_Record):
    """A freshly created token. ``token`` is shown once; the registry keeps its sha256 only."""

    id: int
    username: str
    token: str
    prefix: str
    expires_at: datetime | None = None


class ApprovalInfo(_Record):
    """One approval of a request."""

    approver: str
    at: datetime
    comment: str | None = None
    evidence_digest: str
    withdrawn: bool = False
    withdrawn_reason: str | None = None


class RequestInfo(_Record):
    """A promotion request and where it stands."""

    id: int
    model: str
    version: int
    to_stage: str
    status: str
    required_approvals: int
    approvals: list[ApprovalInfo] = Field(default_factory=list)
    requested_by: str
    requested_at: datetime
    note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    kind: str = "promotion"
    """``promotion``, ``demotion`` (out of production) or ``rollback``."""
    changes: list[str] = Field(default_factory=list)
    """How the version's policy is looser than production's, one line per change."""

    @property
    def valid_approvals(self) -> int:
        """Approvals that still count (not withdrawn)."""
        return sum(1 for a in self.approvals if not a.withdrawn)


class TransitionInfo(_Record):
    """A stage change in a version's history."""

    from_stage: str | None
    to_stage: str
    actor: str
    at: datetime
    request_id: int | None = None


class FlagInfo(_Record):
    """A flag raised on a version, and its resolution once someone resolved it.

    Attributes
    ----------
    id
        The flag's row (flags are never deleted).
    flag, reason, created_by, created_at
        What was raised, why, by whom, when.
    resolved_by, resolved_at, resolved_reason
        Who resolved it, when and why; ``None`` while the flag is open.
    """

    id: int
    flag: str
    reason: str
    created_by: str
    created_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolved_reason: str | None = None

    @property
    def open(self) -> bool:
        """Whether the flag still stands (not resolved)."""
        return self.resolved_at is None


class EvidenceInfo(_Record):
    """An evidence bundle stored for a version (without its body)."""

    id: int
    kind: str
    stage: str | None
    digest: str
    status: str
    passed: bool
    created_at: datetime
    recorded_by: str
    report_sha256: str | None = None
    verified: str | None = None
    """How the registry verified it: ``rerun`` or ``signed:<keyid>`` (``None``: not verified)."""


class ModelVersion(_Record):
    """One registered version of a model, with its lineage and governance state.

    Attributes
    ----------
    model, number
        ``model:number`` names the version.
    stage
        ``staging``, ``production``, ``archived`` or ``None`` (registered only).
    artifact_sha256, artifact_format, artifact_uri, artifact_size
        The content-addressed artifact; its hash is checked on every load.
    trusted_types
        skops types vouched for at registration; loads trust exactly these.
    lineage
        git (commit, branch, remote, dirty), data fingerprints, environment, sources.
    params
        Free parameters given at registration.
    policy, policy_sha256
        The policy the version is governed by, as stored, and its hash.
    evidence
        The current gate evidence (digest, status).
    flags
        Every flag raised on the version, open and resolved, oldest first.
    """

    model: str
    number: int
    stage: str | None
    aliases: list[str] = Field(default_factory=list)
    artifact_sha256: str
    artifact_format: str
    artifact_uri: str
    artifact_size: int
    trusted_types: list[str] = Field(default_factory=list)
    lineage: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] = Field(default_factory=dict)
    policy_sha256: str
    evidence: EvidenceInfo | None = None
    flags: list[FlagInfo] = Field(default_factory=list)
    description: str | None = None
    created_at: datetime
    created_by: str
    stage_changed_at: datetime | None = None

    @property
    def ref(self) -> str:
        """``model:number``."""
        return f"{self.model}:{self.number}"

    @property
    def open_flags(self) -> list[FlagInfo]:
        """The flags that still stand."""
        return [f for f in self.flags if f.open]


class ModelSummary(_Record):
    """A model as listed by ``charter models``."""

    name: str
    versions: int
    latest: int | None
    production: int | None
    staging: list[int] = Field(default_factory=list)
    created_at: datetime
    created_by: str
