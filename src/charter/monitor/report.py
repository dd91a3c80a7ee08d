"""The monitoring report: one self-contained HTML file with inline SVG plots.

Sections: the verdict and the findings; drift score per column over the whole period (with
each column's threshold); the share of drifted columns per window; reference and current
distributions of every drifted column; every fairness and performance rule over time against
its bounds, with confidence intervals; notes on the log (missing columns, empty windows,
timestamps out of order).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment

from charter.evidence import Finding, Threshold
from charter.stats.drift import METHODS, ColumnDrift, DatasetDrift, dataset_drift, rebin
from charter.stats.profile import ColumnKind, ColumnProfile

if TYPE_CHECKING:
    from charter.monitor.run import MonitorResult

MAX_DISTRIBUTION_PLOTS = 12
_OK, _BAD, _REF, _CUR, _GREY = "#2a9d8f", "#d62828", "#457b9d", "#e76f51", "#8d99ae"
_RISK = "#f4a261"


def _figure(width: float = 7.5, height: float = 3.0) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # matplotlib's RDF metadata (creator URL, date) adds nothing to a report
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def overall_drift(result: MonitorResult) -> DatasetDrift | None:
    """Drift of every column over the whole period (all windows merged)."""
    run = result.run
    total = run.summary.total()
    if total is None or total.rows == 0:
        return None
    judged = [w for w in run.windows if w.drift is not None]
    columns = [c.column for c in judged[0].drift.columns] if judged and judged[0].drift else None
    return dataset_drift(
        run.reference,
        total.profile,
        columns=columns,
        method=run.settings.method,
        threshold=run.settings.threshold,
        per_column=run.settings.per_column,
        drift_share=run.settings.drift_share,
    )


def drift_scores_plot(drift: DatasetDrift) -> str | None:
    """Bar per column: distance scores, and -log10(p) for p-value tests, with thresholds."""
    computed = [c for c in drift.columns if c.computed]
    if not computed:
        return None
    fig, ax = _figure(7.5, 0.35 * len(computed) + 1.2)
    labels, values, limits, colors = [], [], [], []
    for c in computed:
        assert c.method is not None
        p_value = METHODS[c.method].p_value
        value = -math.log10(max(c.score, 1e-300)) if p_value else c.score
        limit = -math.log10(c.threshold) if p_value else c.threshold
        labels.append(f"{c.column}  ({c.method.value}{', -log10 p' if p_value else ''})")
        values.append(value)
        limits.append(limit)
        colors.append(_BAD if c.drifted else _OK)
    y = np.arange(len(computed))
    ax.barh(y, values, color=colors)
    ax.scatter(limits, y, marker="|", s=300, color="black", label="threshold")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("drift score (red: drifted)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return _svg(fig)


def drift_share_plot(result: MonitorResult) -> str | None:
    """Share of drifted columns per window, with the dataset-drift threshold."""
    points = [
        (w.start, w.drift.share)
        for w in result.run.windows
        if w.drift is not None and not math.isnan(w.drift.share)
    ]
    if not points:
        return None
    fig, ax = _figure()
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    limit = result.run.settings.drift_share
    ax.plot(xs, ys, marker="o", color=_REF)
    ax.scatter(
        [x for x, y in points if y >= limit],
        [y for _, y in points if y >= limit],
        color=_BAD,
        zorder=3,
    )
    ax.axhline(limit, color=_BAD, linestyle="--", linewidth=1, label=f"drift share {limit:g}")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of drifted columns")
    _legend(ax)
    fig.autofmt_xdate()
    return _svg(fig)


def distribution_plot(reference: ColumnProfile, current: ColumnProfile, drift: ColumnDrift) -> str:
    """Reference against current distribution of one column."""
    fig, ax = _figure(7.5, 2.8)
    ref_c, cur_c = reference.categories, current.categories
    if reference.kind is ColumnKind.CATEGORICAL and ref_c is not None and cur_c is not None:
        ref_counts = ref_c.as_dict()
        keys = list(dict.fromkeys([*ref_c.values, *cur_c.values]))
        keys = sorted(keys, key=lambda k: -ref_counts.get(k, 0))[:30]
        ref = ref_c.aligned(keys) / max(ref_c.count, 1)
        cur = cur_c.aligned(keys) / max(cur_c.count, 1)
        x = np.arange(len(keys))
        ax.bar(x - 0.2, ref, width=0.4, color=_REF, label="reference")
        ax.bar(x + 0.2, cur, width=0.4, color=_CUR, label="current")
        ax.set_xticks(x, [str(k) for k in keys], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("share of rows")
    elif reference.numeric is not None and current.numeric is not None:
        ref_h, cur_h = reference.numeric, current.numeric
        lo = float(np.nanmin([ref_h.minimum, cur_h.minimum]))
        hi = float(np.nanmax([ref_h.maximum, cur_h.maximum]))
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 41)
        ref_mass, _ = rebin(ref_h, edges)
        cur_mass, _ = rebin(cur_h, edges)
        width = np.diff(edges)
        ax.stairs(
            ref_mass / max(ref_mass.sum(), 1) / width,
            edges,
            color=_REF,
            fill=True,
            alpha=0.45,
            label="reference",
        )
        ax.stairs(
            cur_mass / max(cur_mass.sum(), 1) / width,
            edges,
            color=_CUR,
            linewidth=2,
            label="current",
        )
        ax.set_ylabel("density")
    score = "-" if math.isnan(drift.score) else f"{drift.score:.4g}"
    method = drift.method.value if drift.method else "-"
    ax.set_title(
        f"{reference.name}: {method} = {score} (threshold {drift.threshold:g})", fontsize=9
    )
    _legend(ax)
    return _svg(fig)


def metric_over_time_plot(title: str, windows: Sequence[dict[str, Any]], bounds: Any) -> str | None:
    """A metric per window with its confidence interval and the rule's bounds."""
    judged = [w for w in windows if w.get("value") is not None and w.get("judged", True)]
    points = [(datetime.fromisoformat(w["start"]), w["value"], w.get("ci")) for w in judged]
    if not points:
        return None
    fig, ax = _figure()
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    cis = [p[2] for p in points]
    if any(ci and ci[0] is not None and ci[1] is not None for ci in cis):
        lows = [ci[0] if ci and ci[0] is not None else y for ci, y in zip(cis, ys, strict=True)]
        highs = [ci[1] if ci and ci[1] is not None else y for ci, y in zip(cis, ys, strict=True)]
        ax.fill_between(xs, lows, highs, color=_REF, alpha=0.2, label="95% interval")
    ax.plot(xs, ys, marker="o", color=_REF, label="per window")
    statuses = [
        w.get("status") or ("violation" if bounds is not None and not bounds.admits(y) else "ok")
        for w, y in zip(judged, ys, strict=True)
    ]
    for status, color in (("at_risk", _RISK), ("violation", _BAD)):
        marked = [(x, y) for x, y, s in zip(xs, ys, statuses, strict=True) if s == status]
        if marked:
            ax.scatter(
                [m[0] for m in marked],
                [m[1] for m in marked],
                color=color,
                zorder=3,
                label=status.replace("_", " "),
            )
    if bounds is not None:
        for limit in (bounds.min, bounds.max):
            if limit is not None:
                ax.axhline(limit, color=_BAD, linestyle="--", linewidth=1)
    ax.set_title(title, fontsize=9)
    _legend(ax)
    fig.autofmt_xdate()
    return _svg(fig)


def _legend(ax: Any) -> None:
    """The legend to the right of the axes, where it cannot cover the data."""
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def prediction_drift_plot(finding: Finding) -> str | None:
    """The prediction (or score) column's drift score per window, against its threshold."""
    listed = finding.details.get("windows")
    windows = [
        w
        for w in (listed if isinstance(listed, list) else [])
        if isinstance(w, dict) and w.get("value") is not None
    ]
    if not windows:
        return None
    threshold = next((w.get("threshold") for w in windows if w.get("threshold") is not None), None)
    marked = [
        {
            "start": w["start"],
            "value": w["value"],
            "status": "violation" if w.get("drifted") else "ok",
        }
        for w in windows
    ]
    method = next((w.get("method") for w in windows if w.get("method")), "drift score")
    column = finding.details.get("column") or "prediction"
    return metric_over_time_plot(
        f"{finding.rule_id}: {method} of '{column}' per window",
        marked,
        Threshold(max=float(threshold)) if threshold is not None else None,
    )


def window_verdicts(result: MonitorResult) -> dict[str, tuple[str, list[str]]]:
    """Each window's verdict (``violation``, ``at risk``, ``ok``) and the rules behind it.

    The rules come as ``"age-parity.window (violation)"``.

    A window is a violation when a rule judged it so (a window rule's ``violation``, a drift
    rule's drifted window), at risk when a rule's interval crosses its bound there.
    """
    verdicts: dict[str, tuple[str, list[str]]] = {}
    rank = {"ok": 0, "at risk": 1, "violation": 2}
    share_limit = result.run.settings.drift_share
    for f in result.findings:
        listed = f.details.get("windows")
        for w in listed if isinstance(listed, list) else []:
            if not isinstance(w, dict):
                continue
            start = str(w.get("start", ""))
            status = str(w.get("status") or "")
            if f.check == "dataset_drift" and w.get("value") is not None:
                status = "violation" if float(w["value"]) >= share_limit else "ok"
            elif "drifted" in w:
                status = "violation" if w.get("drifted") else "ok"
            status = {"at_risk": "at risk"}.get(status, status)
            if status not in rank:
                continue
            word, rules = verdicts.get(start, ("ok", []))
            if status != "ok":
                rules = [*rules, f"{f.rule_id} ({status})"]
            if rank[status] > rank[word]:
                word = status
            verdicts[start] = (word, rules)
    return verdicts


def _template() -> str:
    from importlib.resources import files

    return files("charter.monitor").joinpath("report.html.j2").read_text(encoding="utf-8")


def render_report(result: MonitorResult) -> str:
    """The report as an HTML string (no external resources)."""
    run = result.run
    overall = overall_drift(result)
    total = run.summary.total()
    distributions = []
    if overall is not None and total is not None:
        for c in [c for c in overall.columns if c.drifted][:MAX_DISTRIBUTION_PLOTS]:
            if c.column in total.profile.columns:
                distributions.append(
                    distribution_plot(run.reference.columns[c.column], total.profile[c.column], c)
                )
    metrics = []
    for f in result.findings:
        if f.check in ("window_fairness", "window_performance") and "windows" in f.details:
            svg = metric_over_time_plot(
                f"{f.rule_id}: {f.details.get('metric', f.metric)}",
                f.details["windows"],
                f.threshold,
            )
            if svg:
                metrics.append(svg)
    prediction = [
        svg
        for f in result.findings
        if f.check == "prediction_drift" and (svg := prediction_drift_plot(f))
    ]
    verdicts = window_verdicts(result)
    windows = []
    for w in run.windows:
        share = w.drift.share if w.drift is not None else math.nan
        verdict, rules = verdicts.get(w.start.isoformat(), ("not judged", []))
        by_status: dict[str, list[str]] = {}
        for rule in rules:
            name, _, status = rule.rpartition(" (")
            by_status.setdefault(status.rstrip(")"), []).append(name)
        windows.append(
            {
                "verdict": verdict,
                "rules": "; ".join(f"{k}: {', '.join(v)}" for k, v in by_status.items()),
                "start": w.start.strftime("%Y-%m-%d %H:%M"),
                "rows": w.rows,
                "labelled": w.labelled_rows,
                "share": "-" if math.isnan(share) else f"{share:.2f}",
                "drifted": ", ".join(w.drift.drifted_columns) if w.drift is not None else "",
                "reason": w.reason or "",
            }
        )
    summary = run.summary
    period = (
        f"{summary.first:%Y-%m-%d %H:%M} – {summary.last:%Y-%m-%d %H:%M} UTC"
        if summary.first and summary.last
        else "no rows"
    )
    scores = drift_scores_plot(overall) if overall is not None else None
    env = Environment(autoescape=True)
    template = env.from_string(_template())
    from markupsafe import Markup

    return template.render(
        model=run.model_name,
        version=run.model_version,
        status=result.evidence.status,
        rows=f"{summary.rows:,}",
        n_windows=len(run.windows),
        window=str(run.settings.window),
        period=period,
        findings=result.findings,
        scores_svg=Markup(scores) if scores else None,
        share_svg=Markup(s) if (s := drift_share_plot(result)) else None,
        distributions=[Markup(d) for d in distributions],
        metrics=[Markup(m) for m in metrics],
        prediction=[Markup(p) for p in prediction],
        windows=windows,
        ref_rows=f"{run.reference.rows:,}",
        charter_version=result.evidence.charter_version,
        created=result.evidence.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        digest=result.evidence.digest[:16],
    )


def write_report(result: MonitorResult, path: str | Path) -> Path:
    """Write the HTML report to ``path`` and return it."""
    from charter.files import write_atomic

    return write_atomic(Path(path), render_report(result).encode("utf-8"))
