"""Performance metrics from mergeable statistics, overall and per group.

=====================  ==========================================  ====================
metric                 computed from                               undefined (NaN) when
=====================  ==========================================  ====================
``accuracy``           :class:`~charter.stats.counts.ConfusionCounts`  no rows
``balanced_accuracy``  counts: mean of TPR and TNR                 a class is absent
``precision``          counts: TP / (TP + FP)                      no predicted positives
``recall``             counts: TP / (TP + FN)                      no positives
``f1``                 counts: 2TP / (2TP + FP + FN)               no positives and no
                                                                   predicted positives
``roc_auc``            :class:`~charter.stats.scores.ScoreCounts`  a class is absent
``log_loss``           score counts (clipped as scikit-learn)      no rows
``brier``              score counts                                no rows
``mae``                :class:`~charter.stats.regression.RegressionMoments`  no rows
``rmse``               regression moments                          no rows
``r2``                 regression moments                          constant target
=====================  ==========================================  ====================

Where scikit-learn returns 0 (``zero_division``), 1.0/0.0 (``r2_score`` with a constant
target) or a value over the classes present (``balanced_accuracy_score`` with one class),
Charter returns NaN with a reason. Everywhere else the values equal scikit-learn's.

Each metric is a function with scikit-learn's argument order plus Charter's group arguments,
``accuracy(y_true, y_pred, *, sensitive_features=None, sample_weight=None, data=None,
pos_label=1)``, returning a :class:`~charter.stats.results.MetricResult` whose value is the
overall metric and whose groups carry the per-group values; or evaluate precomputed statistics
with :func:`evaluate`.

Confidence intervals (``confidence_level=0.95``), overall and per group, never touch the rows:

=====================================  ==================================================
metrics                                interval
=====================================  ==================================================
accuracy, balanced accuracy,           percentile bootstrap over resampled confusion counts
precision, recall, F1                  (:mod:`charter.stats.bootstrap`), ``bootstrap`` resamples
``roc_auc``                            DeLong's variance, normal, clipped to [0, 1]
``log_loss``, ``brier``, ``mae``       normal approximation of a mean of per-row terms (the
                                       terms' variance is exact from the statistics)
``rmse``                               the square root of the normal interval of the MSE (its
                                       variance from the fourth moment of the residuals)
``r2``                                 none: it needs joint moments of residuals and target
=====================================  ==================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal, TypedDict, Unpack

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.bootstrap import (
    Intervals,
    percentile_interval,
    percentile_intervals,
    resample_counts,
)
from charter.stats.counts import ConfusionCounts, confusion_counts
from charter.stats.rates import RATES, undefined_reason
from charter.stats.regression import RegressionMoments, regression_moments
from charter.stats.results import GroupRow, MetricResult, json_float
from charter.stats.scores import ScoreCounts, score_counts

Kind = Literal["counts", "scores", "regression"]
Statistics = ConfusionCounts | ScoreCounts | RegressionMoments


class IntervalOptions(TypedDict, total=False):
    """Confidence-interval options of the metric functions (see :func:`evaluate`)."""

    min_group_size: int | None
    confidence_level: float | None
    bootstrap: int
    seed: int


#: Per-group ``(low, high)`` bounds of a metric's interval from its statistics and the normal
#: quantile ``z``.
IntervalFunction = Callable[[Any, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class PerformanceMetric:
    """A performance metric: what it is computed from and how.

    Attributes
    ----------
    name
        Metric and check id.
    kind
        ``counts`` (thresholded predictions), ``scores`` (probabilities) or ``regression``.
    higher_is_better
        Direction, for ``max_drop`` and the worst group.
    values
        Per-group values from the statistics (NaN where undefined).
    reasons
        Per-group reason for an undefined value, ``None`` where defined.
    description
        One line for docs and findings.
    kernel
        Counts metrics: the metric of weighted counts ``(..., 2, 2)`` -> ``(...)``, vectorised
        over leading (group, bootstrap) axes.
    interval
        Other metrics: per-group interval bounds from the statistics and a normal quantile.
    interval_method
        How the interval is made (for ``details``), or why there is none (``interval`` and
        ``kernel`` both ``None``).
    """

    name: str
    kind: Kind
    higher_is_better: bool
    values: Callable[[Any], np.ndarray]
    reasons: Callable[[Any], list[str | None]]
    description: str
    kernel: Callable[[np.ndarray], np.ndarray] | None = None
    interval: IntervalFunction | None = None
    interval_method: str = ""


def _rate_reasons(*names: str) -> Callable[[ConfusionCounts], list[str | None]]:
    def reasons(counts: ConfusionCounts) -> list[str | None]:
        out: list[str | None] = []
        for g in range(len(counts)):
            found = [undefined_reason(RATES[n], counts.weighted[g]) for n in names]
            causes = list(dict.fromkeys(f for f in found if f is not None))
            out.append("; ".join(causes) if causes else None)
        return out

    return reasons


def _balanced_accuracy(w: np.ndarray) -> np.ndarray:
    return (RATES["true_positive_rate"](w) + RATES["true_negative_rate"](w)) / 2.0


def _f1(w: np.ndarray) -> np.ndarray:
    tp, fp, fn = w[..., 1, 1], w[..., 0, 1], w[..., 1, 0]
    den = 2.0 * tp + fp + fn
    out = np.full(den.shape, np.nan)
    np.divide(2.0 * tp, den, out=out, where=den > 0)
    return out


def _counts_metric(
    name: str,
    kernel: Callable[[np.ndarray], np.ndarray],
    reasons: Callable[[ConfusionCounts], list[str | None]],
    description: str,
) -> PerformanceMetric:
    return PerformanceMetric(
        name,
        "counts",
        True,
        lambda c: kernel(c.weighted),
        reasons,
        description,
        kernel=kernel,
        interval_method="percentile bootstrap over resampled counts",
    )


def _normal(
    values: np.ndarray, se: np.ndarray, z: float, low: float = 0.0, high: float = math.inf
) -> tuple[np.ndarray, np.ndarray]:
    """``values -+ z se`` clipped to the metric's range (NaN where either is NaN)."""
    return np.clip(values - z * se, low, high), np.clip(values + z * se, low, high)


def _auc_interval(s: ScoreCounts, z: float) -> tuple[np.ndarray, np.ndarray]:
    return _normal(s.roc_auc(), s.roc_auc_standard_error(), z, 0.0, 1.0)


def _loss_interval(loss: str) -> IntervalFunction:
    def interval(s: ScoreCounts, z: float) -> tuple[np.ndarray, np.ndarray]:
        values = _probabilities(s).log_loss() if loss == "log_loss" else s.brier()
        high = math.inf if loss == "log_loss" else 1.0
        return _normal(values, s.loss_standard_error(loss), z, 0.0, high)

    return interval


def _mae_interval(m: RegressionMoments, z: float) -> tuple[np.ndarray, np.ndarray]:
    return _normal(m.mae(), m.mae_standard_error(), z)


def _rmse_interval(m: RegressionMoments, z: float) -> tuple[np.ndarray, np.ndarray]:
    low, high = _normal(m.mse(), m.mse_standard_error(), z)
    return np.sqrt(low), np.sqrt(high)


def _f1_reasons(counts: ConfusionCounts) -> list[str | None]:
    w = counts.weighted
    out: list[str | None] = []
    for g in range(len(counts)):
        if w[g].sum() <= 0:
            out.append("no rows (or zero total weight)")
        elif 2 * w[g, 1, 1] + w[g, 0, 1] + w[g, 1, 0] <= 0:
            out.append("no positive labels and no predicted positives")
        else:
            out.append(None)
    return out


def _auc_reasons(scores: ScoreCounts) -> list[str | None]:
    out: list[str | None] = []
    for neg, pos in scores.class_weight:
        if neg + pos <= 0:
            out.append("no rows (or zero total weight)")
        elif pos <= 0:
            out.append("no positive labels (ROC AUC needs both classes)")
        elif neg <= 0:
            out.append("no negative labels (ROC AUC needs both classes)")
        else:
            out.append(None)
    return out


def _weight_reasons(weights: np.ndarray) -> list[str | None]:
    return [None if w > 0 else "no rows (or zero total weight)" for w in weights]


def _probabilities(scores: ScoreCounts) -> ScoreCounts:
    low, high = scores.score_range()
    if low < 0.0 or high > 1.0:
        raise DataError(
            f"log loss and Brier need probabilities in [0, 1], but scores range over"
            f" [{low:g}, {high:g}]",
            hint="pass predict_proba's positive-class column, not a decision function",
        )
    return scores


def _r2_reasons(moments: RegressionMoments) -> list[str | None]:
    out: list[str | None] = []
    for w, m2 in zip(moments.weight, moments.m2, strict=True):
        if w <= 0:
            out.append("no rows (or zero total weight)")
        elif m2 <= 0:
            out.append("the target is constant, so R² divides by a zero total sum of squares")
        else:
            out.append(None)
    return out


#: Every performance metric, by name.
PERFORMANCE_METRICS: dict[str, PerformanceMetric] = {
    m.name: m
    for m in (
        _counts_metric(
            "accuracy", RATES["accuracy"], _rate_reasons("accuracy"), "share of correct predictions"
        ),
        _counts_metric(
            "balanced_accuracy",
            _balanced_accuracy,
            _rate_reasons("true_positive_rate", "true_negative_rate"),
            "mean of the true positive and true negative rates",
        ),
        _counts_metric(
            "precision",
            RATES["precision"],
            _rate_reasons("precision"),
            "share of predicted positives that are positive",
        ),
        _counts_metric(
            "recall",
            RATES["true_positive_rate"],
            _rate_reasons("true_positive_rate"),
            "share of positives predicted positive",
        ),
        _counts_metric("f1", _f1, _f1_reasons, "harmonic mean of precision and recall"),
        PerformanceMetric(
            "roc_auc",
            "scores",
            True,
            lambda s: s.roc_auc(),
            _auc_reasons,
            "probability that a positive scores above a negative (ties count half)",
            interval=_auc_interval,
            interval_method="DeLong's variance, normal approximation clipped to [0, 1]",
        ),
        PerformanceMetric(
            "log_loss",
            "scores",
            False,
            lambda s: _probabilities(s).log_loss(),
            lambda s: _weight_reasons(s.group_weight),
            "mean negative log-likelihood of the labels",
            interval=_loss_interval("log_loss"),
            interval_method="normal approximation of the mean per-row log loss",
        ),
        PerformanceMetric(
            "brier",
            "scores",
            False,
            lambda s: _probabilities(s).brier(),
            lambda s: _weight_reasons(s.group_weight),
            "mean squared difference between probability and label",
            interval=_loss_interval("brier"),
            interval_method="normal approximation of the mean per-row Brier term",
        ),
        PerformanceMetric(
            "mae",
            "regression",
            False,
            lambda m: m.mae(),
            lambda m: _weight_reasons(m.weight),
            "mean absolute error",
            interval=_mae_interval,
            interval_method="normal approximation of the mean absolute residual",
        ),
        PerformanceMetric(
            "rmse",
            "regression",
            False,
            lambda m: m.rmse(),
            lambda m: _weight_reasons(m.weight),
            "root mean squared error",
            interval=_rmse_interval,
            interval_method="square root of the normal interval of the MSE (fourth moment)",
        ),
        PerformanceMetric(
            "r2",
            "regression",
            True,
            lambda m: m.r2(),
            _r2_reasons,
            "coefficient of determination",
            interval_method="no interval: R² needs joint moments of the residuals and the"
            " target, which the regression moments do not keep, and a row bootstrap does not"
            " scale",
        ),
    )
}


def get_metric(name: str) -> PerformanceMetric:
    """The performance metric called ``name``."""
    metric = PERFORMANCE_METRICS.get(name)
    if metric is None:
        raise CheckError(
            f"unknown performance metric '{name}'",
            hint=f"use one of {', '.join(PERFORMANCE_METRICS)}",
        )
    return metric


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


def _from_counts(
    name: str,
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    pos_label: Any,
    options: IntervalOptions,
) -> MetricResult:
    counts = confusion_counts(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
    )
    return evaluate(name, counts, **options)


def _from_scores(
    name: str,
    y_true: Any,
    y_score: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    pos_label: Any,
    options: IntervalOptions,
) -> MetricResult:
    stats = score_counts(
        y_true,
        y_score,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
    )
    return evaluate(name, stats, **options)


def _from_moments(
    name: str,
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    options: IntervalOptions,
) -> MetricResult:
    stats = regression_moments(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
    )
    return evaluate(name, stats, **options)


def accuracy(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Accuracy (``sklearn.metrics.accuracy_score``), overall and per group."""
    return _from_counts(
        "accuracy", y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options
    )


def balanced_accuracy(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Balanced accuracy (mean of TPR and TNR); NaN when a class is absent."""
    return _from_counts(
        "balanced_accuracy",
        y_true,
        y_pred,
        sensitive_features,
        sample_weight,
        data,
        pos_label,
        options,
    )


def precision(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Precision; NaN (not scikit-learn's 0) when nothing is predicted positive."""
    return _from_counts(
        "precision", y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options
    )


def recall(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Recall (true positive rate); NaN when there are no positives."""
    return _from_counts(
        "recall", y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options
    )


def f1(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """F1 score ``2TP / (2TP + FP + FN)``; NaN when there are no positives and none predicted."""
    return _from_counts(
        "f1", y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options
    )


def roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """ROC AUC (``sklearn.metrics.roc_auc_score``), exact; NaN for a single class."""
    return _from_scores(
        "roc_auc", y_true, y_score, sensitive_features, sample_weight, data, pos_label, options
    )


def log_loss(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Log loss (``sklearn.metrics.log_loss`` on positive-class probabilities)."""
    return _from_scores(
        "log_loss", y_true, y_score, sensitive_features, sample_weight, data, pos_label, options
    )


def brier(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Brier score (``sklearn.metrics.brier_score_loss``)."""
    return _from_scores(
        "brier", y_true, y_score, sensitive_features, sample_weight, data, pos_label, options
    )


def mae(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Mean absolute error (``sklearn.metrics.mean_absolute_error``)."""
    return _from_moments("mae", y_true, y_pred, sensitive_features, sample_weight, data, options)


def rmse(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """Root mean squared error (``sklearn.metrics.root_mean_squared_error``)."""
    return _from_moments("rmse", y_true, y_pred, sensitive_features, sample_weight, data, options)


def r2(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    **options: Unpack[IntervalOptions],
) -> MetricResult:
    """R² (``sklearn.metrics.r2_score``); NaN when the target is constant."""
    return _from_moments("r2", y_true, y_pred, sensitive_features, sample_weight, data, options)
