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

from charter.stats.performance.evaluation import (
    evaluate,
)
from charter.stats.performance.functions import (
    accuracy,
    balanced_accuracy,
    brier,
    f1,
    log_loss,
    mae,
    precision,
    r2,
    recall,
    rmse,
    roc_auc,
)
from charter.stats.performance.metrics import (
    PERFORMANCE_METRICS,
    IntervalFunction,
    IntervalOptions,
    Kind,
    PerformanceMetric,
    Statistics,
    get_metric,
)

__all__ = [
    "PERFORMANCE_METRICS",
    "IntervalFunction",
    "IntervalOptions",
    "Kind",
    "PerformanceMetric",
    "Statistics",
    "accuracy",
    "balanced_accuracy",
    "brier",
    "evaluate",
    "f1",
    "get_metric",
    "log_loss",
    "mae",
    "precision",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
]
