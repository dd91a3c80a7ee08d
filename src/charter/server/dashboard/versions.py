"""A version and everything recorded about it.

Lineage, the gate's findings with bounds and intervals, SHAP importances, flags and their
resolution, its stage history and requests, the model card, and downloads of the evidence
and the artifact.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, HTMLResponse, Response

from charter.errors import CharterError
from charter.evidence import Evidence
from charter.registry import Actor, ModelVersion, Registry, RequestInfo, TransitionInfo
from charter.server.dashboard.findings import FindingView, finding_views, importances
from charter.server.dashboard.session import CSRF_FIELD, Viewer
from charter.server.dashboard.site import (
    DashboardRoute,
    current_viewer,
    redirect,
    registry_of,
    render,
    sessions_of,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@dataclass(frozen=True)
class VersionPage:
    """What the page of one version shows."""

    version: ModelVersion
    evidence: Evidence | None
    evidence_error: str | None
    findings: list[FindingView]
    importances: tuple[str, list[tuple[str, float, float]]] | None
    history: list[TransitionInfo]
    requests: list[RequestInfo]
    summary: dict[str, int]


def version_page(registry: Registry, name: str, number: int, actor: Actor) -> VersionPage:
    """Gather one version's record, evidence, history and requests."""
    version = registry.get_version(name, number, actor=actor)
    evidence: Evidence | None = None
    error: str | None = None
    try:
        evidence = registry.evidence(name, number, actor=actor)
    except CharterError as exc:
        error = exc.message
    requests = registry.version_requests(name, number, actor=actor)
    return VersionPage(
        version=version,
        evidence=evidence,
        evidence_error=error,
        findings=finding_views(evidence) if evidence else [],
        importances=importances(evidence) if evidence else None,
        history=registry.history(name, number, actor=actor),
        requests=requests,
        summary=evidence.summary() if evidence else {},
    )


def lineage_sections(lineage: dict[str, Any]) -> list[tuple[str, Any]]:
    """The lineage's parts in reading order: git, data, environment, then the rest."""
    order = ["git", "data", "inputs", "environment", "sources"]
    keys = [k for k in order if k in lineage] + sorted(k for k in lineage if k not in order)
    return [(k, lineage[k]) for k in keys]


@router.get("/models/{name}/versions/{number}")
def version(
    request: Request,
    name: str,
    number: int,
    viewer: Annotated[Viewer, Depends(current_viewer)],
) -> Response:
    """One version."""
    page = version_page(registry_of(request), name, number, viewer.actor)
    return render(
        request,
        "version.html.j2",
        viewer,
        page=page,
        v=page.version,
        lineage=lineage_sections(page.version.lineage),
    )


@router.get("/models/{name}/versions/{number}/card")
def card(
    request: Request, name: str, number: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    """The model card, as the self-contained HTML ``charter card`` writes."""
    from charter.cards import model_card, render_card

    document = model_card(registry_of(request), name, number, actor=viewer.actor)
    response = HTMLResponse(render_card(document, "html"))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/models/{name}/versions/{number}/evidence.json")
def evidence_download(
    request: Request, name: str, number: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    """The version's gate evidence bundle, as stored (digest checked by the registry)."""
    bundle = registry_of(request).evidence(name, number, actor=viewer.actor)
    return Response(
        bundle.to_json() + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}-{number}-evidence.json"'},
    )


@router.get("/models/{name}/versions/{number}/artifact")
def artifact_download(
    request: Request, name: str, number: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    """The version's artifact, hash checked on the way out of the store."""
    folder = Path(tempfile.mkdtemp(prefix="charter-download-"))
    try:
        path = registry_of(request).download(name, number, folder, actor=viewer.actor)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        filename=path.name,
        media_type="application/octet-stream",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/models/{name}/versions/{number}/flags/{flag}/resolve")
def resolve_flag(
    request: Request,
    name: str,
    number: int,
    flag: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Resolve an open flag with a reason (approvers and admins; the registry decides)."""
    sessions_of(request).check_csrf(viewer, csrf_token)
    registry_of(request).resolve_flag(name, number, flag, reason, actor=viewer.actor)
    return redirect(f"/models/{name}/versions/{number}#flags")
