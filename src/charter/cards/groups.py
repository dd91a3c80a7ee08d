"""The building blocks of a model card, and its per-group tables with their intervals.

The card's sections (:mod:`charter.cards.card`) are made of :class:`CardItem` facts,
:class:`CardTable` tables and :class:`CardChart` charts. A per-group table shows each group's
rates with a confidence interval wherever one exists: the gate's bootstrap intervals from the
evidence, else (for rates over the group's rows) a Wilson score interval computed here.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from charter.evidence import Finding

#: Rates whose denominator is the group's row count, so a binomial interval can be given
#: from the card when the evidence holds no interval of its own.
_ROW_RATES = ("selection_rate", "accuracy")
#: How the card names the intervals it shows (``CardTable.interval_methods``).
BOOTSTRAP_METHOD = "bootstrap over counts"
WILSON_METHOD = "Wilson score"


class _Card(BaseModel):
    model_config = ConfigDict(frozen=True)


class CardItem(_Card):
    """One fact: a label, its value, and where Charter took it from."""

    label: str
    value: str
    source: str


class CardTable(_Card):
    """A small table (per-group results, data fingerprints).

    Attributes
    ----------
    interval_methods
        For each confidence-interval column, how its intervals were obtained, e.g.
        ``"bootstrap over counts, 95%, 1000 resamples (seed 0), from the evidence"`` or
        ``"Wilson score, 95%, from the group's rows"``.
    """

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str | None = None
    interval_methods: dict[str, str] = Field(default_factory=dict)


class CardChart(_Card):
    """A chart (inline SVG) drawn from the evidence, in the report's visual language."""

    title: str
    svg: str
    caption: str | None = None


class CardSection(_Card):
    """One section of the card."""

    id: str
    title: str
    items: list[CardItem] = Field(default_factory=list)
    tables: list[CardTable] = Field(default_factory=list)
    charts: list[CardChart] = Field(default_factory=list)
    needs_person: list[str] = Field(default_factory=list)


def fmt_value(value: Any, digits: int = 4) -> str:
    """A value as the card shows it (4 significant digits; ``undefined`` for NaN)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "undefined"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_interval(ci: Any) -> str:
    """``[low, high]`` as the card shows it, or ``—`` when there is none."""
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(isinstance(v, int | float) for v in ci)
    ):
        return f"[{fmt_value(float(ci[0]))}, {fmt_value(float(ci[1]))}]"
    return "—"


def wilson_interval(rate: float, count: int, confidence: float) -> tuple[float, float] | None:
    """Wilson score interval of a proportion observed as ``rate`` over ``count`` rows."""
    if count <= 0 or rate is None or not math.isfinite(rate):
        return None
    from scipy.stats import binomtest

    successes = round(rate * count)
    result = binomtest(successes, count).proportion_ci(confidence_level=confidence, method="wilson")
    return float(result.low), float(result.high)


def fmt_threshold(finding: Finding) -> str:
    """The finding's bounds in words, or ``recorded`` when it has none."""
    return finding.threshold.describe() if finding.threshold else "recorded"


def group_table(finding: Finding, confidence: float) -> CardTable:
    """The per-group table of a finding, with a confidence interval per rate where one exists.

    Intervals come from the evidence wherever it holds them: the gate's bootstrap writes
    ``"<rate>_ci"`` into every group entry (a percentile bootstrap over resampled counts). Only
    where the evidence has none, and only for rates over the group's rows (selection rate,
    accuracy), the card computes a Wilson score interval itself. Each column says which.
    """
    details = finding.details
    rates = list(details.get("metric_rates") or [])
    groups = [g for g in details["groups"] if isinstance(g, dict)]
    if not rates and details.get("metric") and any(details["metric"] in g for g in groups):
        rates = [details["metric"]]
    # fairness findings name their bootstrap "bootstrap", per-group performance ones "interval"
    boot = next(
        (details[k] for k in ("bootstrap", "interval") if isinstance(details.get(k), dict)), None
    )
    level = float(boot.get("confidence_level") or confidence) if boot else confidence
    percent = f"{fmt_value(100 * level, 3)}%"
    from_evidence = {r: any(f"{r}_ci" in g for g in groups) for r in rates}
    with_ci = [r for r in rates if from_evidence[r] or r in _ROW_RATES]
    columns = ["group", "n", *rates, *(f"{r} {percent} CI" for r in with_ci)]
    used: dict[str, set[str]] = {r: set() for r in with_ci}
    rows = []
    for group in groups:
        count = int(group.get("count") or 0)
        row = [str(group.get("group")) + (" (small)" if group.get("small") else ""), str(count)]
        row += [fmt_value(group.get(r)) for r in rates]
        for rate in with_ci:
            cell, method = _group_interval(group, rate, count, level)
            if method is not None:
                used[rate].add(method)
            if method == WILSON_METHOD and from_evidence[rate]:
                cell += " (Wilson)"  # this group has no interval in the evidence
            row.append(cell)
        rows.append(row)
    methods = {f"{r} {percent} CI": _method_text(sorted(used[r]), boot, percent) for r in with_ci}
    ci = finding.interval
    note = (
        f"{finding.metric} = {fmt_value(finding.value)}"
        + (f", {percent} CI {fmt_interval(ci)}" if ci else "")
        + f"; bound {fmt_threshold(finding)}; {finding.outcome.value}."
    )
    if methods:
        note += " Per-group intervals: " + "; ".join(
            f"{column.rsplit(' ', 2)[0]}: {text}" for column, text in methods.items()
        )
        note += "."
    return CardTable(
        title=f"{finding.rule_id}: {finding.metric} over "
        f"{', '.join(details.get('sensitive') or [])}",
        columns=columns,
        rows=rows,
        note=note,
        interval_methods=methods,
    )


def _group_interval(
    group: dict[str, Any], rate: str, count: int, level: float
) -> tuple[str, str | None]:
    """A group's interval of ``rate`` as shown, and its method (``None``: no interval)."""
    if f"{rate}_ci" in group:
        held = group[f"{rate}_ci"]
        shown = fmt_interval(held)
        # no resample gave a defined value: the evidence says so with null bounds
        return (shown if shown != "—" else "undefined"), BOOTSTRAP_METHOD
    value = group.get(rate)
    if rate in _ROW_RATES and isinstance(value, int | float):
        interval = wilson_interval(float(value), count, level)
        if interval is not None:
            return fmt_interval(list(interval)), WILSON_METHOD
    return "—", None


def _method_text(methods: list[str], boot: dict[str, Any] | None, percent: str) -> str:
    parts = []
    if BOOTSTRAP_METHOD in methods:
        text = f"{BOOTSTRAP_METHOD}, {percent}"
        if boot is not None and boot.get("resamples"):
            text += f", {boot['resamples']} resamples"
            if boot.get("seed") is not None:
                text += f" (seed {boot['seed']})"
        parts.append(text + ", from the evidence")
    if WILSON_METHOD in methods:
        text = f"{WILSON_METHOD}, {percent}, from the group's rows"
        if BOOTSTRAP_METHOD in methods:
            text += " where the evidence holds no interval (marked Wilson)"
        parts.append(text)
    return " and ".join(parts) or "none"
