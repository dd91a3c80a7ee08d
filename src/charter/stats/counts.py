"""Mergeable sufficient statistics: confusion counts per group.

Every fairness metric and every threshold-based performance metric of a binary classifier is a
function of one small table: for each group (one value, or one combination of values, of the
sensitive columns), the weighted number of rows for each (true label, predicted label) pair.
:func:`confusion_counts` computes that table with one aggregation that runs inside the frame's
own engine:

* eager frames and arrays (pandas, polars, pyarrow, numpy): integer codes per group, one
  combined key per row, one ``numpy.bincount``;
* lazy frames (DuckDB, Spark, polars LazyFrame): one ``group_by(...).agg(len, sum)`` evaluated by
  the engine, of which only the few hundred result rows leave it.

:class:`ConfusionCounts` merge by addition (:meth:`ConfusionCounts.merge`), so a stream of
Parquet batches or the partitions of a cluster give exactly the numbers of one pass over all rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.frames import (
    AnyFrame,
    ColumnLike,
    is_lazy,
    require_columns,
    resolve_column,
    to_frame,
)
from charter.stats.groups import (
    OVERALL,
    GroupIndex,
    GroupKey,
    group_label,
    group_order,
    group_sort_key,
)
from charter.stats.labels import _label_map, _normal, binary_labels
from charter.stats.numeric import validate_weights

__all__ = [
    "OVERALL",
    "ConfusionCounts",
    "GroupIndex",
    "GroupKey",
    "binary_labels",
    "confusion_counts",
    "eager_group_index",
    "group_label",
    "group_order",
    "sensitive_columns",
]


@dataclass(frozen=True, eq=False)
class ConfusionCounts:
    """Weighted confusion counts per group: the sufficient statistic of binary fairness.

    Attributes
    ----------
    names
        Sensitive columns defining the groups (empty for overall-only counts).
    keys
        One key per group, sorted deterministically (numbers, strings, then null).
    weighted
        ``float64`` array of shape ``(groups, 2, 2)``: sum of sample weights of the rows with
        ``[group, y_true, y_pred]``; equal to ``rows`` when no weights were given.
    rows
        ``int64`` array of the same shape: number of rows (for minimum group sizes and the
        bootstrap).
    labelled
        ``False`` for counts of predictions alone (no true labels, e.g. unlabelled production
        data): every row sits in the ``y_true = 0`` cells, so only label-free rates
        (``selection_rate``) mean anything, and metrics that need labels refuse these counts.
    """

    names: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    weighted: np.ndarray
    rows: np.ndarray
    labelled: bool = True

    def __post_init__(self) -> None:
        if self.weighted.shape != (len(self.keys), 2, 2) or self.rows.shape != self.weighted.shape:
            raise ValueError("ConfusionCounts arrays must have shape (groups, 2, 2)")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_cells(
        cls,
        names: Sequence[str],
        cells: Iterable[tuple[GroupKey, int, int, float, int]],
        *,
        labelled: bool = True,
    ) -> ConfusionCounts:
        """Build from ``(group key, y_true, y_pred, weight sum, row count)`` tuples.

        Repeated cells add up; this is how the result of an engine's ``group_by`` comes in.
        With ``labelled=False`` every ``y_true`` must be 0 (counts of predictions alone).
        """
        weighted: dict[GroupKey, np.ndarray] = {}
        rows: dict[GroupKey, np.ndarray] = {}
        for key, yt, yp, w, n in cells:
            if key not in weighted:
                weighted[key] = np.zeros((2, 2))
                rows[key] = np.zeros((2, 2), dtype=np.int64)
            weighted[key][yt, yp] += w
            rows[key][yt, yp] += n
        keys = tuple(sorted(weighted, key=group_sort_key))
        if not keys:
            shape = (0, 2, 2)
            return cls(tuple(names), (), np.zeros(shape), np.zeros(shape, dtype=np.int64), labelled)
        return cls(
            names=tuple(names),
            keys=keys,
            weighted=np.stack([weighted[k] for k in keys]),
            rows=np.stack([rows[k] for k in keys]),
            labelled=labelled,
        )

    @classmethod
    def from_index(
        cls,
        index: GroupIndex,
        y_true: np.ndarray | None,
        y_pred: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> ConfusionCounts:
        """Count 0/1 labels per group of an eager :class:`GroupIndex` with one bincount.

        ``y_true=None`` counts predictions alone (``labelled=False``; see the class notes).
        """
        n = len(index)
        n_true = n if y_true is None else y_true.shape[0]
        if n_true != n or y_pred.shape[0] != n:
            raise DataError(
                f"lengths differ: {n} rows of groups, {n_true} of y_true,"
                f" {y_pred.shape[0]} of y_pred",
                hint="pass one label, one prediction and one group value per row",
            )
        size = index.size
        key = index.codes * 4
        if y_true is not None:
            key += y_true * 2
        key += y_pred
        rows = np.bincount(key, minlength=size * 4).reshape(size, 2, 2)
        weighted: np.ndarray
        if sample_weight is None:
            weighted = rows.astype(np.float64)
        else:
            w = validate_weights(sample_weight, n)
            weighted = np.bincount(key, weights=w, minlength=size * 4).reshape(size, 2, 2)
        labelled = y_true is not None
        order = sorted(range(size), key=lambda i: group_sort_key(index.keys[i]))
        if order != list(range(size)):
            return cls(
                index.names,
                tuple(index.keys[i] for i in order),
                weighted[order],
                rows[order],
                labelled,
            )
        return cls(index.names, index.keys, weighted, rows, labelled)

    # -- algebra ----------------------------------------------------------------------------
    def merge(self, other: ConfusionCounts) -> ConfusionCounts:
        """Add the counts of ``other`` (same sensitive columns); groups are aligned by key.

        The sum is ``labelled`` only when both are: adding counts of predictions alone to
        labelled counts leaves label-dependent rates meaningless.
        """
        if self.names != other.names:
            raise ValueError(
                f"cannot merge counts over {self.names} with counts over {other.names}"
            )
        cells: list[tuple[GroupKey, int, int, float, int]] = []
        for counts in (self, other):
            for g, key in enumerate(counts.keys):
                for yt in (0, 1):
                    for yp in (0, 1):
                        cells.append(
                            (
                                key,
                                yt,
                                yp,
                                float(counts.weighted[g, yt, yp]),
                                int(counts.rows[g, yt, yp]),
                            )
                        )
        return ConfusionCounts.from_cells(
            self.names, cells, labelled=self.labelled and other.labelled
        )

    __add__ = merge

    def overall(self) -> ConfusionCounts:
        """All groups summed into one group keyed :data:`OVERALL`."""
        return ConfusionCounts(
            names=(),
            keys=(OVERALL,),
            weighted=self.weighted.sum(axis=0, keepdims=True),
            rows=self.rows.sum(axis=0, keepdims=True),
            labelled=self.labelled,
        )

    def select(self, keys: Iterable[GroupKey]) -> ConfusionCounts:
        """Only the given groups, in the order given."""
        wanted = list(keys)
        position = {k: i for i, k in enumerate(self.keys)}
        missing = [k for k in wanted if k not in position]
        if missing:
            raise KeyError(f"groups not present: {missing}")
        idx = [position[k] for k in wanted]
        return ConfusionCounts(
            self.names, tuple(wanted), self.weighted[idx], self.rows[idx], self.labelled
        )

    def labels(self) -> list[str]:
        """Readable label of each group."""
        return [group_label(self.names, k) for k in self.keys]

    @property
    def group_rows(self) -> np.ndarray:
        """Number of rows of each group."""
        return self.rows.sum(axis=(1, 2))

    def __len__(self) -> int:
        return len(self.keys)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for evidence and for storing a profile)."""
        return {
            "names": list(self.names),
            "keys": [list(k) for k in self.keys],
            "weighted": self.weighted.tolist(),
            "rows": self.rows.tolist(),
            "labelled": self.labelled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfusionCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(
            names=tuple(data["names"]),
            keys=tuple(tuple(k) for k in data["keys"]),
            weighted=np.asarray(data["weighted"], dtype=np.float64).reshape(-1, 2, 2),
            rows=np.asarray(data["rows"], dtype=np.int64).reshape(-1, 2, 2),
            labelled=bool(data.get("labelled", True)),
        )


def _as_name_list(sensitive: Any) -> list[str] | None:
    if isinstance(sensitive, str):
        return [sensitive]
    if (
        isinstance(sensitive, list | tuple)
        and sensitive
        and all(isinstance(s, str) for s in sensitive)
    ):
        return list(sensitive)
    return None


def sensitive_columns(
    data: AnyFrame | None, sensitive_features: Any
) -> tuple[list[str], list[np.ndarray | Any]]:
    """Names and values of the sensitive columns, however they were given.

    Accepts a column name or list of names (looked up in ``data``), a 1-d array or series, a
    dict of name to values, or a 2-d frame whose every column is a sensitive feature. Without
    ``data``, a list of strings is a column of values, as in fairlearn.
    """
    names = _as_name_list(sensitive_features)
    if names is not None and data is None and not isinstance(sensitive_features, str):
        names = None  # a list of strings without a frame is a column of values
    if names is not None:
        if data is None:
            raise DataError(
                f"sensitive features given by name {names} but no data frame was given",
                hint="pass data=frame, or pass the values themselves",
            )
        require_columns(data, names, role="sensitive feature")
        assert isinstance(data, nw.DataFrame)
        return names, [data.get_column(n).to_native() for n in names]
    if isinstance(sensitive_features, dict):
        return [str(k) for k in sensitive_features], list(sensitive_features.values())
    try:
        frame = nw.from_native(sensitive_features, eager_only=True)
    except TypeError:
        frame = None
    if frame is not None:
        cols = list(frame.columns)
        return [str(c) for c in cols], [frame.get_column(c).to_native() for c in cols]
    values = resolve_column(None, sensitive_features, role="sensitive_features")
    if values.ndim == 2:
        return [f"sf{i}" for i in range(values.shape[1])], [
            values[:, i] for i in range(values.shape[1])
        ]
    name = getattr(sensitive_features, "name", None)
    return [str(name) if isinstance(name, Hashable) and name is not None else "sensitive"], [values]


def confusion_counts(
    y_true: ColumnLike | None,
    y_pred: ColumnLike,
    *,
    sensitive_features: Any = None,
    sample_weight: ColumnLike | None = None,
    data: Any = None,
    pos_label: Any = 1,
) -> ConfusionCounts:
    """Weighted confusion counts per group, in one aggregation inside the data's engine.

    Parameters
    ----------
    y_true, y_pred
        True and predicted binary labels: column names in ``data`` or array-likes.
        ``y_true=None`` counts predictions alone (unlabelled data): the counts are
        ``labelled=False`` and serve only label-free metrics (selection rate, demographic
        parity, statistical parity, disparate impact, the four-fifths rule).
    sensitive_features
        Column name(s) in ``data``, an array/series, a dict of name to values, or a frame of
        sensitive columns. Several columns give intersectional groups. ``None`` gives one
        overall group.
    sample_weight
        Optional non-negative weights (column name or values).
    data
        The frame that names refer to: pandas, polars, pyarrow, DuckDB, Spark, or narwhals.
    pos_label
        The label value that counts as positive (favourable).

    Returns
    -------
    ConfusionCounts

    Raises
    ------
    DataError
        Missing columns, NaN or non-binary labels, mismatched lengths, bad weights.
    """
    frame = to_frame(data) if data is not None else None
    if frame is not None and is_lazy(frame):
        return _confusion_counts_lazy(
            frame, y_true, y_pred, sensitive_features, sample_weight, pos_label
        )
    yt = None
    if y_true is not None:
        yt = binary_labels(
            resolve_column(frame, y_true, role="y_true"), pos_label=pos_label, role="y_true"
        )
    yp = binary_labels(
        resolve_column(frame, y_pred, role="y_pred"), pos_label=pos_label, role="y_pred"
    )
    weights = None
    if sample_weight is not None:
        weights = resolve_column(frame, sample_weight, role="sample_weight")
    index = eager_group_index(frame, sensitive_features, yp.shape[0])
    return ConfusionCounts.from_index(index, yt, yp, weights)


def eager_group_index(frame: AnyFrame | None, sensitive_features: Any, n_rows: int) -> GroupIndex:
    """The :class:`GroupIndex` of eager data (one overall group when no sensitive features)."""
    if sensitive_features is None:
        return GroupIndex.overall(n_rows)
    names, columns = sensitive_columns(frame, sensitive_features)
    return GroupIndex.build(columns, names)


def _confusion_counts_lazy(
    frame: AnyFrame,
    y_true: ColumnLike | None,
    y_pred: ColumnLike,
    sensitive_features: Any,
    sample_weight: ColumnLike | None,
    pos_label: Any,
) -> ConfusionCounts:
    names = [] if sensitive_features is None else _as_name_list(sensitive_features)
    given: dict[str, Any] = {"y_pred": y_pred}
    if y_true is not None:
        given["y_true"] = y_true
    if sample_weight is not None:
        given["sample_weight"] = sample_weight
    if names is None or not all(isinstance(v, str) for v in given.values()):
        raise DataError(
            "with a lazy frame (DuckDB, Spark, polars LazyFrame) every column must be given"
            " by name",
            hint="pass column names for y_true, y_pred, sensitive_features and sample_weight",
        )
    labelled = y_true is not None
    label_columns = [str(y_true), str(y_pred)] if labelled else [str(y_pred)]
    require_columns(frame, [*label_columns, *names], role="column")
    if sample_weight is not None:
        require_columns(frame, [str(sample_weight)], role="sample_weight")
    by = [*names, *label_columns]
    # A column may serve twice (e.g. y_true is also a sensitive column): alias the keys.
    keyed = frame.select(
        *[nw.col(c).alias(f"__k{i}") for i, c in enumerate(by)],
        *([nw.col(str(sample_weight)).alias("__w")] if sample_weight is not None else []),
    )
    aggs = [nw.len().alias("__rows")]
    if sample_weight is not None:
        aggs.append(nw.col("__w").sum().alias("__weight"))
    result = keyed.group_by(*[f"__k{i}" for i in range(len(by))], drop_null_keys=False).agg(*aggs)
    assert isinstance(result, nw.LazyFrame)
    table = result.collect().to_arrow().to_pylist()
    k = len(names)
    pred_at = f"__k{k + 1}" if labelled else f"__k{k}"
    true_map = (
        _label_map({row[f"__k{k}"] for row in table}, pos_label, "y_true") if labelled else {}
    )
    pred_map = _label_map({row[pred_at] for row in table}, pos_label, "y_pred")
    cells = []
    for row in table:
        key = tuple(_normal(row[f"__k{i}"]) for i in range(k)) if k else OVERALL
        n = int(row["__rows"])
        w = float(row["__weight"]) if sample_weight is not None else float(n)
        yt = true_map[row[f"__k{k}"]] if labelled else 0
        cells.append((key, yt, pred_map[row[pred_at]], w, n))
    return ConfusionCounts.from_cells(names, cells, labelled=labelled)
