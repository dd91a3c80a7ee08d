"""Listings for people browsing the registry.

Pages of versions, tokens, and a model's production history. (Pages of the audit trail are
:meth:`Registry.audit_log` with ``before`` and ``descending``.)

These read queries stay fast on a large registry (10,000 versions, 1,000,000 audit entries):
every list is a page of bounded size, fetched by keyset (``before`` the last row seen, never an
``OFFSET``) on indexed columns, and every row is built from a handful of queries per page, not
per row. The :class:`~charter.registry.Registry` methods that call them check the actor's role
first; these functions only read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.registry import tables
from charter.registry.records import ModelSummary, _Record

#: The largest page any listing returns.
MAX_PAGE = 500


class ProductionSpell(_Record):
    """One stretch of time during which a version was a model's production version.

    Attributes
    ----------
    version
        The version number that was live.
    since, until
        When it went live, and when it stopped (``None``: still live).
    request_id
        The promotion request that put it there (``None`` for a move without one).
    requested_by, approvers
        Who asked for the promotion, and who approved it (withdrawn approvals excluded).
    promoted_by
        Who made the change happen (the last approver, or the requester when no approval was
        needed).
    ended_by, ended_to
        Who took it out of production and to which stage (``archived``), when it ended.
    superseded_by
        The version that replaced it, when another version's promotion ended it.
    """

    version: int
    since: datetime
    until: datetime | None = None
    request_id: int | None = None
    requested_by: str | None = None
    approvers: list[str] = Field(default_factory=list)
    promoted_by: str
    ended_by: str | None = None
    ended_to: str | None = None
    superseded_by: int | None = None


class VersionRow(_Record):
    """A version as one line of a listing (no lineage, policy or evidence body)."""

    number: int
    stage: str | None
    aliases: list[str] = Field(default_factory=list)
    created_at: datetime
    created_by: str
    evidence_status: str | None = None
    open_flags: list[str] = Field(default_factory=list)


class TokenInfo(_Record):
    """A token as an admin sees it: never the token itself, only its prefix."""

    id: int
    username: str
    prefix: str
    label: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked (expiry is judged by the reader, who knows the time)."""
        return self.revoked_at is None


def page_size(limit: int) -> int:
    """``limit`` clamped to ``1..MAX_PAGE``."""
    return max(1, min(int(limit), MAX_PAGE))


def _production_moves() -> Any:
    return (
        select(tables.StageTransition, tables.Version.number)
        .join(tables.Version, tables.Version.id == tables.StageTransition.version_id)
        .where(
            (tables.StageTransition.to_stage == "production")
            | (tables.StageTransition.from_stage == "production")
        )
    )


def production_history(
    session: Session, model_id: int, *, limit: int | None = None
) -> list[ProductionSpell]:
    """A model's production spells, newest first, with requester and approvers.

    ``limit`` keeps the newest spells only, reading only the moves they are made of (a spell
    is at most two moves: into production and out of it).
    """
    query = _production_moves().where(tables.Version.model_id == model_id)
    if limit is None:
        moves = session.execute(query.order_by(tables.StageTransition.id)).all()
    else:
        newest = query.order_by(tables.StageTransition.id.desc()).limit(2 * max(limit, 0) + 2)
        moves = list(reversed(session.execute(newest).all()))
    request_ids = {t.request_id for t, _ in moves if t.request_id is not None}
    requests: dict[int, tables.PromotionRequest] = {}
    approvers: dict[int, list[str]] = defaultdict(list)
    if request_ids:
        for row in session.scalars(
            select(tables.PromotionRequest).where(tables.PromotionRequest.id.in_(request_ids))
        ):
            requests[row.id] = row
        for approval in session.scalars(
            select(tables.Approval)
            .where(
                tables.Approval.request_id.in_(request_ids), tables.Approval.withdrawn_at.is_(None)
            )
            .order_by(tables.Approval.id)
        ):
            approvers[approval.request_id].append(approval.approver)
    spells: list[dict[str, Any]] = []
    open_spell: dict[str, Any] | None = None
    for move, number in moves:
        if move.to_stage == "production":
            request = requests.get(move.request_id) if move.request_id else None
            open_spell = {
                "version": number,
                "since": move.at,
                "request_id": move.request_id,
                "requested_by": request.requested_by if request else None,
                "approvers": approvers.get(move.request_id, []) if move.request_id else [],
                "promoted_by": move.actor,
            }
            for spell in spells:
                ended_now = spell.get("until") in (None, move.at)
                if ended_now and spell["version"] != number and "superseded_by" not in spell:
                    spell["until"] = move.at
                    spell["superseded_by"] = number
            spells.append(open_spell)
        else:
            for spell in reversed(spells):
                if spell["version"] == number and spell.get("ended_to") is None:
                    spell["until"] = spell.get("until") or move.at
                    spell["ended_by"] = move.actor
                    spell["ended_to"] = move.to_stage
                    break
    newest_first = [ProductionSpell(**spell) for spell in reversed(spells)]
    return newest_first if limit is None else newest_first[:limit]


def production_spells(session: Session, model_id: int) -> int:
    """How many times a version of the model went into production."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(tables.StageTransition)
            .join(tables.Version, tables.Version.id == tables.StageTransition.version_id)
            .where(
                tables.Version.model_id == model_id,
                tables.StageTransition.to_stage == "production",
            )
        )
        or 0
    )


def model_summary(session: Session, model: tables.RegisteredModel) -> ModelSummary:
    """One model's version count, latest, production and staging versions, in three reads."""
    of_model = tables.Version.model_id == model.id
    count, latest = session.execute(
        select(func.count(), func.max(tables.Version.number)).where(of_model)
    ).one()
    staged = session.execute(
        select(tables.Version.number, tables.Version.stage).where(
            of_model, tables.Version.stage.in_(("production", "staging"))
        )
    ).all()
    return ModelSummary(
        name=model.name,
        versions=int(count or 0),
        latest=int(latest) if latest is not None else None,
        production=next((int(n) for n, stage in staged if stage == "production"), None),
        staging=sorted(int(n) for n, stage in staged if stage == "staging"),
        created_at=model.created_at,
        created_by=model.created_by,
    )


def version_rows(
    session: Session, model_id: int, *, before: int | None, limit: int
) -> list[VersionRow]:
    """A page of a model's versions, newest first, starting below version ``before``."""
    query = select(tables.Version).where(tables.Version.model_id == model_id)
    if before is not None:
        query = query.where(tables.Version.number < before)
    rows = session.scalars(
        query.order_by(tables.Version.number.desc()).limit(page_size(limit))
    ).all()
    ids = [r.id for r in rows]
    aliases: dict[int, list[str]] = defaultdict(list)
    flags: dict[int, list[str]] = defaultdict(list)
    statuses: dict[int, str] = {}
    if ids:
        for version_id, alias in session.execute(
            select(tables.Alias.version_id, tables.Alias.alias).where(
                tables.Alias.version_id.in_(ids)
            )
        ):
            aliases[version_id].append(alias)
        for version_id, flag in session.execute(
            select(tables.Flag.version_id, tables.Flag.flag).where(
                tables.Flag.version_id.in_(ids), tables.Flag.resolved_at.is_(None)
            )
        ):
            flags[version_id].append(flag)
        evidence_ids = [r.evidence_id for r in rows if r.evidence_id]
        if evidence_ids:
            by_id = dict(
                session.execute(
                    select(tables.EvidenceRecord.id, tables.EvidenceRecord.status).where(
                        tables.EvidenceRecord.id.in_(evidence_ids)
                    )
                ).all()
            )
            statuses = {r.id: by_id[r.evidence_id] for r in rows if r.evidence_id in by_id}
    return [
        VersionRow(
            number=r.number,
            stage=r.stage,
            aliases=sorted(aliases[r.id]),
            created_at=r.created_at,
            created_by=r.created_by,
            evidence_status=statuses.get(r.id),
            open_flags=sorted(flags[r.id]),
        )
        for r in rows
    ]


def model_aliases(session: Session, model_id: int) -> dict[str, int]:
    """A model's aliases and the version number each points at."""
    return {
        alias: number
        for alias, number in session.execute(
            select(tables.Alias.alias, tables.Version.number)
            .join(tables.Version, tables.Version.id == tables.Alias.version_id)
            .where(tables.Alias.model_id == model_id)
            .order_by(tables.Alias.alias)
        )
    }


def tokens(session: Session, username: str | None = None) -> list[TokenInfo]:
    """Every token (or ``username``'s), newest first; the secret itself is never kept."""
    query = select(tables.Token, tables.User.username).join(
        tables.User, tables.User.id == tables.Token.user_id
    )
    if username is not None:
        query = query.where(tables.User.username == username)
    return [
        TokenInfo(
            id=token.id,
            username=owner,
            prefix=token.prefix,
            label=token.label,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
        )
        for token, owner in session.execute(query.order_by(tables.Token.id.desc()))
    ]


def count_versions(session: Session, model_id: int) -> int:
    """How many versions a model has."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(tables.Version)
            .where(tables.Version.model_id == model_id)
        )
        or 0
    )
