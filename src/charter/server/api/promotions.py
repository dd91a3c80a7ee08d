"""Promotion requests: ask, list, approve, reject.

A refusal is the service's: separation of duties, a missing approver role, evidence failing
the policy, an open needs-review flag. Its problem body carries the service's message (and,
for a refused promotion, the list of problems); the refused request stays on record.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, computed_field

from charter.registry import Action, RequestInfo
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.problems import problem_responses

router = APIRouter(tags=["promotions"])

_WRITE = problem_responses(400, 401, 403, 404, 409, 422)


class PromotionRequest(RequestInfo):
    """A promotion request, its approvals, and how many still count."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def approvals_given(self) -> int:
        """Approvals that still count (not withdrawn)."""
        return self.valid_approvals

    @computed_field  # type: ignore[prop-decorator]
    @property
    def approvals_missing(self) -> int:
        """Approvals still needed while the request is pending."""
        if self.status != "pending":
            return 0
        return max(self.required_approvals - self.valid_approvals, 0)


class NewPromotion(BaseModel):
    """Where to promote a version, and why."""

    to: Literal["staging", "production"] = Field(description="The stage to move it to.")
    note: str | None = Field(default=None, max_length=2000, description="Why, for approvers.")


class Approval(BaseModel):
    """An approval's comment, kept in the record."""

    comment: str | None = Field(default=None, max_length=2000)


class Rejection(BaseModel):
    """Why a request is rejected (kept in the audit trail)."""

    reason: str = Field(min_length=1, max_length=2000)


def _out(request: RequestInfo) -> PromotionRequest:
    return PromotionRequest.model_validate(request.model_dump())


@router.post(
    "/models/{name}/versions/{ref}/promotions",
    summary="Request promotion",
    openapi_extra=performs(Action.PROMOTION_REQUEST),
    status_code=201,
    responses=_WRITE,
)
def request_promotion(
    name: str, ref: str, body: NewPromotion, registry: RegistryDep, actor: ActorDep
) -> PromotionRequest:
    """Ask to move a version to a stage; it completes when evidence and approvals allow.

    A refused promotion (evidence failing the policy, a forbidden tier, an open needs-review
    flag) is a 422 problem with the service's message and ``problems``.
    """
    return _out(registry.request_promotion(name, ref, body.to, actor=actor, note=body.note))


@router.get(
    "/requests",
    summary="Promotion requests",
    openapi_extra=performs(Action.VERSION_READ),
    responses=problem_responses(401, 403),
)
def list_requests(
    registry: RegistryDep,
    actor: ActorDep,
    status: Annotated[
        Literal["pending", "completed", "refused", "rejected", "all"],
        Query(description="Which requests; `all` for every one."),
    ] = "pending",
    model: Annotated[str | None, Query(description="Only this model's.")] = None,
) -> list[PromotionRequest]:
    """Promotion requests, oldest first (default: those waiting for approval)."""
    rows = registry.list_requests(
        actor=actor, status=None if status == "all" else status, model=model
    )
    return [_out(r) for r in rows]


@router.get(
    "/requests/{request_id}",
    summary="One promotion request",
    openapi_extra=performs(Action.VERSION_READ),
    responses=problem_responses(401, 403, 404),
)
def get_request(request_id: int, registry: RegistryDep, actor: ActorDep) -> PromotionRequest:
    """A request with its approvals (withdrawn ones marked)."""
    return _out(registry.get_request(request_id, actor=actor))


@router.post(
    "/requests/{request_id}/approve",
    summary="Approve a request",
    openapi_extra=performs(Action.PROMOTION_APPROVE),
    responses=_WRITE,
)
def approve(
    request_id: int, body: Approval, registry: RegistryDep, actor: ActorDep
) -> PromotionRequest:
    """Approve (role approver; never one's own request); the last approval completes it."""
    return _out(registry.approve(request_id, actor=actor, comment=body.comment))


@router.post(
    "/requests/{request_id}/reject",
    summary="Reject a request",
    openapi_extra=performs(Action.PROMOTION_REJECT),
    responses=_WRITE,
)
def reject(
    request_id: int, body: Rejection, registry: RegistryDep, actor: ActorDep
) -> PromotionRequest:
    """Reject a pending request, with a reason."""
    return _out(registry.reject(request_id, actor=actor, reason=body.reason))
