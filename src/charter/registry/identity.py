"""Who acts: tokens to actors, users and their roles, tokens issued and revoked.

A token is ``charter_`` followed by 43 random URL-safe characters; the registry keeps only its
sha256 and a short prefix to recognise it by. Every change here is audited, and the registry
always keeps an enabled admin.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from charter.audit.chain import (
    ALG_HMAC,
    ALG_SHA256,
    ChainWriter,
    audit_key,
    initialise_head,
    require_key,
)
from charter.errors import AuthenticationError, CharterError, ConflictError, NotFoundError
from charter.redaction import redact_url, strip_secrets
from charter.registry import database, listings, names, tables
from charter.registry.listings import TokenInfo
from charter.registry.lookup import user_row
from charter.registry.records import Actor, IssuedToken, UserInfo
from charter.registry.roles import Action, Role
from charter.registry.safeguards import audit_failed_authentication
from charter.registry.store import Store, Tx, roles_of
from charter.registry.tables import utcnow

TOKEN_ENV = "CHARTER_TOKEN"
TOKEN_PREFIX = "charter_"
#: The longest a token may live: ten years (the database cannot hold any date).
MAX_TOKEN_DAYS = 3660


def check_username(name: str) -> None:
    """Refuse a user name the registry cannot store (:func:`names.check_username`)."""
    names.check_username(name)


def hash_token(token: str) -> str:
    """The sha256 a token is stored (and looked up) by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    tx: Tx, user: tables.User, *, label: str | None, expires_at: datetime | None = None
) -> IssuedToken:
    """Create (and audit) a token for ``user`` inside ``tx``; the secret is returned once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = tables.Token(
        user_id=user.id,
        token_sha256=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
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


class Identity:
    """Authentication, users and tokens of one registry."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
        failure: tuple[str, str | None, AuthenticationError] | None = None
        with self.store.read() as session:
            row = session.execute(
                select(tables.Token, tables.User)
                .join(tables.User, tables.User.id == tables.Token.user_id)
                .where(tables.Token.token_sha256 == hash_token(token.strip()))
            ).first()
            if row is None:
                failure = (
                    "unknown token",
                    None,
                    AuthenticationError(
                        "the token is not known to this registry",
                        hint=f"check {TOKEN_ENV} (copy the whole token, it starts with "
                        f"'{TOKEN_PREFIX}') and that CHARTER_HOME / CHARTER_DATABASE_URL name the "
                        "registry that issued it",
                    ),
                )
            else:
                token_row, user = row
                failure = _refusal(token_row, user)
                roles = roles_of(session, user.username)
        if failure is not None:  # audited after the read, in a transaction of its own
            reason, username, error = failure
            audit_failed_authentication(self.store, reason, token=token, username=username)
            raise error
        return Actor(username=user.username, roles=frozenset(roles))

    def actor_from_env(self) -> Actor:
        """The user of ``$CHARTER_TOKEN``."""
        return self.authenticate(os.environ.get(TOKEN_ENV))

    def add_user(
        self, username: str, roles: Iterable[Role | str], *, actor: Actor, label: str | None = None
    ) -> IssuedToken:
        """Create a user with ``roles`` and a first token (returned; shown once)."""
        check_username(username)
        names.check_label(label)
        wanted = sorted({Role(r).value for r in roles})
        if not wanted:
            raise CharterError(
                "a user needs at least one role",
                hint="give one or more of the roles " + ", ".join(r.value for r in Role),
                field="roles",
            )
        with self.store.write(actor, Action.USER_ADD, f"user:{username}") as tx:
            if tx.session.scalar(select(tables.User).where(tables.User.username == username)):
                raise ConflictError(
                    f"user {username} already exists",
                    hint=f"grant {username} more roles instead",
                    field="username",
                )
            user = tables.User(username=username, created_by=actor.username)
            tx.session.add(user)
            tx.session.flush()
            for role in wanted:
                tx.session.add(tables.UserRole(user_id=user.id, role=role))
            tx.audit("user.add", f"user:{username}", details={"roles": wanted})
            return issue_token(tx, user, label=label)

    def grant(self, username: str, roles: Iterable[Role | str], *, actor: Actor) -> list[str]:
        """Give ``username`` additional roles; returns the roles they now hold."""
        wanted = {Role(r).value for r in roles}
        with self.store.write(actor, Action.USER_GRANT, f"user:{username}") as tx:
            user = user_row(tx.session, username)
            held = set(roles_of(tx.session, username))
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
        with self.store.write(actor, Action.USER_GRANT, f"user:{username}") as tx:
            user = user_row(tx.session, username)
            row = tx.session.get(tables.UserRole, (user.id, role_value))
            if row is None:
                raise ConflictError(f"{username} does not hold the role {role_value}")
            held = sorted(set(roles_of(tx.session, username)) - {role_value})
            if role_value == Role.ADMIN.value and not _other_admins(tx, username):
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
        with self.store.write(actor, Action.USER_DISABLE, f"user:{username}") as tx:
            user = user_row(tx.session, username)
            if Role.ADMIN.value in roles_of(tx.session, username) and not _other_admins(
                tx, username
            ):
                raise ConflictError(f"{username} is the last admin", hint="add another admin first")
            user.disabled = True
            tx.audit("user.disable", f"user:{username}")

    def list_users(self, *, actor: Actor) -> list[UserInfo]:
        """Every user with their roles."""
        self.store.require(actor, Action.USER_LIST, "users")
        with self.store.read() as session:
            users = session.scalars(select(tables.User).order_by(tables.User.username)).all()
            return [
                UserInfo(
                    username=u.username,
                    roles=roles_of(session, u.username),
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
        if expires_days is not None and not 0 < expires_days <= MAX_TOKEN_DAYS:
            raise CharterError(
                f"expires_days must be a positive number of days, at most {MAX_TOKEN_DAYS}, not"
                f" {expires_days}",
                hint="e.g. 90, or none for a token that does not expire",
                field="expires_days",
            )
        names.check_label(label)
        with self.store.write(actor, action, f"user:{target}") as tx:
            user = user_row(tx.session, target)
            expires = utcnow() + timedelta(days=expires_days) if expires_days else None
            return issue_token(tx, user, label=label, expires_at=expires)

    def revoke_token(self, token_id: int, *, actor: Actor) -> None:
        """Revoke a token by its id (one's own; admins: anyone's)."""
        with self.store.read() as session:
            row = session.execute(
                select(tables.Token.user_id, tables.User.username)
                .join(tables.User, tables.User.id == tables.Token.user_id)
                .where(tables.Token.id == token_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no token with id {token_id}", hint="`charter whoami` lists yours")
        owner = str(row[1])
        action = Action.TOKEN_CREATE if owner == actor.username else Action.TOKEN_MANAGE
        with self.store.write(actor, action, f"user:{owner}") as tx:
            token = tx.session.get(tables.Token, token_id)
            assert token is not None
            if token.revoked_at is None:
                token.revoked_at = utcnow()
                tx.audit(
                    "token.revoke",
                    f"user:{owner}",
                    details={"token_id": token_id, "prefix": token.prefix},
                )

    def list_tokens(self, *, actor: Actor, username: str | None = None) -> list[TokenInfo]:
        """Tokens (prefix, label, dates), newest first: one's own, or (admins) anyone's."""
        own = username is not None and username == actor.username
        self.store.require(actor, Action.TOKEN_CREATE if own else Action.TOKEN_MANAGE, "tokens")
        with self.store.read() as session:
            return listings.tokens(session, username)


def _refusal(
    token: tables.Token, user: tables.User
) -> tuple[str, str | None, AuthenticationError] | None:
    """Why a known token does not authenticate (revoked, expired, disabled user), if it does not."""
    if token.revoked_at is not None:
        return (
            "revoked token",
            user.username,
            AuthenticationError(
                f"this token of {user.username} was revoked",
                hint="create a new one with `charter token create` (or ask an admin)",
            ),
        )
    if token.expires_at is not None and token.expires_at <= utcnow():
        return (
            "expired token",
            user.username,
            AuthenticationError(
                f"this token of {user.username} expired on {token.expires_at:%Y-%m-%d}",
                hint="create a new one with `charter token create` (or ask an admin)",
            ),
        )
    if user.disabled:
        return (
            "disabled user",
            user.username,
            AuthenticationError(
                f"user {user.username} is disabled", hint="ask an admin to re-enable the user"
            ),
        )
    return None


def _other_admins(tx: Tx, username: str) -> int:
    """How many enabled admins there are besides ``username``."""
    return int(
        tx.session.scalar(
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


def bootstrap(engine: Engine, admin: str, store: str | None, *, where: str) -> IssuedToken:
    """Record a new registry's settings, its first admin and that admin's token.

    The audit trail is keyed (HMAC-SHA256) when ``CHARTER_AUDIT_KEY`` is set now.
    """
    alg = ALG_HMAC if audit_key() is not None else ALG_SHA256
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if session.scalar(select(func.count()).select_from(tables.User)):
            raise ConflictError(
                f"a registry already exists at {where}",
                hint="use it (set CHARTER_TOKEN to your token), or point CHARTER_HOME / "
                "CHARTER_DATABASE_URL somewhere else",
            )
        connection = session.connection()
        initialise_head(connection)
        tx = Tx(session, ChainWriter(connection, alg=alg, key=require_key(alg)), actor=admin)
        session.add(tables.Meta(key="audit_alg", value=alg))
        session.add(tables.Meta(key="created_at", value=utcnow().isoformat()))
        if store:  # credentials come from the environment, never from the database
            session.add(tables.Meta(key="artifact_store", value=strip_secrets(str(store))))
        tx.audit(
            "registry.init",
            "registry",
            details={
                "audit_alg": alg,
                "artifact_store": redact_url(str(store)) if store else None,
                "schema": database.SCHEMA_REVISION,
            },
        )
        user = tables.User(username=admin, created_by=None)
        session.add(user)
        session.flush()
        session.add(tables.UserRole(user_id=user.id, role=Role.ADMIN.value))
        tx.audit("user.add", f"user:{admin}", details={"roles": [Role.ADMIN.value]})
        return issue_token(tx, user, label="init")
