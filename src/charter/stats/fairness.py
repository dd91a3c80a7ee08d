"""Fairness metrics from confusion counts: the per-group table and the named metrics.

:class:`GroupMetrics` is Charter's counterpart of fairlearn's ``MetricFrame``: built from
:class:`~charter.stats.counts.ConfusionCounts` (one aggregation over the data), it gives every
rate per group and aggregates them as ``difference`` or ``ratio``, ``between_groups`` or
``to_overall``, with fairlearn's exact conventions. It also gives the named metrics of fairlearn
(demographic parity, equalized odds, equal opportunity) and of AIF360 (statistical parity
difference, disparate impact, equal opportunity difference, average odds difference, which are
signed and compare the pooled unprivileged rows with a named privileged group), and the
four-fifths rule.

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

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict, Unpack

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.bootstrap import (
    Intervals,
    percentile_interval,
    percentile_intervals,
    resample_counts,
)
from charter.stats.counts import ConfusionCounts, GroupKey, confusion_counts
from charter.stats.rates import (
    RATES,
    STANDARD_RATES,
    Rate,
    get_rate,
    undefined_reason,
    undefined_reasons,
)
from charter.stats.results import GroupRow, MetricResult

Method = Literal["between_groups", "to_overall"]
Aggregation = Literal["worst_case", "mean"]
SmallGroups = Literal["report", "exclude", "fail"]
Undefined = Literal["nan", "skip"]
Kernel = Callable[[np.ndarray], np.ndarray]

_METHODS = ("between_groups", "to_overall")

#: Resampled counts up to this many numbers are kept for the next metric of the same table.
_CACHE_RESAMPLES = 1 << 22

#: The named metrics computable from predictions alone (no true labels needed).
LABEL_FREE_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "statistical_parity_difference",
    "disparate_impact",
    "four_fifths_rule",
)


class GroupOptions(TypedDict, total=False):
    """Options shared by :class:`GroupMetrics` and the metric functions."""

    min_group_size: int | None
    small_groups: SmallGroups | str
    undefined: Undefined
    bootstrap: int
    confidence_level: float
    seed: int


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise CheckError(
            f"unknown aggregation method '{method}'",
            hint="use method='between_groups' or method='to_overall'",
        )


class GroupMetrics:
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

    def __init__(
        self,
        counts: ConfusionCounts,
        *,
        min_group_size: int | None = None,
        small_groups: SmallGroups | str = "report",
        undefined: Undefined = "nan",
        bootstrap: int = 0,
        confidence_level: float = 0.95,
        seed: int = 0,
    ) -> None:
        policy = str(getattr(small_groups, "value", small_groups))
        if policy not in ("report", "exclude", "fail"):
            raise CheckError(
                f"unknown small-group policy '{small_groups}'",
                hint="use small_groups='report', 'exclude' or 'fail'",
            )
        if undefined not in ("nan", "skip"):
            raise CheckError(
                f"unknown undefined-rate policy '{undefined}'", hint="use 'nan' or 'skip'"
            )
        self.counts = counts
        self.min_group_size = min_group_size
        self.small_group_policy = policy
        self.undefined = undefined
        self.bootstrap = bootstrap
        self.confidence_level = confidence_level
        self.seed = seed
        rows = counts.group_rows
        if min_group_size is not None and min_group_size > 1:
            self.small = rows < min_group_size
        else:
            self.small = np.zeros(len(counts), dtype=bool)
        self.included = ~self.small if policy == "exclude" else np.ones(len(counts), dtype=bool)
        self.labels = counts.labels()
        self._resampled: np.ndarray | None = None

    # -- per-group values -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """The sensitive columns."""
        return self.counts.names

    @property
    def keys(self) -> tuple[GroupKey, ...]:
        """Group keys, in the order of every per-group array."""
        return self.counts.keys

    @property
    def labelled(self) -> bool:
        """Whether the counts hold true labels (``False``: predictions alone)."""
        return self.counts.labelled

    def rate(self, name: str) -> np.ndarray:
        """The rate ``name`` for every group (NaN where undefined)."""
        rate = get_rate(name)
        self._need_labels(rate.name, [rate])
        return rate(self.counts.weighted)

    def overall_rate(self, name: str) -> float:
        """The rate ``name`` over all rows."""
        rate = get_rate(name)
        self._need_labels(rate.name, [rate])
        return float(rate(self.counts.weighted.sum(axis=0)))

    def table(self, rates: Sequence[str] = STANDARD_RATES) -> tuple[GroupRow, ...]:
        """Per-group rows with the given rates, reasons for undefined ones, and flags.

        Without true labels (``labelled`` is ``False``) rates that need them are left out.
        """
        chosen = [get_rate(r) for r in rates]
        if not self.labelled:
            chosen = [r for r in chosen if not r.uses_labels]
        return self._rows(chosen, {}, None)

    def _need_labels(self, metric: str, rates: Sequence[Rate]) -> None:
        """Refuse a metric that needs true labels on counts of predictions alone."""
        if self.labelled:
            return
        needing = [r.name for r in rates if r.uses_labels]
        if needing:
            raise DataError(
                f"{metric} needs true labels ({', '.join(needing)} depend on y_true), but the"
                " counts were made from predictions alone (no target)",
                hint="pass y_true (in a policy: --target COLUMN or data.target); without labels"
                f" use {', '.join(LABEL_FREE_METRICS)} or group_metric with"
                " metric=selection_rate",
            )

    def resamples(self) -> np.ndarray:
        """Bootstrap resamples of the counts, ``(bootstrap, groups, 2, 2)``.

        Drawn once with ``seed`` and kept (when small), so every metric of this table and
        every per-group interval come from the same resamples.
        """
        if self._resampled is not None:
            return self._resampled
        resampled = resample_counts(self.counts, self.bootstrap, seed=self.seed)
        if resampled.size <= _CACHE_RESAMPLES:
            self._resampled = resampled
        return resampled

    def group_intervals(
        self, rates: Sequence[str], resampled: np.ndarray | None = None
    ) -> dict[str, Intervals]:
        """Per-group percentile bootstrap intervals of each rate (``bootstrap`` resamples)."""
        chosen = [get_rate(r) for r in rates]
        self._need_labels(", ".join(r.name for r in chosen), chosen)
        w = self.resamples() if resampled is None else resampled
        return {r.name: percentile_intervals(r(w), self.confidence_level) for r in chosen}

    def _rows(
        self,
        rates: Sequence[Rate],
        extra: Mapping[str, np.ndarray],
        privileged: np.ndarray | None,
        intervals: Mapping[str, Intervals] | None = None,
    ) -> tuple[GroupRow, ...]:
        w = self.counts.weighted
        values = {r.name: r(w) for r in rates}
        values.update(extra)
        totals = w.sum(axis=(1, 2))
        rows = self.counts.group_rows
        why = {r.name: undefined_reasons(r, w) for r in rates}
        plain = {k: v.tolist() for k, v in values.items()}
        bounds = {
            k: (iv.low.tolist(), iv.high.tolist(), iv.undefined.tolist())
            for k, iv in (intervals or {}).items()
        }
        out = []
        for g, key in enumerate(self.keys):
            reasons = {name: cause for name, found in why.items() if (cause := found[g])}
            out.append(
                GroupRow(
                    label=self.labels[g],
                    key=dict(zip(self.names, key, strict=True)),
                    count=int(rows[g]),
                    weight=float(totals[g]),
                    values={k: v[g] for k, v in plain.items()},
                    reasons=reasons,
                    small=bool(self.small[g]),
                    excluded=not bool(self.included[g]),
                    privileged=None if privileged is None else bool(privileged[g]),
                    intervals={k: (lo[g], hi[g]) for k, (lo, hi, _) in bounds.items()},
                    undefined_resamples={k: n[g] for k, (_, _, n) in bounds.items() if n[g]},
                )
            )
        return tuple(out)

    # -- kernels: vectorised over leading (bootstrap) axes ----------------------------------
    def _group_values(self, rate: Rate, w: np.ndarray) -> np.ndarray:
        return rate(w[..., self.included, :, :])

    def _reduce(self, values: np.ndarray, how: str) -> np.ndarray:
        if values.shape[-1] == 0:
            return np.full(values.shape[:-1], np.nan)
        if self.undefined == "nan":
            return np.max(values, axis=-1) if how == "max" else np.min(values, axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmax(values, axis=-1) if how == "max" else np.nanmin(values, axis=-1)

    def _difference_kernel(self, rate: Rate, method: str) -> Kernel:
        def kernel(w: np.ndarray) -> np.ndarray:
            values = self._group_values(rate, w)
            if method == "between_groups":
                return self._reduce(values, "max") - self._reduce(values, "min")
            overall = rate(w.sum(axis=-3))[..., None]
            return self._reduce(np.abs(values - overall), "max")

        return kernel

    def _ratio_kernel(self, rate: Rate, method: str) -> Kernel:
        def kernel(w: np.ndarray) -> np.ndarray:
            values = self._group_values(rate, w)
            with np.errstate(divide="ignore", invalid="ignore"):
                if method == "between_groups":
                    low, high = self._reduce(values, "min"), self._reduce(values, "max")
                    return np.where(high > 0, low / np.where(high > 0, high, 1.0), np.nan)
                overall = rate(w.sum(axis=-3))[..., None]
                ratios = np.where(overall > 0, values / np.where(overall > 0, overall, 1.0), np.nan)
                ratios = np.where(ratios > 1.0, 1.0 / ratios, ratios)
                keep_nan = np.isnan(values) & (overall > 0)
                ratios = np.where(keep_nan, np.nan, ratios)
                if self.undefined == "skip":
                    # An undefined overall makes every ratio undefined, even when skipping.
                    ratios = np.where(overall > 0, ratios, np.nan)
                    reduced = self._reduce(ratios, "min")
                    return np.where(overall[..., 0] > 0, reduced, np.nan)
                return self._reduce(ratios, "min")

        return kernel

    # -- reasons ----------------------------------------------------------------------------
    def _undefined_groups(self, rate: Rate) -> list[tuple[str, str]]:
        found = undefined_reasons(rate, self.counts.weighted)
        return [
            (self.labels[g], why)
            for g, why in enumerate(found)
            if why is not None and self.included[g]
        ]

    def _reason(self, rates: Sequence[Rate], method: str, aggregate: str) -> str | None:
        if not self.included.any():
            if len(self.counts) == 0:
                return "there are no rows"
            return (
                f"every group has fewer than {self.min_group_size} rows and small groups are"
                " excluded"
            )
        parts = []
        for rate in rates:
            undefined = self._undefined_groups(rate)
            if undefined and (self.undefined == "nan" or len(undefined) == self.included.sum()):
                listed = "; ".join(f"{label}: {why}" for label, why in undefined[:5])
                more = f" and {len(undefined) - 5} more" if len(undefined) > 5 else ""
                parts.append(
                    f"{rate.name} is undefined for {len(undefined)} group(s) ({listed}{more})"
                )
        for rate in rates:
            overall_reason = undefined_reason(rate, self.counts.weighted.sum(axis=0))
            if method == "to_overall" and overall_reason is not None:
                parts.append(f"the overall {rate.name} is undefined ({overall_reason})")
        if parts:
            return "; ".join(parts)
        if aggregate == "ratio":
            return (
                f"{'the overall' if method == 'to_overall' else 'every group'}"
                f" {' or '.join(r.name for r in rates)} is 0, so the ratio is 0/0"
            )
        return "the metric is undefined for these counts"

    # -- building results -------------------------------------------------------------------
    def _result(
        self,
        metric: str,
        kernel: Kernel,
        rates: Sequence[Rate],
        *,
        method: str,
        aggregate: str,
        details: dict[str, Any] | None = None,
        extra_columns: Mapping[str, np.ndarray] | None = None,
        extra_kernels: Mapping[str, Kernel] | None = None,
        privileged: np.ndarray | None = None,
        reason: Callable[[], str] | None = None,
    ) -> MetricResult:
        value = float(kernel(self.counts.weighted))
        why = None
        if math.isnan(value):
            why = reason() if reason is not None else self._reason(rates, method, aggregate)
        shown = [*(RATES[r] for r in STANDARD_RATES)]
        shown += [r for r in rates if r.name not in STANDARD_RATES]
        if not self.labelled:
            shown = [r for r in shown if not r.uses_labels]
        info: dict[str, Any] = {"metric_rates": [r.name for r in rates]}
        info.update(details or {})
        info.update(self._small_group_details())
        if self.undefined == "skip":
            skipped = sorted({label for r in rates for label, _ in self._undefined_groups(r)})
            if skipped:
                info["skipped_groups"] = skipped
        ci = None
        intervals: dict[str, Intervals] = {}
        if self.bootstrap > 0:
            resampled = self.resamples()
            interval = percentile_interval(kernel(resampled), self.confidence_level, seed=self.seed)
            ci = (interval.low, interval.high)
            info["bootstrap"] = interval.to_dict()
            # Per-group intervals of the rates the metric uses, from the same resamples.
            intervals = self.group_intervals([r.name for r in rates], resampled)
            for name, extra in (extra_kernels or {}).items():
                intervals[name] = percentile_intervals(extra(resampled), self.confidence_level)
            info["bootstrap"]["group_intervals"] = list(intervals)
        overall_w = self.counts.weighted.sum(axis=0)
        return MetricResult(
            metric=metric,
            value=value,
            reason=why,
            groups=self._rows(shown, extra_columns or {}, privileged, intervals),
            overall={r.name: float(r(overall_w)) for r in shown},
            ci=ci,
            details=info,
        )

    def _small_group_details(self) -> dict[str, Any]:
        small = [self.labels[g] for g in np.flatnonzero(self.small)]
        out: dict[str, Any] = {
            "min_group_size": self.min_group_size,
            "small_group_policy": self.small_group_policy,
            "small_groups": small,
        }
        if self.small_group_policy == "exclude":
            out["excluded_groups"] = small
        if self.small_group_policy == "fail" and small:
            out["small_group_failure"] = True
        return out

    # -- generic aggregates (fairlearn's MetricFrame.difference / ratio) ---------------------
    def difference(self, rate: str, method: Method = "between_groups") -> MetricResult:
        """Fairlearn's ``MetricFrame.difference`` of one rate.

        ``between_groups``: largest minus smallest group value. ``to_overall``: the largest
        absolute difference between a group value and the overall value. Always >= 0.
        """
        _check_method(method)
        r = get_rate(rate)
        self._need_labels(f"{r.name}_difference", [r])
        return self._result(
            f"{r.name}_difference",
            self._difference_kernel(r, method),
            [r],
            method=method,
            aggregate="difference",
            details={"method": method, "aggregation": "difference"},
        )

    def ratio(self, rate: str, method: Method = "between_groups") -> MetricResult:
        """Fairlearn's ``MetricFrame.ratio`` of one rate.

        ``between_groups``: smallest over largest group value. ``to_overall``: the smallest of
        the group-to-overall ratios, each inverted when above 1. In [0, 1]; undefined (NaN)
        when the divisor is 0.
        """
        _check_method(method)
        r = get_rate(rate)
        self._need_labels(f"{r.name}_ratio", [r])
        return self._result(
            f"{r.name}_ratio",
            self._ratio_kernel(r, method),
            [r],
            method=method,
            aggregate="ratio",
            details={"method": method, "aggregation": "ratio"},
        )

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
                "components": {k: _finite_or_none(v) for k, v in components.items()},
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
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(sp > 0, su / np.where(sp > 0, sp, 1.0), np.nan)

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
                "unprivileged_rates": {r.name: _finite_or_none(r(u0)) for r in rates},
                "privileged_rates": {r.name: _finite_or_none(r(p0)) for r in rates},
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
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(top > 0, values / np.where(top > 0, top, 1.0), np.nan)

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


def _finite_or_none(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _same(value: Any, wanted: Any) -> bool:
    if value == wanted:
        return True
    return value is not None and str(value) == str(wanted)


# -- functions with fairlearn's signature ------------------------------------------------------
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
