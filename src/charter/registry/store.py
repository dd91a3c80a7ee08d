"""The registry's store: every transaction, authorization and audit entry goes through here.

Each state-changing operation runs in one :meth:`Store.write` transaction that

1. locks the audit head (serialising writers across processes),
2. checks the acting user's roles against :data:`charter.registry.roles.PERMISSIONS`,
3. changes state and appends the audit entries describing the change (:meth:`Tx.audit`),
4. commits — or rolls back everything, entries included.

A refused action raises :class:`DeniedError` inside the transaction: the work rolls back and one
``access.denied`` entry commits in a transaction of its own before
:class:`~charter.errors.PermissionDeniedError` is raised. :meth:`Store.require` refuses the same
way before expensive work, outside a write. :meth:`DeniedError.missing_role` is the one place a
"your roles do not allow this" refusal is phrased.

Tests that need to stop inside a transaction (to race or kill a process there) pass a
``checkpoint`` callable; production code passes none, and the default does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from charter.audit.chain import ALG_SHA256, AuditEntry, ChainWriter, require_key
from charter.errors import CharterError, PermissionDeniedError
from charter.registry import database, tables
from charter.registry.records import Actor
from charter.registry.roles import (
    SYSTEM_PERMISSIONS,
    Action,
    denial_message,
    permitted,
    role_to_grant,
    roles_for,
)

#: Called with the name of a point inside a transaction (``promotion.before_commit``, ...).
Checkpoint = Callable[[str], None]


def no_checkpoint(point: str) -> None:
    """The production checkpoint: does nothing."""


class DeniedError(Exception):
    """Raised inside a write transaction to refuse the action and audit the refusal.

    Parameters
    ----------
    message
        Why the actor may not act.
    hint
        What to do about it.
    subject, model
        What the refused action was about (recorded in the ``access.denied`` entry).
    details
        More facts for the entry (the attempted action, roles held and needed, ...).
    """

    def __init__(
        self,
        message: str,
        hint: str,
        subject: str,
        model: str | None,
        details: Mapping[str, Any],
        *,
        user: str | None = None,
        role: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.hint, self.subject, self.model = message, hint, subject, model
        self.details = dict(details)
        self.user, self.role = user, role

    @classmethod
    def missing_role(
        cls,
        username: str,
        roles: list[str],
        action: Action,
        subject: str,
        model: str | None,
    ) -> DeniedError:
        """The refusal of ``action`` to a user whose ``roles`` do not permit it."""
        role = role_to_grant(action)
        return cls(
            denial_message(username, roles, action),
            f"ask an admin to grant {username} the role {role}",
            subject,
            model,
            {"attempted": action.value, "roles": sorted(roles), "needs": roles_for(action)},
            user=username,
            role=role,
        )

    @classmethod
    def system_write(
        cls, actor: Actor, action: Action, subject: str, model: str | None
    ) -> DeniedError:
        """The refusal of a change to a system actor (they only read)."""
        return cls(
            f"{actor.username} is a system actor and may only read, not {action.value}",
            "act as a user: pass the actor of a token (Registry.authenticate)",
            subject,
            model,
            {"attempted": action.value, "system": True},
        )

    def error(self) -> PermissionDeniedError:
        """The error the caller sees once the refusal is audited."""
        return PermissionDeniedError(self.message, hint=self.hint, user=self.user, role=self.role)


@dataclass
class Tx:
    """One write transaction: the ORM session, the chain writer, the acting user."""

    session: Session
    chain: ChainWriter
    actor: str
    checkpoint: Checkpoint = no_checkpoint
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
        """Append an entry describing a change made in this transaction."""
        entry = self.chain.append(
            actor=self.actor, action=action, subject=subject, model=model, details=details
        )
        self.entries.append(entry)
        return entry


class Store:
    """Transactions over one registry database, authorised and audited.

    Parameters
    ----------
    engine
        The registry's engine, migrated to the current schema.
    checkpoint
        Called at named points inside transactions; tests inject one to pause there.
    """

    def __init__(self, engine: Engine, *, checkpoint: Checkpoint = no_checkpoint) -> None:
        self.engine = engine
        self.reader = engine.execution_options(**{database.READ_ONLY: True})
        self.checkpoint = checkpoint
        self.meta = self._read_meta()
        self.audit_alg = self.meta.get("audit_alg", ALG_SHA256)

    def _read_meta(self) -> dict[str, str]:
        with Session(self.reader) as session:
            return {m.key: m.value for m in session.scalars(select(tables.Meta))}

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session in one transaction."""
        with Session(self.reader, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(
        self, actor: Actor, action: Action, subject: str, *, model: str | None = None
    ) -> Iterator[Tx]:
        """A write transaction, authorised for ``action`` and audited.

        :class:`DeniedError` raised inside rolls the work back and commits an ``access.denied``
        entry; ``tx.raise_after_commit`` is raised once the transaction has committed.
        """
        key = require_key(self.audit_alg)
        tx: Tx | None = None
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                chain = ChainWriter(session.connection(), alg=self.audit_alg, key=key)
                tx = Tx(session, chain, actor=actor.username, checkpoint=self.checkpoint)
                if actor.is_system:
                    raise DeniedError.system_write(actor, action, subject, model)
                roles = roles_of(session, actor.username)
                if not permitted(roles, action):
                    raise DeniedError.missing_role(actor.username, roles, action, subject, model)
                yield tx
        except DeniedError as denied:
            self.audit_denial(actor, denied)
            raise denied.error() from None
        if tx is not None and tx.raise_after_commit is not None:
            raise tx.raise_after_commit

    def require(
        self, actor: Actor, action: Action, subject: str, *, model: str | None = None
    ) -> None:
        """Refuse (and audit) when ``actor`` may not ``action``: every read, and writes early.

        A system actor may do what :data:`~charter.registry.roles.SYSTEM_PERMISSIONS` lists.
        """
        if actor.is_system:
            if action in SYSTEM_PERMISSIONS:
                return
            denied = DeniedError.system_write(actor, action, subject, model)
        else:
            with self.read() as session:
                roles = roles_of(session, actor.username)
            if permitted(roles, action):
                return
            denied = DeniedError.missing_role(actor.username, roles, action, subject, model)
        self.audit_denial(actor, denied)
        raise denied.error()

    def audit_denial(self, actor: Actor, denied: DeniedError) -> None:
        """Commit one ``access.denied`` entry for a refused action."""
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


def roles_of(session: Session, username: str) -> list[str]:
    """The roles of an enabled user (none for an unknown or disabled one), sorted."""
    return sorted(
        session.scalars(
            select(tables.UserRole.role)
            .join(tables.User, tables.User.id == tables.UserRole.user_id)
            .where(tables.User.username == username, tables.User.disabled.is_(False))
        ).all()
    )
