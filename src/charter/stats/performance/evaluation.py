"""Evaluating a performance metric on counts, scores or moments, with its interval.

:func:`evaluate` gives the overall value (or every group's and the worst), with a count
bootstrap, DeLong or a normal approximation as the metric's :class:`PerformanceMetric` says.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from charter.errors import DataError
from charter.stats.bootstrap import (
    Intervals,
    percentile_interval,
    percentile_intervals,
    resample_counts,
)
from charter.stats.counts import ConfusionCounts
from charter.stats.performance.metrics import (
    PerformanceMetric,
    Statistics,
    get_metric,
)
from charter.stats.regression import RegressionMoments
from charter.stats.results import GroupRow, MetricResult, json_float
from charter.stats.scores import ScoreCounts


def _group_weights(stats: Statistics) -> np.ndarray:
    if isinstance(stats, ConfusionCounts):
        return stats.weighted.sum(axis=(1, 2))
    if isinstance(stats, ScoreCounts):
        return stats.group_weight
    return stats.weight


def _group_rows(stats: Statistics) -> np.ndarray:
    if isinstance(stats, RegressionMoments):
        return stats.rows
    return stats.group_rows


def evaluate(
    name: str,
    stats: Statistics,
    *,
    min_group_size: int | None = None,
    confidence_level: float | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> MetricResult:
    """Evaluate the metric ``name`` on precomputed statistics, overall and per group.

    Parameters
    ----------
    name
        A key of :data:`PERFORMANCE_METRICS`.
    stats
        Counts, score counts or regression moments, per group or overall only.
    min_group_size
        Groups with fewer rows are flagged ``small`` in the table.
    confidence_level
        When given, add confidence intervals: ``ci`` overall and ``"<metric>_ci"`` per group
        (see the module notes for how each metric gets one; ``r2`` gets none).
    bootstrap, seed
        Resamples and seed of the count bootstrap (counts metrics only).

    Returns
    -------
    MetricResult
        ``value`` is the overall metric. With groups, ``groups`` holds each group's value and
        ``details`` the worst group (lowest for scores, highest for losses). With intervals,
        ``details["interval"]`` says how they were made.
    """
    metric = get_metric(name)
    expected = {"counts": ConfusionCounts, "scores": ScoreCounts, "regression": RegressionMoments}
    if not isinstance(stats, expected[metric.kind]):
        raise TypeError(f"{name} is computed from {expected[metric.kind].__name__}")
    if isinstance(stats, ConfusionCounts) and not stats.labelled:
        raise DataError(
            f"{name} needs true labels, but the counts were made from predictions alone",
            hint="pass y_true (in a policy: --target COLUMN or data.target)",
        )
    overall = stats.overall()
    value = float(metric.values(overall)[0]) if len(overall.keys) else math.nan
    reason = metric.reasons(overall)[0] if len(overall.keys) else "there are no rows"
    details: dict[str, Any] = {"higher_is_better": metric.higher_is_better}
    ci: tuple[float, float] | None = None
    group_ci: Intervals | None = None
    if confidence_level is not None and len(overall.keys):
        ci, group_ci, details["interval"] = _intervals(
            metric, stats, overall, confidence_level, bootstrap, seed
        )
    groups: tuple[GroupRow, ...] = ()
    if stats.names:
        values = metric.values(stats)
        reasons = metric.reasons(stats)
        rows = _group_rows(stats)
        weights = _group_weights(stats)
        labels = stats.labels()
        groups = tuple(
            GroupRow(
                label=labels[g],
                key=dict(zip(stats.names, key, strict=True)),
                count=int(rows[g]),
                weight=float(weights[g]),
                values={name: float(values[g])},
                reasons={name: r} if (r := reasons[g]) is not None else {},
                small=bool(min_group_size is not None and rows[g] < min_group_size),
                intervals={name: group_ci.pair(g)} if group_ci is not None else {},
                undefined_resamples=(
                    {name: int(group_ci.undefined[g])}
                    if group_ci is not None and group_ci.undefined[g]
                    else {}
                ),
            )
            for g, key in enumerate(stats.keys)
        )
        defined = [g for g in range(len(values)) if not math.isnan(values[g])]
        if defined:
            pick = min if metric.higher_is_better else max
            worst = pick(defined, key=lambda g: values[g])
            details["worst_group"] = {"group": labels[worst], "value": float(values[worst])}
            if group_ci is not None:
                low, high = group_ci.pair(worst)
                details["worst_group"]["ci"] = [json_float(low), json_float(high)]
        undefined = [labels[g] for g in range(len(values)) if math.isnan(values[g])]
        if undefined:
            details["undefined_groups"] = undefined
    return MetricResult(
        metric=name,
        value=value,
        reason=reason if math.isnan(value) else None,
        groups=groups,
        overall={name: value},
        ci=ci,
        details=details,
    )


def _intervals(
    metric: PerformanceMetric,
    stats: Statistics,
    overall: Statistics,
    confidence_level: float,
    bootstrap: int,
    seed: int,
) -> tuple[tuple[float, float] | None, Intervals | None, dict[str, Any]]:
    """Overall interval, per-group intervals and the ``details["interval"]`` record."""
    info: dict[str, Any] = {"method": metric.interval_method, "confidence_level": confidence_level}
    if metric.kernel is not None:
        assert isinstance(stats, ConfusionCounts)
        if bootstrap <= 0:
            info["method"] = None
            info["reason"] = "bootstrap is 0"
            return None, None, info
        resampled = resample_counts(stats, bootstrap, seed=seed)
        whole = percentile_interval(
            metric.kernel(resampled.sum(axis=-3)), confidence_level, seed=seed
        )
        info.update(resamples=bootstrap, undefined_resamples=whole.undefined, seed=seed)
        per_group = None
        if stats.names:
            per_group = percentile_intervals(metric.kernel(resampled), confidence_level)
        return (whole.low, whole.high), per_group, info
    if metric.interval is None:
        return None, None, {"method": None, "reason": metric.interval_method}
    z = NormalDist().inv_cdf(0.5 + confidence_level / 2.0)
    low, high = metric.interval(overall, z)
    per_group = None
    if stats.names:
        g_low, g_high = metric.interval(stats, z)
        per_group = Intervals(g_low, g_high, np.zeros(len(g_low), dtype=np.int64))
    return (float(low[0]), float(high[0])), per_group, info
