"""Mergeable score statistics: weighted label counts per group and distinct score.

ROC AUC, log loss and the Brier score of a binary classifier depend on the rows only through,
for each group and each **distinct score value**, the weighted number of negative and positive
rows there. :class:`ScoreCounts` is that table; it is exact (not a grid), so the metrics equal
scikit-learn's up to floating-point summation order (tested to 1e-12), ties included:

* ROC AUC is the weighted Mann-Whitney statistic, ``P(score_pos > score_neg) + 0.5 P(tie)``,
  which is what ``sklearn.metrics.roc_auc_score`` integrates (trapezoids over distinct
  thresholds);
* log loss clips probabilities to ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon,
  as scikit-learn does;
* Brier is the weighted mean of ``(score - y)^2``.

The same table gives their standard errors exactly, without the rows: DeLong's variance of
the ROC AUC (every row's placement value depends only on its group, label and score) and the
spread of the per-row log loss and Brier terms (:meth:`ScoreCounts.roc_auc_standard_error`,
:meth:`ScoreCounts.loss_standard_error`).

The table has one entry per distinct ``(group, score)`` pair, so it is small for models with
few distinct scores (trees, calibrated bins) and at most as long as the data for continuous
scores. Eager data is aggregated with one sort by score and a stable radix sort by group
(about 0.4 s at 1e6 rows); lazy frames (DuckDB, polars LazyFrame, Spark) with one
``group_by(groups, label, score)`` inside the engine. Tables merge by concatenation and
re-aggregation (:meth:`ScoreCounts.merge`).
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
    binary_labels,
    eager_group_index,
    group_label,
    group_order,
)
from charter.stats.frames import (
    AnyFrame,
    ColumnLike,
    is_lazy,
    require_columns,
    resolve_column,
    to_frame,
)
from charter.stats.labels import _label_map, _normal
from charter.stats.numeric import validate_weights

#: Probabilities are clipped to [EPS, 1 - EPS] for the log loss, as in scikit-learn.
EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class ScoreCounts:
    """Weighted negative/positive counts per group and distinct score.

    Attributes
    ----------
    names
        Sensitive columns (empty for overall-only statistics).
    keys
        One key per group, in Charter's group order.
    group
        ``int64`` array ``(entries,)``: the group of each entry (sorted ascending).
    score
        ``float64`` array ``(entries,)``: the distinct score (ascending within a group).
    weighted
        ``float64`` array ``(entries, 2)``: sum of sample weights of the negative (column 0)
        and positive (column 1) rows with that score.
    rows
        ``int64`` array ``(entries, 2)``: the same as row counts.
    """

    names: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    group: np.ndarray
    score: np.ndarray
    weighted: np.ndarray
    rows: np.ndarray

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_index(
        cls,
        index: GroupIndex,
        y_true: np.ndarray,
        scores: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> ScoreCounts:
        """Aggregate 0/1 labels and scores per group of an eager :class:`GroupIndex`."""
        n = len(index)
        s = _finite_scores(scores)
        if y_true.shape[0] != n or s.shape[0] != n:
            raise DataError(
                f"lengths differ: {n} rows of groups, {y_true.shape[0]} of y_true,"
                f" {s.shape[0]} of scores",
                hint="pass one label, one score and one group value per row",
            )
        w = None if sample_weight is None else validate_weights(sample_weight, n)
        # Relabel groups in Charter's order so entries come out sorted by (group, score).
        order = group_order(index.keys)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        keys = tuple(index.keys[i] for i in order)
        codes = rank[index.codes]
        by_score = np.argsort(s)
        small = np.int16 if len(keys) < (1 << 15) else np.int64
        by_group = np.argsort(codes[by_score].astype(small), kind="stable")
        perm = by_score[by_group]
        gs, ss, ys = codes[perm], s[perm], y_true[perm]
        if n == 0:
            empty = np.zeros((0, 2))
            return cls(
                index.names, keys, np.zeros(0, np.int64), np.zeros(0), empty, empty.astype(np.int64)
            )
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ss[1:], ss[:-1], out=new[1:])
        new[1:] |= gs[1:] != gs[:-1]
        starts = np.flatnonzero(new)
        run = np.cumsum(new) - 1
        entries = starts.shape[0]
        cell = run * 2 + ys
        rows = np.bincount(cell, minlength=2 * entries).reshape(entries, 2)
        weighted: np.ndarray
        if w is None:
            weighted = rows.astype(np.float64)
        else:
            weighted = np.bincount(cell, weights=w[perm], minlength=2 * entries).reshape(entries, 2)
        return cls(index.names, keys, gs[starts], ss[starts], weighted, rows)

    @classmethod
    def from_entries(
        cls,
        names: Sequence[str],
        keys: Sequence[GroupKey],
        group: np.ndarray,
        score: np.ndarray,
        weighted: np.ndarray,
        rows: np.ndarray,
    ) -> ScoreCounts:
        """Aggregate possibly repeated, unsorted ``(group, score)`` entries into a table."""
        order = group_order(keys)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        sorted_keys = tuple(keys[i] for i in order)
        g = rank[np.asarray(group, dtype=np.int64)] if len(group) else np.zeros(0, np.int64)
        s = np.asarray(score, dtype=np.float64)
        if g.shape[0] == 0:
            return cls(
                tuple(names), sorted_keys, g, s, np.zeros((0, 2)), np.zeros((0, 2), np.int64)
            )
        perm = np.lexsort((s, g))
        gs, ss = g[perm], s[perm]
        new = np.empty(gs.shape[0], dtype=bool)
        new[0] = True
        new[1:] = (ss[1:] != ss[:-1]) | (gs[1:] != gs[:-1])
        starts = np.flatnonzero(new)
        w = np.add.reduceat(np.asarray(weighted, dtype=np.float64)[perm], starts, axis=0)
        r = np.add.reduceat(np.asarray(rows, dtype=np.int64)[perm], starts, axis=0)
        return cls(tuple(names), sorted_keys, gs[starts], ss[starts], w, r)

    # -- algebra ----------------------------------------------------------------------------
    def merge(self, other: ScoreCounts) -> ScoreCounts:
        """Add the statistics of ``other`` (same sensitive columns); groups align by key."""
        if self.names != other.names:
            raise ValueError(
                f"cannot merge score counts over {self.names} with counts over {other.names}"
            )
        keys = list(self.keys)
        position = {k: i for i, k in enumerate(keys)}
        for k in other.keys:
            if k not in position:
                position[k] = len(keys)
                keys.append(k)
        remap = np.array([position[k] for k in other.keys], dtype=np.int64)
        return ScoreCounts.from_entries(
            self.names,
            keys,
            np.concatenate([self.group, remap[other.group] if len(other.group) else other.group]),
            np.concatenate([self.score, other.score]),
            np.concatenate([self.weighted, other.weighted]),
            np.concatenate([self.rows, other.rows]),
        )

    __add__ = merge

    def overall(self) -> ScoreCounts:
        """All groups pooled into one group keyed :data:`~charter.stats.counts.OVERALL`."""
        return ScoreCounts.from_entries(
            (),
            (OVERALL,),
            np.zeros(self.group.shape[0], dtype=np.int64),
            self.score,
            self.weighted,
            self.rows,
        )

    def __len__(self) -> int:
        return len(self.keys)

    def labels(self) -> list[str]:
        """Readable label of each group."""
        return [group_label(self.names, k) for k in self.keys]

    def _per_group(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.group, weights=values, minlength=len(self.keys))

    @property
    def group_rows(self) -> np.ndarray:
        """Number of rows of each group."""
        return np.bincount(
            self.group, weights=self.rows.sum(axis=1), minlength=len(self.keys)
        ).astype(np.int64)

    @property
    def group_weight(self) -> np.ndarray:
        """Total weight of each group."""
        return self._per_group(self.weighted.sum(axis=1))

    @property
    def class_weight(self) -> np.ndarray:
        """``(groups, 2)``: total weight of the negatives and positives of each group."""
        return np.stack(
            [self._per_group(self.weighted[:, 0]), self._per_group(self.weighted[:, 1])], axis=1
        )

    def score_range(self) -> tuple[float, float]:
        """Smallest and largest score over every group (NaN when empty)."""
        if self.score.shape[0] == 0:
            return float("nan"), float("nan")
        return float(self.score.min()), float(self.score.max())

    # -- metrics per group ------------------------------------------------------------------
    def roc_auc(self) -> np.ndarray:
        """Weighted ROC AUC of each group; NaN for a group with only one class."""
        neg, pos = self.weighted[:, 0], self.weighted[:, 1]
        size = len(self.keys)
        cum_neg = np.cumsum(neg)
        starts = np.searchsorted(self.group, np.arange(size), side="left")
        before = np.concatenate([[0.0], cum_neg])[starts]
        below = cum_neg - neg - before[self.group]
        wins = self._per_group(pos * (below + 0.5 * neg))
        totals = self.class_weight
        pairs = totals[:, 0] * totals[:, 1]
        out = np.full(size, np.nan)
        np.divide(wins, pairs, out=out, where=pairs > 0)
        return out

    def _class_rows(self) -> np.ndarray:
        """``(groups, 2)``: negative and positive row counts of each group."""
        return np.stack(
            [
                np.bincount(self.group, weights=self.rows[:, c], minlength=len(self.keys))
                for c in (0, 1)
            ],
            axis=1,
        )

    def roc_auc_standard_error(self) -> np.ndarray:
        """DeLong's standard error of each group's ROC AUC.

        DeLong, DeLong and Clarke-Pearson (1988): with ``m`` positive and ``n`` negative rows,
        each positive's placement ``V10`` is the share of negatives scored below it (ties
        count half) and each negative's ``V01`` the share of positives scored above it; the
        AUC is the mean of either, and ``Var(AUC) = S10 / m + S01 / n`` with ``S10``, ``S01``
        the sample variances of the placements. Placements depend on the row only through
        its (group, label, score), so this is exact from the table in ``O(entries)``. With
        sample weights, placements and their variances are weighted and ``m``, ``n`` stay
        row counts (weights count as importance, as in the count bootstrap). NaN with fewer
        than two rows of either class.
        """
        neg, pos = self.weighted[:, 0], self.weighted[:, 1]
        size = len(self.keys)
        if self.group.shape[0] == 0:
            return np.full(size, np.nan)
        starts = np.searchsorted(self.group, np.arange(size), side="left")
        cum_neg, cum_pos = np.cumsum(neg), np.cumsum(pos)
        neg_before = (cum_neg - neg) - np.concatenate([[0.0], cum_neg])[starts][self.group]
        pos_through = cum_pos - np.concatenate([[0.0], cum_pos])[starts][self.group]
        totals = self.class_weight
        n_weight, p_weight = totals[self.group, 0], totals[self.group, 1]
        v10 = np.zeros_like(neg)  # positives at this score: negatives below them
        np.divide(neg_before + 0.5 * neg, n_weight, out=v10, where=n_weight > 0)
        v01 = np.zeros_like(pos)  # negatives at this score: positives above them
        np.divide(p_weight - pos_through + 0.5 * pos, p_weight, out=v01, where=p_weight > 0)
        auc = np.nan_to_num(self.roc_auc())[self.group]
        ss10 = self._per_group(pos * (v10 - auc) ** 2)
        ss01 = self._per_group(neg * (v01 - auc) ** 2)
        rows = self._class_rows()
        n, m = rows[:, 0], rows[:, 1]
        out = np.full(size, np.nan)
        ok = (m > 1) & (n > 1) & (totals[:, 0] > 0) & (totals[:, 1] > 0)
        s10 = ss10[ok] / totals[ok, 1] * m[ok] / (m[ok] - 1.0)
        s01 = ss01[ok] / totals[ok, 0] * n[ok] / (n[ok] - 1.0)
        out[ok] = np.sqrt(s10 / m[ok] + s01 / n[ok])
        return out

    def loss_standard_error(self, loss: str) -> np.ndarray:
        """Standard error of each group's mean ``log_loss`` or ``brier``.

        Both are weighted means of a per-row term that depends only on the row's label and
        score, so the terms' weighted variance (with Bessel's ``n / (n - 1)``) over ``n``
        rows is exact from the table. NaN with fewer than two rows.
        """
        s = self.score
        if loss == "log_loss":
            neg_term = -np.log(np.clip(1.0 - s, EPS, 1.0 - EPS))
            pos_term = -np.log(np.clip(s, EPS, 1.0 - EPS))
            mean = self.log_loss()
        elif loss == "brier":
            neg_term, pos_term = s * s, (1.0 - s) ** 2
            mean = self.brier()
        else:
            raise ValueError(f"unknown loss '{loss}'; use 'log_loss' or 'brier'")
        centre = np.nan_to_num(mean)[self.group]
        ss = self._per_group(
            self.weighted[:, 0] * (neg_term - centre) ** 2
            + self.weighted[:, 1] * (pos_term - centre) ** 2
        )
        weight = self.group_weight
        n = self.group_rows.astype(np.float64)
        out = np.full(len(self.keys), np.nan)
        ok = (n > 1) & (weight > 0)
        out[ok] = np.sqrt(ss[ok] / weight[ok] / (n[ok] - 1.0))
        return out

    def brier(self) -> np.ndarray:
        """Weighted mean of ``(score - y)^2`` per group; NaN for an empty group."""
        s = self.score
        loss = self.weighted[:, 0] * s * s + self.weighted[:, 1] * (1.0 - s) ** 2
        return _mean(self._per_group(loss), self.group_weight)

    def log_loss(self) -> np.ndarray:
        """Weighted mean negative log-likelihood per group (probabilities clipped as sklearn)."""
        s = self.score
        pos_term = -np.log(np.clip(s, EPS, 1.0 - EPS))
        neg_term = -np.log(np.clip(1.0 - s, EPS, 1.0 - EPS))
        loss = self.weighted[:, 0] * neg_term + self.weighted[:, 1] * pos_term
        return _mean(self._per_group(loss), self.group_weight)

    # -- storage ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "names": list(self.names),
            "keys": [list(k) for k in self.keys],
            "group": self.group.tolist(),
            "score": self.score.tolist(),
            "weighted": self.weighted.tolist(),
            "rows": self.rows.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(
            names=tuple(data["names"]),
            keys=tuple(tuple(k) for k in data["keys"]),
            group=np.asarray(data["group"], dtype=np.int64),
            score=np.asarray(data["score"], dtype=np.float64),
            weighted=np.asarray(data["weighted"], dtype=np.float64).reshape(-1, 2),
            rows=np.asarray(data["rows"], dtype=np.int64).reshape(-1, 2),
        )


def _mean(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    out = np.full(total.shape, np.nan)
    np.divide(total, weight, out=out, where=weight > 0)
    return out


def _finite_scores(values: Any) -> np.ndarray:
    try:
        s = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"scores must be numeric: {exc}", hint="pass probabilities or decision scores"
        ) from exc
    bad = int((~np.isfinite(s)).sum())
    if bad:
        raise DataError(
            f"scores have {bad} missing or infinite values out of {s.size}",
            hint="drop or fill the rows without a finite score",
        )
    return s


def score_counts(
    y_true: ColumnLike,
    y_score: ColumnLike,
    *,
    sensitive_features: Any = None,
    sample_weight: ColumnLike | None = None,
    data: Any = None,
    pos_label: Any = 1,
) -> ScoreCounts:
    """Score statistics per group, in one aggregation inside the data's engine.

    Parameters
    ----------
    y_true
        Binary labels (column name in ``data`` or values).
    y_score
        Scores: probability of the positive class for log loss and Brier, any real score for
        ROC AUC (column name or values).
    sensitive_features, sample_weight, data, pos_label
        As in :func:`~charter.stats.counts.confusion_counts`.

    Returns
    -------
    ScoreCounts
    """
    frame = to_frame(data) if data is not None else None
    if frame is not None and is_lazy(frame):
        return _score_counts_lazy(
            frame, y_true, y_score, sensitive_features, sample_weight, pos_label
        )
    yt = binary_labels(
        resolve_column(frame, y_true, role="y_true"), pos_label=pos_label, role="y_true"
    )
    scores = resolve_column(frame, y_score, role="y_score")
    weights = None
    if sample_weight is not None:
        weights = resolve_column(frame, sample_weight, role="sample_weight")
    index = eager_group_index(frame, sensitive_features, yt.shape[0])
    return ScoreCounts.from_index(index, yt, scores, weights)


def _score_counts_lazy(
    frame: AnyFrame,
    y_true: ColumnLike,
    y_score: ColumnLike,
    sensitive_features: Any,
    sample_weight: ColumnLike | None,
    pos_label: Any,
) -> ScoreCounts:
    names = [] if sensitive_features is None else sensitive_features
    names = [names] if isinstance(names, str) else list(names)
    given = [y_true, y_score, *([sample_weight] if sample_weight is not None else []), *names]
    if not all(isinstance(v, str) for v in given):
        raise DataError(
            "with a lazy frame (DuckDB, Spark, polars LazyFrame) every column must be given"
            " by name",
            hint="pass column names for y_true, y_score, sensitive_features and sample_weight",
        )
    require_columns(frame, [str(y_true), str(y_score), *names], role="column")
    by = [*names, str(y_true), str(y_score)]
    keyed = frame.select(
        *[nw.col(c).alias(f"__k{i}") for i, c in enumerate(by)],
        *([nw.col(str(sample_weight)).alias("__w")] if sample_weight is not None else []),
    )
    aggs = [nw.len().alias("__rows")]
    if sample_weight is not None:
        aggs.append(nw.col("__w").sum().alias("__weight"))
    result = keyed.group_by(*[f"__k{i}" for i in range(len(by))], drop_null_keys=False).agg(*aggs)
    assert isinstance(result, nw.LazyFrame)
    table = result.collect().to_arrow().to_pydict()
    k = len(names)
    label_of = _label_map(set(table[f"__k{k}"]), pos_label, "y_true")
    raw_scores = table[f"__k{k + 1}"]
    if any(v is None for v in raw_scores):
        raise DataError("scores have missing values", hint="drop or fill the rows without a score")
    keys_seen: dict[GroupKey, int] = {}
    group = []
    for i in range(len(raw_scores)):
        key = tuple(_normal(table[f"__k{j}"][i]) for j in range(k)) if k else OVERALL
        group.append(keys_seen.setdefault(key, len(keys_seen)))
    n_rows = np.asarray(table["__rows"], dtype=np.int64)
    w = (
        np.asarray(table["__weight"], dtype=np.float64)
        if sample_weight is not None
        else n_rows.astype(np.float64)
    )
    labels = np.array([label_of[v] for v in table[f"__k{k}"]], dtype=np.int64)
    rows = np.zeros((len(group), 2), dtype=np.int64)
    weighted = np.zeros((len(group), 2))
    rows[np.arange(len(group)), labels] = n_rows
    weighted[np.arange(len(group)), labels] = w
    return ScoreCounts.from_entries(
        names,
        list(keys_seen),
        np.asarray(group, dtype=np.int64),
        _finite_scores(raw_scores),
        weighted,
        rows,
    )
