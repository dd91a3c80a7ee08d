"""Findings as the dashboard draws them: a value against its bounds, with its interval.

The drawing is the HTML report's (:func:`charter.report.plots.metric_against_threshold`) in the
same colours, as a small inline SVG computed here rather than by matplotlib, so a version page
with dozens of findings renders in milliseconds. Per-group tables and SHAP importances come
from the finding's details, read as the report reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from charter.evidence import Evidence, Finding, Verdict
from charter.report.plots import FAIL_COLOUR, MUTED_COLOUR, PASS_COLOUR, WARN_COLOUR

_COLOURS = {"pass": PASS_COLOUR, "warn": WARN_COLOUR, "fail": FAIL_COLOUR}
#: Keys of a group record that are not metric values.
_GROUP_META = {"group", "key", "count", "weight", "size", "n", "small", "excluded", "privileged"}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def interval(raw: Any) -> tuple[float, float] | None:
    """A ``[low, high]`` pair (list or ``{"low", "high"}``) as floats, or ``None``."""
    if isinstance(raw, Mapping):
        raw = (raw.get("low", raw.get("lower")), raw.get("high", raw.get("upper")))
    if isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 2:
        low, high = _finite(raw[0]), _finite(raw[1])
        if low is not None and high is not None:
            return low, high
    return None


def state(finding: Finding) -> str:
    """``pass``, ``warn``, ``fail`` or ``skipped`` (as the report colours it)."""
    if finding.verdict is Verdict.PASS:
        return "pass"
    if finding.verdict is Verdict.SKIPPED:
        return "skipped"
    return "warn" if finding.warning else "fail"


@dataclass(frozen=True)
class Bar:
    """Geometry of one finding's drawing, in percent of the plot's width."""

    value: float
    x: float
    zero: float
    ci: tuple[float, float] | None
    bounds: list[tuple[float, str, float]]
    colour: str


def bar(finding: Finding) -> Bar | None:
    """The finding's value, interval and bounds on one axis; ``None`` when nothing to draw."""
    value = _finite(finding.value)
    if value is None or finding.threshold is None:
        return None
    ci = interval(finding.interval)
    bounds = [
        (b, name)
        for b, name in ((finding.threshold.min, "min"), (finding.threshold.max, "max"))
        if b is not None
    ]
    points = [0.0, value, *(ci or ()), *(b for b, _ in bounds)]
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.12 or 0.1
    lo, hi = lo - (pad if lo < 0 else 0.0), hi + pad

    def at(v: float) -> float:
        return 100.0 * (v - lo) / (hi - lo)

    return Bar(
        value=value,
        x=at(value),
        zero=at(0.0),
        ci=(at(ci[0]), at(ci[1])) if ci else None,
        bounds=[(at(b), name, b) for b, name in bounds],
        colour=_COLOURS.get(state(finding), MUTED_COLOUR),
    )


@dataclass(frozen=True)
class GroupTable:
    """Per-group values of a finding: one row per group, one column per metric."""

    metrics: list[str]
    rows: list[dict[str, Any]]


def group_table(details: Mapping[str, Any]) -> GroupTable | None:
    """The ``groups`` records of a finding's details, as a table with intervals."""
    groups = details.get("groups")
    if (
        not isinstance(groups, list)
        or not groups
        or not all(isinstance(g, Mapping) for g in groups)
    ):
        return None
    metrics: dict[str, None] = {}
    for g in groups:
        for key, value in g.items():
            if key in _GROUP_META or key.endswith("_ci") or key == "ci":
                continue
            if _finite(value) is not None:
                metrics.setdefault(key, None)
    rows = []
    for g in groups:
        row: dict[str, Any] = {"group": g.get("group", g.get("key")), "count": g.get("count")}
        for m in metrics:
            ci = g.get(f"{m}_ci")
            if ci is None and isinstance(g.get("ci"), Mapping):
                ci = g["ci"].get(m)
            row[m] = (_finite(g.get(m)), interval(ci))
        rows.append(row)
    return GroupTable(metrics=list(metrics), rows=rows)


def importances(evidence: Evidence) -> tuple[str, list[tuple[str, float, float]]] | None:
    """The first SHAP (or other) importance ranking in the evidence.

    Returns ``(rule id, [(feature, value, percent of the largest)])``, largest first, at most 25.
    """
    for finding in evidence.findings:
        raw = finding.details.get("importances")
        values: dict[str, float] = {}
        if isinstance(raw, Mapping):
            values = {str(k): n for k, v in raw.items() if (n := _finite(v)) is not None}
        elif isinstance(raw, list):
            for item in raw:
                if isinstance(item, Mapping):
                    name = item.get("feature", item.get("name"))
                    number = _finite(item.get("importance", item.get("value")))
                    if name is not None and number is not None:
                        values[str(name)] = number
        if values:
            ranked = sorted(values.items(), key=lambda kv: -abs(kv[1]))[:25]
            top = abs(ranked[0][1]) or 1.0
            return finding.rule_id, [(k, v, 100 * abs(v) / top) for k, v in ranked]
    return None


@dataclass(frozen=True)
class FindingView:
    """A finding with what the page draws for it."""

    finding: Finding
    state: str
    bar: Bar | None
    ci: tuple[float, float] | None
    groups: GroupTable | None
    extra: dict[str, Any] = field(default_factory=dict)


def finding_views(evidence: Evidence) -> list[FindingView]:
    """Every finding of ``evidence``, failing ones first, then by section and rule."""
    order = {"fail": 0, "warn": 1, "pass": 2, "skipped": 3}
    views = [
        FindingView(
            finding=f,
            state=state(f),
            bar=bar(f),
            ci=interval(f.interval),
            groups=group_table(f.details),
        )
        for f in evidence.findings
    ]
    views.sort(key=lambda v: (order.get(v.state, 9), v.finding.section, v.finding.rule_id))
    return views
