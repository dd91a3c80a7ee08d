"""The registry's service layer: the one place every door goes through.

The CLI, the Python API and the HTTP service all call :class:`Registry`, a thin facade over one
module per concern:

================================  =========================================================
:mod:`~charter.registry.store`    transactions, authorization, audit entries, denials
:mod:`~charter.registry.identity` authentication, users, tokens
:mod:`~charter.registry.registration`  registering versions, attaching and recording evidence
:mod:`~charter.registry.queries`  reading versions, models, evidence, policies, requests
:mod:`~charter.registry.lifecycle`  promotion requests and approvals (one refusal builder)
:mod:`~charter.registry.stages`   archive and aliases
:mod:`~charter.registry.flags`    flags raised and resolved
:mod:`~charter.registry.trail`    reading, exporting and verifying the audit trail
:mod:`~charter.registry.oversight`  the facade's doors onto the trail and the safeguards
================================  =========================================================

Each state-changing method runs in one database transaction that locks the audit head, checks
the acting user's roles, changes state with its audit entries, and commits — or rolls back
everything (:class:`~charter.registry.store.Store`). A refused action commits one
``access.denied`` entry and raises :class:`~charter.errors.PermissionDeniedError`; a refused
promotion commits the refused request and raises :class:`~charter.errors.GateFailedError`; bad
input raises before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from charter.artifact_store import ARTIFACT_STORE_ENV, ArtifactStore
from charter.errors import CharterError
from charter.evidence import Evidence
from charter.policy.schema import Policy
from charter.registry import database
from charter.registry.flags import Flags
from charter.registry.identity import TOKEN_ENV, Identity, bootstrap, check_username
from charter.registry.lifecycle import Lifecycle
from charter.registry.listings import ProductionSpell, TokenInfo, VersionRow
from charter.registry.oversight import Oversight
from charter.registry.queries import Queries
from charter.registry.records import (
    Actor,
    FlagInfo,
    IssuedToken,
    ModelSummary,
    ModelVersion,
    RequestInfo,
    TransitionInfo,
    UserInfo,
)
from charter.registry.registration import Registration
from charter.registry.roles import Role
from charter.registry.safeguards import Safeguards
from charter.registry.stages import Stages
from charter.registry.store import Checkpoint, Store, no_checkpoint
from charter.registry.trail import Trail

__all__ = ["TOKEN_ENV", "Registry", "split_ref"]


def split_ref(text: str) -> tuple[str, str]:
    """Split ``NAME:REF`` into its parts (``REF`` defaults to ``latest``)."""
    name, _, ref = text.partition(":")
    if not name:
        raise CharterError(
            f"'{text}' does not name a model version",
            hint="write NAME:VERSION, e.g. credit-risk:3, credit-risk:production or "
            "credit-risk:champion",
        )
    return name, ref or "latest"


class Registry(Oversight):
    """The governed model registry.

    Open one with :meth:`open` (an existing registry) or :meth:`initialize` (a new one). Every
    method that changes state takes the acting user as ``actor`` (from :meth:`authenticate`);
    so does every read: a user from :meth:`authenticate`, or a trusted in-process caller's
    :meth:`Actor.system`.

    Parameters
    ----------
    engine
        A SQLAlchemy engine from :func:`charter.registry.database.create_registry_engine`,
        migrated to the current schema.
    artifact_store
        Where artifacts go; default ``$CHARTER_ARTIFACT_STORE``, else the store recorded at
        ``charter init``, else ``artifacts`` next to the SQLite file (or under CHARTER_HOME).
    checkpoint
        Called at named points inside transactions. Tests inject one to pause a process
        there; the default does nothing.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        artifact_store: ArtifactStore | str | None = None,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self.engine = engine
        self.store = Store(engine, checkpoint=checkpoint)
        self.audit_alg = self.store.audit_alg
        if isinstance(artifact_store, ArtifactStore):
            self.artifacts = artifact_store
        else:
            self.artifacts = ArtifactStore(
                artifact_store
                or os.environ.get(ARTIFACT_STORE_ENV)
                or self.store.meta.get("artifact_store")
                or database.default_artifact_store(engine)
            )
        self.identity = Identity(self.store)
        self.queries = Queries(self.store, self.artifacts)
        self.registration = Registration(self.store, self.artifacts)
        self.lifecycle = Lifecycle(self.store)
        self.stages = Stages(self.store)
        self.flags = Flags(self.store)
        self.trail = Trail(self.store)
        self.safeguards = Safeguards(self.store)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        home: str | Path | None = None,
        artifact_store: ArtifactStore | str | None = None,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> Registry:
        """Open an existing registry, applying pending migrations.

        Raises
        ------
        NotFoundError
            There is no registry at the URL (run ``charter init``).
        """
        engine = database.open_engine(url, home=home)
        return cls(engine, artifact_store=artifact_store, checkpoint=checkpoint)

    @classmethod
    def initialize(
        cls,
        url: str | None = None,
        *,
        home: str | Path | None = None,
        admin: str = "admin",
        artifact_store: str | None = None,
    ) -> tuple[Registry, IssuedToken]:
        """Create the store, apply the migrations, create the first admin and its token.

        The audit trail is keyed (HMAC-SHA256) when ``CHARTER_AUDIT_KEY`` is set now.

        Returns
        -------
        (Registry, IssuedToken)
            The registry and the admin's token (shown once; only its hash is kept).
        """
        check_username(admin)
        store = artifact_store or os.environ.get(ARTIFACT_STORE_ENV)
        # everything that can be refused is checked before anything is created or committed
        artifacts = ArtifactStore(store) if store else None
        resolved = database.database_url(url, home=home)
        engine = database.create_registry_engine(resolved, create_folder=True)
        if database.current_revision(engine) != database.SCHEMA_REVISION:
            database.upgrade(engine)
        token = bootstrap(engine, admin, store, where=database.describe_url(resolved))
        return cls(engine, artifact_store=artifacts), token

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authenticate(self, token: str | None) -> Actor:
        """The user a token belongs to, with their roles (:meth:`Identity.authenticate`)."""
        return self.identity.authenticate(token)

    def actor_from_env(self) -> Actor:
        """The user of ``$CHARTER_TOKEN``."""
        return self.identity.actor_from_env()

    def add_user(
        self, username: str, roles: Iterable[Role | str], *, actor: Actor, label: str | None = None
    ) -> IssuedToken:
        """Create a user with ``roles`` and a first token (returned; shown once)."""
        return self.identity.add_user(username, roles, actor=actor, label=label)

    def grant(self, username: str, roles: Iterable[Role | str], *, actor: Actor) -> list[str]:
        """Give ``username`` additional roles; returns the roles they now hold."""
        return self.identity.grant(username, roles, actor=actor)

    def revoke_role(self, username: str, role: Role | str, *, actor: Actor) -> list[str]:
        """Take ``role`` away from ``username``; returns the roles they still hold."""
        return self.identity.revoke_role(username, role, actor=actor)

    def disable_user(self, username: str, *, actor: Actor) -> None:
        """Disable a user: their tokens stop working; their history stays."""
        self.identity.disable_user(username, actor=actor)

    def list_users(self, *, actor: Actor) -> list[UserInfo]:
        """Every user with their roles."""
        return self.identity.list_users(actor=actor)

    def create_token(
        self,
        *,
        actor: Actor,
        username: str | None = None,
        label: str | None = None,
        expires_days: int | None = None,
    ) -> IssuedToken:
        """A new token for the actor, or (admins) for ``username``. Shown once, kept hashed."""
        return self.identity.create_token(
            actor=actor, username=username, label=label, expires_days=expires_days
        )

    def revoke_token(self, token_id: int, *, actor: Actor) -> None:
        """Revoke a token by its id (one's own; admins: anyone's)."""
        self.identity.revoke_token(token_id, actor=actor)

    def list_tokens(self, *, actor: Actor, username: str | None = None) -> list[TokenInfo]:
        """Tokens (prefix, label, dates), newest first: one's own, or (admins) anyone's."""
        return self.identity.list_tokens(actor=actor, username=username)

    def register(
        self,
        name: str,
        *,
        model: str | Path,
        evidence: str | Path | Evidence,
        actor: Actor,
        policy: str | Path | None = None,
        train_data: str | Path | None = None,
        params: Mapping[str, Any] | None = None,
        trusted_types: Sequence[str] | None = None,
        source_dir: str | Path | None = None,
        description: str | None = None,
        report: str | Path | None = None,
        extra_lineage: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Register a new version of ``name`` (parameters: :meth:`Registration.register`)."""
        return self.registration.register(
            name,
            model=model,
            evidence=evidence,
            actor=actor,
            policy=policy,
            train_data=train_data,
            params=params,
            trusted_types=trusted_types,
            source_dir=source_dir,
            description=description,
            report=report,
            extra_lineage=extra_lineage,
        )

    def attach_evidence(
        self,
        name: str,
        ref: str | int,
        evidence: str | Path | Evidence,
        *,
        actor: Actor,
        report: str | Path | None = None,
    ) -> ModelVersion:
        """Replace a version's gate evidence (e.g. after re-checking with more data).

        Approvals given on the old evidence are withdrawn; pending requests whose stage the new
        evidence fails are refused.
        """
        return self.registration.attach_evidence(name, ref, evidence, actor=actor, report=report)

    def record_monitoring(
        self, name: str, version: str | int, evidence: Evidence, *, actor: Actor
    ) -> int:
        """Store monitoring evidence for a version and audit it; returns its id."""
        return self.registration.record_monitoring(name, version, evidence, actor=actor)

    def get_version(self, name: str, ref: str | int = "latest", *, actor: Actor) -> ModelVersion:
        """One version of ``name``: ``ref`` is a number, a stage, an alias, or ``latest``."""
        return self.queries.get_version(name, ref, actor=actor)

    def list_versions(
        self,
        name: str,
        *,
        actor: Actor,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[ModelVersion]:
        """Every version of ``name``, oldest first (numbers above ``after``, at most ``limit``)."""
        return self.queries.list_versions(name, actor=actor, after=after, limit=limit)

    def list_models(self, *, actor: Actor) -> list[ModelSummary]:
        """Every model with its version count, latest, production and staging versions."""
        return self.queries.list_models(actor=actor)

    def evidence(self, name: str, ref: str | int = "latest", *, actor: Actor) -> Evidence:
        """The current gate evidence of a version, checked against its stored digest."""
        return self.queries.evidence(name, ref, actor=actor)

    def monitoring_evidence(
        self, name: str, ref: str | int = "latest", *, actor: Actor
    ) -> list[Evidence]:
        """Monitoring evidence recorded for a version, oldest first."""
        return self.queries.monitoring_evidence(name, ref, actor=actor)

    def history(self, name: str, ref: str | int, *, actor: Actor) -> list[TransitionInfo]:
        """The stage changes of a version, oldest first."""
        return self.queries.history(name, ref, actor=actor)

    def reference_profile(
        self, name: str, version: str | int, *, actor: Actor
    ) -> dict[str, Any] | None:
        """The reference profile of the training data kept at registration, if any."""
        return self.queries.reference_profile(name, version, actor=actor)

    def policy(self, name: str, ref: str | int, *, actor: Actor) -> Policy:
        """The policy a version is governed by, validated again and checked against its hash."""
        return self.queries.policy(name, ref, actor=actor)

    def download(self, name: str, ref: str | int, destination: str | Path, *, actor: Actor) -> Path:
        """Copy a version's artifact to ``destination`` (hash checked on the way)."""
        return self.queries.download(name, ref, destination, actor=actor)

    def load_model(self, name: str, ref: str | int = "production", *, actor: Actor) -> Any:
        """Load a version's model: hash checked, skops types as recorded at registration."""
        return self.queries.load_model(name, ref, actor=actor)

    def get_request(self, request_id: int, *, actor: Actor) -> RequestInfo:
        """One promotion request with its approvals."""
        return self.queries.get_request(request_id, actor=actor)

    def list_requests(
        self,
        *,
        actor: Actor,
        status: str | None = "pending",
        model: str | None = None,
    ) -> list[RequestInfo]:
        """Promotion requests (default: those waiting), oldest first."""
        return self.queries.list_requests(actor=actor, status=status, model=model)

    def production_history(
        self, name: str, *, actor: Actor, limit: int | None = None
    ) -> list[ProductionSpell]:
        """Which version was live in production from when to when, newest first."""
        return self.queries.production_history(name, actor=actor, limit=limit)

    def model_overview(self, name: str, *, actor: Actor) -> tuple[ModelSummary, int]:
        """One model's summary and how many production spells it had."""
        return self.queries.model_overview(name, actor=actor)

    def version_page(
        self, name: str, *, actor: Actor, before: int | None = None, limit: int = 50
    ) -> list[VersionRow]:
        """A page of ``name``'s versions, newest first, numbered below ``before``."""
        return self.queries.version_page(name, actor=actor, before=before, limit=limit)

    def aliases(self, name: str, *, actor: Actor) -> dict[str, int]:
        """``name``'s aliases and the version number each points at."""
        return self.queries.aliases(name, actor=actor)

    def recent_decisions(self, *, actor: Actor, limit: int = 10) -> list[RequestInfo]:
        """The requests decided last, newest first."""
        return self.queries.recent_decisions(actor=actor, limit=limit)

    def pending_overview(self, *, actor: Actor) -> list[tuple[RequestInfo, VersionRow]]:
        """Every pending request, oldest first, with a listing row of its version."""
        return self.queries.pending_overview(actor=actor)

    def version_requests(self, name: str, ref: str | int, *, actor: Actor) -> list[RequestInfo]:
        """Every promotion request of one version, oldest first."""
        return self.queries.version_requests(name, ref, actor=actor)

    def request_promotion(
        self, name: str, ref: str | int, to_stage: str, *, actor: Actor, note: str | None = None
    ) -> RequestInfo:
        """Ask to move a version to ``to_stage``; completes at once when no approval is needed.

        Raises
        ------
        GateFailedError
            The evidence fails the policy's rules for the stage, or the tier forbids promotion;
            the refused request is recorded and audited.
        PolicyError
            The stored policy no longer validates (nothing is stored).
        """
        return self.lifecycle.request_promotion(name, ref, to_stage, actor=actor, note=note)

    def approve(self, request_id: int, *, actor: Actor, comment: str | None = None) -> RequestInfo:
        """Approve a pending request; the last approval needed completes the promotion.

        The approver must hold the approver role (and the policy's ``approvals.approver_role``)
        and must not be the requester. Refusals are audited.
        """
        return self.lifecycle.approve(request_id, actor=actor, comment=comment)

    def reject(self, request_id: int, *, actor: Actor, reason: str) -> RequestInfo:
        """Reject a pending request, with a reason."""
        return self.lifecycle.reject(request_id, actor=actor, reason=reason)

    def request_rollback(self, name: str, *, actor: Actor, note: str | None = None) -> RequestInfo:
        """Ask to put the previous production version back (its own request, audited)."""
        return self.lifecycle.request_rollback(name, actor=actor, note=note)

    def archive(
        self, name: str, ref: str | int, *, actor: Actor, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version (taking it out of production or staging)."""
        return self.stages.archive(name, ref, actor=actor, reason=reason)

    def set_alias(self, name: str, alias: str, ref: str | int, *, actor: Actor) -> ModelVersion:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        return self.stages.set_alias(name, alias, ref, actor=actor)

    def remove_alias(self, name: str, alias: str, *, actor: Actor) -> None:
        """Remove an alias."""
        self.stages.remove_alias(name, alias, actor=actor)

    def flag_version(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Actor
    ) -> None:
        """Raise a flag such as ``needs-review`` on a version (audited)."""
        self.flags.flag_version(name, version, flag, reason, actor=actor)

    def resolve_flag(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Actor
    ) -> list[FlagInfo]:
        """Resolve the open flags named ``flag`` on a version, with a reason (audited).

        See :meth:`charter.registry.flags.Flags.resolve_flag`.
        """
        return self.flags.resolve_flag(name, version, flag, reason, actor=actor)
