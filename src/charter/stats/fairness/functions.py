"""Every fairness metric as a function with fairlearn's signature.

``metric(y_true, y_pred, *, sensitive_features, sample_weight=None, data=None, pos_label=1)``
counts and evaluates in one go; :data:`NAMED_METRICS` maps each metric's name to its
evaluation on a :class:`~charter.stats.fairness.GroupMetrics`.
"""

from collections.abc import Callable, Mapping
from typing import Any, Unpack

from charter.errors import CheckError
from charter.stats.counts import confusion_counts
from charter.stats.fairness.comparisons import GroupMetrics
from charter.stats.fairness.groups import Aggregation, GroupOptions, Method
from charter.stats.results import MetricResult


def group_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> GroupMetrics:
    """Count once and return the :class:`GroupMetrics` table.

    Parameters
    ----------
    y_true, y_pred
        Binary labels and predictions: column names in ``data`` or array-likes.
    sensitive_features
        Column name(s) in ``data``, an array/series, a dict of name to values, or a frame;
        several columns give intersectional groups.
    sample_weight
        Optional weights (column name or values).
    data
        pandas, polars, pyarrow, DuckDB, Spark or narwhals frame the names refer to.
    pos_label
        The favourable label.
    **options
        ``min_group_size``, ``small_groups``, ``undefined``, ``bootstrap``,
        ``confidence_level``, ``seed`` (see :class:`GroupMetrics`).
    """
    counts = confusion_counts(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
    )
    return GroupMetrics(counts, **options)


def demographic_parity_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """As fairlearn's ``demographic_parity_difference``.

    See :meth:`GroupMetrics.demographic_parity_difference`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.demographic_parity_difference(method)


def demographic_parity_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """As fairlearn's ``demographic_parity_ratio``.

    See :meth:`GroupMetrics.demographic_parity_ratio`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.demographic_parity_ratio(method)


def equalized_odds_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    agg: Aggregation = "worst_case",
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """As fairlearn's ``equalized_odds_difference``.

    See :meth:`GroupMetrics.equalized_odds_difference`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.equalized_odds_difference(method, agg)


def equalized_odds_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    agg: Aggregation = "worst_case",
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """As fairlearn's ``equalized_odds_ratio``.

    See :meth:`GroupMetrics.equalized_odds_ratio`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.equalized_odds_ratio(method, agg)


def equal_opportunity_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    privileged: Mapping[str, Any] | None = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """Equal opportunity difference: fairlearn's, or AIF360's signed one with ``privileged``.

    See :meth:`GroupMetrics.equal_opportunity_difference`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.equal_opportunity_difference(method, privileged=privileged)


def equal_opportunity_ratio(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Method = "between_groups",
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """As fairlearn's ``equal_opportunity_ratio``.

    See :meth:`GroupMetrics.equal_opportunity_ratio`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.equal_opportunity_ratio(method)


def statistical_parity_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged: Mapping[str, Any],
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """AIF360's ``statistical_parity_difference``.

    See :meth:`GroupMetrics.statistical_parity_difference`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.statistical_parity_difference(privileged)


def disparate_impact(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged: Mapping[str, Any],
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """AIF360's ``disparate_impact_ratio``.

    See :meth:`GroupMetrics.disparate_impact`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.disparate_impact(privileged)


def average_odds_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    privileged: Mapping[str, Any],
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """AIF360's ``average_odds_difference``.

    See :meth:`GroupMetrics.average_odds_difference`.
    """
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.average_odds_difference(privileged)


def four_fifths_rule(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    threshold: float = 0.8,
    sample_weight: Any = None,
    data: Any = None,
    pos_label: Any = 1,
    **options: Unpack[GroupOptions],
) -> MetricResult:
    """The four-fifths rule; see :meth:`GroupMetrics.four_fifths_rule`."""
    gm = _count(y_true, y_pred, sensitive_features, sample_weight, data, pos_label, options)
    return gm.four_fifths_rule(threshold)


def _count(
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    data: Any,
    pos_label: Any,
    options: GroupOptions,
) -> GroupMetrics:
    return group_metrics(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        sample_weight=sample_weight,
        data=data,
        pos_label=pos_label,
        **options,
    )


#: The named fairness metrics, evaluated on a :class:`GroupMetrics`, by name. Each takes
#: ``(group_metrics, method, agg, privileged)``; unused arguments are ignored.
NAMED_METRICS: dict[
    str, Callable[[GroupMetrics, Method, Aggregation, Mapping[str, Any] | None], MetricResult]
] = {
    "demographic_parity_difference": lambda g, m, a, p: g.demographic_parity_difference(m),
    "demographic_parity_ratio": lambda g, m, a, p: g.demographic_parity_ratio(m),
    "equalized_odds_difference": lambda g, m, a, p: g.equalized_odds_difference(m, a),
    "equalized_odds_ratio": lambda g, m, a, p: g.equalized_odds_ratio(m, a),
    "equal_opportunity_difference": lambda g, m, a, p: g.equal_opportunity_difference(
        m, privileged=p
    ),
    "equal_opportunity_ratio": lambda g, m, a, p: g.equal_opportunity_ratio(m),
    "statistical_parity_difference": lambda g, m, a, p: g.statistical_parity_difference(_need(p)),
    "disparate_impact": lambda g, m, a, p: g.disparate_impact(_need(p)),
    "average_odds_difference": lambda g, m, a, p: g.average_odds_difference(_need(p)),
}


def _need(privileged: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not privileged:
        raise CheckError(
            "this metric compares with a privileged group but none was given",
            hint="set fairness.privileged in the policy (or the rule's privileged param),"
            " e.g. {sex: M}",
        )
    return privileged
