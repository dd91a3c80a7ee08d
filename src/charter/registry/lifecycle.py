"""A version's way up the stages: promotion requests and approvals.

A promotion is a request (``pending``) that the policy's approvers approve, each on the evidence
current at the time; the last approval needed completes it, archiving the production version it
replaces. The evidence is evaluated again when the request is made and when it completes (the
pure :func:`~charter.registry.promotion.evaluate_evidence`); an open ``needs-review`` flag holds a
promotion to production. A refusal is recorded and audited, then raised after the commit as
:class:`~charter.errors.GateFailedError` — built in one place, :func:`refuse`, for requests and
approvals alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from charter.errors import CharterError, ConflictError, GateFailedError
from charter.evidence import Evidence
from charter.policy.schema import Policy
from charter.registry import tables
from charter.registry.flags import resolve_hint, review_problem
from charter.registry.lookup import (
    current_evidence,
    find_version,
    model_row,
    request_record,
    request_rows,
    version_policy,
)
from charter.registry.names import check_text
from charter.registry.promotion import (
    PROMOTABLE_STAGES,
    GateOutcome,
    evaluate_evidence,
)
from charter.registry.records import Actor, RequestInfo
from charter.registry.roles import Action
from charter.registry.safeguards import (
    described,
    production_version,
    promotion_terms,
    rollback_target,
)
from charter.registry.stages import move
from charter.registry.store import DeniedError, Store, Tx, roles_of
from charter.registry.tables import utcnow

_EVIDENCE_HINT = (
    "read the evidence report, mitigate, run `charter check` again and attach the new evidence "
    "(`charter evidence attach`) or register a new version"
)


@dataclass(frozen=True)
class Refusal:
    """Why a promotion may not go on: the problems, and whether a review flag is among them."""

    problems: list[str]
    review: str | None

    @property
    def evidence_problems(self) -> bool:
        """Whether anything besides the open review flag stands in the way."""
        return len(self.problems) > (1 if self.review else 0)


def check_promotion(
    session: Session,
    version: tables.Version,
    name: str,
    outcome: GateOutcome,
    to_stage: str,
    *,
    forbidden_tier: str | None = None,
) -> Refusal:
    """Everything that stands in the way of moving ``version`` to ``to_stage`` now."""
    problems = list(outcome.problems)
    if forbidden_tier is not None:
        problems.insert(0, f"risk tier '{forbidden_tier}': the policy forbids deploying this model")
    review = review_problem(session, version, name) if to_stage == "production" else None
    if review is not None:
        problems.append(review)
    return Refusal(problems, review)


def refuse(
    tx: Tx,
    request: tables.PromotionRequest,
    version: tables.Version,
    name: str,
    refusal: Refusal,
    *,
    decided_by: str,
) -> None:
    """Record and audit a refused promotion; raise :class:`GateFailedError` after the commit."""
    problems = refusal.problems
    _decide(request, "refused", decided_by, "; ".join(problems))
    tx.audit(
        "promotion.refused",
        f"model:{name}/{version.number}",
        model=name,
        details={
            "request": request.id,
            "version": version.number,
            "to": request.to_stage,
            "evidence_digest": request.evidence_digest,
            "problems": problems,
        },
    )
    if refusal.review is None:
        hint = _EVIDENCE_HINT + ", then request again"
    elif not refusal.evidence_problems:
        hint = resolve_hint(name, version.number) + ", then request again"
    else:
        hint = resolve_hint(name, version.number) + "; and " + _EVIDENCE_HINT
    tx.raise_after_commit = GateFailedError(
        f"promotion of {name}:{version.number} to {request.to_stage} refused"
        f" ({len(problems)} problem{'' if len(problems) == 1 else 's'}):"
        + "".join(f"\n  - {p}" for p in problems),
        hint=hint,
        request_id=request.id,
        problems=problems,
    )


class Lifecycle:
    """Promotion requests and approvals of one registry.

    Parameters
    ----------
    store
        The registry's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def request_promotion(
        self,
        name: str,
        ref: str | int,
        to_stage: str,
        *,
        actor: Actor,
        note: str | None = None,
        kind: str = "promotion",
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
        check_text(note, what="note")
        if to_stage not in (*PROMOTABLE_STAGES, "archived"):
            raise CharterError(
                f"cannot promote to '{to_stage}'",
                hint="promote to staging or production; `charter archive` archives a version",
            )
        subject = f"model:{name}/{ref}"
        with self.store.write(actor, Action.PROMOTION_REQUEST, subject, model=name) as tx:
            version = find_version(tx.session, name, ref)
            subject = f"model:{name}/{version.number}"
            if version.stage == to_stage:
                raise ConflictError(
                    f"{name}:{version.number} is already in {to_stage}", hint="nothing to do"
                )
            if to_stage == "archived" and version.stage != "production":
                raise CharterError(
                    f"{name}:{version.number} is not in production: archive it directly",
                    hint=f"charter archive {name}:{version.number}",
                )
            policy = version_policy(version, name)
            bundle, digest = current_evidence(tx.session, version, name)
            terms = promotion_terms(tx.session, version, name, policy, to_stage, kind=kind)
            needed = terms.needed
            outcome = (
                GateOutcome(stage=to_stage, rules=0)  # leaving production judges no evidence
                if terms.kind == "demotion"
                else evaluate_evidence(policy, bundle, to_stage)
            )
            request = tx.session.scalar(
                select(tables.PromotionRequest).where(
                    tables.PromotionRequest.version_id == version.id,
                    tables.PromotionRequest.to_stage == to_stage,
                    tables.PromotionRequest.status == "pending",
                )
            )
            refusal = check_promotion(
                tx.session,
                version,
                name,
                outcome,
                to_stage,
                forbidden_tier=policy.model.risk_tier.value if needed is None else None,
            )
            refusal.problems.extend(terms.problems)
            fresh = request is None
            if request is None:
                request = _open_request(
                    tx.session, version.id, to_stage, needed or 0, digest, actor.username, note
                )
                request.kind = terms.kind
                request.changes = json.dumps(terms.changes) if terms.changes else None
            if refusal.problems:
                refuse(tx, request, version, name, refusal, decided_by=actor.username)
            else:
                if fresh:
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
                            **described(terms),
                        },
                    )
                if not needed or _valid_approvals(tx.session, request, digest) >= needed:
                    self._complete(tx, request, version, name, outcome)
            info = request_record(tx.session, request, version, name)
        return info

    def approve(self, request_id: int, *, actor: Actor, comment: str | None = None) -> RequestInfo:
        """Approve a pending request; the last approval needed completes the promotion.

        The approver must hold the approver role (and the policy's ``approvals.approver_role``)
        and must not be the requester. Refusals are audited.
        """
        check_text(comment, what="comment")
        with self.store.write(actor, Action.PROMOTION_APPROVE, f"request:{request_id}") as tx:
            request, version, name = request_rows(tx.session, request_id)
            subject = f"model:{name}/{version.number}"
            _require_pending(request)
            if request.requested_by == actor.username:
                raise DeniedError(
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
            policy = version_policy(version, name)
            role = policy.approvals.approver_role
            if role not in roles_of(tx.session, actor.username):
                raise DeniedError(
                    f"{actor.username} may not approve {name}: its policy requires approvals from "
                    f"the role {role}",
                    f"ask an admin to grant {actor.username} the role {role}",
                    subject,
                    name,
                    {
                        "attempted": Action.PROMOTION_APPROVE.value,
                        "request": request_id,
                        "needs": [role],
                    },
                    user=actor.username,
                    role=role,
                )
            bundle, digest = current_evidence(tx.session, version, name)
            already = tx.session.scalar(
                select(tables.Approval).where(
                    tables.Approval.request_id == request.id,
                    tables.Approval.approver == actor.username,
                    tables.Approval.withdrawn_at.is_(None),
                )
            )
            if already is not None:  # refused, and the refusal is on the record
                message = f"{actor.username} already approved request {request_id}"
                tx.audit(
                    "promotion.approve_refused",
                    subject,
                    model=name,
                    details={"request": request.id, "reason": message},
                )
                tx.raise_after_commit = ConflictError(
                    message, hint="another approver must give the next approval"
                )
            else:
                self._record_approval(tx, request, version, name, policy, bundle, digest, comment)
            info = request_record(tx.session, request, version, name)
        return info

    def _record_approval(
        self,
        tx: Tx,
        request: tables.PromotionRequest,
        version: tables.Version,
        name: str,
        policy: Policy,
        bundle: Evidence,
        digest: str,
        comment: str | None,
    ) -> None:
        """Add one approval; the last one needed completes the request (inside ``tx``)."""
        subject = f"model:{name}/{version.number}"
        tx.session.add(
            tables.Approval(
                request_id=request.id,
                approver=tx.actor,
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
        terms = promotion_terms(
            tx.session, version, name, policy, request.to_stage, kind=request.kind
        )
        # a floor raised (or a production version replaced) since the request was made
        request.required_approvals = max(request.required_approvals, terms.needed or 0)
        if count >= request.required_approvals:
            outcome = (
                GateOutcome(stage=request.to_stage, rules=0)
                if terms.kind == "demotion"
                else evaluate_evidence(policy, bundle, request.to_stage)
            )
            refusal = check_promotion(tx.session, version, name, outcome, request.to_stage)
            refusal.problems.extend(terms.problems)
            if refusal.problems:
                refuse(tx, request, version, name, refusal, decided_by=tx.actor)
            else:
                self._complete(tx, request, version, name, outcome)

    def request_rollback(self, name: str, *, actor: Actor, note: str | None = None) -> RequestInfo:
        """Ask to put back the version that was in production before (its own request).

        It needs what any promotion to production needs — the strictest approvals, evidence
        that still passes — and is audited as a ``promotion.requested`` of kind ``rollback``.
        """
        self.store.require(actor, Action.PROMOTION_REQUEST, f"model:{name}", model=name)
        with self.store.read() as session:
            target = rollback_target(session, model_row(session, name).id, name)
            number = target.number
        return self.request_promotion(
            name, number, "production", actor=actor, note=note, kind="rollback"
        )

    def reject(self, request_id: int, *, actor: Actor, reason: str) -> RequestInfo:
        """Reject a pending request, with a reason."""
        if not reason or not reason.strip():
            raise CharterError(
                "a rejection needs a reason", hint="say why it is rejected", field="reason"
            )
        check_text(reason, what="reason")
        with self.store.write(actor, Action.PROMOTION_REJECT, f"request:{request_id}") as tx:
            request, version, name = request_rows(tx.session, request_id)
            _require_pending(request)
            _decide(request, "rejected", actor.username, reason.strip())
            tx.audit(
                "promotion.rejected",
                f"model:{name}/{version.number}",
                model=name,
                details={"request": request.id, "to": request.to_stage, "reason": reason.strip()},
            )
            info = request_record(tx.session, request, version, name)
        return info

    def _complete(
        self,
        tx: Tx,
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
                move(tx, previous, "archived", now, request_id=request.id)
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
        tx.checkpoint("promotion.before_stage_change")
        from_stage = version.stage
        move(tx, version, to_stage, now, request_id=request.id)
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
        except DatabaseIntegrityError:
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
                "kind": request.kind,
                "production": current.number
                if (current := production_version(session, version.model_id))
                else None,
            },
        )
        tx.checkpoint("promotion.before_commit")


def evidence_changed(
    tx: Tx, version: tables.Version, name: str, bundle: Evidence, digest: str
) -> None:
    """Withdraw approvals given on other evidence; refuse pending requests the new one fails."""
    subject = f"model:{name}/{version.number}"
    pending = tx.session.scalars(
        select(tables.PromotionRequest).where(
            tables.PromotionRequest.version_id == version.id,
            tables.PromotionRequest.status == "pending",
        )
    ).all()
    policy = version_policy(version, name)
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
        if request.kind == "demotion":  # leaving production is not judged on evidence
            continue
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


def _require_pending(request: tables.PromotionRequest) -> None:
    if request.status != "pending":
        raise ConflictError(
            f"request {request.id} is {request.status}, not pending",
            hint="`charter requests` lists the requests that wait",
        )


def _open_request(
    session: Session,
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
