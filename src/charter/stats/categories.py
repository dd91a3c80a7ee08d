"""Category counts: how often each value of a categorical column occurs, mergeable.

:func:`category_counts` counts a column chunk by chunk (integer codes per chunk, one
``bincount``); :class:`CategoryCounts` merge by addition, so batches and partitions give the
numbers of one pass. Numeric columns have :mod:`charter.stats.histogram`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import numpy as np

from charter.stats.frames import factorize

#: Values outside the grid that are remembered individually (a new value of a discrete column).

#: Rows counted per chunk; bounds the memory a histogram needs beyond the data.
CHUNK_ROWS = 1 << 20


@dataclass(frozen=True, eq=False)
class CategoryCounts:
    """Rows per distinct value of a categorical column, mergeable by addition.

    Attributes
    ----------
    values
        The distinct non-null values (plain Python scalars), in first-seen order.
    counts
        ``int64`` rows per value.
    nulls
        Rows that were null (or NaN).
    """

    values: tuple[Any, ...] = ()
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nulls: int = 0

    def __post_init__(self) -> None:
        if len(self.values) != self.counts.shape[0]:
            raise ValueError("CategoryCounts needs one count per value")

    @property
    def count(self) -> int:
        """Non-null rows."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """Rows seen, including nulls."""
        return self.count + self.nulls

    def as_dict(self) -> dict[Any, int]:
        """Value to count."""
        return dict(zip(self.values, self.counts.tolist(), strict=True))

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        """Add another set of counts; values are aligned by equality."""
        merged = self.as_dict()
        for value, n in zip(other.values, other.counts.tolist(), strict=True):
            merged[value] = merged.get(value, 0) + n
        return CategoryCounts(
            tuple(merged),
            np.asarray(list(merged.values()), dtype=np.int64),
            self.nulls + other.nulls,
        )

    __add__ = merge

    def aligned(self, keys: Sequence[Any]) -> np.ndarray:
        """Counts of the given keys, 0 for keys not seen."""
        lookup = self.as_dict()
        return np.asarray([lookup.get(k, 0) for k in keys], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``[value, count]`` pairs keep the values' types."""
        return {
            "values": [[v, int(n)] for v, n in zip(self.values, self.counts.tolist(), strict=True)],
            "nulls": self.nulls,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoryCounts:
        """Inverse of :meth:`to_dict`."""
        pairs = data["values"]
        return cls(
            tuple(p[0] for p in pairs),
            np.asarray([p[1] for p in pairs], dtype=np.int64),
            int(data["nulls"]),
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[Any, int]]) -> CategoryCounts:
        """From ``(value, count)`` pairs; a ``None`` value counts as null; repeats add up."""
        merged: dict[Any, int] = {}
        nulls = 0
        for value, n in pairs:
            if value is None or (isinstance(value, float) and value != value):
                nulls += int(n)
            else:
                merged[value] = merged.get(value, 0) + int(n)
        return cls(tuple(merged), np.asarray(list(merged.values()), dtype=np.int64), nulls)


def category_counts(values: Any, *, chunk_rows: int = CHUNK_ROWS) -> CategoryCounts:
    """Count the distinct values of a column with the backend's own hash encoding.

    Parameters
    ----------
    values
        numpy array, pandas/polars/pyarrow/narwhals series.
    chunk_rows
        Rows encoded at a time (bounds the memory of the integer codes).
    """
    native = values.to_native() if isinstance(values, nw.Series) else values
    size = len(native)
    result = CategoryCounts()
    for start in range(0, max(size, 1), chunk_rows):
        part = native[start : start + chunk_rows] if size > chunk_rows else native
        codes, uniques = factorize(part)
        counts = np.bincount(codes, minlength=len(uniques))
        result = result.merge(CategoryCounts.from_pairs(zip(uniques, counts.tolist(), strict=True)))
        if size <= chunk_rows:
            break
    return result
