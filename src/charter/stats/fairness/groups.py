"""Rates per group and their aggregates: the table every fairness metric is computed from.

:class:`GroupRates` holds the confusion counts per group and gives every rate per group, its
bootstrap intervals, and the ``difference`` or ``ratio`` aggregates (``between_groups`` or
``to_overall``) with fairlearn's conventions, small-group handling and undefined-rate reasons.
"""

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

import numpy as np

from charter.errors import CheckError, DataError
from charter.stats.bootstrap import (
    Intervals,
    percentile_interval,
    percentile_intervals,
    resample_counts,
)
from charter.stats.counts import ConfusionCounts, GroupKey
from charter.stats.numeric import safe_ratio
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
    """Options shared by :class:`GroupRates` and the metric functions."""

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


class GroupRates:
    """Per-group rates of a binary classifier and their aggregates, from confusion counts.

    The base of :class:`~charter.stats.fairness.GroupMetrics`, which adds the named metrics.

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
                    return safe_ratio(low, high)
                overall = rate(w.sum(axis=-3))[..., None]
                ratios = safe_ratio(values, overall)
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
