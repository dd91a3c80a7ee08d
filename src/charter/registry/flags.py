"""Flags on versions: raised (by monitoring or a person), resolved by a reviewer with a reason.

An open ``needs-review`` flag holds a promotion to production
(:func:`review_problem`). Flags are never deleted: resolving one
records who resolved it, when and why.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import CharterError, NotFoundError
from charter.registry import tables
from charter.registry.lookup import find_version, flag_info, open_flags
from charter.registry.names import check_flag, check_text
from charter.registry.promotion import NEEDS_REVIEW
from charter.registry.records import Actor, FlagInfo
from charter.registry.roles import Action, roles_for
from charter.registry.store import Store
from charter.registry.tables import utcnow


class Flags:
    """Raising and resolving flags in one registry."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def flag_version(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Actor
    ) -> None:
        """Raise a flag such as ``needs-review`` on a version (audited)."""
        check_flag(flag)
        check_text(reason, what="reason")
        subject = f"model:{name}/{version}"
        with self.store.write(actor, Action.VERSION_FLAG, subject, model=name) as tx:
            row = find_version(tx.session, name, version)
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
                hint="say what was reviewed and why the version may go on",
                field="reason",
            )
        check_text(reason, what="reason")
        subject = f"model:{name}/{version}"
        with self.store.write(actor, Action.FLAG_RESOLVE, subject, model=name) as tx:
            row = find_version(tx.session, name, version)
            rows = open_flags(tx.session, row, flag)
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
            return [flag_info(item) for item in rows]


def resolve_hint(name: str, number: int) -> str:
    """Who may resolve a needs-review flag, and the command that does it."""
    return (
        f"a user holding one of the roles {', '.join(roles_for(Action.FLAG_RESOLVE))} reviews "
        f"the monitoring evidence and resolves it: charter flag {name}:{number} {NEEDS_REVIEW} "
        '--resolve --reason "..."'
    )


def review_problem(session: Session, version: tables.Version, name: str) -> str | None:
    """Why a promotion to production must wait: an open needs-review flag, or ``None``."""
    flags = open_flags(session, version, NEEDS_REVIEW)
    if not flags:
        return None
    first = flags[0]
    return (
        f"{name}:{version.number} carries an open {NEEDS_REVIEW} flag (raised by "
        f"{first.created_by} on {first.created_at:%Y-%m-%d %H:%M} UTC: {first.reason})"
    )
