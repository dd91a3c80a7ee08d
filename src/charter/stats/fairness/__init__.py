"""Fairness metrics from confusion counts: the per-group table and the named metrics.

:class:`GroupMetrics` is Charter's counterpart of fairlearn's ``MetricFrame``: built from
:class:`~charter.stats.counts.ConfusionCounts` (one aggregation over the data), it gives every
rate per group and aggregates them as ``difference`` or ``ratio``, ``between_groups`` or
``to_overall``, with fairlearn's exact conventions. It also gives the named metrics of fairlearn
(demographic parity, equalized odds, equal opportunity) and of AIF360 (statistical parity
difference, disparate impact, equal opportunity difference, average odds difference, which are
signed and compare the pooled unprivileged rows with a named privileged group), and the
four-fifths rule.

The package: :mod:`~charter.stats.fairness.groups` (rates per group and their aggregates),
:mod:`~charter.stats.fairness.comparisons` (the named metrics, fairlearn's and AIF360's) and
:mod:`~charter.stats.fairness.functions` (fairlearn-signature functions).

Every metric is also available as a function with fairlearn's signature,
``metric(y_true, y_pred, *, sensitive_features, sample_weight=None, data=None, pos_label=1)``,
which counts and evaluates in one go.

Conventions shared by every metric here
---------------------------------------
* A rate whose denominator is zero is **undefined**: NaN, with a reason, never 0. fairlearn
  (through scikit-learn's confusion matrix) and AIF360 (``zero_division='warn'``) return 0, so a
  group without positives shows a true positive rate of 0 and an equalized-odds gap that is
  pure artefact. With ``undefined="nan"`` (default) an aggregate over any undefined rate is NaN
  and the result's ``reason`` names the groups; with ``undefined="skip"`` those groups are
  left out of the aggregate (as pandas' NaN-skipping reductions in fairlearn do) and listed.
* Groups smaller than ``min_group_size`` rows are flagged (``small_groups="report"``), left out
  of the aggregate (``"exclude"``; the overall reference still counts every row) or make the
  result carry ``small_group_failure`` (``"fail"``) which a check turns into a failure.
* Counts are weighted by sample weights when given; group sizes are always row counts.
"""

from charter.stats.fairness.comparisons import GroupMetrics
from charter.stats.fairness.functions import (
    NAMED_METRICS,
    average_odds_difference,
    demographic_parity_difference,
    demographic_parity_ratio,
    disparate_impact,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    four_fifths_rule,
    group_metrics,
    statistical_parity_difference,
)
from charter.stats.fairness.groups import (
    LABEL_FREE_METRICS,
    Aggregation,
    GroupOptions,
    GroupRates,
    Kernel,
    Method,
    SmallGroups,
    Undefined,
)

__all__ = [
    "LABEL_FREE_METRICS",
    "NAMED_METRICS",
    "Aggregation",
    "GroupMetrics",
    "GroupOptions",
    "GroupRates",
    "Kernel",
    "Method",
    "SmallGroups",
    "Undefined",
    "average_odds_difference",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "disparate_impact",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "four_fifths_rule",
    "group_metrics",
    "statistical_parity_difference",
]
