"""Groups of rows: the index every per-group statistic is counted over.

A group is one value, or one combination of values, of the sensitive columns. :class:`GroupIndex`
codes every row with its group (one integer per row) in a stable, sortable order, so the
counts of :mod:`charter.stats.counts`, :mod:`charter.stats.scores` and
:mod:`charter.stats.regression` line up group by group and merge across batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from charter.errors import DataError
from charter.stats.frames import (
    factorize,
)

GroupKey = tuple[Any, ...]
OVERALL: GroupKey = ("__overall__",)

#: Above this many possible combinations, intersectional groups are compacted with np.unique
#: instead of counted over the full product space.
_MAX_PRODUCT_SPACE = 1 << 22


def group_sort_key(key: GroupKey) -> tuple[Any, ...]:
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
    return sorted(range(len(keys)), key=lambda i: group_sort_key(keys[i]))


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
