"""The registry's part in serving: who may predict, label and look up, and the stop button.

The HTTP serving routes (:mod:`charter.server.serving`) ask :func:`authorize` before serving a
request — the roles matrix decides, a refusal is audited like every other — and read
:func:`suspension` to know whether a person has stopped the model. :func:`suspend` and
:func:`resume` are the stop button of the EU AI Act's Art. 14(4)(e) ("interrupt the system
through a stop button"): an approver or admin suspends the serving of a model with a reason,
the serving answers 503 with that reason until someone resumes it, and both are audited in the
same transaction as the state change. A suspension does not change any version's stage.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from charter.errors import CharterError, ConflictError
from charter.registry import tables
from charter.registry.lookup import model_row
from charter.registry.records import Actor, _Record
from charter.registry.roles import Action, permitted
from charter.registry.service import Registry


class Suspension(_Record):
    """A suspension of a model's serving (open while ``resumed_at`` is ``None``)."""

    model: str
    reason: str
    suspended_by: str
    suspended_at: datetime
    resumed_by: str | None = None
    resumed_at: datetime | None = None
    resumed_reason: str | None = None

    @property
    def active(self) -> bool:
        """Whether serving is still suspended."""
        return self.resumed_at is None


def authorize(registry: Registry, actor: Actor, action: Action, name: str) -> None:
    """Refuse (audited, :class:`~charter.errors.PermissionDeniedError`) unless ``actor`` may.

    The actor's roles come from its token; a holder of the roles is let through without a
    query (the serving hot path), a refusal is checked against the database and audited.
    """
    if not actor.is_system and permitted(actor.roles, action):
        return
    registry.store.require(actor, action, f"model:{name}", model=name)


def suspension(registry: Registry, name: str) -> Suspension | None:
    """The active suspension of ``name``'s serving, or ``None`` (trusted in-process read)."""
    with registry.store.read() as session:
        row = session.scalar(
            select(tables.ServingSuspension)
            .join(tables.RegisteredModel)
            .where(
                tables.RegisteredModel.name == name,
                tables.ServingSuspension.resumed_at.is_(None),
            )
            .order_by(tables.ServingSuspension.id.desc())
        )
        return _record(row, name) if row is not None else None


def suspended_models(registry: Registry) -> dict[str, Suspension]:
    """Every model whose serving is suspended now, by name (trusted in-process read)."""
    with registry.store.read() as session:
        rows = session.execute(
            select(tables.ServingSuspension, tables.RegisteredModel.name)
            .join(tables.RegisteredModel)
            .where(tables.ServingSuspension.resumed_at.is_(None))
        ).all()
        return {name: _record(row, name) for row, name in rows}


def suspend(registry: Registry, name: str, reason: str, *, actor: Actor) -> Suspension:
    """Suspend the serving of ``name`` (approver or admin), audited as ``serving.suspend``.

    Raises
    ------
    CharterError
        No reason given.
    ConflictError
        Serving is already suspended.
    """
    if not reason or not reason.strip():
        raise CharterError(
            "suspending serving needs a reason", hint='pass --reason "why it must stop"'
        )
    with registry.store.write(actor, Action.SERVING_SUSPEND, f"model:{name}", model=name) as tx:
        model = model_row(tx.session, name)
        open_row = tx.session.scalar(
            select(tables.ServingSuspension).where(
                tables.ServingSuspension.model_id == model.id,
                tables.ServingSuspension.resumed_at.is_(None),
            )
        )
        if open_row is not None:
            raise ConflictError(
                f"the serving of {name} is already suspended by {open_row.suspended_by}:"
                f" {open_row.reason}",
                hint=f"resume it first: charter resume {name} --reason ...",
            )
        row = tables.ServingSuspension(
            model_id=model.id, reason=reason.strip(), suspended_by=actor.username
        )
        tx.session.add(row)
        tx.session.flush()
        tx.audit("serving.suspend", f"model:{name}", model=name, details={"reason": row.reason})
        return _record(row, name)


def resume(registry: Registry, name: str, *, actor: Actor, reason: str | None = None) -> Suspension:
    """Resume the serving of ``name``, audited as ``serving.resume``.

    Raises
    ------
    ConflictError
        Serving is not suspended.
    """
    with registry.store.write(actor, Action.SERVING_SUSPEND, f"model:{name}", model=name) as tx:
        model = model_row(tx.session, name)
        row = tx.session.scalar(
            select(tables.ServingSuspension).where(
                tables.ServingSuspension.model_id == model.id,
                tables.ServingSuspension.resumed_at.is_(None),
            )
        )
        if row is None:
            raise ConflictError(f"the serving of {name} is not suspended", hint="nothing to resume")
        row.resumed_by = actor.username
        row.resumed_at = tables.utcnow()
        row.resumed_reason = (reason or "").strip() or None
        tx.audit(
            "serving.resume",
            f"model:{name}",
            model=name,
            details={"reason": row.resumed_reason, "suspended_reason": row.reason},
        )
        return _record(row, name)


def _record(row: tables.ServingSuspension, name: str) -> Suspension:
    return Suspension(
        model=name,
        reason=row.reason,
        suspended_by=row.suspended_by,
        suspended_at=row.suspended_at,
        resumed_by=row.resumed_by,
        resumed_at=row.resumed_at,
        resumed_reason=row.resumed_reason,
    )
