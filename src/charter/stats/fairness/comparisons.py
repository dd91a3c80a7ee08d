"""The named fairness metrics: fairlearn's, and AIF360's comparisons with a privileged group.

:class:`GroupMetrics` adds to :class:`~charter.stats.fairness.groups.GroupRates` the named
metrics of fairlearn (demographic parity, equal opportunity, equalized odds: every group against
every other or the overall rate) and of AIF360 (statistical parity difference, disparate
impact, average odds difference: signed, the pooled unprivileged rows against a named
privileged group), and the four-fifths rule.
"""

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.fairness.groups import Aggregation, GroupRates, Method, _check_method
from charter.stats.numeric import finite_or_none, safe_ratio
from charter.stats.rates import (
    RATES,
    undefined_reason,
)
from charter.stats.results import MetricResult


class GroupMetrics(GroupRates):
    """Per-group rates of a binary classifier and their aggregates, from confusion counts.

    Parameters
    ----------
    counts
        Weighted confusion counts per group (:func:`~charter.stats.counts.confusion_counts`).
    min_group_size
        Groups with fewer rows are *small*; ``None`` or 1 disables the check.
    small_groups
        ``report`` (keep and flag), ``exclude`` (leave out of aggregates) or ``fail`` (flag the
        result with ``small_group_failure``).
    undefined
        ``nan``: an aggregate over an undefined group rate is NaN (with a reason). ``skip``:
        leave such groups out of the aggregate and list them.
    bootstrap
        Number of bootstrap resamples for confidence intervals (0: none).
    confidence_level
        Coverage of the intervals.
    seed
        Seed of the resampling.

    Examples
    --------
    >>> from charter.stats.counts import confusion_counts
    >>> y_true, y_pred = [1, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1]
    >>> counts = confusion_counts(y_true, y_pred, sensitive_features=list("aaabbb"))
    >>> gm = GroupMetrics(counts)
    >>> gm.rate("true_positive_rate").tolist()
    [0.5, 1.0]
    >>> gm.demographic_parity_difference().value
    0.3333333333333333
    """

    # -- fairlearn's named metrics ----------------------------------------------------------
    def demographic_parity_difference(self, method: Method = "between_groups") -> MetricResult:
        """Fairlearn's demographic parity difference: ``difference`` of the selection rate.

        Selection rate ``P(y_pred = 1 | group)``; 0 means every group is selected equally
        often. Between groups it is ``max - min``; to overall ``max |group - overall|``.
        """
        return self._named(
            "demographic_parity_difference", self.difference("selection_rate", method)
        )

    def demographic_parity_ratio(self, method: Method = "between_groups") -> MetricResult:
        """Fairlearn's demographic parity ratio: ``ratio`` of the selection rate (1 is parity)."""
        return self._named("demographic_parity_ratio", self.ratio("selection_rate", method))

    def equal_opportunity_difference(
        self,
        method: Method = "between_groups",
        *,
        privileged: Mapping[str, Any] | None = None,
    ) -> MetricResult:
        """Equal opportunity difference, in fairlearn's or AIF360's convention.

        Without ``privileged`` (fairlearn 0.11+): ``difference`` of the true positive rate,
        ``>= 0``. With ``privileged`` (AIF360): the signed ``TPR(unprivileged) -
        TPR(privileged)``, where unprivileged pools every row outside the privileged group;
        ``method`` is then ignored.
        """
        if privileged is not None:
            return self._privileged_metric("equal_opportunity_difference", privileged)
        return self._named(
            "equal_opportunity_difference", self.difference("true_positive_rate", method)
        )

    def equal_opportunity_ratio(self, method: Method = "between_groups") -> MetricResult:
        """Fairlearn's equal opportunity ratio: ``ratio`` of the true positive rate."""
        return self._named("equal_opportunity_ratio", self.ratio("true_positive_rate", method))

    def equalized_odds_difference(
        self, method: Method = "between_groups", agg: Aggregation = "worst_case"
    ) -> MetricResult:
        """Fairlearn's equalized odds difference.

        The ``difference`` of the true positive rate and of the false positive rate, combined
        by ``agg``: ``worst_case`` takes the larger, ``mean`` their mean. 0 means equal odds.
        """
        return self._equalized_odds("difference", method, agg)

    def equalized_odds_ratio(
        self, method: Method = "between_groups", agg: Aggregation = "worst_case"
    ) -> MetricResult:
        """Fairlearn's equalized odds ratio.

        The ``ratio`` of the true positive rate and of the false positive rate, combined by
        ``agg``: ``worst_case`` takes the smaller, ``mean`` their mean. 1 means equal odds.
        """
        return self._equalized_odds("ratio", method, agg)

    def _equalized_odds(self, aggregate: str, method: str, agg: str) -> MetricResult:
        _check_method(method)
        if agg not in ("worst_case", "mean"):
            raise CheckError(
                f"unknown equalized-odds aggregation '{agg}'", hint="use 'worst_case' or 'mean'"
            )
        rates = [RATES["true_positive_rate"], RATES["false_positive_rate"]]
        self._need_labels(f"equalized_odds_{aggregate}", rates)
        make = self._difference_kernel if aggregate == "difference" else self._ratio_kernel
        parts = [make(r, method) for r in rates]
        pick = np.maximum if aggregate == "difference" else np.minimum

        def kernel(w: np.ndarray) -> np.ndarray:
            a, b = (k(w) for k in parts)
            return pick(a, b) if agg == "worst_case" else (a + b) / 2.0

        components = {
            r.name: float(k(self.counts.weighted)) for r, k in zip(rates, parts, strict=True)
        }
        return self._result(
            f"equalized_odds_{aggregate}",
            kernel,
            rates,
            method=method,
            aggregate=aggregate,
            details={
                "method": method,
                "aggregation": aggregate,
                "components_combined_by": agg,
                "components": {k: finite_or_none(v) for k, v in components.items()},
            },
        )

    # -- AIF360's signed metrics against a privileged group ---------------------------------
    def privileged_mask(self, privileged: Mapping[str, Any]) -> np.ndarray:
        """Which groups belong to the privileged group.

        A group is privileged when, for every sensitive column named in ``privileged``, its
        value equals the given one (compared as values, then as strings). Columns of
        ``privileged`` that are not sensitive columns here are ignored; at least one must be.
        """
        used = {c: v for c, v in privileged.items() if c in self.names}
        if not used:
            raise DataError(
                f"the privileged group {dict(privileged)} names none of the sensitive columns"
                f" {list(self.names)}",
                hint="set fairness.privileged (or the rule's privileged param) to"
                " {column: value} for one of the sensitive columns",
            )
        positions = {c: self.names.index(c) for c in used}
        mask = np.ones(len(self.keys), dtype=bool)
        for column, wanted in used.items():
            i = positions[column]
            mask &= np.array([_same(key[i], wanted) for key in self.keys], dtype=bool)
        return mask

    def statistical_parity_difference(self, privileged: Mapping[str, Any]) -> MetricResult:
        """AIF360's statistical parity difference.

        ``P(y_pred = 1 | unprivileged) - P(y_pred = 1 | privileged)``, signed: negative when
        the unprivileged rows are selected less often. Unprivileged pools every row outside
        the privileged group.
        """
        return self._privileged_metric("statistical_parity_difference", privileged)

    def disparate_impact(self, privileged: Mapping[str, Any]) -> MetricResult:
        """AIF360's disparate impact ratio.

        ``P(y_pred = 1 | unprivileged) / P(y_pred = 1 | privileged)``; 1 is parity, below 1
        disfavours the unprivileged. NaN when the privileged selection rate is 0 (AIF360 warns
        and returns 0).
        """
        return self._privileged_metric("disparate_impact", privileged)

    def average_odds_difference(self, privileged: Mapping[str, Any]) -> MetricResult:
        """AIF360's average odds difference.

        ``((FPR_u - FPR_p) + (TPR_u - TPR_p)) / 2`` between the pooled unprivileged rows and the
        privileged group; signed, 0 means equal odds.
        """
        return self._privileged_metric("average_odds_difference", privileged)

    def _privileged_metric(self, metric: str, privileged: Mapping[str, Any]) -> MetricResult:
        mask = self.privileged_mask(privileged)
        priv = mask & self.included
        unpriv = ~mask & self.included
        sel, tpr, fpr = (
            RATES["selection_rate"],
            RATES["true_positive_rate"],
            RATES["false_positive_rate"],
        )
        rates = {
            "statistical_parity_difference": [sel],
            "disparate_impact": [sel],
            "equal_opportunity_difference": [tpr],
            "average_odds_difference": [tpr, fpr],
        }[metric]
        self._need_labels(metric, rates)

        def pools(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return w[..., unpriv, :, :].sum(axis=-3), w[..., priv, :, :].sum(axis=-3)

        def kernel(w: np.ndarray) -> np.ndarray:
            u, p = pools(w)
            if metric == "statistical_parity_difference":
                return sel(u) - sel(p)
            if metric == "equal_opportunity_difference":
                return tpr(u) - tpr(p)
            if metric == "average_odds_difference":
                return ((fpr(u) - fpr(p)) + (tpr(u) - tpr(p))) / 2.0
            su, sp = sel(u), sel(p)
            return safe_ratio(su, sp)

        u0, p0 = pools(self.counts.weighted)
        priv_labels = [self.labels[g] for g in np.flatnonzero(mask)]
        described = ", ".join(f"{k}={v}" for k, v in privileged.items() if k in self.names)

        def reason() -> str:
            if not priv.any():
                present = "; ".join(
                    f"{n}: {sorted({str(k[i]) for k in self.keys})}"
                    for i, n in enumerate(self.names)
                )
                why = "has no rows" if not mask.any() else "has only excluded small groups"
                return f"the privileged group ({described}) {why}; values present: {present}"
            if not unpriv.any():
                return f"every row belongs to the privileged group ({described})"
            parts = []
            for rate in rates:
                for side, pooled in (("unprivileged", u0), ("privileged", p0)):
                    cause = undefined_reason(rate, pooled)
                    if cause is not None:
                        parts.append(f"{rate.name} of the {side} rows is undefined ({cause})")
            if not parts and metric == "disparate_impact":
                parts.append("the privileged selection rate is 0, so the ratio is undefined")
            return "; ".join(parts) or "the metric is undefined for these counts"

        return self._result(
            metric,
            kernel,
            rates,
            method="privileged",
            aggregate="ratio" if metric == "disparate_impact" else "difference",
            details={
                "convention": "aif360",
                "privileged": {k: v for k, v in privileged.items() if k in self.names},
                "privileged_groups": priv_labels,
                "unprivileged_rates": {r.name: finite_or_none(r(u0)) for r in rates},
                "privileged_rates": {r.name: finite_or_none(r(p0)) for r in rates},
            },
            privileged=mask,
            reason=reason,
        )

    # -- the four-fifths rule ---------------------------------------------------------------
    def four_fifths_rule(self, threshold: float = 0.8) -> MetricResult:
        """The four-fifths (80 %) rule of adverse impact.

        Each group's selection rate is divided by that of the most favoured group (the highest
        selection rate among the compared groups): its *impact ratio*. The value is the
        smallest impact ratio; the rule holds when it is at least ``threshold`` (0.8). NaN when
        no group is selected at all. Per-group impact ratios are in the ``impact_ratio``
        column; ``details["failing_groups"]`` lists the groups under the threshold.
        """
        sel = RATES["selection_rate"]
        rates = self.rate("selection_rate")
        included_rates = rates[self.included]
        defined = included_rates[~np.isnan(included_rates)]
        best = float(defined.max()) if defined.size else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            impact = rates / best if best > 0 else np.full_like(rates, np.nan)
        favoured = [
            self.labels[g] for g in np.flatnonzero(self.included) if best > 0 and rates[g] == best
        ]
        failing = [
            self.labels[g]
            for g in np.flatnonzero(self.included)
            if not math.isnan(impact[g]) and impact[g] < threshold
        ]
        included = self.included

        def impact_kernel(w: np.ndarray) -> np.ndarray:
            values = sel(w)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                top = np.nanmax(np.where(included, values, np.nan), axis=-1, keepdims=True)
            return safe_ratio(values, top)

        result = self._result(
            "four_fifths_rule",
            self._ratio_kernel(sel, "between_groups"),
            [sel],
            method="between_groups",
            aggregate="ratio",
            details={
                "threshold": threshold,
                "most_favoured": favoured,
                "failing_groups": failing,
            },
            extra_columns={"impact_ratio": impact},
            extra_kernels={"impact_ratio": impact_kernel} if included.any() else None,
        )
        return result

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _named(name: str, result: MetricResult) -> MetricResult:
        return MetricResult(
            metric=name,
            value=result.value,
            reason=result.reason,
            groups=result.groups,
            overall=result.overall,
            ci=result.ci,
            details=result.details,
        )


def _same(value: Any, wanted: Any) -> bool:
    if value == wanted:
        return True
    return value is not None and str(value) == str(wanted)
