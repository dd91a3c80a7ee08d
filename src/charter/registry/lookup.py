"""Finding registry rows by what users call them, and turning rows into records.

Shared by every part of the registry: a model by name, a version by number, stage, alias or
``latest``, a user, a promotion request; the stored evidence and policy, each checked against
the digest recorded when it was stored (:func:`stored_policy` is the one check of a stored
policy's hash, used by the service and by the card builder alike).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.errors import (
    IntegrityError,
    NotFoundError,
    PolicyError,
    did_you_mean,
)
from charter.evidence import Evidence, sha256_bytes
from charter.policy.loader import policy_from_dict
from charter.policy.schema import Policy
from charter.registry import tables
from charter.registry.names import check_model_name, terminal_safe, version_number
from charter.registry.promotion import STAGES
from charter.registry.records import (
    ApprovalInfo,
    EvidenceInfo,
    FlagInfo,
    ModelVersion,
    RequestInfo,
)

_TAMPERED_HINT = "the registry database was changed outside Charter; run `charter audit verify`"


def check_name(name: str) -> None:
    """Refuse a model name the registry cannot store (:func:`names.check_model_name`)."""
    check_model_name(name)


def model_row(session: Session, name: str) -> tables.RegisteredModel:
    """The model called ``name``, or a :class:`NotFoundError` with a suggestion."""
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


def find_version(session: Session, name: str, ref: str | int) -> tables.Version:
    """Resolve a number, ``latest``, a stage or an alias to a version row."""
    model = model_row(session, name)
    query = select(tables.Version).where(tables.Version.model_id == model.id)
    text = str(ref).strip()
    row: tables.Version | None
    number = version_number(text)
    if number is not None:
        row = session.scalar(query.where(tables.Version.number == number))
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
        what = f"version {text}" if number is not None else f"'{terminal_safe(text)}'"
        raise NotFoundError(
            f"{name} has no {what}",
            hint=f"versions: {known}"
            + (f"; aliases: {', '.join(aliases)}" if aliases else "")
            + "; or use latest, staging, production",
        )
    return row


def user_row(session: Session, username: str) -> tables.User:
    """The user called ``username``, or a :class:`NotFoundError` with a suggestion."""
    user = session.scalar(select(tables.User).where(tables.User.username == username))
    if user is None:
        names = session.scalars(select(tables.User.username)).all()
        guess = did_you_mean(username, names)
        raise NotFoundError(
            f"no user {username}", hint=guess or "`charter user list` lists the users"
        )
    return user


def request_rows(
    session: Session, request_id: int
) -> tuple[tables.PromotionRequest, tables.Version, str]:
    """A promotion request with its version and the version's model name."""
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


def stored_policy(
    document: Mapping[str, Any], sha256: str, ref: str, *, check_ids: bool = True
) -> Policy:
    """A policy stored with version ``ref``, validated again and checked against its hash.

    Parameters
    ----------
    document
        The stored policy mapping.
    sha256
        The hash recorded when the version was registered.
    ref
        ``NAME:NUMBER`` of the version, for messages.
    check_ids
        Check that the rules' checks are installed (a card is written without: it describes
        the version even after a plugin is gone).

    Raises
    ------
    PolicyError
        The stored policy no longer validates (a check it names is gone).
    IntegrityError
        The stored policy no longer hashes to ``sha256``: the database was changed outside
        Charter.
    """
    try:
        policy = policy_from_dict(dict(document), source=f"registry:{ref}", check_ids=check_ids)
    except PolicyError as exc:
        raise PolicyError(
            f"the policy stored with {ref} no longer validates: {exc.message}",
            hint="install the checks it names again, or register a new version under a valid "
            "policy",
        ) from None
    if policy.sha256 != sha256:
        raise IntegrityError(
            f"the policy stored with {ref} does not match its recorded hash", hint=_TAMPERED_HINT
        )
    return policy


def version_policy(version: tables.Version, name: str) -> Policy:
    """The version's stored policy, validated again (checks and controls may have changed)."""
    return stored_policy(version.policy, version.policy_sha256, f"{name}:{version.number}")


def parse_evidence(record: tables.EvidenceRecord, ref: str) -> Evidence:
    """The evidence of a stored record, checked against the digest taken when it was stored."""
    if sha256_bytes(record.body.encode("utf-8")) != record.digest:
        raise IntegrityError(
            f"the evidence stored with {ref} does not match its digest", hint=_TAMPERED_HINT
        )
    return Evidence.from_json(record.body)


def current_evidence(session: Session, version: tables.Version, name: str) -> tuple[Evidence, str]:
    """The version's gate evidence and its stored digest (checked against the stored body)."""
    ref = f"{name}:{version.number}"
    record = (
        session.get(tables.EvidenceRecord, version.evidence_id) if version.evidence_id else None
    )
    if record is None:
        raise NotFoundError(
            f"{ref} has no evidence", hint="attach it with `charter evidence attach`"
        )
    return parse_evidence(record, ref), record.digest


def open_flags(session: Session, version: tables.Version, flag: str) -> list[tables.Flag]:
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


def version_record(
    session: Session, row: tables.Version, name: str, *, new: bool = False
) -> ModelVersion:
    """The public record of a version row (``new``: just registered, so no aliases or flags)."""
    aliases = (
        []
        if new
        else sorted(
            session.scalars(
                select(tables.Alias.alias).where(tables.Alias.version_id == row.id)
            ).all()
        )
    )
    record = session.get(tables.EvidenceRecord, row.evidence_id) if row.evidence_id else None
    flags = (
        []
        if new
        else [
            flag_info(f)
            for f in session.scalars(
                select(tables.Flag).where(tables.Flag.version_id == row.id).order_by(tables.Flag.id)
            )
        ]
    )
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
        evidence=evidence_info(record) if record else None,
        flags=flags,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        stage_changed_at=row.stage_changed_at,
    )


def request_record(
    session: Session, request: tables.PromotionRequest, version: tables.Version, name: str
) -> RequestInfo:
    """The public record of a promotion request, with its approvals."""
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
        kind=request.kind or "promotion",
        changes=json.loads(request.changes) if request.changes else [],
    )


def flag_info(row: tables.Flag) -> FlagInfo:
    """The public record of a flag row."""
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


def evidence_info(record: tables.EvidenceRecord) -> EvidenceInfo:
    """The public summary of a stored evidence record."""
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
        verified=record.verified,
    )
