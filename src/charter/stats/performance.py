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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.counts import ConfusionCounts, confusion_counts
from charter.stats.rates import RATES, undefined_reason
from charter.stats.regression import RegressionMoments, regression_moments
from charter.stats.results import GroupRow, MetricResult
from charter.stats.scores import ScoreCounts, score_counts

Kind = Literal["counts", "scores", "regression"]
Statistics = ConfusionCounts | ScoreCounts | RegressionMoments


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
    """

    name: str
    kind: Kind
    higher_is_better: bool
    values: Callable[[Any], np.ndarray]
    reasons: Callable[[Any], list[str | None]]
    description: str


def _rate_reasons(*names: str) -> Callable[[ConfusionCounts], list[str | None]]:
    def reasons(counts: ConfusionCounts) -> list[str | None]:
        out: list[str | None] = []
        for g in range(len(counts)):
            found = [undefined_reason(RATES[n], counts.weighted[g]) for n in names]
            causes = list(dict.fromkeys(f for f in found if f is not None))
            out.append("; ".join(causes) if causes else None)
        return out

    return reasons


def _balanced_accuracy(counts: ConfusionCounts) -> np.ndarray:
    w = counts.weighted
    return (RATES["true_positive_rate"](w) + RATES["true_negative_rate"](w)) / 2.0


def _f1(counts: ConfusionCounts) -> np.ndarray:
    w = counts.weighted
    tp, fp, fn = w[:, 1, 1], w[:, 0, 1], w[:, 1, 0]
    den = 2.0 * tp + fp + fn
    out = np.full(den.shape, np.nan)
    np.divide(2.0 * tp, den, out=out, where=den > 0)
    return out


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
        PerformanceMetric(
            "accuracy",
            "counts",
            True,
            lambda c: RATES["accuracy"](c.weighted),
            _rate_reasons("accuracy"),
            "share of correct predictions",
        ),
        PerformanceMetric(
            "balanced_accuracy",
            "counts",
            True,
            _balanced_accuracy,
            _rate_reasons("true_positive_rate", "true_negative_rate"),
            "mean of the true positive and true negative rates",
        ),
        PerformanceMetric(
            "precision",
            "counts",
            True,
            lambda c: RATES["precision"](c.weighted),
            _rate_reasons("precision"),
            "share of predicted positives that are positive",
        ),
        PerformanceMetric(
            "recall",
            "counts",
            True,
            lambda c: RATES["true_positive_rate"](c.weighted),
            _rate_reasons("true_positive_rate"),
            "share of positives predicted positive",
        ),
        PerformanceMetric(
            "f1", "counts", True, _f1, _f1_reasons, "harmonic mean of precision and recall"
        ),
        PerformanceMetric(
            "roc_auc",
            "scores",
            True,
            lambda s: s.roc_auc(),
            _auc_reasons,
            "probability that a positive scores above a negative (ties count half)",
        ),
        PerformanceMetric(
            "log_loss",
            "scores",
            False,
            lambda s: _probabilities(s).log_loss(),
            lambda s: _weight_reasons(s.group_weight),
            "mean negative log-likelihood of the labels",
        ),
        PerformanceMetric(
            "brier",
            "scores",
            False,
            lambda s: _probabilities(s).brier(),
            lambda s: _weight_reasons(s.group_weight),
            "mean squared difference between probability and label",
        ),
        PerformanceMetric(
            "mae",
            "regression",
            False,
            lambda m: m.mae(),
            lambda m: _weight_reasons(m.weight),
            "mean absolute error",
        ),
        PerformanceMetric(
            "rmse",
            "regression",
            False,
            lambda m: m.rmse(),
            lambda m: _weight_reasons(m.weight),
            "root mean squared error",
        ),
        PerformanceMetric(
            "r2",
            "regression",
            True,
            lambda m: m.r2(),
            _r2_reasons,
            "coefficient of determination",
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


def evaluate(name: str, stats: Statistics, *, min_group_size: int | None = None) -> MetricResult:
    """Evaluate the metric ``name`` on precomputed statistics, overall and per group.

    Parameters
    ----------
    name
        A key of :data:`PERFORMANCE_METRICS`.
    stats
        Counts, score counts or regression moments, per group or overall only.
    min_group_size
        Groups with fewer rows are flagged ``small`` in the table.

    Returns
    -------
    MetricResult
        ``value`` is the overall metric. With groups, ``groups`` holds each group's value and
        ``details`` the worst group (lowest for scores, highest for losses).
    """
    metric = get_metric(name)
    expected = {"counts": ConfusionCounts, "scores": ScoreCounts, "regression": RegressionMoments}
    if not isinstance(stats, expected[metric.kind]):
        raise TypeError(f"{name} is computed from {expected[metric.kind].__name__}")
    overall = stats.overall()
    value = float(metric.values(overall)[0]) if len(overall.keys) else math.nan
    reason = metric.reasons(overall)[0] if len(overall.keys) else "there are no rows"
    details: dict[str, Any] = {"higher_is_better": metric.higher_is_better}
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
            )
            for g, key in enumerate(stats.keys)
        )
        defined = [g for g in range(len(values)) if not math.isnan(values[g])]
        if defined:
            pick = min if metric.higher_is_better else max
            worst = pick(defined, key=lambda g: values[g])
            details["worst_group"] = {"group": labels[worst], "value": float(values[worst])}
        undefined = [labels[g] for g in range(len(values)) if math.isnan(values[g])]
        if undefined:
            details["undefined_groups"] = undefined
    return MetricResult(
        metric=name,
        value=value,
        reason=reason if math.isnan(value) else None,
        groups=groups,
        overall={name: value},
        details=details,
    )


def _from_counts(
    name: str,
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    pos_label: Any,
) -> MetricResult:
    counts = confusion_counts(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
    )
    return evaluate(name, counts)


def _from_scores(
    name: str,
    y_true: Any,
    y_score: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    pos_label: Any,
) -> MetricResult:
    stats = score_counts(
        y_true,
        y_score,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
    )
    return evaluate(name, stats)


def _from_moments(
    name: str, y_true: Any, y_pred: Any, sensitive_features: Any, sample_weight: Any, data: Any
) -> MetricResult:
    stats = regression_moments(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
    )
    return evaluate(name, stats)


def accuracy(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Accuracy (``sklearn.metrics.accuracy_score``), overall and per group."""
    return _from_counts(
        "accuracy", y_true, y_pred, sensitive_features, sample_weight, data, pos_label
    )


def balanced_accuracy(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Balanced accuracy (mean of TPR and TNR); NaN when a class is absent."""
    return _from_counts(
        "balanced_accuracy", y_true, y_pred, sensitive_features, sample_weight, data, pos_label
    )


def precision(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Precision; NaN (not scikit-learn's 0) when nothing is predicted positive."""
    return _from_counts(
        "precision", y_true, y_pred, sensitive_features, sample_weight, data, pos_label
    )


def recall(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Recall (true positive rate); NaN when there are no positives."""
    return _from_counts(
        "recall", y_true, y_pred, sensitive_features, sample_weight, data, pos_label
    )


def f1(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """F1 score ``2TP / (2TP + FP + FN)``; NaN when there are no positives and none predicted."""
    return _from_counts("f1", y_true, y_pred, sensitive_features, sample_weight, data, pos_label)


def roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """ROC AUC (``sklearn.metrics.roc_auc_score``), exact; NaN for a single class."""
    return _from_scores(
        "roc_auc", y_true, y_score, sensitive_features, sample_weight, data, pos_label
    )


def log_loss(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Log loss (``sklearn.metrics.log_loss`` on positive-class probabilities)."""
    return _from_scores(
        "log_loss", y_true, y_score, sensitive_features, sample_weight, data, pos_label
    )


def brier(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
) -> MetricResult:
    """Brier score (``sklearn.metrics.brier_score_loss``)."""
    return _from_scores(
        "brier", y_true, y_score, sensitive_features, sample_weight, data, pos_label
    )


def mae(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
) -> MetricResult:
    """Mean absolute error (``sklearn.metrics.mean_absolute_error``)."""
    return _from_moments("mae", y_true, y_pred, sensitive_features, sample_weight, data)


def rmse(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
) -> MetricResult:
    """Root mean squared error (``sklearn.metrics.root_mean_squared_error``)."""
    return _from_moments("rmse", y_true, y_pred, sensitive_features, sample_weight, data)


def r2(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any = None,
    sample_weight: Any = None,
    data: Any = None,
) -> MetricResult:
    """R² (``sklearn.metrics.r2_score``); NaN when the target is constant."""
    return _from_moments("r2", y_true, y_pred, sensitive_features, sample_weight, data)
