"""Moving a version by hand: archiving it, and naming it with aliases.

Promotions move versions up (:mod:`charter.registry.lifecycle`); every move, theirs and these,
is recorded as a stage transition by :func:`move`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from charter.errors import CharterError, ConflictError, NotFoundError
from charter.registry import tables
from charter.registry.lookup import VALID_NAME, find_version, model_row
from charter.registry.promotion import STAGES
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
    version_info
        Read a version back after the write (already authorised).
    """

    def __init__(self, store: Store, version_info: Callable[[int], ModelVersion]) -> None:
        self.store = store
        self._version_info = version_info

    def archive(
        self, name: str, ref: str | int, *, actor: Actor, reason: str | None = None
    ) -> ModelVersion:
        """Archive a version (taking it out of production or staging)."""
        subject = f"model:{name}/{ref}"
        with self.store.write(actor, Action.VERSION_ARCHIVE, subject, model=name) as tx:
            version = find_version(tx.session, name, ref)
            if version.stage == "archived":
                raise ConflictError(f"{name}:{version.number} is already archived")
            from_stage = version.stage
            move(tx, version, "archived", utcnow())
            tx.audit(
                "version.archive",
                f"model:{name}/{version.number}",
                model=name,
                details={"version": version.number, "from": from_stage, "reason": reason},
            )
            version_id = version.id
        return self._version_info(version_id)

    def set_alias(self, name: str, alias: str, ref: str | int, *, actor: Actor) -> ModelVersion:
        """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
        _check_alias(alias)
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
            version_id = version.id
        return self._version_info(version_id)

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


def _check_alias(alias: str) -> None:
    if not VALID_NAME.match(alias) or alias.isdigit() or alias in (*STAGES, "latest"):
        raise CharterError(
            f"'{alias}' cannot be an alias",
            hint="aliases are names such as 'champion'; not a number, 'latest' or a stage",
        )
