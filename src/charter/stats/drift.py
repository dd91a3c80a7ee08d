"""Drift statistics computed from profiles, with Evidently 0.7's test selection.

Every statistic here reads two :class:`~charter.stats.profile.ColumnProfile` — the reference and
the current data summarised over the reference's grid — never raw rows.

Methods (names and default thresholds as in Evidently 0.7)
-----------------------------------------------------------
===============  ===========================  =========  =====================================
method           score                        threshold  drift when
===============  ===========================  =========  =====================================
``ks``           Kolmogorov-Smirnov p-value   0.05       ``p <= threshold`` (numerical only)
``chisquare``    chi-square p-value           0.05       ``p < threshold``
``z``            two-proportion z-test p      0.05       ``p < threshold``
``wasserstein``  W1 / max(std(ref), 0.001)    0.1        ``score >= threshold`` (numerical)
``jensenshannon`` Jensen-Shannon distance     0.1        ``score >= threshold``
``psi``          population stability index   0.1        ``score >= threshold``
``hellinger``    Hellinger distance           0.1        ``score >= threshold``
===============  ===========================  =========  =====================================

Automatic selection (``method="auto"``) replicates
``evidently.legacy.calculations.stattests.registry._get_default_stattest``: with ``n`` the
reference's non-null rows and ``u`` the distinct non-null values of reference and current
together,

* ``n <= 1000``: numerical → ``ks`` when ``u > 5``, else ``chisquare`` when ``u > 2``, else
  ``z``; categorical → ``chisquare`` when ``u > 2``, else ``z``;
* ``n > 1000``: numerical → ``wasserstein`` when ``u > 5``, else ``jensenshannon``;
  categorical → ``jensenshannon``.

Exactness
---------
Categorical columns (category counts) give Evidently's exact numbers for every method. Numeric
columns kept value by value (an atomic grid: at most 1,000 distinct reference values, hence
every reference of at most 1,000 rows) give exact ``ks``, ``chisquare``, ``z`` and
``jensenshannon``, and exact ``psi`` unless the current data has several values the reference
never had. ``wasserstein`` is exact in every cell where the two distribution functions do not
cross (cell sums make the signed integral exact) and approximate in the few cells where they
do. ``ks`` on a quantile grid is the largest difference at the cell boundaries (a lower bound).
``psi``, ``jensenshannon`` and ``hellinger`` of continuous columns use Evidently's binning
(Sturges' rule over the combined range) with the mass of each reference cell spread uniformly
over it. :attr:`ColumnDrift.exact` says which case applies; ``docs/monitoring.md`` reports the
measured agreement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.spatial import distance as spd

from charter.stats.histogram import CategoryCounts, NumericHistogram
from charter.stats.profile import ColumnKind, ColumnProfile, DataProfile

SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
BINARY_VALUES = 2
VALUE_BINNING_LIMIT = 20
KS_MAX_EXACT_N = 10000


class DriftMethod(StrEnum):
    """The drift statistics (Evidently's names)."""

    KS = "ks"
    CHISQUARE = "chisquare"
    Z = "z"
    WASSERSTEIN = "wasserstein"
    JENSENSHANNON = "jensenshannon"
    PSI = "psi"
    HELLINGER = "hellinger"


@dataclass(frozen=True)
class MethodSpec:
    """How a method's score becomes a verdict."""

    method: DriftMethod
    title: str
    default_threshold: float
    p_value: bool
    inclusive: bool
    kinds: frozenset[ColumnKind]

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's comparison for this method (NaN never drifts)."""
        if math.isnan(score):
            return False
        if self.p_value:
            return score <= threshold if self.inclusive else score < threshold
        return score >= threshold


_NUM = frozenset({ColumnKind.NUMERICAL})
_BOTH = frozenset({ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL})
METHODS: dict[DriftMethod, MethodSpec] = {
    DriftMethod.KS: MethodSpec(DriftMethod.KS, "K-S p_value", 0.05, True, True, _NUM),
    DriftMethod.CHISQUARE: MethodSpec(
        DriftMethod.CHISQUARE, "chi-square p_value", 0.05, True, False, _BOTH
    ),
    DriftMethod.Z: MethodSpec(DriftMethod.Z, "Z-test p_value", 0.05, True, False, _BOTH),
    DriftMethod.WASSERSTEIN: MethodSpec(
        DriftMethod.WASSERSTEIN, "Wasserstein distance (normed)", 0.1, False, True, _NUM
    ),
    DriftMethod.JENSENSHANNON: MethodSpec(
        DriftMethod.JENSENSHANNON, "Jensen-Shannon distance", 0.1, False, True, _BOTH
    ),
    DriftMethod.PSI: MethodSpec(DriftMethod.PSI, "PSI", 0.1, False, True, _BOTH),
    DriftMethod.HELLINGER: MethodSpec(
        DriftMethod.HELLINGER, "Hellinger distance", 0.1, False, True, _BOTH
    ),
}


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column between a reference and current data.

    Attributes
    ----------
    column, kind
        The column and how it was compared.
    method
        The statistic used (``None`` when nothing could be computed).
    score, threshold, drifted
        The statistic, its threshold and the verdict (Evidently's comparison).
    exact
        Whether ``score`` equals what the method gives on the raw rows (see the module notes).
    reference_rows, current_rows
        Non-null rows on each side.
    reason
        Why no score was computed (empty current data, text column, ...), if so.
    details
        New categories, null shares, means, ...
    """

    column: str
    kind: ColumnKind
    method: DriftMethod | None
    score: float
    threshold: float
    drifted: bool
    exact: bool
    reference_rows: int
    current_rows: int
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        """Whether a score was computed."""
        return self.method is not None and self.reason is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN as ``None``)."""
        return {
            "column": self.column,
            "kind": self.kind.value,
            "method": self.method.value if self.method else None,
            "score": None if math.isnan(self.score) else self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "exact": self.exact,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass(frozen=True)
class DatasetDrift:
    """Drift of every compared column, and the share that drifted.

    ``drifted`` is Evidently's dataset drift: ``share >= drift_share``, over the columns whose
    drift could be computed.
    """

    columns: tuple[ColumnDrift, ...]
    drift_share: float

    @property
    def computed(self) -> tuple[ColumnDrift, ...]:
        """Columns with a score."""
        return tuple(c for c in self.columns if c.computed)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        """Share of drifted columns among those with a score (NaN when none)."""
        computed = self.computed
        if not computed:
            return math.nan
        return sum(c.drifted for c in computed) / len(computed)

    @property
    def drifted(self) -> bool:
        """Evidently's dataset drift verdict."""
        share = self.share
        return not math.isnan(share) and share >= self.drift_share

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        share = self.share
        return {
            "share": None if math.isnan(share) else share,
            "drift_share": self.drift_share,
            "drifted": self.drifted,
            "drifted_columns": self.drifted_columns,
            "columns": [c.to_dict() for c in self.columns],
        }


# -- distinct values and the selection rule --------------------------------------------------


def distinct_values(reference: ColumnProfile, current: ColumnProfile) -> int:
    """Distinct non-null values of reference and current together (as ``pd.concat.nunique``).

    Numeric columns on a quantile grid have more than 1,000 distinct reference values; that is
    returned as ``reference.max_atoms + 1`` would be, i.e. "many".
    """
    if reference.kind is ColumnKind.CATEGORICAL:
        assert reference.categories is not None and current.categories is not None
        keys = {v for v, n in zip(*_nonzero(reference.categories), strict=True)}
        keys |= {v for v, n in zip(*_nonzero(current.categories), strict=True)}
        return len(keys)
    ref, cur = _numeric(reference), _numeric(current)
    if not ref.grid.atomic:
        return 10**9
    present = (ref.point_counts() > 0) | (cur.point_counts() > 0)
    extra = cur.distinct_new if not cur.new_values_overflow else 10**9
    if cur.interval_counts().any() and extra == 0:
        extra = 1
    return int(present.sum()) + extra


def _nonzero(counts: CategoryCounts) -> tuple[list[Any], list[int]]:
    values, ns = [], []
    for v, n in zip(counts.values, counts.counts.tolist(), strict=True):
        if n > 0:
            values.append(v)
            ns.append(n)
    return values, ns


def select_method(reference: ColumnProfile, current: ColumnProfile) -> DriftMethod:
    """Evidently 0.7's default test for a column (see the module notes).

    Raises
    ------
    ValueError
        For kinds Evidently does not test this way (text, datetime, embeddings).
    """
    if reference.kind not in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL):
        raise ValueError(f"no default drift test for {reference.kind} columns")
    n_values = distinct_values(reference, current)
    if reference.count <= SMALL_REFERENCE_ROWS:
        if reference.kind is ColumnKind.NUMERICAL and n_values > FEW_VALUES:
            return DriftMethod.KS
        return DriftMethod.CHISQUARE if n_values > BINARY_VALUES else DriftMethod.Z
    if reference.kind is ColumnKind.NUMERICAL and n_values > FEW_VALUES:
        return DriftMethod.WASSERSTEIN
    return DriftMethod.JENSENSHANNON


# -- the column drift -------------------------------------------------------------------------


def column_drift(
    reference: ColumnProfile,
    current: ColumnProfile,
    *,
    method: DriftMethod | str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of one column.

    Parameters
    ----------
    reference, current
        Profiles of the column; ``current`` summarised over ``reference``'s grid.
    method
        A :class:`DriftMethod` name, or ``None``/``"auto"`` for Evidently's selection.
    threshold
        Override the method's default threshold.

    Returns
    -------
    ColumnDrift
        With ``reason`` set (and no verdict) when the column cannot be compared: empty
        current data, all-null columns, text/datetime columns, a method that does not apply.
    """
    name, kind = reference.name, reference.kind
    details = _describe(reference, current)

    def skipped(reason: str, chosen: DriftMethod | None = None) -> ColumnDrift:
        spec = METHODS.get(chosen) if chosen else None
        return ColumnDrift(
            name,
            kind,
            chosen,
            math.nan,
            threshold if threshold is not None else (spec.default_threshold if spec else math.nan),
            False,
            False,
            reference.count,
            current.count,
            reason=reason,
            details=details,
        )

    if kind not in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL):
        return skipped(f"{kind.value} columns are not drift-tested by value")
    if current.kind is not kind:
        return skipped(f"the column is {current.kind.value} now and {kind.value} in the reference")
    if reference.count == 0:
        return skipped("the reference column has no non-null values")
    if current.count == 0:
        reason = "no rows" if current.rows == 0 else "every current value is null"
        return skipped(reason)
    if method is None or method == "auto":
        chosen = select_method(reference, current)
    else:
        chosen = DriftMethod(method)
    spec = METHODS[chosen]
    if kind not in spec.kinds:
        return skipped(f"{chosen.value} applies to numerical columns only", chosen)
    limit = spec.default_threshold if threshold is None else threshold
    if kind is ColumnKind.CATEGORICAL:
        assert reference.categories is not None and current.categories is not None
        score, exact = _categorical_score(chosen, reference.categories, current.categories)
    else:
        score, exact = _numeric_score(chosen, _numeric(reference), _numeric(current))
    return ColumnDrift(
        name,
        kind,
        chosen,
        float(score),
        float(limit),
        spec.drifted(float(score), float(limit)),
        exact,
        reference.count,
        current.count,
        details=details,
    )


def dataset_drift(
    reference: DataProfile,
    current: DataProfile,
    *,
    columns: Sequence[str] | None = None,
    method: DriftMethod | str | None = None,
    threshold: float | None = None,
    per_column: Mapping[str, tuple[DriftMethod | str | None, float | None]] | None = None,
    drift_share: float = 0.5,
) -> DatasetDrift:
    """Drift of every column present in both profiles, and Evidently's dataset drift.

    Parameters
    ----------
    reference, current
        The reference profile and current data summarised over its grids.
    columns
        Columns to compare (default: the reference's numerical and categorical columns).
    method, threshold
        For every column (default: Evidently's selection and thresholds).
    per_column
        Column to ``(method, threshold)`` overrides.
    drift_share
        Share of drifted columns at which the dataset counts as drifted.
    """
    overrides = per_column or {}
    names = (
        list(columns)
        if columns is not None
        else [
            n
            for n, c in reference.columns.items()
            if c.kind in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL)
        ]
    )
    results = []
    for name in names:
        ref = reference.columns[name]
        cur = current.columns.get(name)
        if cur is None:
            results.append(
                ColumnDrift(
                    name,
                    ref.kind,
                    None,
                    math.nan,
                    math.nan,
                    False,
                    False,
                    ref.count,
                    0,
                    reason="the column is missing from the current data",
                )
            )
            continue
        col_method, col_threshold = overrides.get(name, (method, threshold))
        results.append(
            column_drift(
                ref,
                cur,
                method=col_method if col_method is not None else method,
                threshold=col_threshold if col_threshold is not None else threshold,
            )
        )
    return DatasetDrift(tuple(results), drift_share)


def _numeric(profile: ColumnProfile) -> NumericHistogram:
    if profile.numeric is None:
        raise ValueError(f"column '{profile.name}' has no numeric histogram")
    return profile.numeric


def _describe(reference: ColumnProfile, current: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference_null_fraction": _round(reference.null_fraction),
        "current_null_fraction": _round(current.null_fraction),
    }
    if reference.categories is not None and current.categories is not None:
        known = set(reference.categories.values)
        new = [v for v in _nonzero(current.categories)[0] if v not in known]
        if new:
            out["new_categories"] = [_jsonable(v) for v in new[:20]]
            counts = current.categories.as_dict()
            out["new_category_rows"] = int(sum(counts[v] for v in new))
        gone = [
            v
            for v in _nonzero(reference.categories)[0]
            if current.categories.as_dict().get(v, 0) == 0
        ]
        if gone and current.count:
            out["missing_categories"] = [_jsonable(v) for v in gone[:20]]
    if reference.numeric is not None and current.numeric is not None:
        out["reference_mean"] = _round(reference.numeric.mean)
        out["current_mean"] = _round(current.numeric.mean)
        out["reference_std"] = _round(reference.numeric.std)
        out["current_std"] = _round(current.numeric.std)
        discrete = reference.numeric.point_counts().size * 2 <= reference.count
        if reference.numeric.grid.atomic and discrete and current.numeric.new_values:
            out["new_values"] = list(current.numeric.new_values)
    return out


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


# -- categorical statistics (exact) -------------------------------------------------------------


def _aligned(ref: CategoryCounts, cur: CategoryCounts) -> tuple[list[Any], np.ndarray, np.ndarray]:
    keys = list(dict.fromkeys([*_nonzero(ref)[0], *_nonzero(cur)[0]]))
    return keys, ref.aligned(keys).astype(np.float64), cur.aligned(keys).astype(np.float64)


def _categorical_score(
    method: DriftMethod, ref: CategoryCounts, cur: CategoryCounts
) -> tuple[float, bool]:
    keys, r, c = _aligned(ref, cur)
    if method is DriftMethod.CHISQUARE:
        return chisquare_pvalue(r, c), True
    if method is DriftMethod.Z:
        return z_test_pvalue(keys, r, c), True
    if method is DriftMethod.JENSENSHANNON:
        return jensenshannon(r / r.sum(), c / c.sum()), True
    if method is DriftMethod.PSI:
        return psi(r / r.sum(), c / c.sum()), True
    if method is DriftMethod.HELLINGER:
        return hellinger(r / r.sum(), c / c.sum()), True
    raise ValueError(f"{method} does not apply to categorical columns")


def chisquare_pvalue(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Evidently's chi-square: current counts against reference counts scaled to its size."""
    k_norm = current_counts.sum() / reference_counts.sum()
    expected = reference_counts * k_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        if (expected == 0).any():
            # A value the reference never had: the statistic is infinite, p = 0.
            return 0.0
        return float(sps.chisquare(current_counts, expected)[1])


def z_test_pvalue(
    keys: Sequence[Any], reference_counts: np.ndarray, current_counts: np.ndarray
) -> float:
    """Evidently's two-proportion z-test (two-sided) for at most two distinct values."""
    ref_present = reference_counts > 0
    cur_present = current_counts > 0
    if ref_present.sum() == 1 and cur_present.sum() == 1 and (ref_present == cur_present).all():
        return 1.0
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    first = order[0]
    n1, n2 = reference_counts.sum(), current_counts.sum()
    p1 = (n1 - reference_counts[first]) / n1
    p2 = (n2 - current_counts[first]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - sps.norm.cdf(np.abs(z))))


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log), as ``scipy.spatial.distance.jensenshannon``."""
    return float(spd.jensenshannon(p, q))


def _fill_zeros(p: np.ndarray) -> np.ndarray:
    out = p.astype(np.float64, copy=True)
    nonzero = out[out != 0]
    if nonzero.size == 0:
        return out
    low = nonzero.min()
    out[out == 0] = low / 10**6 if low <= 0.0001 else 0.0001
    return out


def psi(p: np.ndarray, q: np.ndarray) -> float:
    """Population stability index with Evidently's treatment of empty bins."""
    a, b = _fill_zeros(p), _fill_zeros(q)
    return float(np.sum((a - b) * np.log(a / b)))


def hellinger(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance between two probability vectors."""
    overlap = float(np.clip(np.sum(np.sqrt(p * q)), 0.0, 1.0))
    return math.sqrt(1.0 - overlap)


# -- numeric statistics ---------------------------------------------------------------------------


def _numeric_score(
    method: DriftMethod, ref: NumericHistogram, cur: NumericHistogram
) -> tuple[float, bool]:
    if not ref.grid.same_as(cur.grid):
        raise ValueError("the current histogram is not over the reference's grid")
    atomic = ref.grid.atomic
    # A single off-grid value is still exact: its rows are all at that one value.
    single_new = cur.distinct_new <= 1 and not cur.new_values_overflow
    if method is DriftMethod.KS:
        d = ks_statistic(ref, cur)
        return ks_pvalue(d, ref.count, cur.count), atomic
    if method is DriftMethod.WASSERSTEIN:
        w = wasserstein(ref, cur)
        return w / max(ref.std, 0.001), False
    if method in (DriftMethod.CHISQUARE, DriftMethod.Z):
        keys, r, c = _value_counts(ref, cur)
        exact = atomic and single_new
        if method is DriftMethod.CHISQUARE:
            return chisquare_pvalue(r, c), exact
        return z_test_pvalue(keys, r, c), exact
    reference_distinct = int((ref.point_counts() > 0).sum()) if atomic else 10**9
    if method is DriftMethod.HELLINGER:
        p, q, exact = _sturges_masses(ref, cur, over_keys=True)
        return hellinger(p, q), exact
    if reference_distinct <= VALUE_BINNING_LIMIT:
        keys, r, c = _value_counts(ref, cur)
        p, q = r / r.sum(), c / c.sum()
        exact = True if method is DriftMethod.JENSENSHANNON else single_new
    else:
        p, q, exact = _sturges_masses(ref, cur, over_keys=False)
    if method is DriftMethod.JENSENSHANNON:
        return jensenshannon(p, q), exact
    return psi(p, q), exact


def _value_counts(
    ref: NumericHistogram, cur: NumericHistogram
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Counts per distinct value; a current value off an atomic grid is one extra key."""
    if ref.grid.atomic:
        present = (ref.point_counts() > 0) | (cur.point_counts() > 0)
        keys = ref.grid.edges[present].tolist()
        r = ref.point_counts()[present].astype(np.float64)
        c = cur.point_counts()[present].astype(np.float64)
        off = float(cur.interval_counts().sum())
        if off > 0:
            new_key = cur.new_values[0] if cur.new_values else math.inf
            keys.append(new_key)
            r = np.append(r, 0.0)
            c = np.append(c, off)
        return keys, r, c
    # Quantile grid: the bins stand in for values (not what Evidently does; see the notes).
    r = ref.bin_counts().astype(np.float64)
    c = cur.bin_counts().astype(np.float64)
    keep = (r > 0) | (c > 0)
    keys = list(range(int(keep.sum())))
    return [float(k) for k in keys], r[keep], c[keep]


def _cdf_at_edges(hist: NumericHistogram) -> tuple[np.ndarray, np.ndarray]:
    """``F(e_i^-)`` and ``F(e_i)`` at every edge, as Evidently's searchsorted counts / n."""
    counts = hist.counts
    n = hist.count
    below = np.cumsum(counts[0::2][:-1] + np.concatenate([[0], counts[1::2][:-1]]))
    at = below + counts[1::2]
    return below / n, at / n


def ks_statistic(ref: NumericHistogram, cur: NumericHistogram) -> float:
    """Two-sample Kolmogorov-Smirnov ``D`` from cell counts, as ``scipy.stats.ks_2samp``.

    Exact on an atomic reference grid (the supremum is reached at a reference value or just
    below one); on a quantile grid, the largest difference at the cell boundaries.
    """
    ref_below, ref_at = _cdf_at_edges(ref)
    cur_below, cur_at = _cdf_at_edges(cur)
    diffs = np.concatenate([ref_below - cur_below, ref_at - cur_at])
    max_s = float(diffs.max())
    min_s = float(np.clip(-diffs.min(), 0, 1))
    return min_s if min_s > max_s else max_s


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of ``D`` as ``scipy.stats.ks_2samp(method="auto")`` computes it."""
    if max(n1, n2) <= KS_MAX_EXACT_N:
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp
        except ImportError:  # pragma: no cover - private scipy helper moved
            pass
        else:
            success, _, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
            if success:
                return float(np.clip(prob, 0, 1))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(sps.distributions.kstwo.sf(d, np.round(en)), 0, 1))


def wasserstein(ref: NumericHistogram, cur: NumericHistogram) -> float:
    """First Wasserstein distance between the two distributions, from cell counts and sums.

    Over each cell the integral of ``F_ref - F_cur`` is exact (integration by parts with the
    cell's sum of values); its absolute value equals the integral of ``|F_ref - F_cur|``
    wherever the two functions do not cross inside the cell.
    """
    edges = ref.grid.edges
    k1 = edges.size
    _, ref_at = _cdf_at_edges(ref)
    _, cur_at = _cdf_at_edges(cur)
    total = 0.0
    # Lower tail (-inf, e_0): integral of F = sum over values of (e_0 - x) / n.
    total += abs(_tail_low(ref, edges[0]) - _tail_low(cur, edges[0]))
    # Upper tail (e_k, inf): integral of 1 - F = sum over values of (x - e_k) / n.
    total += abs(_tail_high(ref, edges[-1]) - _tail_high(cur, edges[-1]))
    if k1 > 1:
        a, b = edges[:-1], edges[1:]
        width = b - a
        inner = slice(2, 2 * k1 - 1, 2)  # cells (e_i, e_{i+1})
        ref_int = width * ref_at[:-1] + _inner_excess(ref, b, inner)
        cur_int = width * cur_at[:-1] + _inner_excess(cur, b, inner)
        # Exact signed integral per cell; its absolute value is the integral of |G| unless
        # G changes sign inside the cell (then it is a lower bound). A straight-line model
        # of G inside crossing cells was tried and rejected: cells of a skewed column are
        # far from linear and it overshot by 40% on a log-normal column.
        total += float(np.abs(ref_int - cur_int).sum())
    return total


def _inner_excess(hist: NumericHistogram, right: np.ndarray, cells: slice) -> np.ndarray:
    """Per inner cell ``(a, b)``: sum over its values of ``(b - x)``, divided by n."""
    counts = hist.counts[cells].astype(np.float64)
    sums = hist.sums[cells]
    return (right * counts - sums) / hist.count


def _tail_low(hist: NumericHistogram, edge: float) -> float:
    return float((edge * hist.counts[0] - hist.sums[0]) / hist.count)


def _tail_high(hist: NumericHistogram, edge: float) -> float:
    return float((hist.sums[-1] - edge * hist.counts[-1]) / hist.count)


def _sturges_masses(
    ref: NumericHistogram, cur: NumericHistogram, *, over_keys: bool
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both distributions over Evidently's equal-width Sturges bins on the combined range.

    ``over_keys`` counts the distinct values (Hellinger's rule) instead of the rows.
    """
    lo = min(ref.minimum, cur.minimum)
    hi = max(ref.maximum, cur.maximum)
    if over_keys:
        if ref.grid.atomic:
            n = int(((ref.point_counts() > 0) | (cur.point_counts() > 0)).sum()) + cur.distinct_new
        else:
            n = ref.count + cur.count
    else:
        n = ref.count + cur.count
    edges = np.histogram_bin_edges(np.array([lo, hi]), bins=_sturges_bins(n, hi - lo))
    p, exact_p = rebin(ref, edges)
    q, exact_q = rebin(cur, edges)
    return p / p.sum(), q / q.sum(), exact_p and exact_q


def _sturges_bins(n: int, span: float) -> int:
    """Bins numpy's ``"sturges"`` rule gives for ``n`` values spanning ``span``."""
    if span <= 0:
        return 1
    width = span / (np.log2(max(n, 1)) + 1.0)
    return max(int(np.ceil(span / width)), 1)


def rebin(hist: NumericHistogram, edges: np.ndarray) -> tuple[np.ndarray, bool]:
    """Mass of ``hist`` in each of numpy's histogram bins over ``edges``.

    Point cells go where ``numpy.histogram`` puts their value; interval cells are spread
    uniformly over their span (the tails over ``[min, e_0]`` and ``[e_k, max]``).
    """
    grid = hist.grid.edges
    points = hist.point_counts().astype(np.float64)
    mass = np.histogram(grid, bins=edges, weights=points)[0]
    intervals = hist.interval_counts().astype(np.float64)
    exact = True
    if intervals.any():
        lows = np.concatenate([[hist.minimum], grid])
        highs = np.concatenate([grid, [hist.maximum]])
        for lo, hi, m in zip(lows.tolist(), highs.tolist(), intervals.tolist(), strict=True):
            if m == 0:
                continue
            if hi <= lo:
                mass += np.histogram([lo], bins=edges, weights=[m])[0]
                continue
            exact = False
            left = np.clip(edges[:-1], lo, hi)
            right = np.clip(edges[1:], lo, hi)
            mass += m * (right - left) / (hi - lo)
    return mass, exact


def profile_columns(profiles: Iterable[ColumnProfile]) -> list[str]:
    """Names of the columns that take part in value drift (numerical and categorical)."""
    return [p.name for p in profiles if p.kind in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL)]


# -- embeddings ---------------------------------------------------------------------------------

EMBEDDING_THRESHOLDS = {"model": 0.55, "mmd": 0.015}


def embedding_drift(
    reference: ColumnProfile,
    current: ColumnProfile,
    *,
    method: str = "model",
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of an embedding column, as Evidently's ``model`` and ``mmd`` methods.

    ``model`` trains ``SGDClassifier(loss="log_loss", random_state=42)`` to tell reference
    from current vectors on half of them (``train_test_split(test_size=0.5,
    random_state=42)``) and reports the ROC AUC on the other half (drift above 0.55).
    ``mmd`` is the unbiased squared maximum mean discrepancy with an RBF kernel whose width is
    the median distance between the samples (drift above 0.015). Both run on the profiles'
    uniform samples (at most 1,000 vectors per side) rather than on every vector.
    """
    if method not in EMBEDDING_THRESHOLDS:
        raise ValueError(f"unknown embedding drift method '{method}'; use 'model' or 'mmd'")
    limit = EMBEDDING_THRESHOLDS[method] if threshold is None else threshold
    ref, cur = reference.embedding, current.embedding
    n_ref, n_cur = reference.count, current.count
    if ref is None or cur is None or len(ref.vectors) < 2 or len(cur.vectors) < 2:
        return ColumnDrift(
            reference.name,
            ColumnKind.EMBEDDING,
            None,
            math.nan,
            limit,
            False,
            False,
            n_ref,
            n_cur,
            reason="fewer than two vectors on one side",
        )
    if ref.dim != cur.dim:
        return ColumnDrift(
            reference.name,
            ColumnKind.EMBEDDING,
            None,
            math.nan,
            limit,
            False,
            False,
            n_ref,
            n_cur,
            reason=f"vectors have {cur.dim} dimensions now and {ref.dim} in the reference",
        )
    x = ref.vectors.astype(np.float64)
    y = cur.vectors.astype(np.float64)
    score = _domain_classifier_auc(x, y) if method == "model" else _mmd2u(x, y)
    return ColumnDrift(
        reference.name,
        ColumnKind.EMBEDDING,
        None,
        float(score),
        float(limit),
        bool(score > limit),
        False,
        n_ref,
        n_cur,
        details={"method": method, "sample": [len(x), len(y)]},
    )


def _domain_classifier_auc(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    data = np.vstack([x, y])
    target = np.concatenate([np.ones(len(x)), np.zeros(len(y))])
    x_train, x_test, y_train, y_test = train_test_split(
        data, target, test_size=0.5, random_state=42, shuffle=True
    )
    if len(set(y_train.tolist())) < 2 or len(set(y_test.tolist())) < 2:
        return math.nan
    clf = SGDClassifier(loss="log_loss", random_state=42)
    clf.fit(x_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))


def _mmd2u(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import pairwise_distances, pairwise_kernels

    m, n = len(x), len(y)
    sigma2 = float(np.median(pairwise_distances(x, y, metric="euclidean")) ** 2)
    gamma = 1.0 / sigma2 if sigma2 > 0 else 1.0
    k = pairwise_kernels(np.vstack([x, y]), metric="rbf", gamma=gamma)
    kx, ky, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    return float(
        (kx.sum() - np.trace(kx)) / (m * (m - 1))
        + (ky.sum() - np.trace(ky)) / (n * (n - 1))
        - 2 * kxy.sum() / (m * n)
    )
