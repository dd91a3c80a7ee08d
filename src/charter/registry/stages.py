"""Moving a version by hand: archiving it, and naming it with aliases.

Promotions move versions up (:mod:`charter.registry.lifecycle`); every move, theirs and these,
is recorded as a stage transition by :func:`move`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from charter.errors import ConflictError, NotFoundError
from charter.registry import tables
from charter.registry.lookup import find_version, model_row, version_policy, version_record
from charter.registry.names import check_alias, check_text
from charter.registry.promotion import leaving_production_approvals
from charter.registry.records import Actor, ModelVersion
from charter.registry.roles import Action
from charter.registry.store import Store, Tx
from charter.registry.tables import utcnow


class Stages:
    """Archive and aliases of one registry.

    Parameters
    ----------
    store
        The registry's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def archive(
        self, name: str, ref: str | int, *, actor: Actor, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version (taking it out of production or staging)."""
        check_text(reason, what="reason")
        subject = f"model:{name}/{ref}"
        with self.store.write(actor, Action.VERSION_ARCHIVE, subject, model=name) as tx:
            version = find_version(tx.session, name, ref)
            if version.stage == "archived":
                raise ConflictError(f"{name}:{version.number} is already archived")
            if version.stage == "production":
                _require_no_approvals(tx.session, version, name)
            from_stage = version.stage
            move(tx, version, "archived", utcnow())
            tx.audit(
                "version.archive",
                f"model:{name}/{version.number}",
                model=name,
                details={"version": version.number, "from": from_stage, "reason": reason},
            )
            info = version_record(tx.session, version, name)
        return info

    def set_alias(self, name: str, alias: str, ref: str | int, *, actor: Actor) -> ModelVersion:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        check_alias(alias)
        with self.store.write(actor, Action.ALIAS_SET, f"model:{name}@{alias}", model=name) as tx:
            version = find_version(tx.session, name, ref)
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
                row.version_id, row.updated_at = version.id, utcnow()
                row.updated_by = actor.username
            tx.audit(
                "alias.set",
                f"model:{name}@{alias}",
                model=name,
                details={"alias": alias, "version": version.number, "previous": previous},
            )
            info = version_record(tx.session, version, name)
        return info

    def remove_alias(self, name: str, alias: str, *, actor: Actor) -> None:
        """Remove an alias."""
        with self.store.write(actor, Action.ALIAS_SET, f"model:{name}@{alias}", model=name) as tx:
            model = model_row(tx.session, name)
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


def move(
    tx: Tx,
    version: tables.Version,
    to_stage: str,
    at: datetime,
    *,
    request_id: int | None = None,
) -> None:
    """Record a stage transition of ``version`` (by ``tx``'s actor) and move it."""
    tx.session.add(
        tables.StageTransition(
            version_id=version.id,
            from_stage=version.stage,
            to_stage=to_stage,
            request_id=request_id,
            actor=tx.actor,
            at=at,
        )
    )
    version.stage, version.stage_changed_at = to_stage, at


def _require_no_approvals(session: Session, version: tables.Version, name: str) -> None:
    """Refuse to archive a production version alone when leaving production needs approvers."""
    model = session.get(tables.RegisteredModel, version.model_id)
    needed = leaving_production_approvals(
        version_policy(version, name), model.approval_floor if model else None
    )
    if needed:
        raise ConflictError(
            f"{name}:{version.number} is in production: taking it out needs {needed}"
            f" approval(s), as putting it there did",
            hint=f"request it: charter promote {name}:{version.number} --to archived (or"
            " --to staging), for approvers to approve; suspend serving for an emergency stop",
        )
