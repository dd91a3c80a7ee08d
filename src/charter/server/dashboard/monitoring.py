"""Monitoring of a version over time, from the monitoring evidence the registry holds.

Three kinds of chart, each with the policy's bounds drawn and the model's production changes
marked: the drift score of every compared column (and the share of drifted columns), the
fairness metric of each ``window_fairness`` rule with its interval and its value per group, and
each ``window_performance`` rule once labels have arrived. The page sends the series as JSON
for uPlot (vendored) and renders the same numbers as tables, which are what a browser without
JavaScript shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from charter.evidence import Evidence
from charter.registry import Actor, Registry
from charter.server.dashboard.session import Viewer
from charter.server.dashboard.site import DashboardRoute, current_viewer, registry_of, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

#: The latest production changes looked at for marks on the charts.
MARKED_CHANGES = 50


@dataclass
class Series:
    """One line: a value per time point, with an optional interval band."""

    label: str
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None


@dataclass
class Chart:
    """One time-series chart: shared x (epoch seconds), lines, bounds and marks."""

    id: str
    title: str
    unit: str
    x: list[int]
    series: list[Series]
    bounds: list[dict[str, Any]] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """What the page's script reads."""
        return {
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "x": self.x,
            "series": [
                {"label": s.label, "values": s.values, "low": s.low, "high": s.high}
                for s in self.series
            ],
            "bounds": self.bounds,
            "marks": self.marks,
        }

    @property
    def rows(self) -> list[tuple[str, list[tuple[float | None, float | None, float | None]]]]:
        """The table fallback: (time, [(value, low, high) per series])."""
        out = []
        for i, t in enumerate(self.x):
            cells = []
            for s in self.series:
                low = s.low[i] if s.low else None
                high = s.high[i] if s.high else None
                cells.append((s.values[i], low, high))
            when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")
            out.append((when, cells))
        return out


def _epoch(text: str) -> int:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _bounds(threshold: Any) -> list[dict[str, Any]]:
    out = []
    if threshold is not None:
        if threshold.min is not None:
            out.append({"value": threshold.min, "label": f"min {threshold.min:g}"})
        if threshold.max is not None:
            out.append({"value": threshold.max, "label": f"max {threshold.max:g}"})
    return out


def _windows(runs: list[Evidence]) -> dict[int, dict[str, Any]]:
    """Every window of every run by start time; a later run's window replaces an earlier one."""
    out: dict[int, dict[str, Any]] = {}
    for run in runs:
        for w in (run.extras.get("monitoring") or {}).get("windows") or []:
            if w.get("start"):
                out[_epoch(w["start"])] = w
    return dict(sorted(out.items()))


def drift_charts(runs: list[Evidence]) -> list[Chart]:
    """Drift score per column, and the share of drifted columns, per window."""
    windows = _windows(runs)
    xs = list(windows)
    columns: dict[str, dict[str, Any]] = {}
    for w in windows.values():
        for c in (w.get("drift") or {}).get("columns") or []:
            columns.setdefault(c["column"], {"method": c.get("method"), "threshold": None})
            if c.get("threshold") is not None:
                columns[c["column"]]["threshold"] = c["threshold"]
    if not xs or not columns:
        return []
    scores: dict[str, list[float | None]] = {name: [] for name in columns}
    share: list[float | None] = []
    for w in windows.values():
        drift = w.get("drift") or {}
        by_column = {c["column"]: c for c in drift.get("columns") or []}
        for name in columns:
            scores[name].append(_num((by_column.get(name) or {}).get("score")))
        share.append(_num(drift.get("share")))
    charts = []
    methods = sorted({str(c["method"]) for c in columns.values() if c["method"]})
    thresholds = sorted({c["threshold"] for c in columns.values() if c["threshold"] is not None})
    charts.append(
        Chart(
            id="drift-columns",
            title="Drift score per column",
            unit=", ".join(methods),
            x=xs,
            series=[Series(name, values) for name, values in scores.items()],
            bounds=[{"value": t, "label": f"threshold {t:g}"} for t in thresholds],
            note="p-value methods drift below their threshold; distance methods above it",
        )
    )
    drift_share = next(
        (_num(w.get("drift", {}).get("drift_share")) for w in windows.values() if w.get("drift")),
        None,
    )
    charts.append(
        Chart(
            id="drift-share",
            title="Share of drifted columns",
            unit="share",
            x=xs,
            series=[Series("drifted share", share)],
            bounds=[{"value": drift_share, "label": f"max {drift_share:g}"}]
            if drift_share is not None
            else [],
        )
    )
    return charts


def metric_charts(runs: list[Evidence], check: str) -> list[Chart]:
    """One chart per rule of ``check`` (``window_fairness`` or ``window_performance``)."""
    rules: dict[str, dict[str, Any]] = {}
    for run in runs:
        for f in run.findings:
            if f.check != check:
                continue
            rule = rules.setdefault(
                f.rule_id, {"metric": f.metric, "threshold": f.threshold, "points": {}}
            )
            rule["threshold"] = f.threshold
            for w in f.details.get("windows") or []:
                if w.get("start"):
                    rule["points"][_epoch(w["start"])] = w
    charts = []
    for rule_id, rule in rules.items():
        points = dict(sorted(rule["points"].items()))
        judged = [w for w in points.values() if _num(w.get("value")) is not None]
        if not judged:
            continue
        xs = list(points)
        values = [_num(w.get("value")) for w in points.values()]
        low = [_num((w.get("ci") or [None, None])[0]) for w in points.values()]
        high = [_num((w.get("ci") or [None, None])[1]) for w in points.values()]
        charts.append(
            Chart(
                id=f"{check}-{rule_id}",
                title=f"{rule_id}: {rule['metric']}",
                unit="with its interval" if any(v is not None for v in low) else "",
                x=xs,
                series=[Series(str(rule["metric"] or rule_id), values, low, high)],
                bounds=_bounds(rule["threshold"]),
            )
        )
        groups = sorted({g for w in points.values() for g in (w.get("groups") or {})})
        if groups:
            charts.append(
                Chart(
                    id=f"{check}-{rule_id}-groups",
                    title=f"{rule_id}: per group",
                    unit="the per-group values the metric compares",
                    x=xs,
                    series=[
                        Series(g, [_num((w.get("groups") or {}).get(g)) for w in points.values()])
                        for g in groups
                    ],
                )
            )
    return charts


def _marks_within(xs: list[int], marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The marks inside the charted windows, the last window included to its end.

    Marks closer than a hundredth of the span share one line and one label.
    """
    if not xs:
        return []
    step = xs[-1] - xs[-2] if len(xs) > 1 else 86400
    lo, hi = xs[0], xs[-1] + step
    inside = sorted((m for m in marks if lo <= m["x"] <= hi), key=lambda m: (m["x"], m["label"]))
    merged: list[dict[str, Any]] = []
    for mark in inside:
        if merged and mark["x"] - merged[-1]["x"] <= (hi - lo) / 100:
            merged[-1] = {**merged[-1], "label": merged[-1]["label"] + ", " + mark["label"]}
        else:
            merged.append(dict(mark))
    return merged


@dataclass(frozen=True)
class MonitoringPage:
    """What the monitoring page of a version shows."""

    name: str
    number: int
    runs: list[Evidence]
    drift: list[Chart]
    fairness: list[Chart]
    performance: list[Chart]
    marks: list[dict[str, Any]]


def monitoring_page(registry: Registry, name: str, number: int, actor: Actor) -> MonitoringPage:
    """The charts of one version's monitoring, with the model's production changes marked."""
    version = registry.get_version(name, number, actor=actor)
    runs = registry.monitoring_evidence(name, version.number, actor=actor)
    marks: list[dict[str, Any]] = []
    for spell in registry.production_history(name, actor=actor, limit=MARKED_CHANGES):
        since = spell.since if spell.since.tzinfo else spell.since.replace(tzinfo=UTC)
        marks.append(
            {
                "x": int(since.timestamp()),
                "label": f"v{spell.version} live",
                "when": since.strftime("%Y-%m-%d %H:%M UTC"),
            }
        )
    drift = drift_charts(runs)
    fairness = metric_charts(runs, "window_fairness")
    performance = metric_charts(runs, "window_performance")
    for chart in (*drift, *fairness, *performance):
        chart.marks = _marks_within(chart.x, marks)
    return MonitoringPage(
        name=name,
        number=version.number,
        runs=runs,
        drift=drift,
        fairness=fairness,
        performance=performance,
        marks=marks,
    )


@router.get("/models/{name}/versions/{number}/monitoring")
def monitoring(
    request: Request, name: str, number: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    """The monitoring page of a version."""
    page = monitoring_page(registry_of(request), name, number, viewer.actor)
    charts = [c.to_json() for c in (*page.drift, *page.fairness, *page.performance)]
    return render(request, "monitoring.html.j2", viewer, page=page, charts=charts)
