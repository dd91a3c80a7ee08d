"""Mergeable moments of a regression model's errors, per group.

MAE, RMSE and R² depend on the rows only through, per group: the total weight, the weighted
mean of the target and the weighted sum of squared deviations from it (for R²'s denominator),
and the weighted sums of absolute and squared residuals. The weighted sum of fourth powers of
the residuals adds the spread of the squared errors, so MAE and RMSE get normal-approximation
confidence intervals without touching the rows again (:meth:`RegressionMoments.mae_standard_error`,
:meth:`RegressionMoments.mse_standard_error`). :class:`RegressionMoments` holds
those; it merges with Chan et al.'s parallel update, which keeps the squared deviations
accurate where the textbook ``sum(y^2) - sum(y)^2 / n`` cancels catastrophically.

Eager data is aggregated with a handful of ``numpy.bincount`` passes (two for the target's
deviations, so they are centred exactly); lazy frames with one ``group_by(...).agg(...)`` of
plain sums inside the engine, converted to centred moments afterwards (accurate while the
target's mean is not huge relative to its spread).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.counts import (
    OVERALL,
    GroupIndex,
    GroupKey,
    eager_group_index,
    group_label,
    group_order,
)
from charter.stats.frames import (
    AnyFrame,
    ColumnLike,
    finite_floats,
    is_lazy,
    require_columns,
    resolve_column,
    to_frame,
)
from charter.stats.labels import _normal
from charter.stats.numeric import safe_ratio, validate_weights


@dataclass(frozen=True, eq=False)
class RegressionMoments:
    """Per-group moments of targets and residuals.

    Attributes
    ----------
    names, keys
        Sensitive columns and one key per group (Charter's group order).
    weight
        Sum of sample weights per group.
    rows
        Row count per group.
    mean
        Weighted mean of the target per group.
    m2
        Weighted sum of squared deviations of the target from ``mean``.
    sse
        Weighted sum of squared residuals ``(y - y_pred)^2``.
    sae
        Weighted sum of absolute residuals.
    y_min, y_max
        Smallest and largest target per group: R² is undefined exactly when they are equal
        (a rounding-level ``m2`` must not pass for a spread).
    s4
        Weighted sum of ``(y - y_pred)^4`` per group, for the standard error of the MSE;
        ``None`` when the producer did not keep it (then RMSE has no interval).
    """

    names: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    weight: np.ndarray
    rows: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    sse: np.ndarray
    sae: np.ndarray
    y_min: np.ndarray
    y_max: np.ndarray
    s4: np.ndarray | None = None

    @classmethod
    def from_index(
        cls,
        index: GroupIndex,
        y_true: np.ndarray,
        y_pred: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> RegressionMoments:
        """Aggregate targets and predictions per group of an eager :class:`GroupIndex`."""
        n = len(index)
        y = finite_floats(y_true, "y_true")
        p = finite_floats(y_pred, "y_pred")
        if y.shape[0] != n or p.shape[0] != n:
            raise DataError(
                f"lengths differ: {n} rows of groups, {y.shape[0]} of y_true, {p.shape[0]} of"
                " y_pred",
                hint="pass one target, one prediction and one group value per row",
            )
        size = index.size
        codes = index.codes
        w = None
        if sample_weight is not None:
            w = validate_weights(sample_weight, n)
        rows = np.bincount(codes, minlength=size)
        weight = rows.astype(np.float64) if w is None else np.bincount(codes, w, minlength=size)
        wy = y if w is None else w * y
        mean = np.zeros(size)
        np.divide(np.bincount(codes, wy, minlength=size), weight, out=mean, where=weight > 0)
        dev = y - mean[codes]
        dev *= dev
        r = y - p
        sq = r * r
        ab = np.abs(r)
        if w is not None:
            dev *= w
            sq *= w
            ab *= w
        m2 = np.bincount(codes, dev, minlength=size)
        sq4 = r * r
        sq4 *= sq4
        if w is not None:
            sq4 *= w
        s4 = np.bincount(codes, sq4, minlength=size)
        y_min = np.full(size, np.inf)
        y_max = np.full(size, -np.inf)
        np.minimum.at(y_min, codes, y)
        np.maximum.at(y_max, codes, y)
        m2[y_min == y_max] = 0.0
        sse = np.bincount(codes, sq, minlength=size)
        sae = np.bincount(codes, ab, minlength=size)
        order = group_order(index.keys)
        return cls(
            index.names,
            tuple(index.keys[i] for i in order),
            weight[order],
            rows[order].astype(np.int64),
            mean[order],
            m2[order],
            sse[order],
            sae[order],
            y_min[order],
            y_max[order],
            s4[order],
        )

    @classmethod
    def from_sums(
        cls,
        names: Sequence[str],
        keys: Sequence[GroupKey],
        *,
        weight: np.ndarray,
        rows: np.ndarray,
        sum_y: np.ndarray,
        sum_y2: np.ndarray,
        sse: np.ndarray,
        sae: np.ndarray,
        y_min: np.ndarray,
        y_max: np.ndarray,
        s4: np.ndarray | None = None,
    ) -> RegressionMoments:
        """Build from plain weighted sums (as an engine's ``group_by`` returns them)."""
        order = group_order(keys)
        weight = np.asarray(weight, dtype=np.float64)[order]
        mean = np.zeros_like(weight)
        np.divide(np.asarray(sum_y, dtype=np.float64)[order], weight, out=mean, where=weight > 0)
        m2 = np.maximum(np.asarray(sum_y2, dtype=np.float64)[order] - weight * mean * mean, 0.0)
        low = np.asarray(y_min, dtype=np.float64)[order]
        high = np.asarray(y_max, dtype=np.float64)[order]
        m2[low == high] = 0.0
        return cls(
            tuple(names),
            tuple(keys[i] for i in order),
            weight,
            np.asarray(rows, dtype=np.int64)[order],
            mean,
            m2,
            np.asarray(sse, dtype=np.float64)[order],
            np.asarray(sae, dtype=np.float64)[order],
            low,
            high,
            None if s4 is None else np.asarray(s4, dtype=np.float64)[order],
        )

    # -- algebra ----------------------------------------------------------------------------
    def merge(self, other: RegressionMoments) -> RegressionMoments:
        """Combine with ``other`` (same sensitive columns) by Chan's parallel update."""
        if self.names != other.names:
            raise ValueError(f"cannot merge moments over {self.names} with {other.names}")
        keys = list(self.keys)
        position = {k: i for i, k in enumerate(keys)}
        for k in other.keys:
            if k not in position:
                position[k] = len(keys)
                keys.append(k)
        size = len(keys)
        fourth = None
        if self.s4 is not None and other.s4 is not None:
            fourth = np.zeros(size)
            for m, s4 in ((self, self.s4), (other, other.s4)):
                fourth[[position[k] for k in m.keys]] += s4
        parts = []
        for m in (self, other):
            idx = np.array([position[k] for k in m.keys], dtype=np.int64)
            arrays = []
            for name in _FIELDS:
                fill = {"y_min": np.inf, "y_max": -np.inf}.get(name, 0)
                full = np.full(size, fill, dtype=getattr(m, name).dtype)
                full[idx] = getattr(m, name)
                arrays.append(full)
            parts.append(arrays)
        (wa, na, ma, qa, sa, aa, lo_a, hi_a), (wb, nb, mb, qb, sb, ab, lo_b, hi_b) = parts
        weight = wa + wb
        delta = mb - ma
        share = np.zeros(size)
        np.divide(wb, weight, out=share, where=weight > 0)
        mean = ma + delta * share
        m2 = qa + qb + delta * delta * wa * share
        y_min, y_max = np.minimum(lo_a, lo_b), np.maximum(hi_a, hi_b)
        m2[y_min == y_max] = 0.0
        order = group_order(keys)
        return RegressionMoments(
            self.names,
            tuple(keys[i] for i in order),
            weight[order],
            (na + nb)[order],
            mean[order],
            m2[order],
            (sa + sb)[order],
            (aa + ab)[order],
            y_min[order],
            y_max[order],
            None if fourth is None else fourth[order],
        )

    __add__ = merge

    def overall(self) -> RegressionMoments:
        """All groups pooled into one group keyed :data:`~charter.stats.counts.OVERALL`."""
        zero = np.zeros(1)
        out = RegressionMoments(
            (),
            (OVERALL,),
            zero,
            np.zeros(1, np.int64),
            zero,
            zero,
            zero,
            zero,
            np.full(1, np.inf),
            np.full(1, -np.inf),
            None if self.s4 is None else np.zeros(1),
        )
        for g in range(len(self.keys)):
            out = out.merge(self._one_group(g))
        return out

    def _one_group(self, g: int) -> RegressionMoments:
        """Group ``g`` alone, keyed :data:`~charter.stats.counts.OVERALL`."""
        part = slice(g, g + 1)
        return RegressionMoments(
            (),
            (OVERALL,),
            self.weight[part],
            self.rows[part],
            self.mean[part],
            self.m2[part],
            self.sse[part],
            self.sae[part],
            self.y_min[part],
            self.y_max[part],
            None if self.s4 is None else self.s4[part],
        )

    def __len__(self) -> int:
        return len(self.keys)

    def labels(self) -> list[str]:
        """Readable label of each group."""
        return [group_label(self.names, k) for k in self.keys]

    # -- metrics per group ------------------------------------------------------------------
    def mae(self) -> np.ndarray:
        """Weighted mean absolute error per group (NaN for zero weight)."""
        return safe_ratio(self.sae, self.weight)

    def mse(self) -> np.ndarray:
        """Weighted mean squared error per group."""
        return safe_ratio(self.sse, self.weight)

    def rmse(self) -> np.ndarray:
        """Root of the weighted mean squared error per group."""
        return np.sqrt(self.mse())

    def r2(self) -> np.ndarray:
        """Coefficient of determination per group; NaN when the target is constant.

        scikit-learn returns 1.0 (perfect predictions) or 0.0 in that case
        (``force_finite=True``); the ratio is really 0/0 or x/0, so Charter says undefined.
        """
        out = np.full(self.weight.shape, np.nan)
        ok = self.m2 > 0
        out[ok] = 1.0 - self.sse[ok] / self.m2[ok]
        return out

    # -- standard errors (normal approximation) ---------------------------------------------
    def _mean_standard_error(self, mean_of_square: np.ndarray, mean: np.ndarray) -> np.ndarray:
        """Standard error of a weighted per-row mean from its first two moments.

        The row variance ``E[x^2] - E[x]^2`` (weighted, with Bessel's ``n / (n - 1)``) over
        ``n`` rows; NaN with fewer than two rows. Weights count as importance, not as rows.
        """
        n = self.rows.astype(np.float64)
        variance = np.maximum(mean_of_square - mean * mean, 0.0)
        out = np.full(n.shape, np.nan)
        ok = (n > 1) & np.isfinite(variance)
        out[ok] = np.sqrt(variance[ok] / (n[ok] - 1.0))
        return out

    def mae_standard_error(self) -> np.ndarray:
        """Standard error of the MAE per group (a mean of ``|r|``; its second moment is MSE)."""
        return self._mean_standard_error(self.mse(), self.mae())

    def mse_standard_error(self) -> np.ndarray:
        """Standard error of the MSE per group, from the fourth moment of the residuals.

        NaN when the moments were made without ``s4`` (e.g. restored from an older dict).
        """
        if self.s4 is None:
            return np.full(self.weight.shape, np.nan)
        return self._mean_standard_error(safe_ratio(self.s4, self.weight), self.mse())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "names": list(self.names),
            "keys": [list(k) for k in self.keys],
            **{name: getattr(self, name).tolist() for name in _FIELDS},
            **({"s4": self.s4.tolist()} if self.s4 is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegressionMoments:
        """Inverse of :meth:`to_dict`."""
        return cls(
            tuple(data["names"]),
            tuple(tuple(k) for k in data["keys"]),
            np.asarray(data["weight"], dtype=np.float64),
            np.asarray(data["rows"], dtype=np.int64),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["m2"], dtype=np.float64),
            np.asarray(data["sse"], dtype=np.float64),
            np.asarray(data["sae"], dtype=np.float64),
            np.asarray(data["y_min"], dtype=np.float64),
            np.asarray(data["y_max"], dtype=np.float64),
            np.asarray(data["s4"], dtype=np.float64) if "s4" in data else None,
        )


_FIELDS = ("weight", "rows", "mean", "m2", "sse", "sae", "y_min", "y_max")


def regression_moments(
    y_true: ColumnLike,
    y_pred: ColumnLike,
    *,
    sensitive_features: Any = None,
    sample_weight: ColumnLike | None = None,
    data: Any = None,
) -> RegressionMoments:
    """Regression moments per group, in one aggregation inside the data's engine.

    Parameters
    ----------
    y_true, y_pred
        Targets and predictions (column names in ``data`` or values).
    sensitive_features, sample_weight, data
        As in :func:`~charter.stats.counts.confusion_counts`.
    """
    frame = to_frame(data) if data is not None else None
    if frame is not None and is_lazy(frame):
        return _moments_lazy(frame, y_true, y_pred, sensitive_features, sample_weight)
    y = resolve_column(frame, y_true, role="y_true")
    p = resolve_column(frame, y_pred, role="y_pred")
    w = (
        None
        if sample_weight is None
        else resolve_column(frame, sample_weight, role="sample_weight")
    )
    index = eager_group_index(frame, sensitive_features, len(y))
    return RegressionMoments.from_index(index, y, p, w)


def _moments_lazy(
    frame: AnyFrame,
    y_true: ColumnLike,
    y_pred: ColumnLike,
    sensitive_features: Any,
    sample_weight: ColumnLike | None,
) -> RegressionMoments:
    names = [] if sensitive_features is None else sensitive_features
    names = [names] if isinstance(names, str) else list(names)
    given = [y_true, y_pred, *([sample_weight] if sample_weight is not None else []), *names]
    if not all(isinstance(v, str) for v in given):
        raise DataError(
            "with a lazy frame every column must be given by name",
            hint="pass column names for y_true, y_pred, sensitive_features and sample_weight",
        )
    require_columns(frame, [str(v) for v in given], role="column")
    y = nw.col(str(y_true)).cast(nw.Float64)
    r = y - nw.col(str(y_pred)).cast(nw.Float64)
    w = nw.col(str(sample_weight)).cast(nw.Float64) if sample_weight is not None else nw.lit(1.0)
    keyed = frame.select(
        *[nw.col(c).alias(f"__k{i}") for i, c in enumerate(names)],
        w.alias("__w"),
        (w * y).alias("__wy"),
        (w * y * y).alias("__wy2"),
        (w * r * r).alias("__sse"),
        (w * r.abs()).alias("__sae"),
        (w * r * r * r * r).alias("__s4"),
        (y.is_null() | r.is_null()).cast(nw.Int64).alias("__null"),
        y.alias("__y"),
    )
    aggs = [
        nw.len().alias("__rows"),
        *(nw.col(c).sum() for c in ("__w", "__wy", "__wy2", "__sse", "__sae", "__s4", "__null")),
        nw.col("__y").min().alias("__ymin"),
        nw.col("__y").max().alias("__ymax"),
    ]
    if names:
        grouped = keyed.group_by(*[f"__k{i}" for i in range(len(names))], drop_null_keys=False).agg(
            *aggs
        )
    else:
        grouped = keyed.select(*aggs)
    assert isinstance(grouped, nw.LazyFrame)
    table = grouped.collect().to_arrow().to_pydict()
    if sum(int(v or 0) for v in table["__null"]):
        raise DataError(
            "y_true or y_pred has missing values", hint="drop or fill those rows before checking"
        )
    count = len(table["__rows"])
    keys = [
        tuple(_normal(table[f"__k{j}"][i]) for j in range(len(names))) if names else OVERALL
        for i in range(count)
    ]
    return RegressionMoments.from_sums(
        names,
        keys,
        weight=np.asarray(table["__w"], dtype=np.float64),
        rows=np.asarray(table["__rows"], dtype=np.int64),
        sum_y=np.asarray(table["__wy"], dtype=np.float64),
        sum_y2=np.asarray(table["__wy2"], dtype=np.float64),
        sse=np.asarray(table["__sse"], dtype=np.float64),
        sae=np.asarray(table["__sae"], dtype=np.float64),
        y_min=np.asarray(table["__ymin"], dtype=np.float64),
        y_max=np.asarray(table["__ymax"], dtype=np.float64),
        s4=np.asarray(table["__s4"], dtype=np.float64),
    )
