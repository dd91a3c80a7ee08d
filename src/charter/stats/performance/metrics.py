"""The performance metrics: what each is computed from, its kernel or interval, its reasons.

:data:`PERFORMANCE_METRICS` maps each metric's name (and check id) to a
:class:`PerformanceMetric`; :func:`get_metric` looks one up with a clear error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.counts import ConfusionCounts
from charter.stats.rates import RATES, undefined_reason
from charter.stats.regression import RegressionMoments
from charter.stats.scores import ScoreCounts

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
