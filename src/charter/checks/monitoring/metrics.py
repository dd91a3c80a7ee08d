"""The metric checks of the ``monitoring`` section: fairness and performance per window.

``window_fairness`` and ``window_performance`` compute a metric of
:mod:`charter.stats.fairness` or :mod:`charter.stats.performance` in every window of a
:class:`~charter.checks.monitoring.state.MonitorState` (a :class:`WindowValue` each, with its
bootstrap interval), judge each window against the rule's bounds (``ok``, ``at_risk``,
``violation``; ``monitoring.window_verdict`` says whether the estimate or the whole interval
decides) and return one finding with the trend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from charter.checks.monitoring.state import MonitorState, WindowValue
from charter.checks.registry import check
from charter.errors import CheckError
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Policy, Rule
from charter.stats.counts import ConfusionCounts
from charter.stats.fairness import LABEL_FREE_METRICS, NAMED_METRICS, GroupMetrics
from charter.stats.numeric import finite_or_none
from charter.stats.performance import evaluate, get_metric
from charter.stats.results import MetricResult


class _IntervalParams(BaseModel):
    """Interval settings a per-window rule copies from the rule it watches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap: int | None = Field(default=None, ge=0)
    confidence_level: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed: int | None = None


class WindowFairnessParams(_IntervalParams):
    """A fairness metric per window (a name from :mod:`charter.stats.fairness`).

    ``bootstrap``, ``confidence_level`` and ``seed`` default to the ``fairness`` section's.
    """

    metric: str = "demographic_parity_difference"
    sensitive: list[str] | None = None
    privileged: dict[str, Any] | None = None
    method: Literal["between_groups", "to_overall"] = "between_groups"


class WindowPerformanceParams(_IntervalParams):
    """A performance metric per window (a name from :mod:`charter.stats.performance`).

    ``aggregate: worst_group`` judges the worst group of ``sensitive`` (default: the policy's
    sensitive columns) instead of all rows. ``bootstrap``, ``confidence_level`` and ``seed``
    default to the ``performance`` section's, then the ``fairness`` section's.
    """

    metric: str = "accuracy"
    sensitive: list[str] | None = None
    aggregate: Literal["overall", "worst_group"] = "overall"


@check(
    "window_fairness",
    section="monitoring",
    params=WindowFairnessParams,
    metric="fairness",
    description="A fairness metric stays within bounds in every window (with its interval).",
    controls=("eu-ai-act:art-72", "nist-ai-rmf:measure-2.11"),
)
def window_fairness_check(ctx: MonitorState, rule: Rule, params: WindowFairnessParams) -> Finding:
    """A fairness metric stays within ``[min, max]`` in every window."""
    return _metric_over_windows(ctx, rule, fairness_series(ctx, rule, params), params.metric)


@check(
    "window_performance",
    section="monitoring",
    params=WindowPerformanceParams,
    metric="performance",
    description="A performance metric stays within bounds in every window (with its interval).",
    controls=("eu-ai-act:art-72", "eu-ai-act:art-15"),
)
def window_performance_check(
    ctx: MonitorState, rule: Rule, params: WindowPerformanceParams
) -> Finding:
    """A performance metric stays within ``[min, max]`` in every window."""
    return _metric_over_windows(ctx, rule, performance_series(ctx, params), params.metric)


def fairness_series(
    state: MonitorState, rule: Rule, params: WindowFairnessParams
) -> list[WindowValue]:
    """The fairness metric of ``params`` in every window, with its bootstrap interval.

    The label-free metrics (:data:`~charter.stats.fairness.LABEL_FREE_METRICS`: demographic
    parity, statistical parity, disparate impact, the four-fifths rule) are computed over
    every row of the window that has a prediction, labelled or not; the others over the
    labelled rows only (a window without any is not judged: "no labelled rows").
    ``rows_used`` says how many rows each window's value rests on.
    """
    if params.metric not in NAMED_METRICS and params.metric != "four_fifths_rule":
        raise CheckError(
            f"unknown fairness metric '{params.metric}'",
            hint=f"use one of {', '.join(NAMED_METRICS)}, four_fifths_rule",
        )
    fair = state.policy.fairness
    names = list(params.sensitive or state.policy.sensitive_features)
    if not names:
        raise CheckError(
            "window_fairness needs sensitive columns",
            hint="set fairness.sensitive (or data.sensitive) or the rule's sensitive param",
        )
    privileged = params.privileged or fair.privileged or None
    label_free = params.metric in LABEL_FREE_METRICS
    absent = [n for n in names if n in state.missing_sensitive]
    out = []
    for w in state.windows:
        entry = WindowValue.of(w)
        counts = None
        if w.summary is not None:
            counts = w.summary.selection if label_free else w.summary.counts
        if w.reason is not None:
            out.append(entry)
            continue
        if label_free and absent:
            entry = replace(
                entry,
                judged=False,
                reason=f"sensitive column(s) {', '.join(absent)} not in the log",
            )
        elif counts is None or int(counts.rows.sum()) == 0:
            entry = replace(
                entry,
                judged=False,
                reason="no rows with a prediction" if label_free else "no labelled rows",
            )
        else:
            groups = GroupMetrics(
                marginal_counts(counts, names),
                min_group_size=fair.min_group_size,
                small_groups=fair.small_groups.value,
                bootstrap=fair.bootstrap if params.bootstrap is None else params.bootstrap,
                confidence_level=params.confidence_level or fair.confidence_level,
                seed=fair.seed if params.seed is None else params.seed,
            )
            if params.metric == "four_fifths_rule":
                bound = rule.min if rule.min is not None else 0.8
                result = groups.four_fifths_rule(bound)
            else:
                result = NAMED_METRICS[params.metric](
                    groups, params.method, "worst_case", privileged
                )
            entry = _measured(replace(entry, rows_used=int(counts.rows.sum())), result)
        out.append(entry)
    return out


def performance_series(state: MonitorState, params: WindowPerformanceParams) -> list[WindowValue]:
    """The performance metric of ``params`` in every window, with an interval.

    Values and intervals come from :func:`charter.stats.performance.evaluate`, as in the
    gate: a percentile bootstrap over resampled counts for accuracy, balanced accuracy,
    precision, recall and F1; DeLong for ROC AUC; normal approximations for log loss,
    Brier, MAE and RMSE; none for R². The settings are the rule's ``bootstrap``,
    ``confidence_level`` and ``seed``, else the ``performance`` section's, else the
    ``fairness`` section's (``bootstrap: 0`` turns intervals off). With
    ``aggregate: worst_group`` the value and interval are the worst group's.
    """
    metric = get_metric(params.metric)
    options = interval_options(state.policy, params)
    min_group_size = state.policy.fairness.min_group_size
    worst_group = params.aggregate == "worst_group"
    names = list(params.sensitive or state.policy.sensitive_features)
    out = []
    for w in state.windows:
        entry = WindowValue.of(w)
        summary = w.summary
        stats: Any = None
        if summary is not None and worst_group and metric.kind != "scores":
            grouped = summary.counts if metric.kind == "counts" else summary.regression
            if grouped is not None:
                stats = (
                    marginal_counts(grouped, names)
                    if isinstance(grouped, ConfusionCounts)
                    else grouped
                )
        elif summary is not None:
            stats = {
                "counts": summary.counts,
                "scores": summary.scores,
                "regression": summary.regression,
            }[metric.kind]
            stats = stats.overall() if stats is not None else None
        if w.reason is None and (stats is None or len(stats.keys) == 0):
            entry = replace(entry, judged=False, reason=f"no labelled rows with {metric.kind}")
        elif stats is not None and w.reason is None:
            if int(np.asarray(stats.rows).sum()) == 0:
                entry = replace(entry, judged=False, reason="no labelled rows")
            else:
                result = evaluate(params.metric, stats, min_group_size=min_group_size, **options)
                entry = _measured(entry, result)
                if worst_group:
                    worst = result.details.get("worst_group")
                    ci = worst.get("ci") if worst else None
                    entry = replace(
                        entry,
                        value=finite_or_none(worst["value"]) if worst else None,
                        worst_group=worst["group"] if worst else None,
                        by_worst_group=True,
                        ci=(ci[0], ci[1]) if ci is not None else None,
                    )
        out.append(entry)
    return out


def interval_options(policy: Policy, params: _IntervalParams | None = None) -> dict[str, Any]:
    """``evaluate`` interval options: the rule's, else ``performance``'s, else ``fairness``'s.

    As in the gate (:mod:`charter.checks.performance`), ``bootstrap: 0`` means no intervals.
    """
    sources: list[Any] = [s for s in (params, policy.performance) if s is not None]

    def pick(name: str) -> Any:
        for source in sources:
            value = getattr(source, name)
            if value is not None:
                return value
        return getattr(policy.fairness, name)

    bootstrap = int(pick("bootstrap"))
    if bootstrap <= 0:
        return {}
    return {
        "confidence_level": pick("confidence_level"),
        "bootstrap": bootstrap,
        "seed": pick("seed"),
    }


def _measured(entry: WindowValue, result: MetricResult) -> WindowValue:
    """``entry`` with the value, interval and per-group values of ``result``."""
    groups = result.by_group() if result.groups else {}
    return replace(
        entry,
        measured=True,
        value=finite_or_none(result.value),
        judged=entry.judged and not result.reason,
        reason=result.reason or entry.reason,
        ci=(
            (finite_or_none(result.ci[0]), finite_or_none(result.ci[1]))
            if result.ci is not None
            else None
        ),
        groups={k: finite_or_none(v) for k, v in groups.items()} or None,
    )


def marginal_counts(counts: ConfusionCounts, names: Sequence[str]) -> ConfusionCounts:
    """Counts per group of a subset of the sensitive columns (summing the others out)."""
    wanted = list(names)
    if tuple(wanted) == counts.names:
        return counts
    missing = [n for n in wanted if n not in counts.names]
    if missing:
        raise CheckError(
            f"sensitive column(s) {missing} were not counted in this run",
            hint="list them in fairness.sensitive so the log is grouped by them",
        )
    positions = [counts.names.index(n) for n in wanted]
    cells = []
    for g, key in enumerate(counts.keys):
        sub = tuple(key[p] for p in positions)
        for yt in (0, 1):
            for yp in (0, 1):
                cells.append(
                    (sub, yt, yp, float(counts.weighted[g, yt, yp]), int(counts.rows[g, yt, yp]))
                )
    return ConfusionCounts.from_cells(wanted, cells, labelled=counts.labelled)


def _metric_over_windows(
    ctx: MonitorState, rule: Rule, series: list[WindowValue], metric: str
) -> Finding:
    bounds = rule.threshold
    by_interval = ctx.policy.monitoring.window_verdict == "interval"
    judged: list[WindowValue] = []
    worst = math.nan
    for entry in series:
        value = entry.value
        if entry.judged and value is not None:
            ci = list(entry.ci) if entry.ci is not None else None
            status = _window_status(bounds, value, ci, by_interval=by_interval)
            entry = replace(entry, status=status)
            worst = value if math.isnan(worst) else _farther(bounds, value, worst)
        judged.append(entry)
    per_window = [e.to_dict() for e in judged]
    failing = [d for d, e in zip(per_window, judged, strict=True) if e.status == "violation"]
    at_risk = [e.start for e in judged if e.status == "at_risk"]
    extra: dict[str, Any] = {
        "metric": metric,
        "window_verdict": "interval" if by_interval else "estimate",
    }
    if at_risk:
        extra["at_risk_windows"] = at_risk
    slope = _trend(judged)
    if slope is not None:
        extra["trend_per_window"] = slope
    finding = ctx.windows_finding(
        rule,
        metric=metric,
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=bounds,
        noun=f"{metric} out of bounds",
        extra=extra,
    )
    if at_risk and finding.verdict is Verdict.PASS:
        finding = finding.model_copy(
            update={
                "message": f"{finding.message}; the interval crosses the bound in"
                f" {len(at_risk)} window(s)"
            }
        )
    return finding


def _window_status(
    bounds: Threshold | None, value: float, ci: list[float | None] | None, *, by_interval: bool
) -> str:
    """``violation``, ``at_risk`` or ``ok`` for one window's estimate and interval.

    By estimate, the window violates when its estimate leaves the bounds and is at risk when
    only its interval crosses them. By interval, it violates only when the whole interval lies
    outside the bounds (the violation is significant at the interval's level); an estimate
    outside with an interval crossing the bound is at risk. Without an interval, the estimate
    decides either way.
    """
    if bounds is None:
        return "ok"
    inside = bounds.admits(value)
    has_ci = bool(ci) and ci is not None and ci[0] is not None and ci[1] is not None
    if not has_ci:
        return "ok" if inside else "violation"
    assert ci is not None
    crosses = _ci_crosses(bounds, ci)
    if not by_interval:
        return "violation" if not inside else ("at_risk" if crosses else "ok")
    low, high = float(ci[0]), float(ci[1])  # type: ignore[arg-type]
    wholly_outside = (bounds.max is not None and low > bounds.max) or (
        bounds.min is not None and high < bounds.min
    )
    if wholly_outside:
        return "violation"
    return "at_risk" if (not inside or crosses) else "ok"


def _ci_crosses(bounds: Threshold, ci: list[float | None]) -> bool:
    low, high = ci
    if low is None or high is None:
        return False
    return not (bounds.admits(low) and bounds.admits(high))


def _farther(bounds: Threshold | None, value: float, worst: float) -> float:
    if bounds is None or (bounds.max is not None and bounds.min is None):
        return max(value, worst)
    if bounds.min is not None and bounds.max is None:
        return min(value, worst)
    mid = ((bounds.min or 0.0) + (bounds.max or 0.0)) / 2
    return value if abs(value - mid) > abs(worst - mid) else worst


def _trend(series: list[WindowValue]) -> float | None:
    points = [(i, e.value) for i, e in enumerate(series) if e.judged and e.value is not None]
    if len(points) < 3:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None
