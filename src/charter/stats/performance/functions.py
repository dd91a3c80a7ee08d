"""Every performance metric as a function with scikit-learn's signature (and groups).

``metric(y_true, y_pred_or_score, *, sensitive_features=None, sample_weight=None, data=None)``
counts and evaluates in one go.
"""

from __future__ import annotations

from typing import Any, Unpack

from charter.stats.counts import confusion_counts
from charter.stats.performance.evaluation import evaluate
from charter.stats.performance.metrics import IntervalOptions
from charter.stats.regression import regression_moments
from charter.stats.results import MetricResult
from charter.stats.scores import score_counts


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
