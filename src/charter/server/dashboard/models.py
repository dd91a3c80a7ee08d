"""Models: production, staging, aliases, versions, and the production history.

The history says which version was live from when to when, who requested and who approved
each change. Versions come a page at a time, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from charter.registry import Actor, ModelSummary, Registry
from charter.registry import serving as registry_serving
from charter.registry.listings import ProductionSpell, VersionRow
from charter.server.dashboard.session import Viewer
from charter.server.dashboard.site import DashboardRoute, current_viewer, registry_of, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE = 50
#: Production spells shown before "the whole history" is asked for.
HISTORY = 20


@dataclass(frozen=True)
class TimelineSpell:
    """A production spell placed on a time axis (share of the model's production life)."""

    spell: ProductionSpell
    left: float
    width: float

    @property
    def duration(self) -> str:
        """How long it was (or has been) live, for a person: minutes, hours or days."""
        end = self.spell.until or datetime.now(UTC)
        seconds = max(0.0, (_aware(end) - _aware(self.spell.since)).total_seconds())
        if seconds < 3600:
            return f"{seconds / 60:.0f} min"
        if seconds < 2 * 86400:
            return f"{seconds / 3600:.1f} hours"
        return f"{seconds / 86400:.1f} days"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def timeline(spells: list[ProductionSpell]) -> list[TimelineSpell]:
    """Spells (newest first) with bar positions over the span from the first to now."""
    if not spells:
        return []
    start = min(_aware(s.since) for s in spells)
    end = datetime.now(UTC)
    total = max((end - start).total_seconds(), 1.0)
    out = []
    for s in spells:
        left = (_aware(s.since) - start).total_seconds() / total
        stop = _aware(s.until) if s.until else end
        width = max((stop - _aware(s.since)).total_seconds() / total, 0.006)
        out.append(TimelineSpell(spell=s, left=100 * left, width=100 * min(width, 1 - left)))
    return out


@dataclass(frozen=True)
class ModelPage:
    """What the page of one model shows."""

    summary: ModelSummary
    aliases: dict[str, int]
    history: list[TimelineSpell]
    spells: int
    versions: list[VersionRow]
    next_before: int | None
    suspension: registry_serving.Suspension | None = None


def model_page(
    registry: Registry,
    name: str,
    actor: Actor,
    *,
    before: int | None = None,
    whole_history: bool = False,
) -> ModelPage:
    """One model: its summary, aliases, production history, a page of versions, its suspension.

    The history is the latest :data:`HISTORY` spells unless ``whole_history``.
    """
    summary, spells = registry.model_overview(name, actor=actor)
    versions = registry.version_page(name, actor=actor, before=before, limit=PAGE)
    more = len(versions) == PAGE and versions[-1].number > 1
    history = registry.production_history(
        name, actor=actor, limit=None if whole_history else HISTORY
    )
    return ModelPage(
        summary=summary,
        aliases=registry.aliases(name, actor=actor),
        history=timeline(history),
        spells=spells,
        versions=versions,
        next_before=versions[-1].number if more else None,
        suspension=registry_serving.suspension(registry, name),
    )


@router.get("/models")
def models(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    """Every model with its production and staging versions and its aliases."""
    registry = registry_of(request)
    summaries = registry.list_models(actor=viewer.actor)
    aliases = {m.name: registry.aliases(m.name, actor=viewer.actor) for m in summaries}
    return render(request, "models.html.j2", viewer, models=summaries, aliases=aliases)


@router.get("/models/{name}")
def model(
    request: Request,
    name: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    before: Annotated[int | None, Query(ge=1)] = None,
    history: str | None = None,
) -> Response:
    """One model: production history and versions (newest first, 50 a page)."""
    page = model_page(
        registry_of(request), name, viewer.actor, before=before, whole_history=history == "all"
    )
    return render(request, "model.html.j2", viewer, page=page, name=name, before=before)
