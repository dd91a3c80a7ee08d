"""Model cards and compliance reports of a version, as JSON, Markdown or HTML."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import computed_field

from charter.cards import ComplianceReport, ModelCard, compliance_report, model_card
from charter.cards.render import render_card, render_compliance
from charter.errors import CharterError
from charter.policy.controls import frameworks
from charter.registry import Action
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.problems import problem_responses

router = APIRouter(tags=["cards"])


class CardFormat(StrEnum):
    """Renderings of a model card."""

    JSON = "json"
    MD = "md"
    HTML = "html"


class ReportFormat(StrEnum):
    """Renderings of a compliance report."""

    JSON = "json"
    HTML = "html"


class Compliance(ComplianceReport):
    """A compliance report and its count of controls per status."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts_by_status(self) -> dict[str, int]:
        """Controls per status: satisfied, failed, needs_person, ..."""
        return self.counts


def _rendered(text: str, fmt: str) -> Response:
    if fmt == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get(
    "/models/{name}/versions/{ref}/card",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Model card",
    response_model=ModelCard,
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}}},
        **problem_responses(401, 403, 404, 422),
    },
)
def get_card(
    name: str,
    ref: str,
    registry: RegistryDep,
    actor: ActorDep,
    format: Annotated[CardFormat, Query(description="json, md or html.")] = CardFormat.JSON,
) -> Any:
    """The model card (Mitchell et al., 2019) of a version, like `charter card`."""
    card = model_card(registry, name, ref, actor=actor)
    if format is CardFormat.JSON:
        return card
    return _rendered(render_card(card, format.value), format.value)


@router.get(
    "/models/{name}/versions/{ref}/compliance",
    openapi_extra=performs(Action.VERSION_READ),
    summary="Compliance report",
    response_model=Compliance,
    responses={200: {"content": {"text/html": {}}}, **problem_responses(401, 403, 404, 422)},
)
async def get_compliance(
    name: str,
    ref: str,
    registry: RegistryDep,
    actor: ActorDep,
    format: Annotated[ReportFormat, Query(description="json or html.")] = ReportFormat.JSON,
    framework: Annotated[
        str | None, Query(description="Only eu-ai-act, nist-ai-rmf or oecd.")
    ] = None,
) -> Any:
    """Every control of the catalogue as satisfied, failed or needing a person.

    Building it verifies the audit trail, so it runs off the event loop.
    """
    if framework is not None and framework not in frameworks():
        raise CharterError(
            f"unknown framework '{framework}'", hint="use " + ", ".join(frameworks())
        )
    report = await run_in_threadpool(
        lambda: compliance_report(registry, name, ref, actor=actor, framework=framework)
    )
    if format is ReportFormat.JSON:
        return Compliance.model_validate(report.model_dump())
    return HTMLResponse(render_compliance(report, "html"))
