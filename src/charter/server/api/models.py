"""Models and their versions, read: lists, one version, lineage, history, evidence, downloads.

``{ref}`` names a version as the CLI does: a number, a stage (``production``, ``staging``), an
alias, or ``latest``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from charter.errors import NotFoundError
from charter.evidence import Evidence
from charter.registry import Action, ModelSummary, ModelVersion, TransitionInfo
from charter.registry.listings import ProductionSpell
from charter.server.api.promotions import PromotionRequest
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.pages import Page, page_of
from charter.server.problems import problem_responses

router = APIRouter(tags=["models"])

_READ = problem_responses(401, 403, 404)


class VersionDetail(ModelVersion):
    """One version with its stage history (what `charter show` prints)."""

    history: list[TransitionInfo] = Field(description="Stage changes, oldest first.")


class Lineage(BaseModel):
    """Where a version came from: code, data, environment, parameters, artifact, policy."""

    model: str
    version: int
    git: dict[str, Any] | None = Field(description="Commit, branch, remote, dirty.")
    data: dict[str, Any] = Field(description="Data fingerprints by role (train, test, ...).")
    environment: dict[str, Any] = Field(description="Python and package versions.")
    params: dict[str, Any]
    artifact_sha256: str
    artifact_format: str
    policy_sha256: str
    evidence_digest: str | None
    other: dict[str, Any] = Field(description="Any further lineage recorded (e.g. MLflow).")


class EvidenceView(BaseModel):
    """An evidence bundle with what is derived from it: digest, status, summary."""

    digest: str = Field(description="sha256 of the bundle's canonical JSON.")
    status: str = Field(description="passed, passed_with_warnings or failed.")
    passed: bool
    summary: dict[str, int] = Field(description="Findings by outcome.")
    evidence: Evidence

    @classmethod
    def of(cls, evidence: Evidence) -> EvidenceView:
        """The view of ``evidence``."""
        return cls(
            digest=evidence.digest,
            status=evidence.status,
            passed=evidence.passed,
            summary=evidence.summary(),
            evidence=evidence,
        )


class MonitoringRun(BaseModel):
    """One monitoring run recorded for a version (its evidence without the findings)."""

    run: int = Field(description="1 for the first run recorded, then 2, 3, ...")
    status: str
    passed: bool
    created_at: datetime
    digest: str
    summary: dict[str, int]
    stage: str | None = None


@router.get(
    "/models", openapi_extra=performs(Action.VERSION_READ), summary="Every model", responses=_READ
)
def list_models(registry: RegistryDep, actor: ActorDep) -> list[ModelSummary]:
    """Every registered model with its version count, latest, production and staging."""
    return registry.list_models(actor=actor)


@router.get(
    "/models/{name}",
    openapi_extra=performs(Action.VERSION_READ),
    summary="One model",
    responses=_READ,
)
def get_model(name: str, registry: RegistryDep, actor: ActorDep) -> ModelSummary:
    """One model's summary (404 with a suggestion when the name is unknown)."""
    for summary in registry.list_models(actor=actor):
        if summary.name == name:
            return summary
    registry.list_versions(name, actor=actor)  # raises the registry's own NotFoundError
    raise NotFoundError(f"no model named '{name}'")  # pragma: no cover - listed above


@router.get(
    "/models/{name}/production-history",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Production history",
    responses=_READ,
)
def production_history(
    name: str,
    registry: RegistryDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=500, description="The latest N spells.")] = None,
) -> list[ProductionSpell]:
    """Which version was live in production from when to when, newest first.

    Each spell names who requested and who approved the change that started it.
    """
    return registry.production_history(name, actor=actor, limit=limit)


@router.get(
    "/models/{name}/aliases",
    openapi_extra=performs(Action.VERSION_READ),
    summary="A model's aliases",
    responses=_READ,
)
def aliases(name: str, registry: RegistryDep, actor: ActorDep) -> dict[str, int]:
    """Each alias of the model and the version number it points at."""
    return registry.aliases(name, actor=actor)


@router.get(
    "/models/{name}/versions",
    openapi_extra=performs(Action.VERSION_READ),
    summary="A model's versions",
    responses=_READ,
)
def list_versions(
    name: str,
    registry: RegistryDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Versions per page.")] = 20,
    after: Annotated[
        int | None, Query(ge=0, description="The `next` of the previous page.")
    ] = None,
) -> Page[ModelVersion]:
    """The versions of a model, oldest first, a page at a time (keyset on the number)."""
    rows = registry.list_versions(name, actor=actor, after=after, limit=limit + 1)
    return page_of(rows, key=lambda v: v.number, limit=limit)


@router.get(
    "/models/{name}/versions/{ref}",
    openapi_extra=performs(Action.VERSION_READ),
    summary="One version",
    responses=_READ,
)
def get_version(name: str, ref: str, registry: RegistryDep, actor: ActorDep) -> VersionDetail:
    """A version with lineage, policy, evidence summary, flags, aliases and stage history."""
    version = registry.get_version(name, ref, actor=actor)
    history = registry.history(name, version.number, actor=actor)
    return VersionDetail(**dict(version), history=history)


@router.get(
    "/models/{name}/versions/{ref}/lineage",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Lineage",
    responses=_READ,
)
def get_lineage(name: str, ref: str, registry: RegistryDep, actor: ActorDep) -> Lineage:
    """Git, data fingerprints, environment and parameters of a version."""
    version = registry.get_version(name, ref, actor=actor)
    lineage = dict(version.lineage)
    return Lineage(
        model=version.model,
        version=version.number,
        git=lineage.pop("git", None),
        data=lineage.pop("data", None) or {},
        environment=lineage.pop("environment", None) or {},
        params=version.params,
        artifact_sha256=version.artifact_sha256,
        artifact_format=version.artifact_format,
        policy_sha256=version.policy_sha256,
        evidence_digest=version.evidence.digest if version.evidence else None,
        other=lineage,
    )


@router.get(
    "/models/{name}/versions/{ref}/requests",
    openapi_extra=performs(Action.VERSION_READ),
    summary="A version's promotion requests",
    responses=_READ,
)
def version_requests(
    name: str, ref: str, registry: RegistryDep, actor: ActorDep
) -> list[PromotionRequest]:
    """Every promotion request of the version, oldest first, with its approvals."""
    return [
        PromotionRequest.model_validate(r.model_dump())
        for r in registry.version_requests(name, ref, actor=actor)
    ]


@router.get(
    "/models/{name}/versions/{ref}/history",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Stage history",
    responses=_READ,
)
def get_history(
    name: str, ref: str, registry: RegistryDep, actor: ActorDep
) -> list[TransitionInfo]:
    """The stage changes of a version, oldest first, with who made them and the request."""
    return registry.history(name, ref, actor=actor)


@router.get(
    "/models/{name}/versions/{ref}/evidence",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Gate evidence",
    responses=_READ,
)
def get_evidence(name: str, ref: str, registry: RegistryDep, actor: ActorDep) -> EvidenceView:
    """The version's current gate evidence, checked against its stored digest."""
    return EvidenceView.of(registry.evidence(name, ref, actor=actor))


@router.get(
    "/models/{name}/versions/{ref}/evidence/report",
    openapi_extra=performs(Action.VERSION_READ),
    summary="The gate's HTML report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **_READ},
)
def get_evidence_report(
    name: str, ref: str, registry: RegistryDep, actor: ActorDep
) -> HTMLResponse:
    """The HTML report kept with the current evidence (its hash checked on the way)."""
    version = registry.get_version(name, ref, actor=actor)
    digest = version.evidence.report_sha256 if version.evidence else None
    if digest is None:
        raise NotFoundError(
            f"{version.ref} has no HTML report with its evidence",
            hint="the report is kept when the evidence folder holds report.html at "
            "registration or attach",
        )
    return HTMLResponse(registry.artifacts.read_bytes(digest))


@router.get(
    "/models/{name}/versions/{ref}/artifact",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Download the artifact",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **_READ},
)
def download_artifact(name: str, ref: str, registry: RegistryDep, actor: ActorDep) -> FileResponse:
    """The model artifact, its sha256 checked against the registry's record before sending.

    The ``Digest``-like header ``X-Artifact-Sha256`` carries the hash for the caller to check.
    """
    version = registry.get_version(name, ref, actor=actor)
    path = registry.artifacts.fetch_temporary(
        version.artifact_sha256, suffix=f".{version.artifact_format}"
    )
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{version.model}-{version.number}.{version.artifact_format}",
        headers={"X-Artifact-Sha256": version.artifact_sha256},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get(
    "/models/{name}/versions/{ref}/reference-profile",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Reference profile of the training data",
    responses=_READ,
)
def get_reference_profile(
    name: str, ref: str, registry: RegistryDep, actor: ActorDep
) -> dict[str, Any]:
    """The profile of the training data kept at registration (monitoring's reference)."""
    profile = registry.reference_profile(name, ref, actor=actor)
    if profile is None:
        raise NotFoundError(
            f"{name}:{ref} has no reference profile",
            hint="register with training data (train_data) to keep one",
        )
    return profile


@router.get(
    "/models/{name}/versions/{ref}/monitoring",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Monitoring runs",
    responses=_READ,
)
def list_monitoring(
    name: str, ref: str, registry: RegistryDep, actor: ActorDep
) -> list[MonitoringRun]:
    """The monitoring runs recorded for a version, oldest first, without their findings."""
    return [
        MonitoringRun(
            run=index,
            status=evidence.status,
            passed=evidence.passed,
            created_at=evidence.created_at,
            digest=evidence.digest,
            summary=evidence.summary(),
            stage=evidence.stage,
        )
        for index, evidence in enumerate(registry.monitoring_evidence(name, ref, actor=actor), 1)
    ]


@router.get(
    "/models/{name}/versions/{ref}/monitoring/{run}",
    openapi_extra=performs(Action.VERSION_READ),
    summary="One monitoring run's evidence",
    responses=_READ,
)
def get_monitoring(
    name: str, ref: str, run: int, registry: RegistryDep, actor: ActorDep
) -> EvidenceView:
    """The evidence of one monitoring run (``run`` as listed: 1 is the first)."""
    runs = registry.monitoring_evidence(name, ref, actor=actor)
    if not 1 <= run <= len(runs):
        raise NotFoundError(
            f"{name}:{ref} has no monitoring run {run}",
            hint=f"it has {len(runs)} run(s), numbered from 1",
        )
    return EvidenceView.of(runs[run - 1])
