"""The self-contained HTML report: a rendering of an Evidence bundle.

Everything the page shows comes from the bundle (findings, their details, ``extras``), so a
report can be rebuilt from any ``evidence.json``. The page has no external assets: CSS is
inline and plots are inline SVG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from charter.evidence import Evidence, Finding, Outcome
from charter.report import plots

#: Detail keys the report draws itself; every other key is rendered generically.
_DRAWN_KEYS = {
    "groups",
    "ci",
    "reason",
    "importances",
    "error",
    "group_metric",
    "metric_rates",
    "metric",
    "value",
}
_MAX_TABLE_ROWS = 200
#: Sections whose metric is drawn against its bounds (data and privacy shares read better as text).
_PLOTTED = {"performance", "fairness", "explainability", "monitoring"}
#: Columns shown first in tables of records; the rest follow in name order, so a report
#: rendered from evidence.json (whose keys are sorted) is identical to the original.
_LEADING_COLUMNS = ("group", "feature", "column", "name", "key", "count")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("charter.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["generic"] = render_generic
    env.filters["short"] = lambda s, n=12: (s or "")[:n]
    return env


def render_html(evidence: Evidence) -> str:
    """Render the bundle as one self-contained HTML page."""
    sections: dict[str, list[dict[str, Any]]] = {}
    sensitive = list(evidence.extras.get("run", {}).get("sensitive") or [])
    for finding in evidence.findings:
        sections.setdefault(finding.section, []).append(_finding_view(finding, sensitive))
    summary = evidence.summary()
    data_summary = evidence.extras.get("data_summary") or {}
    template = _environment().get_template("report.html.j2")
    return template.render(
        e=evidence,
        status=evidence.status,
        summary=summary,
        outcomes=evidence.outcomes(),
        tones={o.value: _TONE_CLASS[o.tone] for o in Outcome},
        sections=sections,
        blocking=[f for f in evidence.findings if f.blocking],
        warnings=[f for f in evidence.findings if f.warning],
        data_summary=data_summary,
        null_plot=_markup(plots.null_fraction_bars(data_summary.get("columns") or [])),
        roles=data_roles(data_summary.get("columns") or [], evidence.extras.get("run") or {}),
        fingerprints=[("policy", evidence.policy), *evidence.inputs.items()],
        models=evidence.extras.get("models") or {},
        run=evidence.extras.get("run") or {},
        card=evidence.extras.get("model_card") or {},
        other_extras={
            k: v
            for k, v in evidence.extras.items()
            if k not in {"data_summary", "models", "run", "model_card"}
        },
        environment=evidence.environment,
        digest=evidence.digest,
    )


def _finding_view(finding: Finding, sensitive: Sequence[str]) -> dict[str, Any]:
    details = finding.details
    threshold = finding.threshold
    view: dict[str, Any] = {
        "f": finding,
        "verdict_class": _verdict_class(finding),
        "threshold": threshold.describe() if threshold else "",
        "reason": details.get("reason"),
        "error": details.get("error"),
        "plots": [],
        "groups_table": None,
        "generic": {k: details[k] for k in sorted(details) if k not in _DRAWN_KEYS},
    }
    ci = plots._pair(finding.interval)
    if finding.value is not None and threshold is not None and finding.section in _PLOTTED:
        view["gauge"] = gauge(finding.value, threshold.min, threshold.max, ci)
    view["ci"] = ci
    groups = details.get("groups")
    if isinstance(groups, list) and groups and all(isinstance(g, Mapping) for g in groups):
        metrics = _group_metrics(details, groups)
        lines = _reference_lines(finding, groups, metrics, details)
        svg = plots.group_bars(groups, metrics=metrics, reference_lines=lines)
        if svg:
            view["plots"].append(_markup(svg))
        view["groups_table"] = _groups_table(groups, metrics)
        view["group_metrics"] = metrics
    elif groups is not None:
        view["generic"]["groups"] = groups
    importances = _importances(details.get("importances"))
    if importances:
        protected = details.get("protected")
        marked = [*sensitive, *(protected if isinstance(protected, list) else [])]
        svg = plots.importance_bars(importances, highlight=marked)
        if svg:
            view["plots"].append(_markup(svg))
        view["importances"] = sorted(importances.items(), key=lambda kv: -abs(kv[1]))
    elif details.get("importances") is not None:
        view["generic"]["importances"] = details["importances"]
    return view


def finding_plots(finding: Finding, sensitive: Sequence[str] = ()) -> list[str]:
    """The report's plots of one finding, as SVG text (for the model card to reuse).

    Per-group bars with their confidence intervals and the rule's bounds, or the SHAP
    importances with the protected attributes marked; the value-against-bound strip is left to
    the tables.
    """
    return [str(p) for p in _finding_view(finding, sensitive)["plots"]]


def _group_metrics(details: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]) -> list[str]:
    """The per-group metrics to draw: those the finding names, else every one found."""
    named = (
        details.get("metric_rates") or details.get("group_metric") or details.get("group_metrics")
    )
    found = plots.group_metric_names(groups)
    if isinstance(named, str):
        named = [named]
    if isinstance(named, list):
        chosen = [m for m in named if m in found]
        if chosen:
            return chosen
    return found


def gauge(
    value: float, low: float | None, high: float | None, ci: tuple[float, float] | None
) -> dict[str, Any] | None:
    """Where a value, its interval and its bounds sit on one scale, in percent of its width.

    The report draws it with CSS (a bar, a whisker, dashed bounds): no figure to render.
    """
    number = plots._finite(value)
    if number is None:
        return None
    points = [0.0, number, *(ci or ()), *(b for b in (low, high) if b is not None)]
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.08 or 0.1
    lo, hi = (lo - pad if lo < 0 else lo), hi + pad

    def at(x: float) -> float:
        return round(100 * (x - lo) / (hi - lo), 2)

    zero = at(0.0)
    return {
        "bar_left": min(zero, at(number)),
        "bar_width": abs(at(number) - zero),
        "ci": (at(ci[0]), at(ci[1]) - at(ci[0])) if ci else None,
        "bounds": [
            (at(b), f"{name} {b:g}") for b, name in ((low, "min"), (high, "max")) if b is not None
        ],
        "scale": (format_number(lo if lo < 0 else 0.0), format_number(hi)),
    }


def _groups_table(groups: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """The per-group table, its columns in reading order.

    Group, n, each metric followed by its interval, then the flags and undefined reasons.
    """
    with_ci = {m: any(plots._group_ci(g, m) for g in groups) for m in metrics}
    flags = [f for f in ("privileged", "small", "excluded") if any(g.get(f) for g in groups)]
    columns = ["group", "n"]
    for m in metrics:
        columns += [m, f"{m} CI"] if with_ci[m] else [m]
    columns += flags
    rows = []
    notes = False
    for g in groups:
        row: list[Any] = [g.get("group", g.get("key")), g.get("count")]
        for m in metrics:
            value = g.get(m)
            row.append(math.nan if value is None else value)
            if with_ci[m]:
                pair = plots._group_ci(g, m)
                row.append(f"{format_number(pair[0])} – {format_number(pair[1])}" if pair else "–")
        row += ["yes" if g.get(f) else "" for f in flags]
        undefined = g.get("undefined")
        reasons = (
            [f"{k}: {v}" for k, v in undefined.items() if k in metrics]
            if isinstance(undefined, Mapping)
            else []
        )
        row.append("; ".join(reasons))
        notes = notes or bool(reasons)
        rows.append(row)
    if notes:
        columns.append("undefined")
    else:
        rows = [r[:-1] for r in rows]
    return {"columns": columns, "rows": rows}


def data_roles(columns: Sequence[Mapping[str, Any]], run: Mapping[str, Any]) -> dict[str, str]:
    """Each data column's role in the run: target, feature, sensitive, id, prediction, ..."""
    features = set(run.get("features") or [])
    sensitive = set(run.get("sensitive") or []) | set(run.get("protected") or [])
    roles: dict[str, str] = {}
    for column in columns:
        name = str(column.get("name"))
        parts = []
        if name == run.get("target"):
            parts.append("target")
        if name == run.get("id_column"):
            parts.append("id")
        if name in sensitive:
            parts.append("sensitive")
        if name in features:
            parts.append("feature")
        if name == run.get("prediction_column"):
            parts.append("prediction")
        if name == run.get("score_column"):
            parts.append("score")
        roles[name] = ", ".join(parts) or "not used"
    return roles


def _reference_lines(
    finding: Finding,
    groups: Sequence[Mapping[str, Any]],
    metrics: Sequence[str],
    details: Mapping[str, Any] | None = None,
) -> list[tuple[float, str]]:
    """Where the rule's bounds fall on the per-group scale, for a single drawn metric.

    * between groups (fairlearn's default): a ``*_difference`` rule with ``max: d`` fails when a
      group sits more than ``d`` above the lowest group; a ``*_ratio`` rule with ``min: r``
      fails when a group sits below ``r`` times the highest one;
    * to overall: the bounds around the overall value;
    * against a privileged group (AIF360): the bounds around the privileged group's rate.

    Drawn as dashed lines so the offending bars stand out.
    """
    details = details or {}
    bound = finding.threshold
    if bound is None or len(metrics) != 1 or not finding.metric:
        return []
    metric = metrics[0]
    values = [plots._finite(g.get(metric)) for g in groups]
    finite = [v for v in values if v is not None]
    if len(finite) < 2:
        return []
    ratio = details.get("aggregation") == "ratio" or "ratio" in finding.metric.lower()
    ratio = ratio or finding.metric.lower() in ("disparate_impact", "four_fifths_rule")
    method = details.get("method") or (
        "privileged" if "privileged_rates" in details else "between_groups"
    )
    if method in ("to_overall", "privileged"):
        source = (
            details.get("overall") if method == "to_overall" else details.get("privileged_rates")
        )
        ref = plots._finite(source.get(metric)) if isinstance(source, Mapping) else None
        if ref is None:
            return []
        name = "overall" if method == "to_overall" else "privileged"
        lines = []
        for b in (bound.min, bound.max):
            if b is None:
                continue
            if ratio:
                lines.append((ref * b, f"{name} × {b:g}"))
            else:
                lines.append((ref + b, f"{name} {'+' if b >= 0 else '−'} {abs(b):g}"))
        if method == "to_overall" and not ratio and bound.max is not None and bound.min is None:
            lines.append((ref - bound.max, f"{name} − {bound.max:g}"))
        return [(y, label) for y, label in lines if y >= 0]
    if ratio and bound.min is not None:
        return [(max(finite) * bound.min, f"highest × {bound.min:g}")]
    if not ratio and bound.max is not None and bound.min in (None, -bound.max):
        return [(min(finite) + bound.max, f"lowest + {bound.max:g}")]
    return []


def _importances(raw: Any) -> dict[str, float]:
    if isinstance(raw, Mapping):
        out = {}
        for k, v in raw.items():
            number = plots._finite(v)
            if number is not None:
                out[str(k)] = number
        return out
    if isinstance(raw, list):
        out = {}
        for item in raw:
            if isinstance(item, Mapping):
                name = item.get("feature", item.get("name"))
                number = plots._finite(item.get("importance", item.get("value")))
                if name is not None and number is not None:
                    out[str(name)] = number
        return out
    return {}


#: CSS class of each outcome tone (the classes the report's styles and plots know).
_TONE_CLASS = {"ok": "pass", "bad": "fail", "warn": "warn", "muted": "skipped"}


def _verdict_class(finding: Finding) -> str:
    return _TONE_CLASS[finding.outcome.tone]


def _markup(svg: str | None) -> Markup | None:
    return Markup(svg) if svg else None


def format_number(value: Any, digits: int = 4) -> str:
    """A number as a person reads it: ``0.1235``, ``12,345``, ``NaN``; other values as text."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        if float(value).is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        if abs(value) >= 1:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"
    return str(value)


def render_generic(value: Any, depth: int = 0) -> Markup:
    """Render any JSON-able detail value as HTML: tables for records, lists for lists."""
    if isinstance(value, Mapping):
        if not value:
            return Markup('<span class="muted">(empty)</span>')
        if depth > 3:
            return _pre(value)
        items = "".join(
            f"<dt>{escape(str(k))}</dt><dd>{render_generic(v, depth + 1)}</dd>"
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        )
        return Markup(f'<dl class="generic">{items}</dl>')
    if isinstance(value, list | tuple):
        if not value:
            return Markup('<span class="muted">(none)</span>')
        if all(isinstance(v, Mapping) for v in value):
            return _records_table(value, depth)
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            shown = ", ".join(format_number(v) for v in value[:_MAX_TABLE_ROWS])
            more = (
                f" … ({len(value) - _MAX_TABLE_ROWS} more)" if len(value) > _MAX_TABLE_ROWS else ""
            )
            return Markup(f"<span>{escape(shown)}{escape(more)}</span>")
        return _pre(value)
    return Markup(f"<span>{escape(format_number(value))}</span>")


def _records_table(records: Sequence[Mapping[str, Any]], depth: int) -> Markup:
    found = {str(key) for record in records for key in record}
    first = [c for c in _LEADING_COLUMNS if c in found]
    columns = [*first, *sorted(found - set(first))]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for record in records[:_MAX_TABLE_ROWS]:
        cells = "".join(f"<td>{render_generic(record.get(c), depth + 1)}</td>" for c in columns)
        rows.append(f"<tr>{cells}</tr>")
    more = (
        f'<p class="muted">{len(records) - _MAX_TABLE_ROWS} more rows in evidence.json</p>'
        if len(records) > _MAX_TABLE_ROWS
        else ""
    )
    return Markup(
        f'<table class="records"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _pre(value: Any) -> Markup:
    text = json.dumps(value, indent=2, default=str, allow_nan=True)
    return Markup(f"<pre>{escape(text)}</pre>")
