"""The registry's service layer: the one place every door goes through.

The CLI, the Python API and the HTTP service all call :class:`Registry`. Each state-changing
method runs in one database transaction that

1. locks the audit head (serialising writers across processes),
2. checks the acting user's roles against :data:`charter.registry.roles.PERMISSIONS`,
3. changes state and appends the audit entries describing the change,
4. commits — or rolls back everything, entries included.

A refused action (missing role, separation of duties) rolls the action back and commits one
``access.denied`` entry in its own transaction before raising
:class:`~charter.errors.PermissionDeniedError`. A refused promotion (evidence fails the policy,
unacceptable risk) commits the refused request and its entry, then raises
:class:`~charter.errors.GateFailedError`. Bad input raises before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.artifact_store import ARTIFACT_STORE_ENV, ArtifactStore
from charter.audit.chain import (
    ALG_HMAC,
    ALG_SHA256,
    AuditEntry,
    ChainWriter,
    audit_key,
    initialise_head,
    require_key,
)
from charter.errors import (
    AuthenticationError,
    CharterError,
    ConflictError,
    GateFailedError,
    NotFoundError,
    PermissionDeniedError,
    PolicyError,
    did_you_mean,
)
from charter.evidence import Evidence, sha256_bytes
from charter.policy.schema import Policy
from charter.registry import database, listings, tables
from charter.registry.listings import ProductionSpell, TokenInfo, VersionRow
from charter.registry.promotion import (
    NEEDS_REVIEW,
    PROMOTABLE_STAGES,
    STAGES,
    GateOutcome,
    evaluate_evidence,
    required_approvals,
)
from charter.registry.records import (
    Actor,
    ApprovalInfo,
    EvidenceInfo,
    FlagInfo,
    IssuedToken,
    ModelSummary,
    ModelVersion,
    RequestInfo,
    TransitionInfo,
    UserInfo,
)
from charter.registry.roles import (
    Action,
    Role,
    denial_message,
    permitted,
    role_to_grant,
    roles_for,
)
from charter.registry.tables import utcnow

TOKEN_ENV = "CHARTER_TOKEN"
#: Test hook: the name of a pause point at which the service sleeps inside its transaction.
PAUSE_ENV = "CHARTER_PAUSE_AT"
PAUSE_SECONDS_ENV = "CHARTER_PAUSE_SECONDS"
PAUSE_MARKER_ENV = "CHARTER_PAUSE_MARKER"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,255}$")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,127}$")
_TOKEN_PREFIX = "charter_"


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


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _pause(point: str) -> None:
    """Sleep at ``point`` when ``CHARTER_PAUSE_AT`` names it (tests kill or race us here)."""
    if os.environ.get(PAUSE_ENV) != point:
        return
    marker = os.environ.get(PAUSE_MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV, "3600")))


class _DeniedError(Exception):
    """Raised inside a write transaction to refuse the action and audit the refusal."""

    def __init__(
        self, message: str, hint: str, subject: str, model: str | None, details: dict[str, Any]
    ):
        super().__init__(message)
        self.message, self.hint, self.subject, self.model = message, hint, subject, model
        self.details = details


@dataclass
class _Tx:
    """One write transaction: the ORM session, the chain writer, the acting user."""

    session: Session
    chain: ChainWriter
    actor: str
    raise_after_commit: CharterError | None = None
    entries: list[AuditEntry] = field(default_factory=list)

    def audit(
        self,
        action: str,
        subject: str,
        *,
        model: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        entry = self.chain.append(
            actor=self.actor, action=action, subject=subject, model=model, details=details
        )
        self.entries.append(entry)
        return entry


class Registry:
    """The governed model registry.

    Open one with :meth:`open` (an existing registry) or :meth:`initialize` (a new one). Every
    method that changes state takes the acting user as ``actor`` (from :meth:`authenticate`);
    read methods accept one too and check it when given.

    Parameters
    ----------
    engine
        A SQLAlchemy engine from :func:`charter.registry.database.create_registry_engine`,
        migrated to the current schema.
    artifact_store
        Where artifacts go; default ``$CHARTER_ARTIFACT_STORE``, else the store recorded at
        ``charter init``, else ``artifacts`` next to the SQLite file (or under CHARTER_HOME).
    """

    def __init__(
        self, engine: Engine, *, artifact_store: ArtifactStore | str | None = None
    ) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{database.READ_ONLY: True})
        meta = self._meta()
        self.audit_alg = meta.get("audit_alg", ALG_SHA256)
        if isinstance(artifact_store, ArtifactStore):
            self.artifacts = artifact_store
        else:
            self.artifacts = ArtifactStore(
                artifact_store
                or os.environ.get(ARTIFACT_STORE_ENV)
                or meta.get("artifact_store")
                or _default_store(engine)
            )

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        home: str | Path | None = None,
        artifact_store: ArtifactStore | str | None = None,
    ) -> Registry:
        """Open an existing registry, applying pending migrations.

        Raises
        ------
        NotFoundError
            There is no registry at the URL (run ``charter init``).
        """
        resolved = database.database_url(url, home=home)
        _require_sqlite_file(resolved)
        engine = database.create_registry_engine(resolved)
        revision = database.current_revision(engine)
        if revision is None:
            engine.dispose()
            raise NotFoundError(
                f"no Charter registry at {database.describe_url(resolved)}",
                hint="run `charter init` to create one, or set CHARTER_HOME / "
                "CHARTER_DATABASE_URL to where it lives",
            )
        if revision != database.SCHEMA_REVISION:
            database.upgrade(engine)
        return cls(engine, artifact_store=artifact_store)

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
        _check_username(admin)
        resolved = database.database_url(url, home=home)
        engine = database.create_registry_engine(resolved, create_folder=True)
        if database.current_revision(engine) != database.SCHEMA_REVISION:
            database.upgrade(engine)
        alg = ALG_HMAC if audit_key() is not None else ALG_SHA256
        store = artifact_store or os.environ.get(ARTIFACT_STORE_ENV)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            connection = session.connection()
            if session.scalar(select(func.count()).select_from(tables.User)):
                raise ConflictError(
                    f"a registry already exists at {database.describe_url(resolved)}",
                    hint="use it (set CHARTER_TOKEN to your token), or point CHARTER_HOME / "
                    "CHARTER_DATABASE_URL somewhere else",
                )
            initialise_head(connection)
            chain = ChainWriter(connection, alg=alg, key=require_key(alg))
            tx = _Tx(session, chain, actor=admin)
            session.add(tables.Meta(key="audit_alg", value=alg))
            session.add(tables.Meta(key="created_at", value=utcnow().isoformat()))
            if store:
                session.add(tables.Meta(key="artifact_store", value=str(store)))
            tx.audit(
                "registry.init",
                "registry",
                details={
                    "audit_alg": alg,
                    "artifact_store": store,
                    "schema": database.SCHEMA_REVISION,
                },
            )
            user = tables.User(username=admin, created_by=None)
            session.add(user)
            session.flush()
            session.add(tables.UserRole(user_id=user.id, role=Role.ADMIN.value))
            tx.audit("user.add", f"user:{admin}", details={"roles": [Role.ADMIN.value]})
            token = _issue_token(tx, user, label="init")
        return cls(engine, artifact_store=artifact_store), token

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _meta(self) -> dict[str, str]:
        with Session(self._reader) as session:
            return {m.key: m.value for m in session.scalars(select(tables.Meta))}

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _write(
        self,
        actor: Actor,
        action: Action,
        subject: str,
        *,
        model: str | None = None,
    ) -> Iterator[_Tx]:
        """A write transaction, authorised for ``action`` and audited.

        ``_DeniedError`` raised inside rolls the work back and commits an ``access.denied`` entry;
        ``tx.raise_after_commit`` is raised once the transaction has committed.
        """
        key = require_key(self.audit_alg)
        tx: _Tx | None = None
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                chain = ChainWriter(session.connection(), alg=self.audit_alg, key=key)
                tx = _Tx(session, chain, actor=actor.username)
                roles = _roles_of(session, actor.username)
                if not permitted(roles, action):
                    raise _DeniedError(
                        denial_message(actor.username, roles, action),
                        f"ask an admin to grant the role: charter user grant {actor.username} "
                        f"--role {role_to_grant(action)}",
                        subject,
                        model,
                        {
                            "attempted": action.value,
                            "roles": sorted(roles),
                            "needs": roles_for(action),
                        },
                    )
                yield tx
        except _DeniedError as denied:
            self._audit_denial(actor, denied)
            raise PermissionDeniedError(denied.message, hint=denied.hint) from None
        if tx is not None and tx.raise_after_commit is not None:
            raise tx.raise_after_commit

    def _audit_denial(self, actor: Actor, denied: _DeniedError) -> None:
        key = require_key(self.audit_alg)
        with Session(self.engine) as session, session.begin():
            chain = ChainWriter(session.connection(), alg=self.audit_alg, key=key)
            chain.append(
                actor=actor.username,
                action="access.denied",
                subject=denied.subject,
                model=denied.model,
                details={**denied.details, "reason": denied.message},
            )

    def _require(
        self, actor: Actor, action: Action, subject: str, *, model: str | None = None
    ) -> None:
        """Refuse (and audit) early, before expensive work, when ``actor`` may not ``action``."""
        with self._read() as session:
            roles = _roles_of(session, actor.username)
        if permitted(roles, action):
            return
        denied = _DeniedError(
            denial_message(actor.username, roles, action),
            f"ask an admin to grant the role: charter user grant {actor.username} "
            f"--role {role_to_grant(action)}",
            subject,
            model,
            {"attempted": action.value, "roles": sorted(roles), "needs": roles_for(action)},
        )
        self._audit_denial(actor, denied)
        raise PermissionDeniedError(denied.message, hint=denied.hint)

    # ------------------------------------------------------------------ identity
    def authenticate(self, token: str | None) -> Actor:
        """The user a token belongs to, with their roles.

        Raises
        ------
        AuthenticationError
            No token, an unknown, revoked or expired token, or a disabled user.
        """
        if not token:
            raise AuthenticationError(
                "no token given: the registry needs to know who is acting",
                hint=f"export {TOKEN_ENV}=<your token> (an admin creates one with "
                "`charter user add` or `charter token create --user NAME`)",
            )
        with self._read() as session:
            row = session.execute(
                select(tables.Token, tables.User)
                .join(tables.User, tables.User.id == tables.Token.user_id)
                .where(tables.Token.token_sha256 == _hash_token(token.strip()))
            ).first()
            if row is None:
                raise AuthenticationError(
                    "the token is not known to this registry",
                    hint=f"check {TOKEN_ENV} (copy the whole token, it starts with "
                    f"'{_TOKEN_PREFIX}') and that CHARTER_HOME / CHARTER_DATABASE_URL name the "
                    "registry that issued it",
                )
            token_row, user = row
            if token_row.revoked_at is not None:
                raise AuthenticationError(
                    f"this token of {user.username} was revoked",
                    hint="create a new one with `charter token create` (or ask an admin)",
                )
            if token_row.expires_at is not None and token_row.expires_at <= utcnow():
                raise AuthenticationError(
                    f"this token of {user.username} expired on {token_row.expires_at:%Y-%m-%d}",
                    hint="create a new one with `charter token create` (or ask an admin)",
                )
            if user.disabled:
                raise AuthenticationError(
                    f"user {user.username} is disabled", hint="ask an admin to re-enable the user"
                )
            roles = _roles_of(session, user.username)
        return Actor(username=user.username, roles=frozenset(roles))

    def actor_from_env(self) -> Actor:
        """The user of ``$CHARTER_TOKEN``."""
        return self.authenticate(os.environ.get(TOKEN_ENV))

    def add_user(
        self, username: str, roles: Iterable[Role | str], *, actor: Actor, label: str | None = None
    ) -> IssuedToken:
        """Create a user with ``roles`` and a first token (returned; shown once)."""
        _check_username(username)
        wanted = sorted({Role(r).value for r in roles})
        if not wanted:
            raise CharterError(
                "a user needs at least one role",
                hint="pass --role, e.g. --role approver; roles: "
                + ", ".join(r.value for r in Role),
            )
        with self._write(actor, Action.USER_ADD, f"user:{username}") as tx:
            if tx.session.scalar(select(tables.User).where(tables.User.username == username)):
                raise ConflictError(
                    f"user {username} already exists",
                    hint=f"grant roles with `charter user grant {username} --role ...`",
                )
            user = tables.User(username=username, created_by=actor.username)
            tx.session.add(user)
            tx.session.flush()
            for role in wanted:
                tx.session.add(tables.UserRole(user_id=user.id, role=role))
            tx.audit("user.add", f"user:{username}", details={"roles": wanted})
            return _issue_token(tx, user, label=label)

    def grant(self, username: str, roles: Iterable[Role | str], *, actor: Actor) -> list[str]:
        """Give ``username`` additional roles; returns the roles they now hold."""
        wanted = {Role(r).value for r in roles}
        with self._write(actor, Action.USER_GRANT, f"user:{username}") as tx:
            user = _user(tx.session, username)
            held = set(_roles_of(tx.session, username))
            for role in sorted(wanted - held):
                tx.session.add(tables.UserRole(user_id=user.id, role=role))
            now = sorted(held | wanted)
            tx.audit(
                "user.grant",
                f"user:{username}",
                details={"added": sorted(wanted - held), "roles": now},
            )
            return now

    def revoke_role(self, username: str, role: Role | str, *, actor: Actor) -> list[str]:
        """Take ``role`` away from ``username``; returns the roles they still hold."""
        role_value = Role(role).value
        with self._write(actor, Action.USER_GRANT, f"user:{username}") as tx:
            user = _user(tx.session, username)
            row = tx.session.get(tables.UserRole, (user.id, role_value))
            if row is None:
                raise ConflictError(f"{username} does not hold the role {role_value}")
            held = sorted(set(_roles_of(tx.session, username)) - {role_value})
            if role_value == Role.ADMIN.value and not _other_admins(tx.session, username):
                raise ConflictError(
                    f"{username} is the last admin", hint="grant another user admin first"
                )
            tx.session.delete(row)
            tx.audit(
                "user.revoke", f"user:{username}", details={"removed": role_value, "roles": held}
            )
            return held

    def disable_user(self, username: str, *, actor: Actor) -> None:
        """Disable a user: their tokens stop working; their history stays."""
        with self._write(actor, Action.USER_DISABLE, f"user:{username}") as tx:
            user = _user(tx.session, username)
            if Role.ADMIN.value in _roles_of(tx.session, username) and not _other_admins(
                tx.session, username
            ):
                raise ConflictError(f"{username} is the last admin", hint="add another admin first")
            user.disabled = True
            tx.audit("user.disable", f"user:{username}")

    def list_users(self, *, actor: Actor) -> list[UserInfo]:
        """Every user with their roles."""
        self._require(actor, Action.USER_LIST, "users")
        with self._read() as session:
            users = session.scalars(select(tables.User).order_by(tables.User.username)).all()
            return [
                UserInfo(
                    username=u.username,
                    roles=_roles_of(session, u.username),
                    created_at=u.created_at,
                    created_by=u.created_by,
                    disabled=u.disabled,
                )
                for u in users
            ]

    def create_token(
        self,
        *,
        actor: Actor,
        username: str | None = None,
        label: str | None = None,
        expires_days: int | None = None,
    ) -> IssuedToken:
        """A new token for the actor, or (admins) for ``username``. Shown once, kept hashed."""
        target = username or actor.username
        action = Action.TOKEN_CREATE if target == actor.username else Action.TOKEN_MANAGE
        if expires_days is not None and expires_days <= 0:
            raise CharterError("--expires-days must be positive", hint="e.g. --expires-days 90")
        with self._write(actor, action, f"user:{target}") as tx:
            user = _user(tx.session, target)
            expires = utcnow() + timedelta(days=expires_days) if expires_days else None
            return _issue_token(tx, user, label=label, expires_at=expires)

    def revoke_token(self, token_id: int, *, actor: Actor) -> None:
        """Revoke a token by its id (one's own; admins: anyone's)."""
        with self._read() as session:
            row = session.execute(
                select(tables.Token.user_id, tables.User.username)
                .join(tables.User, tables.User.id == tables.Token.user_id)
                .where(tables.Token.id == token_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no token with id {token_id}", hint="`charter whoami` lists yours")
        owner = str(row[1])
        action = Action.TOKEN_CREATE if owner == actor.username else Action.TOKEN_MANAGE
        with self._write(actor, action, f"user:{owner}") as tx:
            token = tx.session.get(tables.Token, token_id)
            assert token is not None
            if token.revoked_at is None:
                token.revoked_at = utcnow()
                tx.audit(
                    "token.revoke",
                    f"user:{owner}",
                    details={"token_id": token_id, "prefix": token.prefix},
                )

    # ------------------------------------------------------------------ versions
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
        """Register a new version of ``name``.

        Parameters
        ----------
        name
            The model's registry name; must equal the evidence's (the policy's ``model.name``).
        model
            The artifact file (``.skops``; pickle/joblib are recorded and load only by hash).
        evidence
            The gate's evidence: a folder holding ``evidence.json`` (and ``report.html``), the
            file itself, or an :class:`Evidence`.
        actor
            Who registers (role data_scientist or ml_engineer).
        policy
            The policy file the evidence was produced under; default: the path recorded in
            the evidence. Its hash must equal the evidence's.
        train_data
            Training data file: fingerprinted, and profiled as the monitoring reference
            together with the model's outputs on it (score and prediction, see
            :func:`charter.lineage.reference_profile`).
        params
            Free parameters to record (hyper-parameters, notes).
        trusted_types
            skops types the registrant vouches for beyond Charter's reviewed allow-list
            (:data:`charter.artifacts.DEFAULT_TRUSTED_TYPES`). The registry records the types the
            file needs and loads it with exactly those.
        source_dir
            Folder whose git state is recorded (default: the working directory).
        report
            The HTML report to keep with the evidence (default: ``report.html`` beside it).
        extra_lineage
            More lineage to record (e.g. the MLflow source of the artifact).

        Raises
        ------
        CharterError
            Bad input — nothing is stored.
        PermissionDeniedError
            The actor may not register (audited).
        """
        _check_name(name)
        self._require(actor, Action.MODEL_REGISTER, f"model:{name}", model=name)
        bundle, report_path = _read_evidence(evidence, report)
        if bundle.model_name != name:
            raise CharterError(
                f"the evidence is for model '{bundle.model_name}', not '{name}'",
                hint=f"register it as '{bundle.model_name}', or set model.name: {name} in the "
                "policy and run `charter check` again",
            )
        policy_doc, validated_policy = _policy_for(bundle, policy)
        policy_sha = validated_policy.sha256 or ""
        artifact = Path(model)
        if not artifact.is_file():
            raise NotFoundError(
                f"no model artifact at {artifact}", hint="check the path of --model"
            )
        artifact_format = artifact.suffix.lstrip(".").lower() or "unknown"
        artifact_sha = _sha256_path(artifact)
        fingerprint = bundle.inputs.get("model")
        if fingerprint is not None and fingerprint.sha256 != artifact_sha:
            raise CharterError(
                f"the evidence was produced for a different model artifact "
                f"(sha256 {fingerprint.sha256[:12]}…), not {artifact} ({artifact_sha[:12]}…)",
                hint="run `charter check` on this model file, or register the model that was "
                "checked",
            )
        trusted = _trusted_types(artifact, trusted_types)

        from charter import lineage as lineage_mod

        data_fingerprints: dict[str, Any] = {}
        profile: dict[str, Any] | None = None
        if train_data is not None:
            data_fingerprints["train"] = lineage_mod.data_fingerprint(train_data, kind="train")
            profile = lineage_mod.reference_profile(
                train_data,
                model=_load_for_profile(artifact, trusted, artifact_sha),
                policy=validated_policy,
                bins=validated_policy.monitoring.bins,
                kinds={
                    column: settings.kind
                    for column, settings in validated_policy.monitoring.per_column.items()
                    if settings.kind
                },
            )
        for key, value in bundle.inputs.items():
            if key != "model":
                data_fingerprints.setdefault(key, value.model_dump(mode="json"))
        lineage: dict[str, Any] = {
            "git": lineage_mod.git_info(source_dir or Path.cwd()),
            "data": data_fingerprints,
            "environment": lineage_mod.environment(),
            "evidence_environment": bundle.environment,
            "model_file": str(artifact),
        }
        if extra_lineage:
            lineage.update(dict(extra_lineage))

        stored = self.artifacts.put_file(artifact)
        report_sha = (
            self.artifacts.put_bytes(report_path.read_bytes()).sha256 if report_path else None
        )
        body = bundle.to_json(indent=None)
        with self._write(actor, Action.MODEL_REGISTER, f"model:{name}", model=name) as tx:
            model_row = tx.session.scalar(
                select(tables.RegisteredModel).where(tables.RegisteredModel.name == name)
            )
            if model_row is None:
                model_row = tables.RegisteredModel(name=name, created_by=actor.username)
                tx.session.add(model_row)
                tx.session.flush()
                tx.audit("model.create", f"model:{name}", model=name)
            number = (
                tx.session.scalar(
                    select(func.max(tables.Version.number)).where(
                        tables.Version.model_id == model_row.id
                    )
                )
                or 0
            ) + 1
            version = tables.Version(
                model_id=model_row.id,
                number=number,
                stage=None,
                artifact_sha256=stored.sha256,
                artifact_format=artifact_format,
                artifact_size=stored.size,
                artifact_uri=stored.uri,
                trusted_types=trusted,
                lineage=lineage,
                params=dict(params or {}),
                policy=policy_doc,
                policy_sha256=policy_sha,
                reference_profile=profile,
                description=description,
                created_by=actor.username,
            )
            tx.session.add(version)
            tx.session.flush()
            record = _evidence_record(version, bundle, body, "gate", actor, report_sha)
            tx.session.add(record)
            tx.session.flush()
            version.evidence_id = record.id
            git = lineage.get("git") or {}
            tx.audit(
                "version.register",
                f"model:{name}/{number}",
                model=name,
                details={
                    "version": number,
                    "artifact_sha256": stored.sha256,
                    "artifact_format": artifact_format,
                    "trusted_types": trusted,
                    "policy_sha256": policy_sha,
                    "evidence_digest": record.digest,
                    "evidence_status": record.status,
                    "git_commit": git.get("commit"),
                    "git_dirty": git.get("dirty"),
                    "data": {k: v.get("sha256") for k, v in data_fingerprints.items()},
                    "params": dict(params or {}),
                },
            )
            version_id = version.id
        return self._version_by_id(version_id)

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
        bundle, report_path = _read_evidence(evidence, report)
        with self._read() as session:
            current = _find_version(session, name, ref)
            policy_sha, artifact_sha = current.policy_sha256, current.artifact_sha256
        if bundle.model_name != name:
            raise CharterError(
                f"the evidence is for model '{bundle.model_name}', not '{name}'",
                hint="attach evidence produced for this model",
            )
        if bundle.policy.sha256 != policy_sha:
            raise CharterError(
                f"the evidence was produced under policy {bundle.policy.sha256[:12]}…, not the "
                f"version's policy {policy_sha[:12]}…",
                hint="run `charter check` with the policy the version was registered with, or "
                "register a new version",
            )
        fingerprint = bundle.inputs.get("model")
        if fingerprint is not None and fingerprint.sha256 != artifact_sha:
            raise CharterError(
                "the evidence was produced for a different model artifact",
                hint="check the registered artifact (`charter download`) and attach its evidence",
            )
        self._require(actor, Action.EVIDENCE_ATTACH, f"model:{name}/{ref}", model=name)
        report_sha = (
            self.artifacts.put_bytes(report_path.read_bytes()).sha256 if report_path else None
        )
        body = bundle.to_json(indent=None)
        with self._write(actor, Action.EVIDENCE_ATTACH, f"model:{name}/{ref}", model=name) as tx:
            version = _find_version(tx.session, name, ref)
            subject = f"model:{name}/{version.number}"
            record = _evidence_record(version, bundle, body, "gate", actor, report_sha)
            tx.session.add(record)
            tx.session.flush()
            old = (
                tx.session.get(tables.EvidenceRecord, version.evidence_id)
                if version.evidence_id
                else None
            )
            version.evidence_id = record.id
            tx.audit(
                "evidence.attach",
                subject,
                model=name,
                details={
                    "version": version.number,
                    "evidence_digest": record.digest,
                    "previous_digest": old.digest if old else None,
                    "status": record.status,
                },
            )
            if old is None or old.digest != record.digest:
                self._on_evidence_change(tx, version, name, bundle, record.digest)
            version_id = version.id
        return self._version_by_id(version_id)

    def _on_evidence_change(
        self, tx: _Tx, version: tables.Version, name: str, bundle: Evidence, digest: str
    ) -> None:
        """Withdraw approvals given on other evidence; refuse requests the new one fails."""
        subject = f"model:{name}/{version.number}"
        pending = tx.session.scalars(
            select(tables.PromotionRequest).where(
                tables.PromotionRequest.version_id == version.id,
                tables.PromotionRequest.status == "pending",
            )
        ).all()
        policy = _validated_policy(version, name)
        for request in pending:
            for approval in tx.session.scalars(
                select(tables.Approval).where(
                    tables.Approval.request_id == request.id,
                    tables.Approval.withdrawn_at.is_(None),
                )
            ):
                approval.withdrawn_at = utcnow()
                approval.withdrawn_reason = "the version's evidence changed"
                tx.audit(
                    "approval.withdrawn",
                    subject,
                    model=name,
                    details={
                        "request": request.id,
                        "approver": approval.approver,
                        "approved_digest": approval.evidence_digest,
                        "new_digest": digest,
                    },
                )
            request.evidence_digest = digest
            outcome = evaluate_evidence(policy, bundle, request.to_stage)
            if not outcome.passed:
                _decide(request, "refused", tx.actor, "; ".join(outcome.problems))
                tx.audit(
                    "promotion.refused",
                    subject,
                    model=name,
                    details={
                        "request": request.id,
                        "to": request.to_stage,
                        "problems": outcome.problems,
                    },
                )

    def get_version(
        self, name: str, ref: str | int = "latest", *, actor: Actor | None = None
    ) -> ModelVersion:
        """One version of ``name``: ``ref`` is a number, a stage, an alias, or ``latest``."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            row = _find_version(session, name, ref)
            return _version_record(session, row, name)

    def _version_by_id(self, version_id: int) -> ModelVersion:
        with self._read() as session:
            row = session.get(tables.Version, version_id)
            assert row is not None
            model = session.get(tables.RegisteredModel, row.model_id)
            assert model is not None
            return _version_record(session, row, model.name)

    def list_versions(self, name: str, *, actor: Actor | None = None) -> list[ModelVersion]:
        """Every version of ``name``, oldest first."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}", model=name)
        with self._read() as session:
            model = _model(session, name)
            rows = session.scalars(
                select(tables.Version)
                .where(tables.Version.model_id == model.id)
                .order_by(tables.Version.number)
            ).all()
            return [_version_record(session, r, name) for r in rows]

    def list_models(self, *, actor: Actor | None = None) -> list[ModelSummary]:
        """Every model with its version count, latest, production and staging versions."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, "models")
        with self._read() as session:
            out = []
            for model in session.scalars(
                select(tables.RegisteredModel).order_by(tables.RegisteredModel.name)
            ):
                rows = session.execute(
                    select(tables.Version.number, tables.Version.stage).where(
                        tables.Version.model_id == model.id
                    )
                ).all()
                numbers = [int(r[0]) for r in rows]
                out.append(
                    ModelSummary(
                        name=model.name,
                        versions=len(numbers),
                        latest=max(numbers) if numbers else None,
                        production=next((int(r[0]) for r in rows if r[1] == "production"), None),
                        staging=sorted(int(r[0]) for r in rows if r[1] == "staging"),
                        created_at=model.created_at,
                        created_by=model.created_by,
                    )
                )
            return out

    def evidence(
        self, name: str, ref: str | int = "latest", *, actor: Actor | None = None
    ) -> Evidence:
        """The current gate evidence of a version, checked against its stored digest."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            row = _find_version(session, name, ref)
            return _load_evidence(session, row, name)

    def monitoring_evidence(
        self, name: str, ref: str | int = "latest", *, actor: Actor | None = None
    ) -> list[Evidence]:
        """Monitoring evidence recorded for a version, oldest first."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            row = _find_version(session, name, ref)
            records = session.scalars(
                select(tables.EvidenceRecord)
                .where(
                    tables.EvidenceRecord.version_id == row.id,
                    tables.EvidenceRecord.kind == "monitoring",
                )
                .order_by(tables.EvidenceRecord.id)
            ).all()
            return [_parse_record(r, f"{name}:{row.number}") for r in records]

    def history(
        self, name: str, ref: str | int, *, actor: Actor | None = None
    ) -> list[TransitionInfo]:
        """The stage changes of a version, oldest first."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            row = _find_version(session, name, ref)
            return [
                TransitionInfo(
                    from_stage=t.from_stage,
                    to_stage=t.to_stage,
                    actor=t.actor,
                    at=t.at,
                    request_id=t.request_id,
                )
                for t in session.scalars(
                    select(tables.StageTransition)
                    .where(tables.StageTransition.version_id == row.id)
                    .order_by(tables.StageTransition.id)
                )
            ]

    def reference_profile(
        self, name: str, version: str | int, *, actor: Actor | None = None
    ) -> dict[str, Any] | None:
        """The reference profile of the training data kept at registration, if any."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{version}", model=name)
        with self._read() as session:
            profile = _find_version(session, name, version).reference_profile
            return dict(profile) if profile is not None else None

    def policy(self, name: str, ref: str | int, *, actor: Actor | None = None) -> Policy:
        """The policy a version is governed by, validated again and checked against its hash.

        Raises
        ------
        PolicyError
            The stored policy no longer validates, or no longer hashes to the sha256 recorded
            at registration (the database was changed outside Charter).
        """
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            row = _find_version(session, name, ref)
            validated: Policy = _validated_policy(row, name)
            return validated

    def download(
        self, name: str, ref: str | int, destination: str | Path, *, actor: Actor | None = None
    ) -> Path:
        """Copy a version's artifact to ``destination`` (hash checked on the way)."""
        version = self.get_version(name, ref, actor=actor)
        target = Path(destination)
        if target.is_dir():
            target = target / f"{version.model}-{version.number}.{version.artifact_format}"
        return self.artifacts.fetch(version.artifact_sha256, target)

    def load_model(
        self, name: str, ref: str | int = "production", *, actor: Actor | None = None
    ) -> Any:
        """Load a version's model: hash checked, skops types as recorded at registration."""
        version = self.get_version(name, ref, actor=actor)
        path = self.artifacts.fetch_temporary(
            version.artifact_sha256, suffix=f".{version.artifact_format}"
        )
        try:
            from charter.artifacts import load_model

            return load_model(
                path, trusted_types=version.trusted_types, sha256=version.artifact_sha256
            )
        finally:
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ promotion
    def request_promotion(
        self,
        name: str,
        ref: str | int,
        to_stage: str,
        *,
        actor: Actor,
        note: str | None = None,
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
        if to_stage not in PROMOTABLE_STAGES:
            raise CharterError(
                f"cannot promote to '{to_stage}'",
                hint="promote to staging or production; `charter archive` archives a version",
            )
        subject = f"model:{name}/{ref}"
        with self._write(actor, Action.PROMOTION_REQUEST, subject, model=name) as tx:
            version = _find_version(tx.session, name, ref)
            subject = f"model:{name}/{version.number}"
            if version.stage == to_stage:
                raise ConflictError(
                    f"{name}:{version.number} is already in {to_stage}",
                    hint="nothing to do",
                )
            policy = _validated_policy(version, name)
            bundle, digest = _current_evidence(tx.session, version, name)
            needed = required_approvals(policy, to_stage)
            outcome = evaluate_evidence(policy, bundle, to_stage)
            request = tx.session.scalar(
                select(tables.PromotionRequest).where(
                    tables.PromotionRequest.version_id == version.id,
                    tables.PromotionRequest.to_stage == to_stage,
                    tables.PromotionRequest.status == "pending",
                )
            )
            problems = list(outcome.problems)
            if needed is None:
                problems.insert(
                    0,
                    f"risk tier '{policy.model.risk_tier.value}': the policy forbids deploying "
                    "this model",
                )
            review = (
                _review_problem(tx.session, version, name) if to_stage == "production" else None
            )
            if review is not None:
                problems.append(review)
            if problems:
                if request is None:
                    request = _open_request(
                        tx.session, version.id, to_stage, needed or 0, digest, actor.username, note
                    )
                _decide(request, "refused", actor.username, "; ".join(problems))
                tx.audit(
                    "promotion.refused",
                    subject,
                    model=name,
                    details={
                        "request": request.id,
                        "version": version.number,
                        "to": to_stage,
                        "evidence_digest": digest,
                        "problems": problems,
                    },
                )
                evidence_hint = (
                    "read the evidence report, mitigate, run `charter check` again and "
                    "attach the new evidence (`charter evidence attach`) or register a new version"
                )
                if review is None:
                    hint = evidence_hint
                elif len(problems) == 1:
                    hint = _resolve_hint(name, version.number)
                else:
                    hint = _resolve_hint(name, version.number) + "; and " + evidence_hint
                tx.raise_after_commit = GateFailedError(
                    f"promotion of {name}:{version.number} to {to_stage} refused: "
                    + "; ".join(problems),
                    hint=hint,
                )
                request_id = request.id
            else:
                if request is None:
                    request = _open_request(
                        tx.session, version.id, to_stage, needed or 0, digest, actor.username, note
                    )
                    tx.audit(
                        "promotion.requested",
                        subject,
                        model=name,
                        details={
                            "request": request.id,
                            "version": version.number,
                            "to": to_stage,
                            "from": version.stage,
                            "required_approvals": needed,
                            "evidence_digest": digest,
                            "rules_checked": outcome.rules,
                        },
                    )
                request_id = request.id
                if _valid_approvals(tx.session, request, digest) >= (needed or 0):
                    self._complete(tx, request, version, name, outcome)
        return self.get_request(request_id)

    def approve(self, request_id: int, *, actor: Actor, comment: str | None = None) -> RequestInfo:
        """Approve a pending request; the last approval needed completes the promotion.

        The approver must hold the approver role (and the policy's ``approvals.approver_role``)
        and must not be the requester. Refusals are audited.
        """
        with self._write(actor, Action.PROMOTION_APPROVE, f"request:{request_id}") as tx:
            request, version, name = _request(tx.session, request_id)
            subject = f"model:{name}/{version.number}"
            if request.status != "pending":
                raise ConflictError(
                    f"request {request_id} is {request.status}, not pending",
                    hint="`charter requests` lists the requests that wait",
                )
            if request.requested_by == actor.username:
                raise _DeniedError(
                    f"{actor.username} requested this promotion and may not approve it: "
                    "separation of duties needs another person holding the role approver",
                    "ask another approver to review it",
                    subject,
                    name,
                    {
                        "attempted": Action.PROMOTION_APPROVE.value,
                        "request": request_id,
                        "rule": "separation of duties",
                    },
                )
            policy = _validated_policy(version, name)
            role = policy.approvals.approver_role
            if role not in _roles_of(tx.session, actor.username):
                raise _DeniedError(
                    f"{actor.username} may not approve {name}: its policy requires approvals from "
                    f"the role {role}",
                    f"ask an admin to grant it: charter user grant {actor.username} --role {role}",
                    subject,
                    name,
                    {
                        "attempted": Action.PROMOTION_APPROVE.value,
                        "request": request_id,
                        "needs": [role],
                    },
                )
            bundle, digest = _current_evidence(tx.session, version, name)
            already = tx.session.scalar(
                select(tables.Approval).where(
                    tables.Approval.request_id == request.id,
                    tables.Approval.approver == actor.username,
                    tables.Approval.withdrawn_at.is_(None),
                )
            )
            if already is not None:
                raise ConflictError(
                    f"{actor.username} already approved request {request_id}",
                    hint="another approver must give the next approval",
                )
            tx.session.add(
                tables.Approval(
                    request_id=request.id,
                    approver=actor.username,
                    evidence_digest=digest,
                    comment=comment,
                )
            )
            tx.session.flush()
            count = _valid_approvals(tx.session, request, digest)
            tx.audit(
                "promotion.approved",
                subject,
                model=name,
                details={
                    "request": request.id,
                    "version": version.number,
                    "to": request.to_stage,
                    "evidence_digest": digest,
                    "approvals": count,
                    "required": request.required_approvals,
                    "comment": comment,
                },
            )
            if count >= request.required_approvals:
                outcome = evaluate_evidence(policy, bundle, request.to_stage)
                problems = list(outcome.problems)
                review = (
                    _review_problem(tx.session, version, name)
                    if request.to_stage == "production"
                    else None
                )
                if review is not None:
                    problems.append(review)
                if not problems:
                    self._complete(tx, request, version, name, outcome)
                else:
                    _decide(request, "refused", actor.username, "; ".join(problems))
                    tx.audit(
                        "promotion.refused",
                        subject,
                        model=name,
                        details={"request": request.id, "problems": problems},
                    )
                    hint = "attach evidence that passes the policy and request again"
                    if review is not None:
                        hint = (
                            _resolve_hint(name, version.number)
                            + ", then request again"
                            + ("; " + hint if outcome.problems else "")
                        )
                    tx.raise_after_commit = GateFailedError(
                        f"promotion of {name}:{version.number} refused: " + "; ".join(problems),
                        hint=hint,
                    )
        return self.get_request(request_id)

    def reject(self, request_id: int, *, actor: Actor, reason: str) -> RequestInfo:
        """Reject a pending request, with a reason."""
        if not reason or not reason.strip():
            raise CharterError("a rejection needs a reason", hint='pass --reason "..."')
        with self._write(actor, Action.PROMOTION_REJECT, f"request:{request_id}") as tx:
            request, version, name = _request(tx.session, request_id)
            if request.status != "pending":
                raise ConflictError(
                    f"request {request_id} is {request.status}, not pending",
                    hint="`charter requests` lists the requests that wait",
                )
            _decide(request, "rejected", actor.username, reason.strip())
            tx.audit(
                "promotion.rejected",
                f"model:{name}/{version.number}",
                model=name,
                details={"request": request.id, "to": request.to_stage, "reason": reason.strip()},
            )
        return self.get_request(request_id)

    def _complete(
        self,
        tx: _Tx,
        request: tables.PromotionRequest,
        version: tables.Version,
        name: str,
        outcome: GateOutcome,
    ) -> None:
        """Move the version; archive the previous production version. Inside ``tx``."""
        session = tx.session
        to_stage = request.to_stage
        now = utcnow()
        archived: int | None = None
        if to_stage == "production":
            previous = session.scalar(
                select(tables.Version).where(
                    tables.Version.model_id == version.model_id,
                    tables.Version.stage == "production",
                    tables.Version.id != version.id,
                )
            )
            if previous is not None:
                archived = previous.number
                session.add(
                    tables.StageTransition(
                        version_id=previous.id,
                        from_stage="production",
                        to_stage="archived",
                        request_id=request.id,
                        actor=tx.actor,
                        at=now,
                    )
                )
                previous.stage, previous.stage_changed_at = "archived", now
                session.flush()  # the unique production index must see the archive first
                tx.audit(
                    "version.archive",
                    f"model:{name}/{previous.number}",
                    model=name,
                    details={
                        "version": previous.number,
                        "from": "production",
                        "superseded_by": version.number,
                    },
                )
        _pause("promotion.before_stage_change")
        session.add(
            tables.StageTransition(
                version_id=version.id,
                from_stage=version.stage,
                to_stage=to_stage,
                request_id=request.id,
                actor=tx.actor,
                at=now,
            )
        )
        from_stage = version.stage
        version.stage, version.stage_changed_at = to_stage, now
        approvers = sorted(
            a.approver
            for a in session.scalars(
                select(tables.Approval).where(
                    tables.Approval.request_id == request.id,
                    tables.Approval.withdrawn_at.is_(None),
                )
            )
        )
        _decide(request, "completed", tx.actor, None)
        try:
            session.flush()
        except IntegrityError:
            raise ConflictError(
                f"another version of {name} became production at the same moment",
                hint="list the versions (`charter versions`) and promote again if still wanted",
            ) from None
        tx.audit(
            "promotion.completed",
            f"model:{name}/{version.number}",
            model=name,
            details={
                "request": request.id,
                "version": version.number,
                "from": from_stage,
                "to": to_stage,
                "requested_by": request.requested_by,
                "approvers": approvers,
                "required_approvals": request.required_approvals,
                "evidence_digest": request.evidence_digest,
                "rules_checked": outcome.rules,
                "archived": archived,
            },
        )
        _pause("promotion.before_commit")

    def get_request(self, request_id: int, *, actor: Actor | None = None) -> RequestInfo:
        """One promotion request with its approvals."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, f"request:{request_id}")
        with self._read() as session:
            request, version, name = _request(session, request_id)
            return _request_record(session, request, version, name)

    def list_requests(
        self,
        *,
        actor: Actor | None = None,
        status: str | None = "pending",
        model: str | None = None,
    ) -> list[RequestInfo]:
        """Promotion requests (default: those waiting), oldest first."""
        if actor is not None:
            self._require(actor, Action.VERSION_READ, "requests", model=model)
        with self._read() as session:
            query = _requests_query()
            if status is not None:
                query = query.where(tables.PromotionRequest.status == status)
            if model is not None:
                query = query.where(tables.RegisteredModel.name == model)
            return [_request_record(session, r, v, n) for r, v, n in session.execute(query).all()]

    # ------------------------------------------------------------------ listings
    def production_history(self, name: str, *, actor: Actor) -> list[ProductionSpell]:
        """Which version was live in production from when to when, newest first.

        Each :class:`~charter.registry.listings.ProductionSpell` names who requested and who
        approved the change that started it, and who ended it.
        """
        self._require(actor, Action.VERSION_READ, f"model:{name}", model=name)
        with self._read() as session:
            return listings.production_history(session, _model(session, name).id)

    def version_page(
        self, name: str, *, actor: Actor, before: int | None = None, limit: int = 50
    ) -> list[VersionRow]:
        """A page of ``name``'s versions, newest first, numbered below ``before``."""
        self._require(actor, Action.VERSION_READ, f"model:{name}", model=name)
        with self._read() as session:
            return listings.version_rows(
                session, _model(session, name).id, before=before, limit=limit
            )

    def aliases(self, name: str, *, actor: Actor) -> dict[str, int]:
        """``name``'s aliases and the version number each points at."""
        self._require(actor, Action.VERSION_READ, f"model:{name}", model=name)
        with self._read() as session:
            return listings.model_aliases(session, _model(session, name).id)

    def recent_decisions(self, *, actor: Actor, limit: int = 10) -> list[RequestInfo]:
        """The requests decided last (completed, rejected, refused, ...), newest first."""
        self._require(actor, Action.VERSION_READ, "requests")
        with self._read() as session:
            rows = session.execute(
                _requests_query()
                .where(tables.PromotionRequest.status != "pending")
                .order_by(None)
                .order_by(
                    tables.PromotionRequest.decided_at.desc(), tables.PromotionRequest.id.desc()
                )
                .limit(listings.page_size(limit))
            ).all()
            return [_request_record(session, r, v, n) for r, v, n in rows]

    def version_requests(self, name: str, ref: str | int, *, actor: Actor) -> list[RequestInfo]:
        """Every promotion request of one version, whatever its status, oldest first."""
        self._require(actor, Action.VERSION_READ, f"model:{name}/{ref}", model=name)
        with self._read() as session:
            version = _find_version(session, name, ref)
            rows = session.execute(
                _requests_query().where(tables.PromotionRequest.version_id == version.id)
            ).all()
            return [_request_record(session, r, v, n) for r, v, n in rows]

    def list_tokens(self, *, actor: Actor, username: str | None = None) -> list[TokenInfo]:
        """Tokens (prefix, label, dates), newest first: one's own, or (admins) anyone's."""
        own = username is not None and username == actor.username
        self._require(actor, Action.TOKEN_CREATE if own else Action.TOKEN_MANAGE, "tokens")
        with self._read() as session:
            return listings.tokens(session, username)

    def archive(
        self, name: str, ref: str | int, *, actor: Actor, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version (taking it out of production or staging)."""
        with self._write(actor, Action.VERSION_ARCHIVE, f"model:{name}/{ref}", model=name) as tx:
            version = _find_version(tx.session, name, ref)
            if version.stage == "archived":
                raise ConflictError(f"{name}:{version.number} is already archived")
            tx.session.add(
                tables.StageTransition(
                    version_id=version.id,
                    from_stage=version.stage,
                    to_stage="archived",
                    actor=actor.username,
                )
            )
            from_stage = version.stage
            version.stage, version.stage_changed_at = "archived", utcnow()
            tx.audit(
                "version.archive",
                f"model:{name}/{version.number}",
                model=name,
                details={"version": version.number, "from": from_stage, "reason": reason},
            )
            version_id = version.id
        return self._version_by_id(version_id)

    def set_alias(self, name: str, alias: str, ref: str | int, *, actor: Actor) -> ModelVersion:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        _check_alias(alias)
        with self._write(actor, Action.ALIAS_SET, f"model:{name}@{alias}", model=name) as tx:
            version = _find_version(tx.session, name, ref)
            row = tx.session.get(tables.Alias, (version.model_id, alias))
            previous = None
            if row is None:
                tx.session.add(
                    tables.Alias(
                        model_id=version.model_id,
                        alias=alias,
                        version_id=version.id,
                        updated_by=actor.username,
                    )
                )
            else:
                old = tx.session.get(tables.Version, row.version_id)
                previous = old.number if old else None
                row.version_id, row.updated_at, row.updated_by = (
                    version.id,
                    utcnow(),
                    actor.username,
                )
            tx.audit(
                "alias.set",
                f"model:{name}@{alias}",
                model=name,
                details={"alias": alias, "version": version.number, "previous": previous},
            )
            version_id = version.id
        return self._version_by_id(version_id)

    def remove_alias(self, name: str, alias: str, *, actor: Actor) -> None:
        """Remove an alias."""
        with self._write(actor, Action.ALIAS_SET, f"model:{name}@{alias}", model=name) as tx:
            model = _model(tx.session, name)
            row = tx.session.get(tables.Alias, (model.id, alias))
            if row is None:
                raise NotFoundError(
                    f"{name} has no alias '{alias}'",
                    hint=f"`charter versions {name}` shows its aliases",
                )
            old = tx.session.get(tables.Version, row.version_id)
            tx.session.delete(row)
            tx.audit(
                "alias.remove",
                f"model:{name}@{alias}",
                model=name,
                details={"alias": alias, "version": old.number if old else None},
            )

    # ------------------------------------------------------------------ monitoring
    def record_monitoring(
        self, name: str, version: str | int, evidence: Evidence, *, actor: Actor
    ) -> int:
        """Store monitoring evidence for a version and audit it; returns its id."""
        body = evidence.to_json(indent=None)
        with self._write(
            actor, Action.MONITORING_RECORD, f"model:{name}/{version}", model=name
        ) as tx:
            row = _find_version(tx.session, name, version)
            record = _evidence_record(row, evidence, body, "monitoring", actor, None)
            tx.session.add(record)
            tx.session.flush()
            tx.audit(
                "monitoring.record",
                f"model:{name}/{row.number}",
                model=name,
                details={
                    "version": row.number,
                    "evidence_id": record.id,
                    "evidence_digest": record.digest,
                    "status": record.status,
                    "summary": evidence.summary(),
                },
            )
            return record.id

    def flag_version(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Actor
    ) -> None:
        """Raise a flag such as ``needs-review`` on a version (audited)."""
        if not flag or not _NAME.match(flag):
            raise CharterError(
                f"'{flag}' is not a valid flag", hint="use a short word such as needs-review"
            )
        with self._write(actor, Action.VERSION_FLAG, f"model:{name}/{version}", model=name) as tx:
            row = _find_version(tx.session, name, version)
            tx.session.add(
                tables.Flag(version_id=row.id, flag=flag, reason=reason, created_by=actor.username)
            )
            tx.audit(
                "version.flag",
                f"model:{name}/{row.number}",
                model=name,
                details={"version": row.number, "flag": flag, "reason": reason},
            )

    def resolve_flag(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Actor
    ) -> list[FlagInfo]:
        """Resolve the open flags named ``flag`` on a version, with a reason (audited).

        The flags stay in the registry with who resolved them, when and why; a resolved
        ``needs-review`` flag no longer blocks promotion to production. Resolving needs the
        role approver or admin (:data:`~charter.registry.roles.PERMISSIONS`).

        Returns
        -------
        list of FlagInfo
            The flags just resolved.

        Raises
        ------
        CharterError
            No reason given (nothing is stored).
        NotFoundError
            The version carries no open flag of that name (nothing is stored).
        PermissionDeniedError
            The actor may not resolve flags (audited).
        """
        if not reason or not reason.strip():
            raise CharterError(
                "resolving a flag needs a reason",
                hint='pass --reason "..." saying what was reviewed and why the version may go on',
            )
        subject = f"model:{name}/{version}"
        with self._write(actor, Action.FLAG_RESOLVE, subject, model=name) as tx:
            row = _find_version(tx.session, name, version)
            rows = _open_flags(tx.session, row, flag)
            if not rows:
                open_names = sorted(
                    set(
                        tx.session.scalars(
                            select(tables.Flag.flag).where(
                                tables.Flag.version_id == row.id,
                                tables.Flag.resolved_at.is_(None),
                            )
                        )
                    )
                )
                raise NotFoundError(
                    f"{name}:{row.number} has no open flag '{flag}'",
                    hint=(
                        "its open flags: " + ", ".join(open_names)
                        if open_names
                        else "it has no open flags"
                    )
                    + f"; `charter show {name}:{row.number}` lists its flags",
                )
            now = utcnow()
            for item in rows:
                item.resolved_by, item.resolved_at = actor.username, now
                item.resolved_reason = reason.strip()
            tx.session.flush()
            tx.audit(
                "flag.resolve",
                f"model:{name}/{row.number}",
                model=name,
                details={
                    "version": row.number,
                    "flag": flag,
                    "flags": [item.id for item in rows],
                    "raised_by": sorted({item.created_by for item in rows}),
                    "reason": reason.strip(),
                },
            )
            return [_flag_info(item) for item in rows]

    # ------------------------------------------------------------------ audit
    def audit_log(
        self,
        *,
        actor: Actor,
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        subject: str | None = None,
        request_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        descending: bool = False,
    ) -> list[AuditEntry]:
        """Audit entries matching the filters, in sequence order (role auditor or admin).

        ``after``/``before`` bound the sequence numbers (a page's keyset), ``descending``
        lists newest first; see :func:`charter.audit.log.query_entries`.
        """
        from charter.audit.log import query_entries

        self._require(actor, Action.AUDIT_READ, "audit")
        with self.engine.connect() as connection:
            return list(
                query_entries(
                    connection,
                    model=model,
                    actor=user,
                    action=action,
                    since=since,
                    until=until,
                    limit=limit,
                    subject=subject,
                    request_id=request_id,
                    after=after,
                    before=before,
                    descending=descending,
                )
            )

    def export_audit(
        self,
        out: TextIO,
        *,
        actor: Actor,
        fmt: str = "jsonl",
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        subject: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Write matching entries as JSON lines or CSV to ``out``; returns how many."""
        from charter.audit.log import export_entries, query_entries

        self._require(actor, Action.AUDIT_READ, "audit")
        with self.engine.connect() as connection:
            entries = query_entries(
                connection,
                model=model,
                actor=user,
                action=action,
                since=since,
                until=until,
                subject=subject,
                request_id=request_id,
            )
            return export_entries(entries, out, fmt=fmt)

    def verify_audit(self, *, actor: Actor | None = None, on_batch: Any = None) -> Any:
        """Verify the whole audit trail; returns a :class:`~charter.audit.verify.ChainReport`."""
        from charter.audit.verify import verify_chain

        if actor is not None:
            self._require(actor, Action.AUDIT_READ, "audit")
        return verify_chain(self.engine, key=require_key(self.audit_alg), on_batch=on_batch)


# ---------------------------------------------------------------------- module helpers
def _default_store(engine: Engine) -> str:
    if engine.dialect.name == "sqlite" and engine.url.database:
        return str(Path(engine.url.database).resolve().parent / "artifacts")
    return str(database.charter_home().resolve() / "artifacts")


def _require_sqlite_file(url: str) -> None:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return
    database = parsed.database
    is_file = parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
    if is_file and not Path(str(database)).exists():
        raise NotFoundError(
            f"no Charter registry at {parsed.database}",
            hint="run `charter init` to create one, or set CHARTER_HOME / CHARTER_DATABASE_URL "
            "to where it lives",
        )


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise CharterError(
            f"'{name}' is not a valid model name",
            hint="use letters, digits, '_', '-' and '.', starting with a letter or digit",
        )


def _check_username(name: str) -> None:
    if not _USERNAME.match(name):
        raise CharterError(
            f"'{name}' is not a valid user name",
            hint="use letters, digits, '_', '-', '.' and '@'",
        )


def _check_alias(alias: str) -> None:
    if not _NAME.match(alias) or alias.isdigit() or alias in (*STAGES, "latest"):
        raise CharterError(
            f"'{alias}' cannot be an alias",
            hint="aliases are names such as 'champion'; not a number, 'latest' or a stage",
        )


def _roles_of(session: Session, username: str) -> list[str]:
    return sorted(
        session.scalars(
            select(tables.UserRole.role)
            .join(tables.User, tables.User.id == tables.UserRole.user_id)
            .where(tables.User.username == username, tables.User.disabled.is_(False))
        ).all()
    )


def _other_admins(session: Session, username: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(tables.UserRole)
            .join(tables.User, tables.User.id == tables.UserRole.user_id)
            .where(
                tables.UserRole.role == Role.ADMIN.value,
                tables.User.username != username,
                tables.User.disabled.is_(False),
            )
        )
        or 0
    )


def _user(session: Session, username: str) -> tables.User:
    user = session.scalar(select(tables.User).where(tables.User.username == username))
    if user is None:
        names = session.scalars(select(tables.User.username)).all()
        guess = did_you_mean(username, names)
        raise NotFoundError(
            f"no user {username}", hint=guess or "`charter user list` lists the users"
        )
    return user


def _issue_token(
    tx: _Tx, user: tables.User, *, label: str | None, expires_at: datetime | None = None
) -> IssuedToken:
    secret = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = tables.Token(
        user_id=user.id,
        token_sha256=_hash_token(secret),
        prefix=secret[: len(_TOKEN_PREFIX) + 6],
        label=label,
        expires_at=expires_at,
    )
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "token.create",
        f"user:{user.username}",
        details={
            "token_id": row.id,
            "prefix": row.prefix,
            "label": label,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedToken(
        id=row.id, username=user.username, token=secret, prefix=row.prefix, expires_at=expires_at
    )


def _model(session: Session, name: str) -> tables.RegisteredModel:
    model = session.scalar(
        select(tables.RegisteredModel).where(tables.RegisteredModel.name == name)
    )
    if model is None:
        names = session.scalars(select(tables.RegisteredModel.name)).all()
        guess = did_you_mean(name, names)
        raise NotFoundError(
            f"no model named '{name}' in the registry",
            hint=(guess + "; " if guess else "") + "`charter models` lists the registered models",
        )
    return model


def _find_version(session: Session, name: str, ref: str | int) -> tables.Version:
    """Resolve a number, ``latest``, a stage or an alias to a version row."""
    model = _model(session, name)
    query = select(tables.Version).where(tables.Version.model_id == model.id)
    text = str(ref).strip()
    row: tables.Version | None
    if text.isdigit():
        row = session.scalar(query.where(tables.Version.number == int(text)))
    elif text == "latest":
        row = session.scalar(query.order_by(tables.Version.number.desc()).limit(1))
    elif text in STAGES:
        row = session.scalar(
            query.where(tables.Version.stage == text)
            .order_by(tables.Version.number.desc())
            .limit(1)
        )
    else:
        alias = session.get(tables.Alias, (model.id, text))
        row = session.get(tables.Version, alias.version_id) if alias else None
    if row is None:
        numbers = session.scalars(
            select(tables.Version.number)
            .where(tables.Version.model_id == model.id)
            .order_by(tables.Version.number)
        ).all()
        aliases = session.scalars(
            select(tables.Alias.alias).where(tables.Alias.model_id == model.id)
        ).all()
        known = ", ".join(str(n) for n in numbers) or "none"
        what = f"version {text}" if text.isdigit() else f"'{text}'"
        raise NotFoundError(
            f"{name} has no {what}",
            hint=f"versions: {known}"
            + (f"; aliases: {', '.join(aliases)}" if aliases else "")
            + "; or use latest, staging, production",
        )
    return row


def _sha256_path(path: Path) -> str:
    from charter.evidence import sha256_file

    return sha256_file(path)


def _open_request(
    session: Any,
    version_id: int,
    to_stage: str,
    required: int,
    digest: str,
    requested_by: str,
    note: str | None,
) -> tables.PromotionRequest:
    """A new pending promotion request, flushed so that it has its id."""
    request = tables.PromotionRequest(
        version_id=version_id,
        to_stage=to_stage,
        required_approvals=required,
        evidence_digest=digest,
        requested_by=requested_by,
        note=note,
        status="pending",
    )
    session.add(request)
    session.flush()
    return request


def _trusted_types(artifact: Path, vouched: Sequence[str] | None) -> list[str]:
    """The skops types a registered artifact may load with, vouched for now.

    Every type skops does not trust by itself must be in Charter's reviewed allow-list
    (:data:`charter.artifacts.DEFAULT_TRUSTED_TYPES`) or named by the registrant; the registry
    stores the list and loads the artifact with exactly it, never with what the file says later.
    """
    from charter.artifacts import DEFAULT_TRUSTED_TYPES, SKOPS_SUFFIXES, untrusted_types

    if artifact.suffix.lower() not in SKOPS_SUFFIXES:
        return sorted(vouched or [])
    found = set(untrusted_types(artifact))
    allowed = set(DEFAULT_TRUSTED_TYPES) | set(vouched or [])
    unknown = sorted(found - allowed)
    if unknown:
        from charter.errors import UntrustedArtifactError

        raise UntrustedArtifactError(
            f"{artifact} holds types nobody vouched for: {', '.join(unknown)}",
            hint="if you trust them, register with "
            + " ".join(f"--trust-type {t}" for t in unknown),
        )
    return sorted(found)


def _load_for_profile(artifact: Path, trusted: list[str], sha256: str) -> Any:
    """The artifact being registered, loaded the way the registry loads it later.

    With exactly the skops types recorded for it (pickle/joblib only by the hash just taken),
    so the model outputs of the reference profile come from the model that is stored.
    Artifacts of formats Charter does not load (ONNX, ...) give ``None``: no model outputs.
    """
    from charter.artifacts import PICKLE_SUFFIXES, SKOPS_SUFFIXES, load_model

    if artifact.suffix.lower() not in (*SKOPS_SUFFIXES, *PICKLE_SUFFIXES):
        return None
    return load_model(artifact, trusted_types=trusted, sha256=sha256)


def _read_evidence(
    evidence: str | Path | Evidence, report: str | Path | None
) -> tuple[Evidence, Path | None]:
    if isinstance(evidence, Evidence):
        return evidence, Path(report) if report else None
    source = Path(evidence)
    file = source / "evidence.json" if source.is_dir() else source
    if not file.is_file():
        raise NotFoundError(
            f"no evidence at {file}",
            hint="run `charter check ... --out DIR` and pass that DIR to --evidence",
        )
    try:
        bundle = Evidence.read(file)
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise CharterError(
            f"{file} is not a Charter evidence bundle: {first}",
            hint="pass the evidence.json written by `charter check`",
        ) from None
    report_path = Path(report) if report else file.parent / "report.html"
    return bundle, report_path if report_path.is_file() else None


def _policy_for(bundle: Evidence, policy: str | Path | None) -> tuple[dict[str, Any], Policy]:
    from charter.policy.loader import policy_from_dict, read_policy_document

    path = (
        Path(policy)
        if policy is not None
        else (Path(bundle.policy.path) if bundle.policy.path else None)
    )
    if path is None or not path.is_file():
        where = f" ({path})" if path is not None else ""
        raise NotFoundError(
            f"cannot find the policy the evidence was produced under{where}",
            hint="pass --policy with the policy.yaml given to `charter check`",
        )
    document = read_policy_document(path)
    validated = policy_from_dict(document, source=str(path))
    if validated.sha256 != bundle.policy.sha256:
        raise CharterError(
            f"the evidence was produced under a different policy (sha256 "
            f"{bundle.policy.sha256[:12]}…) than {path} ({(validated.sha256 or '')[:12]}…)",
            hint="run `charter check` again with this policy, or pass --policy with the one used",
        )
    return document, validated


def _validated_policy(version: tables.Version, name: str) -> Any:
    """The version's stored policy, validated again (checks and controls may have changed)."""
    from charter.policy.loader import policy_from_dict

    source = f"registry:{name}:{version.number}"
    try:
        policy = policy_from_dict(dict(version.policy), source=source)
    except PolicyError as exc:
        raise PolicyError(
            f"the policy stored with {name}:{version.number} no longer validates: {exc.message}",
            hint="install the checks it names again, or register a new version under a valid "
            "policy",
        ) from None
    if policy.sha256 != version.policy_sha256:
        raise PolicyError(
            f"the policy stored with {name}:{version.number} does not match its recorded hash",
            hint="the registry database was changed outside Charter; run `charter audit verify`",
        )
    return policy


def _evidence_record(
    version: tables.Version,
    bundle: Evidence,
    body: str,
    kind: str,
    actor: Actor,
    report_sha: str | None,
) -> tables.EvidenceRecord:
    return tables.EvidenceRecord(
        version_id=version.id,
        kind=kind,
        stage=bundle.stage,
        digest=sha256_bytes(body.encode("utf-8")),
        status=bundle.status,
        passed=bundle.passed,
        body=body,
        report_sha256=report_sha,
        recorded_by=actor.username,
    )


def _parse_record(record: tables.EvidenceRecord, ref: str) -> Evidence:
    if sha256_bytes(record.body.encode("utf-8")) != record.digest:
        raise CharterError(
            f"the evidence stored with {ref} does not match its digest",
            hint="the registry database was changed outside Charter; run `charter audit verify`",
        )
    return Evidence.from_json(record.body)


def _load_evidence(session: Session, version: tables.Version, name: str) -> Evidence:
    return _current_evidence(session, version, name)[0]


def _current_evidence(session: Session, version: tables.Version, name: str) -> tuple[Evidence, str]:
    """The version's gate evidence and its stored digest (checked against the stored body)."""
    ref = f"{name}:{version.number}"
    record = (
        session.get(tables.EvidenceRecord, version.evidence_id) if version.evidence_id else None
    )
    if record is None:
        raise NotFoundError(
            f"{ref} has no evidence", hint="attach it with `charter evidence attach`"
        )
    return _parse_record(record, ref), record.digest


def _valid_approvals(session: Session, request: tables.PromotionRequest, digest: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(tables.Approval)
            .where(
                tables.Approval.request_id == request.id,
                tables.Approval.withdrawn_at.is_(None),
                tables.Approval.evidence_digest == digest,
                tables.Approval.approver != request.requested_by,
            )
        )
        or 0
    )


def _decide(request: tables.PromotionRequest, status: str, actor: str, reason: str | None) -> None:
    request.status = status
    request.decided_by = actor
    request.decided_at = utcnow()
    request.reason = reason


def _request(
    session: Session, request_id: int
) -> tuple[tables.PromotionRequest, tables.Version, str]:
    request = session.get(tables.PromotionRequest, request_id)
    if request is None:
        raise NotFoundError(
            f"no promotion request {request_id}", hint="`charter requests --all` lists them"
        )
    version = session.get(tables.Version, request.version_id)
    assert version is not None
    model = session.get(tables.RegisteredModel, version.model_id)
    assert model is not None
    return request, version, model.name


def _requests_query() -> Any:
    """Requests with their version and model name, oldest first."""
    return (
        select(tables.PromotionRequest, tables.Version, tables.RegisteredModel.name)
        .join(tables.Version, tables.Version.id == tables.PromotionRequest.version_id)
        .join(tables.RegisteredModel, tables.RegisteredModel.id == tables.Version.model_id)
        .order_by(tables.PromotionRequest.id)
    )


def _request_record(
    session: Session, request: tables.PromotionRequest, version: tables.Version, name: str
) -> RequestInfo:
    approvals = [
        ApprovalInfo(
            approver=a.approver,
            at=a.created_at,
            comment=a.comment,
            evidence_digest=a.evidence_digest,
            withdrawn=a.withdrawn_at is not None,
            withdrawn_reason=a.withdrawn_reason,
        )
        for a in session.scalars(
            select(tables.Approval)
            .where(tables.Approval.request_id == request.id)
            .order_by(tables.Approval.id)
        )
    ]
    return RequestInfo(
        id=request.id,
        model=name,
        version=version.number,
        to_stage=request.to_stage,
        status=request.status,
        required_approvals=request.required_approvals,
        approvals=approvals,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        note=request.note,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        reason=request.reason,
    )


def _version_record(session: Session, row: tables.Version, name: str) -> ModelVersion:
    aliases = sorted(
        session.scalars(select(tables.Alias.alias).where(tables.Alias.version_id == row.id)).all()
    )
    record = session.get(tables.EvidenceRecord, row.evidence_id) if row.evidence_id else None
    flags = [
        _flag_info(f)
        for f in session.scalars(
            select(tables.Flag).where(tables.Flag.version_id == row.id).order_by(tables.Flag.id)
        )
    ]
    return ModelVersion(
        model=name,
        number=row.number,
        stage=row.stage,
        aliases=aliases,
        artifact_sha256=row.artifact_sha256,
        artifact_format=row.artifact_format,
        artifact_uri=row.artifact_uri,
        artifact_size=row.artifact_size,
        trusted_types=list(row.trusted_types or []),
        lineage=dict(row.lineage or {}),
        params=dict(row.params or {}),
        policy=dict(row.policy or {}),
        policy_sha256=row.policy_sha256,
        evidence=_evidence_info(record) if record else None,
        flags=flags,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        stage_changed_at=row.stage_changed_at,
    )


def _flag_info(row: tables.Flag) -> FlagInfo:
    return FlagInfo(
        id=row.id,
        flag=row.flag,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolved_reason=row.resolved_reason,
    )


def _open_flags(session: Session, version: tables.Version, flag: str) -> list[tables.Flag]:
    """The flags named ``flag`` on ``version`` that nobody resolved yet, oldest first."""
    return list(
        session.scalars(
            select(tables.Flag)
            .where(
                tables.Flag.version_id == version.id,
                tables.Flag.flag == flag,
                tables.Flag.resolved_at.is_(None),
            )
            .order_by(tables.Flag.id)
        )
    )


def _resolve_hint(name: str, number: int) -> str:
    """Who may resolve a needs-review flag, and the command that does it."""
    return (
        f"a user holding one of the roles {', '.join(roles_for(Action.FLAG_RESOLVE))} reviews "
        f"the monitoring evidence and resolves it: charter flag {name}:{number} {NEEDS_REVIEW} "
        '--resolve --reason "..."'
    )


def _review_problem(session: Session, version: tables.Version, name: str) -> str | None:
    """Why a promotion to production must wait: an open needs-review flag, or ``None``."""
    flags = _open_flags(session, version, NEEDS_REVIEW)
    if not flags:
        return None
    first = flags[0]
    return (
        f"{name}:{version.number} carries an open {NEEDS_REVIEW} flag (raised by "
        f"{first.created_by} on {first.created_at:%Y-%m-%d %H:%M} UTC: {first.reason})"
    )


def _evidence_info(record: tables.EvidenceRecord) -> EvidenceInfo:
    return EvidenceInfo(
        id=record.id,
        kind=record.kind,
        stage=record.stage,
        digest=record.digest,
        status=record.status,
        passed=record.passed,
        created_at=record.created_at,
        recorded_by=record.recorded_by,
        report_sha256=record.report_sha256,
    )
