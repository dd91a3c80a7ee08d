"""Plots of a report, drawn with matplotlib and embedded as inline SVG.

Every function returns an ``<svg>`` string (no external assets, no fonts to fetch) or ``None``
when there is nothing to draw. Text stays text in the SVG (``svg.fonttype = "none"``), so the
report is searchable and small.

Figures keep their natural size (a page scales them down, never up, so 8 pt text stays 8 pt)
and are laid out with margins computed from their labels rather than matplotlib's constrained
layout, which draws every figure twice: one draw per plot.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PASS_COLOUR = "#2e7d32"
FAIL_COLOUR = "#c62828"
WARN_COLOUR = "#ef6c00"
NEUTRAL_COLOUR = "#1565c0"
MUTED_COLOUR = "#90a4ae"
PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e")

#: Keys of a group record that are not metrics.
_GROUP_META = {
    "group",
    "key",
    "count",
    "weight",
    "size",
    "n",
    "small",
    "excluded",
    "privileged",
    "reason",
    "undefined",
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "charter"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    return re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)


#: Width of one character of 8 pt text, in inches (a generous average for DejaVu Sans).
_CHAR = 0.075


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.5,
    bottom: float = 0.45,
    right: float = 0.15,
    top: float = 0.15,
) -> tuple[Figure, Axes]:
    """A figure outside pyplot (no global state, safe in threads), margins in inches."""
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=min(left / width, 0.6),
        right=1 - right / width,
        bottom=min(bottom / height, 0.7),
        top=1 - top / height,
    )
    return fig, fig.subplots()


def _common_attribute(labels: list[str]) -> tuple[str, list[str]]:
    """``("sex", ["F", "M"])`` from ``["sex=F", "sex=M"]``; labels as they are otherwise."""
    single = [label for label in labels if "=" in label and ", " not in label]
    heads = {label.split("=", 1)[0] for label in single}
    if len(heads) == 1 and len(single) == len(labels):
        return heads.pop(), [label.split("=", 1)[1] for label in labels]
    return "", labels


def _wrap(label: str, width: int = 14) -> str:
    """A tick label on lines of about ``width`` characters.

    One attribute of an intersectional group (``race=Black, sex=F``) per line; long values
    split at spaces.
    """
    parts = [p.strip() for p in label.split(", ")]
    lines: list[str] = []
    for part in parts:
        words, line = part.split(" "), ""
        for word in words:
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return "\n".join(lines)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def group_metric_names(groups: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the numeric per-group metrics present in group records, in name order."""
    names: dict[str, None] = {}
    for record in groups:
        for key, value in record.items():
            if key in _GROUP_META or key.endswith("_ci") or key == "ci":
                continue
            if _finite(value) is not None or (isinstance(value, float) and math.isnan(value)):
                names.setdefault(key, None)
    return sorted(names)


def _group_ci(record: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    raw = record.get(f"{metric}_ci")
    if raw is None and isinstance(record.get("ci"), Mapping):
        raw = record["ci"].get(metric)
    return _pair(raw)


def _pair(raw: Any) -> tuple[float, float] | None:
    if isinstance(raw, Mapping):
        raw = (raw.get("low", raw.get("lower")), raw.get("high", raw.get("upper")))
    if isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 2:
        lo, hi = _finite(raw[0]), _finite(raw[1])
        if lo is not None and hi is not None:
            return lo, hi
    return None


def group_bars(
    groups: Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str] | None = None,
    reference_lines: Sequence[tuple[float, str]] = (),
    title: str = "",
) -> str | None:
    """Bars of per-group metrics with CI whiskers and horizontal threshold lines.

    Parameters
    ----------
    groups
        Records ``{"group": label, "count": n, metric: value, f"{metric}_ci": [lo, hi]}``.
    metrics
        Which metrics to draw (default: every numeric one found).
    reference_lines
        ``(y, label)`` pairs drawn as dashed horizontal lines (thresholds on the group scale).
    title
        Title above the axes.
    """
    names = list(metrics) if metrics is not None else group_metric_names(groups)
    if not groups or not names:
        return None
    raw = [str(g.get("group", g.get("key", i))) for i, g in enumerate(groups)]
    axis_label, raw = _common_attribute(raw)
    labels = [_wrap(label, 12) for label in raw]
    n_groups, n_metrics = len(labels), len(names)
    width = 0.8 / n_metrics
    lines = max(label.count("\n") + 2 for label in labels)  # + the n= line
    longest = max(len(line) for label in labels for line in label.split("\n"))
    right = 0.15 + _CHAR * max([len(t) for _, t in reference_lines] or [0])
    if n_metrics > 1 or title:
        right = max(right, 0.3 + _CHAR * max(len(m) for m in names))
    slot = max(0.2 + _CHAR * max(longest, 6), 0.55 * n_metrics)
    fig, ax = _figure(
        min(10.0, max(3.6, slot * n_groups + 0.7 + right)),
        2.3 + 0.13 * lines,
        left=0.6,
        bottom=0.2 + 0.14 * (lines + bool(axis_label)),
        right=right,
        top=0.3 if title else 0.15,
    )
    for m, metric in enumerate(names):
        xs, ys, lows, highs, undefined = [], [], [], [], []
        for i, record in enumerate(groups):
            x = i - 0.4 + width * (m + 0.5)
            value = _finite(record.get(metric))
            if value is None:
                undefined.append(x)
                continue
            ci = _group_ci(record, metric)
            xs.append(x)
            ys.append(value)
            lows.append(value - ci[0] if ci else 0.0)
            highs.append(ci[1] - value if ci else 0.0)
        colour = PALETTE[m % len(PALETTE)]
        ax.bar(xs, ys, width=width * 0.92, color=colour, label=metric.replace("_", " "))
        if any(lows) or any(highs):
            ax.errorbar(xs, ys, yerr=[lows, highs], fmt="none", ecolor="#263238", capsize=3, lw=1)
        for x in undefined:
            ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=7, color=FAIL_COLOUR)
    for y, label in reference_lines:
        ax.axhline(y, color=FAIL_COLOUR, ls="--", lw=1.2)
        ax.annotate(
            label,
            xy=(1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=FAIL_COLOUR,
        )
    ax.set_xticks(range(n_groups))
    ax.set_xticklabels(
        [f"{lab}\nn={groups[i].get('count', '?')}" for i, lab in enumerate(labels)],
        fontsize=7 if n_groups > 6 else 8,
    )
    if axis_label:
        ax.set_xlabel(axis_label, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_ylim(bottom=0)
    if n_metrics == 1:
        ax.set_ylabel(names[0].replace("_", " "), fontsize=8)
    if n_metrics > 1 or title:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return _svg(fig)


def metric_against_threshold(
    value: float | None,
    *,
    low: float | None,
    high: float | None,
    ci: tuple[float, float] | None,
    state: str,
    label: str,
) -> str | None:
    """One horizontal bar: the rule's metric, its CI whisker, and its bounds as vertical lines.

    ``state`` (``pass``, ``fail``, ``warn``, ``skipped``) picks the bar's colour.
    """
    number = _finite(value)
    if number is None:
        return None
    fig, ax = _figure(4.8, 0.8, left=0.15 + _CHAR * len(label), top=0.25)
    colour = {"pass": PASS_COLOUR, "warn": WARN_COLOUR, "fail": FAIL_COLOUR}.get(
        state, MUTED_COLOUR
    )
    ax.barh([0], [number], color=colour, height=0.5)
    if ci is not None:
        ax.errorbar(
            [number],
            [0],
            xerr=[[max(number - ci[0], 0.0)], [max(ci[1] - number, 0.0)]],
            fmt="none",
            ecolor="#263238",
            capsize=4,
            lw=1.2,
        )
    points = [0.0, number, *(ci or ())]
    for bound, name in ((low, "min"), (high, "max")):
        if bound is not None:
            ax.axvline(bound, color="#263238", ls="--", lw=1.2)
            ax.text(bound, 0.42, f" {name} {bound:g}", fontsize=8, va="bottom")
            points.append(bound)
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.12 or 0.1
    ax.set_xlim(lo - (pad if lo < 0 else 0), hi + pad)
    ax.set_yticks([0])
    ax.set_yticklabels([label], fontsize=8)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
    return _svg(fig)


def importance_bars(
    importances: Mapping[str, float], *, highlight: Sequence[str] = (), top: int = 20
) -> str | None:
    """Horizontal bars of global feature importances (mean |SHAP|), largest on top."""
    items = [(k, _finite(v)) for k, v in importances.items()]
    ranked = sorted(((k, v) for k, v in items if v is not None), key=lambda kv: -abs(kv[1]))
    ranked = ranked[:top]
    if not ranked:
        return None
    ranked.reverse()
    marked = set(highlight)
    fig, ax = _figure(
        5.0,
        0.2 * len(ranked) + 0.6,
        left=0.15 + _CHAR * max(len(k) for k, _ in ranked),
        bottom=0.45,
    )
    ax.barh(
        [k for k, _ in ranked],
        [v for _, v in ranked],
        color=[WARN_COLOUR if k in marked else NEUTRAL_COLOUR for k, _ in ranked],
    )
    ax.set_xlabel("mean |SHAP value|", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def null_fraction_bars(columns: Sequence[Mapping[str, Any]], *, top: int = 25) -> str | None:
    """Bars of the share of missing values, for columns that have any."""
    rows = [(str(c["name"]), float(c.get("null_fraction") or 0.0)) for c in columns]
    rows = sorted((r for r in rows if r[1] > 0), key=lambda r: -r[1])[:top]
    if not rows:
        return None
    rows.reverse()
    fig, ax = _figure(5.0, 0.2 * len(rows) + 0.6, left=0.15 + _CHAR * max(len(r[0]) for r in rows))
    ax.barh([r[0] for r in rows], [r[1] for r in rows], color=WARN_COLOUR)
    ax.set_xlabel("share of missing values", fontsize=8)
    ax.set_xlim(0, max(1e-9, max(r[1] for r in rows)) * 1.15)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
