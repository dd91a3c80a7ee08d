"""The inbox: promotion requests waiting for approval, approved or rejected in place.

Each request shows who asked, for which stage, the gate's outcome for that stage (the
registry's own :func:`~charter.registry.promotion.evaluate_evidence` over the stored evidence
and policy), the approvals given and still needed, and the version's open flags. Approving and
rejecting call :meth:`Registry.approve` and :meth:`Registry.reject` as the logged-in user: a
refusal (separation of duties, failing evidence, an open ``needs-review`` flag, a missing role)
is the service's own message, shown where the buttons were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from charter.errors import CharterError
from charter.evidence import Evidence
from charter.policy.schema import Policy
from charter.registry import Actor, Registry, RequestInfo
from charter.registry.promotion import GateOutcome, evaluate_evidence
from charter.registry.records import FlagInfo
from charter.server.dashboard.session import CSRF_FIELD, Viewer
from charter.server.dashboard.site import (
    DashboardRoute,
    current_viewer,
    is_htmx,
    redirect,
    registry_of,
    render,
    sessions_of,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@dataclass(frozen=True)
class InboxItem:
    """One request as the inbox shows it."""

    request: RequestInfo
    evidence_status: str | None
    gate: GateOutcome | None
    gate_error: str | None
    open_flags: list[FlagInfo]

    @property
    def still_needed(self) -> int:
        """Approvals still missing."""
        return max(0, self.request.required_approvals - self.request.valid_approvals)


class _Bundles:
    """Policies and evidence already read for this page, by hash (versions often share them)."""

    def __init__(self) -> None:
        self.policies: dict[str, Policy] = {}
        self.evidence: dict[str, Evidence] = {}


def inbox_item(
    registry: Registry, request: RequestInfo, actor: Actor, bundles: _Bundles | None = None
) -> InboxItem:
    """Gather what an approver needs to judge ``request``."""
    seen = bundles or _Bundles()
    version = registry.get_version(request.model, request.version, actor=actor)
    gate: GateOutcome | None = None
    gate_error: str | None = None
    try:
        policy = seen.policies.get(version.policy_sha256)
        if policy is None:
            policy = registry.policy(request.model, request.version, actor=actor)
            seen.policies[version.policy_sha256] = policy
        digest = version.evidence.digest if version.evidence else ""
        evidence = seen.evidence.get(digest)
        if evidence is None:
            evidence = registry.evidence(request.model, request.version, actor=actor)
            seen.evidence[digest] = evidence
        gate = evaluate_evidence(policy, evidence, request.to_stage)
    except CharterError as error:  # tampered policy, missing evidence: say so, do not hide it
        gate_error = error.message
    return InboxItem(
        request=request,
        evidence_status=version.evidence.status if version.evidence else None,
        gate=gate,
        gate_error=gate_error,
        open_flags=version.open_flags,
    )


def inbox_items(registry: Registry, actor: Actor) -> list[InboxItem]:
    """Every pending request, oldest first."""
    bundles = _Bundles()
    return [inbox_item(registry, r, actor, bundles) for r in registry.list_requests(actor=actor)]


def recent_decisions(registry: Registry, actor: Actor, limit: int = 8) -> list[RequestInfo]:
    """The latest decided requests (completed, rejected, refused), newest first."""
    return registry.recent_decisions(actor=actor, limit=limit)


@router.get("/inbox")
def inbox(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    done: int | None = None,
) -> Response:
    """The approval queue."""
    registry = registry_of(request)
    items = inbox_items(registry, viewer.actor)
    decided = registry.get_request(done, actor=viewer.actor) if done else None
    return render(
        request,
        "inbox.html.j2",
        viewer,
        items=items,
        recent=recent_decisions(registry, viewer.actor),
        decided=decided,
    )


def _decision(
    request: Request, viewer: Viewer, request_id: int, csrf: str, decide: str, text: str
) -> Response:
    sessions_of(request).check_csrf(viewer, csrf)
    registry = registry_of(request)
    error: CharterError | None = None
    try:
        if decide == "approve":
            registry.approve(request_id, actor=viewer.actor, comment=text.strip() or None)
        else:
            registry.reject(request_id, actor=viewer.actor, reason=text)
    except CharterError as refused:
        error = refused
    current = registry.get_request(request_id, actor=viewer.actor)
    if is_htmx(request):
        item = inbox_item(registry, current, viewer.actor)
        return render(
            request,
            "_request.html.j2",
            viewer,
            status_code=error.http_status if error else 200,
            item=item,
            error=error,
        )
    if error is not None:
        items = inbox_items(registry, viewer.actor)
        return render(
            request,
            "inbox.html.j2",
            viewer,
            status_code=error.http_status,
            items=items,
            recent=recent_decisions(registry, viewer.actor),
            error=error,
            error_request=request_id,
            decided=None if current.status == "pending" else current,
        )
    return redirect(f"/inbox?done={request_id}")


@router.post("/requests/{request_id}/approve")
def approve(
    request: Request,
    request_id: int,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Approve a request as the logged-in user."""
    return _decision(request, viewer, request_id, csrf_token, "approve", comment)


@router.post("/requests/{request_id}/reject")
def reject(
    request: Request,
    request_id: int,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Reject a request, with the comment as the reason."""
    return _decision(request, viewer, request_id, csrf_token, "reject", comment)
