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
import pyarrow as pa
import pyarrow.compute as pc

from charter.errors import DataError
from charter.stats.frames import (
    AnyFrame,
    ColumnLike,
    factorize,
    is_lazy,
    require_columns,
    resolve_column,
    to_frame,
)

GroupKey = tuple[Any, ...]
OVERALL: GroupKey = ("__overall__",)

#: Above this many possible combinations, intersectional groups are compacted with np.unique
#: instead of counted over the full product space.
_MAX_PRODUCT_SPACE = 1 << 22


def _sort_key(key: GroupKey) -> tuple[Any, ...]:
    """Deterministic order of group keys across backends: numbers, then strings, then null."""
    out: list[Any] = []
    for value in key:
        if value is None:
            out.append((2, 0, ""))
        elif isinstance(value, bool | int | float):
            out.append((0, float(value), ""))
        else:
            out.append((1, 0.0, str(value)))
    return tuple(out)


def group_order(keys: Sequence[GroupKey]) -> list[int]:
    """Positions of ``keys`` in Charter's deterministic group order (numbers, strings, null)."""
    return sorted(range(len(keys)), key=lambda i: _sort_key(keys[i]))


def group_label(names: Sequence[str], key: GroupKey) -> str:
    """Readable label of a group, e.g. ``sex=F, age_band=<25``."""
    if key == OVERALL:
        return "overall"
    return ", ".join(f"{n}={'null' if v is None else v}" for n, v in zip(names, key, strict=True))


@dataclass(frozen=True)
class GroupIndex:
    """Which group each row belongs to, for eager data.

    Attributes
    ----------
    names
        The sensitive columns, in order (empty for the single overall group).
    keys
        One key per group (a tuple of plain Python values, ``None`` for null), in the order of
        the codes.
    codes
        Group code of each row, ``0 <= code < len(keys)``.
    """

    names: tuple[str, ...]
    keys: tuple[GroupKey, ...]
    codes: np.ndarray

    @property
    def size(self) -> int:
        """Number of groups."""
        return len(self.keys)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @classmethod
    def overall(cls, n_rows: int) -> GroupIndex:
        """Every row in one group."""
        return cls(names=(), keys=(OVERALL,), codes=np.zeros(n_rows, dtype=np.int64))

    @classmethod
    def build(
        cls,
        columns: Sequence[np.ndarray | Any],
        names: Sequence[str],
    ) -> GroupIndex:
        """Index rows by the combination of values of one or several columns.

        Groups that no row belongs to are dropped; codes are dense.
        """
        if not columns:
            raise ValueError("GroupIndex.build needs at least one column; use overall()")
        per_column = [_column_codes(col) for col in columns]
        n_rows = {len(codes) for codes, _ in per_column}
        if len(n_rows) != 1:
            raise DataError(
                "sensitive columns have different lengths "
                + ", ".join(f"{n}={len(c)}" for n, (c, _) in zip(names, per_column, strict=True)),
                hint="pass one value per row for every sensitive column",
            )
        sizes = [len(u) for _, u in per_column]
        space = int(np.prod(sizes, dtype=np.float64))
        combined = per_column[0][0]
        if len(per_column) > 1:
            combined = combined.astype(np.int64, copy=True)
            for (codes, _), size in zip(per_column[1:], sizes[1:], strict=True):
                combined *= size
                combined += codes
        if space <= max(_MAX_PRODUCT_SPACE, combined.shape[0]):
            present = np.flatnonzero(np.bincount(combined, minlength=space))
            if present.shape[0] == space:
                dense = combined  # every combination occurs: codes are dense already
            else:
                remap = np.full(space, -1, dtype=np.int64)
                remap[present] = np.arange(len(present))
                dense = remap[combined]
        else:
            present, dense = np.unique(combined, return_inverse=True)
        keys_list = []
        for flat in present.tolist():
            parts = []
            for (_, uniques), size in zip(reversed(per_column), reversed(sizes), strict=True):
                parts.append(uniques[flat % size])
                flat //= size
            keys_list.append(tuple(reversed(parts)))
        return cls(
            names=tuple(names), keys=tuple(keys_list), codes=dense.astype(np.int64, copy=False)
        )


def _column_codes(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes and distinct values of a sensitive column.

    Dictionary-encoded Arrow data (polars ``Categorical``/``Enum``, Arrow dictionaries) keep
    their own codes, which is free; everything else goes through :func:`factorize`. Unused
    dictionary entries are harmless: :meth:`GroupIndex.build` drops empty groups.
    """
    native = values.to_native() if isinstance(values, nw.Series) else values
    arrow = None
    if isinstance(native, pa.DictionaryArray | pa.ChunkedArray):
        arrow = native
    elif type(native).__module__.startswith("polars") and str(
        getattr(native, "dtype", "")
    ).startswith(("Categorical", "Enum")):
        arrow = native.to_arrow()
    if arrow is not None and isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)
    if not isinstance(arrow, pa.DictionaryArray):
        return factorize(values)
    uniques = [None if v is None else v for v in arrow.dictionary.to_pylist()]
    if len(set(uniques)) != len(uniques) or None in uniques:
        return factorize(values)
    indices = arrow.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(uniques))
        uniques.append(None)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, uniques


def binary_labels(values: np.ndarray, *, pos_label: Any = 1, role: str = "y_true") -> np.ndarray:
    """Validate binary labels and return them as 0/1 ``int64``.

    Parameters
    ----------
    values
        Labels: bool, integers, floats or strings.
    pos_label
        The value that counts as positive. The other value present counts as negative.
    role
        Name used in error messages.

    Raises
    ------
    DataError
        On missing values, more than two distinct values, or a string label set that does not
        contain ``pos_label``.
    """
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        return arr.view(np.uint8).astype(np.int64)
    if arr.dtype.kind in "iu":
        if arr.size and pos_label in (0, 1):
            lo, hi = int(arr.min()), int(arr.max())
            if lo >= 0 and hi <= 1:
                return arr.astype(np.int64, copy=False) if pos_label == 1 else 1 - arr
        return _binary_general(arr, pos_label, role)
    if arr.dtype.kind == "f":
        nan = int(np.isnan(arr).sum())
        if nan:
            raise DataError(
                f"{role} has {nan} missing (NaN) values out of {arr.size}",
                hint=f"drop the rows without {role} or fill them before running the check",
            )
        if arr.size and pos_label in (0, 1):
            flo, fhi = float(arr.min()), float(arr.max())
            if flo >= 0.0 and fhi <= 1.0 and bool(((arr == 0.0) | (arr == 1.0)).all()):
                out = (arr == 1.0).astype(np.int64)
                return out if pos_label == 1 else 1 - out
        return _binary_general(arr, pos_label, role)
    return _binary_general(arr, pos_label, role)


def _binary_general(arr: np.ndarray, pos_label: Any, role: str) -> np.ndarray:
    codes, uniques = factorize(arr)
    if None in uniques:
        missing = int((codes == uniques.index(None)).sum())
        raise DataError(
            f"{role} has {missing} missing values out of {arr.size}",
            hint=f"drop the rows without {role} or fill them before running the check",
        )
    if len(uniques) > 2:
        shown = ", ".join(repr(u) for u in sorted(uniques, key=str)[:6])
        message = (
            f"{role} must be binary for this metric but has {len(uniques)} distinct values"
            f" ({shown}{' ...' if len(uniques) > 6 else ''})"
        )
        if role in ("prediction", "y_pred", "predictions") and _look_like_scores(uniques):
            raise DataError(
                message + "; they look like scores (numbers between 0 and 1)",
                hint="pass scores with --scores COLUMN (the policy's data.score) and set"
                " performance.threshold (default 0.5) to turn them into decisions;"
                " --predictions takes the decisions themselves (0/1)",
            )
        raise DataError(
            message,
            hint=f"binarise the {role} before the check (e.g. a column y >= threshold); then set"
            " data.positive_label in the policy to the favourable value (positive_label= in"
            " Python)",
        )
    if pos_label not in uniques:
        if len(uniques) == 2 or not all(isinstance(u, int | float) for u in uniques):
            values = sorted(uniques, key=str)
            raise DataError(
                f"{role} values {values} do not include the positive label {pos_label!r}",
                hint="set data.positive_label in the policy to the value that means the"
                f" favourable outcome, one of {', '.join(repr(v) for v in values)}"
                " (positive_label= in Python)",
            )
        return np.zeros(arr.size, dtype=np.int64)
    positive = uniques.index(pos_label)
    return (codes == positive).astype(np.int64)


def _look_like_scores(uniques: list[Any]) -> bool:
    numbers = [u for u in uniques if isinstance(u, int | float | np.number)]
    return len(numbers) == len(uniques) and all(0.0 <= float(u) <= 1.0 for u in numbers)


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
        keys = tuple(sorted(weighted, key=_sort_key))
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
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.shape[0] != n:
                raise DataError(
                    f"sample_weight has {w.shape[0]} values for {n} rows",
                    hint="pass one weight per row",
                )
            if not np.isfinite(w).all() or (w < 0).any():
                raise DataError(
                    "sample_weight must be finite and non-negative",
                    hint="drop or fix rows with NaN, infinite or negative weights",
                )
            weighted = np.bincount(key, weights=w, minlength=size * 4).reshape(size, 2, 2)
        labelled = y_true is not None
        order = sorted(range(size), key=lambda i: _sort_key(index.keys[i]))
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


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value


def _label_map(values: set[Any], pos_label: Any, role: str) -> dict[Any, int]:
    """Map the distinct label values an engine returned to 0/1, validating as the eager path."""
    arr = np.array(sorted(values, key=lambda v: (v is None, str(v))), dtype=object)
    if any(v is None or (isinstance(v, float) and v != v) for v in values):
        raise DataError(
            f"{role} has missing values",
            hint=f"drop the rows without {role} or fill them before running the check",
        )
    mapped = binary_labels(arr, pos_label=pos_label, role=role)
    return {v: int(m) for v, m in zip(arr.tolist(), mapped.tolist(), strict=True)}
