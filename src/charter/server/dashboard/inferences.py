"""The inference explorer: one served request, row by row, with its explanation as a waterfall.

``/inferences?request_id=ID`` reads the request through :meth:`Serving.lookup` — the same call
as ``GET /api/v1/inferences/{request_id}``, so the page and the API show the same rows and the
same refusals. Each row shows its inputs, prediction and score, the version that answered, the
latency, the caller, the label once joined, and the explanation as a waterfall: bars from the
explainer's base value to the output, largest |contribution| first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from charter.errors import CharterError
from charter.server.dashboard.session import Viewer
from charter.server.dashboard.site import DashboardRoute, current_viewer, render
from charter.server.serving import Serving, serving_of
from charter.serving.log import LogColumns

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

#: Columns every log row has besides the inputs and the policy-named ones.
_BOOKKEEPING = frozenset(
    {"request_id", "row", "model", "version", "sha256", "explanation", "latency_ms", "caller"}
)


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a feature's contribution, from ``start`` to ``end``."""

    feature: str
    contribution: float
    start: float
    end: float
    left: float
    width: float

    @property
    def positive(self) -> bool:
        """Whether the feature pushes the output up."""
        return self.contribution >= 0


@dataclass(frozen=True)
class Waterfall:
    """An explanation laid out for an SVG: positions are percentages of the drawing's width."""

    base: float
    output: float
    output_space: str
    method: str
    steps: list[Step]
    base_at: float
    output_at: float


def waterfall(explanation: dict[str, Any]) -> Waterfall:
    """The bars from the base value to the output, largest |contribution| first."""
    base = float(explanation["base_value"])
    ordered = sorted(
        ((str(k), float(v)) for k, v in explanation["contributions"].items()),
        key=lambda item: -abs(item[1]),
    )
    points = [base]
    for _, value in ordered:
        points.append(points[-1] + value)
    low, high = min(points), max(points)
    span = (high - low) or 1.0

    def at(value: float) -> float:
        return 100 * (value - low) / span

    steps = []
    for (feature, value), start in zip(ordered, points, strict=False):
        end = start + value
        steps.append(Step(feature, value, start, end, at(min(start, end)), 100 * abs(value) / span))
    return Waterfall(
        base=base,
        output=points[-1],
        output_space=str(explanation.get("output_space", "")),
        method=str(explanation.get("method", "")),
        steps=steps,
        base_at=at(base),
        output_at=at(points[-1]),
    )


@dataclass(frozen=True)
class ServedRow:
    """One logged row as the explorer shows it."""

    row: int
    model: str
    version: int
    sha256: str
    at: Any
    inputs: dict[str, Any]
    prediction: Any
    score: float | None
    latency_ms: float | None
    caller: str
    label: Any
    waterfall: Waterfall | None


def _columns(state: Serving, model: str, version: int) -> LogColumns:
    """The policy's names of the timestamp, prediction and score columns of a version."""
    try:
        return state.models.get(model, version).log_columns
    except CharterError:  # artifact gone or no longer loadable: the defaults still name most
        return LogColumns()


def served_rows(state: Serving, rows: list[dict[str, Any]]) -> list[ServedRow]:
    """The rows of :meth:`Serving.lookup`, split into inputs, outputs and explanation."""
    out = []
    names: dict[tuple[str, int], LogColumns] = {}
    for record in rows:
        key = (str(record["model"]), int(record["version"]))
        if key not in names:
            names[key] = _columns(state, *key)
        cols = names[key]
        named = {cols.timestamp, cols.prediction, cols.score, "label"}
        explanation = record.get("explanation")
        out.append(
            ServedRow(
                row=int(record["row"]),
                model=key[0],
                version=key[1],
                sha256=str(record.get("sha256", "")),
                at=record.get(cols.timestamp),
                inputs={
                    k: v for k, v in record.items() if k not in _BOOKKEEPING and k not in named
                },
                prediction=record.get(cols.prediction),
                score=record.get(cols.score),
                latency_ms=record.get("latency_ms"),
                caller=str(record.get("caller", "")),
                label=record.get("label"),
                waterfall=waterfall(explanation) if isinstance(explanation, dict) else None,
            )
        )
    return out


@router.get("/inferences")
def inferences(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    request_id: str = "",
) -> Response:
    """Look up a served request by its id (the search form, or a link from elsewhere)."""
    request_id = request_id.strip()
    if not request_id:
        return render(request, "inferences.html.j2", viewer, request_id="", rows=[])
    state = serving_of(request)
    rows = served_rows(state, state.lookup(request_id, actor=viewer.actor))
    return render(request, "inferences.html.j2", viewer, request_id=request_id, rows=rows)
