"""Mergeable histograms: numeric counts over a fixed grid, and category counts.

Every drift statistic Charter computes is a function of these two small records, so the
reference never has to be kept and windows, Parquet batches and cluster partitions combine by
addition.

A :class:`Grid` is a sorted array of ``k + 1`` edges ``e_0 < ... < e_k``. It cuts the real line
into ``2k + 3`` *cells*, alternating open intervals and single points::

    cell 0      (-inf, e_0)        cell 1   {e_0}
    cell 2      (e_0, e_1)         cell 3   {e_1}
    ...
    cell 2k     (e_{k-1}, e_k)     cell 2k+1  {e_k}
    cell 2k+2   (e_k, +inf)

Point cells make the histogram exact for discrete columns (the grid is then the set of distinct
reference values, an *atomic* grid) and let the Kolmogorov-Smirnov statistic be computed
exactly; interval cells carry the sum of their values as well as their count, which makes the
Wasserstein distance exact in every cell where the two distribution functions do not cross.

:func:`numeric_histogram` counts a numpy array with one sort per chunk (vectorised, faster than
a binary search per value); :func:`cell_expression` builds the same cell index as a narwhals
expression, so lazy engines (DuckDB, Spark, polars) bin inside the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from charter.stats.categories import CHUNK_ROWS, CategoryCounts, category_counts

#: Values outside the grid that are remembered individually (a new value of a discrete column).
__all__ = [
    "CHUNK_ROWS",
    "NEW_VALUES_CAP",
    "CategoryCounts",
    "Grid",
    "NumericHistogram",
    "as_float_array",
    "category_counts",
    "cell_expression",
    "finite_part",
    "histogram_of_sorted",
    "n_cells",
    "numeric_histogram",
]

NEW_VALUES_CAP = 20


def n_cells(edges: np.ndarray | Sequence[float]) -> int:
    """Number of cells of a grid with the given edges: ``2 * len(edges) + 1``."""
    return 2 * len(edges) + 1


@dataclass(frozen=True, eq=False)
class Grid:
    """Sorted, distinct edges that cut the line into cells.

    Attributes
    ----------
    edges
        ``float64`` array, strictly increasing, at least one edge.
    atomic
        ``True`` when the edges are every distinct value of the reference: the reference then
        has mass only on point cells, and counts over the grid are exact value counts.
    """

    edges: np.ndarray
    atomic: bool = False

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=np.float64)
        if edges.ndim != 1 or edges.size == 0:
            raise ValueError("a grid needs at least one edge")
        if not np.isfinite(edges).all():
            raise ValueError("grid edges must be finite")
        if edges.size > 1 and not (np.diff(edges) > 0).all():
            raise ValueError("grid edges must be strictly increasing")
        object.__setattr__(self, "edges", edges)

    @property
    def cells(self) -> int:
        """Number of cells (``2 * len(edges) + 1``)."""
        return n_cells(self.edges)

    def same_as(self, other: Grid) -> bool:
        """Whether two grids have identical edges."""
        return self.edges.shape == other.edges.shape and bool((self.edges == other.edges).all())

    @classmethod
    def from_sorted(cls, values: np.ndarray, *, bins: int, max_atoms: int) -> Grid:
        """The grid for a sorted array of finite values.

        Up to ``max_atoms`` distinct values give an atomic grid (every distinct value an edge);
        more give ``bins + 1`` quantile edges (nearest rank, so every edge is a data value)
        including the minimum and the maximum.
        """
        if values.size == 0:
            return cls(np.zeros(1), atomic=True)
        change = np.flatnonzero(values[1:] != values[:-1])
        if change.size + 1 <= max_atoms:
            uniques = np.concatenate([values[:1], values[change + 1]])
            return cls(uniques, atomic=True)
        positions = np.round(np.linspace(0, values.size - 1, bins + 1)).astype(np.int64)
        return cls(np.unique(values[positions]), atomic=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"edges": self.edges.tolist(), "atomic": self.atomic}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grid:
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["edges"], dtype=np.float64), atomic=bool(data["atomic"]))


@dataclass(frozen=True, eq=False)
class NumericHistogram:
    """Counts and sums of a numeric column over a :class:`Grid`, with moments.

    Attributes
    ----------
    grid
        The cells counted over.
    counts
        ``int64`` rows per cell (finite values only).
    sums
        ``float64`` sum of the values in each cell.
    nulls
        Rows that were null, NaN or infinite (left out of everything else, as Evidently does).
    minimum, maximum
        Of the finite values (NaN when there are none).
    mean, m2
        Mean and sum of squared deviations of the finite values (Chan's parallel form).
    new_values
        Up to :data:`NEW_VALUES_CAP` distinct finite values that are not edges of an atomic
        grid (a value the reference never had); empty for a non-atomic grid.
    new_values_overflow
        Whether more new values were seen than are kept.
    """

    grid: Grid
    counts: np.ndarray
    sums: np.ndarray
    nulls: int = 0
    minimum: float = math.nan
    maximum: float = math.nan
    mean: float = math.nan
    m2: float = 0.0
    new_values: tuple[float, ...] = ()
    new_values_overflow: bool = False

    def __post_init__(self) -> None:
        cells = self.grid.cells
        if self.counts.shape != (cells,) or self.sums.shape != (cells,):
            raise ValueError(f"a histogram over {cells} cells needs {cells} counts and sums")

    @property
    def count(self) -> int:
        """Number of finite values."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """Rows seen, including nulls."""
        return self.count + self.nulls

    @property
    def std(self) -> float:
        """Population standard deviation (``ddof=0``, as ``numpy.std``)."""
        n = self.count
        return math.sqrt(max(self.m2, 0.0) / n) if n else math.nan

    @property
    def distinct_new(self) -> int:
        """Distinct values off an atomic grid (a lower bound when overflowed)."""
        return len(self.new_values)

    @classmethod
    def empty(cls, grid: Grid) -> NumericHistogram:
        """No rows yet."""
        return cls(grid, np.zeros(grid.cells, dtype=np.int64), np.zeros(grid.cells))

    def merge(self, other: NumericHistogram) -> NumericHistogram:
        """Add another histogram over the same grid."""
        if not self.grid.same_as(other.grid):
            raise ValueError("cannot merge histograms over different grids")
        n1, n2 = self.count, other.count
        if n1 == 0:
            mean, m2 = other.mean, other.m2
        elif n2 == 0:
            mean, m2 = self.mean, self.m2
        else:
            delta = other.mean - self.mean
            total = n1 + n2
            mean = self.mean + delta * n2 / total
            m2 = self.m2 + other.m2 + delta * delta * n1 * n2 / total
        new = _merge_new_values(self.new_values, other.new_values)
        return NumericHistogram(
            grid=self.grid,
            counts=self.counts + other.counts,
            sums=self.sums + other.sums,
            nulls=self.nulls + other.nulls,
            minimum=_nanmin(self.minimum, other.minimum),
            maximum=_nanmax(self.maximum, other.maximum),
            mean=mean,
            m2=m2,
            new_values=new[:NEW_VALUES_CAP],
            new_values_overflow=self.new_values_overflow
            or other.new_values_overflow
            or len(new) > NEW_VALUES_CAP,
        )

    __add__ = merge

    # -- views used by the drift statistics -------------------------------------------------
    def point_counts(self) -> np.ndarray:
        """Rows exactly at each edge."""
        return self.counts[1::2]

    def interval_counts(self) -> np.ndarray:
        """Rows in the open cells: below ``e_0``, between edges, above ``e_k`` (``k + 2``)."""
        return self.counts[0::2]

    def bin_counts(self, n_bins: int | None = None) -> np.ndarray:
        """Counts over right-closed bins ``(-inf, e_0], (e_0, e_1], ..., (e_k, inf)``.

        With ``n_bins``, consecutive inner bins are merged into about ``n_bins`` groups of equal
        reference width in edges (the tails stay separate).
        """
        per_edge = self.counts[0:-1].reshape(-1, 2).sum(axis=1)  # (-inf,e0], (e0,e1], ...
        tail = self.counts[-1:]
        bins = np.concatenate([per_edge, tail])
        if n_bins is None or n_bins >= bins.size - 2:
            return bins
        inner = bins[1:-1]
        groups = np.array_split(np.arange(inner.size), max(n_bins, 1))
        merged = np.array([inner[g].sum() for g in groups if g.size], dtype=np.int64)
        return np.concatenate([bins[:1], merged, bins[-1:]])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; lossless (floats round-trip through ``repr``)."""
        return {
            "grid": self.grid.to_dict(),
            "counts": self.counts.tolist(),
            "sums": self.sums.tolist(),
            "nulls": self.nulls,
            "min": _json_float(self.minimum),
            "max": _json_float(self.maximum),
            "mean": _json_float(self.mean),
            "m2": self.m2,
            "new_values": list(self.new_values),
            "new_values_overflow": self.new_values_overflow,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], grid: Grid | None = None) -> NumericHistogram:
        """Inverse of :meth:`to_dict` (``grid`` reuses an already parsed grid)."""
        return cls(
            grid=grid if grid is not None else Grid.from_dict(data["grid"]),
            counts=np.asarray(data["counts"], dtype=np.int64),
            sums=np.asarray(data["sums"], dtype=np.float64),
            nulls=int(data["nulls"]),
            minimum=_float(data["min"]),
            maximum=_float(data["max"]),
            mean=_float(data["mean"]),
            m2=float(data["m2"]),
            new_values=tuple(float(v) for v in data.get("new_values", [])),
            new_values_overflow=bool(data.get("new_values_overflow", False)),
        )


def _json_float(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _nanmin(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    return a if math.isnan(b) else min(a, b)


def _nanmax(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    return a if math.isnan(b) else max(a, b)


def _merge_new_values(a: Iterable[float], b: Iterable[float]) -> tuple[float, ...]:
    return tuple(sorted(set(a) | set(b)))


def as_float_array(values: Any) -> np.ndarray:
    """A numeric column (numpy, pandas, polars, pyarrow, narwhals) as ``float64``, nulls NaN."""
    if isinstance(values, nw.Series):
        if values.dtype == nw.Boolean or not values.dtype.is_numeric():
            values = values.cast(nw.Float64)
        arr = values.to_numpy()
    else:
        arr = np.asarray(values)
    if arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    return arr


def _histogram_sorted(sorted_values: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Counts and sums per cell of an already sorted array of finite values."""
    edges = grid.edges
    left = np.searchsorted(sorted_values, edges, side="left")
    right = np.searchsorted(sorted_values, edges, side="right")
    bounds = np.empty(2 * edges.size + 2, dtype=np.int64)
    bounds[0] = 0
    bounds[1:-1:2] = left
    bounds[2:-1:2] = right
    bounds[-1] = sorted_values.size
    counts = np.diff(bounds)
    sums = np.zeros(counts.size)
    nonempty = counts > 0
    if nonempty.any():
        starts = bounds[:-1][nonempty]
        sums[nonempty] = np.add.reduceat(sorted_values, starts)
    # Point cells hold copies of one value: their sum is exact as count * edge.
    sums[1::2] = counts[1::2] * edges
    return counts.astype(np.int64), sums


def numeric_histogram(
    values: Any, grid: Grid, *, chunk_rows: int = CHUNK_ROWS, track_new: bool | None = None
) -> NumericHistogram:
    """Histogram of a numeric column over ``grid``, counted chunk by chunk.

    Parameters
    ----------
    values
        The column: numpy array, pandas/polars/pyarrow/narwhals series. Nulls, NaN and
        infinities are counted as ``nulls`` and left out.
    grid
        The cells to count over.
    chunk_rows
        Rows sorted at a time; memory beyond the data stays ``O(chunk_rows)``.
    track_new
        Remember values that are not edges (default: when the grid is atomic).

    Returns
    -------
    NumericHistogram
    """
    arr = as_float_array(values)
    track = grid.atomic if track_new is None else track_new
    result = NumericHistogram.empty(grid)
    for start in range(0, max(arr.size, 1), chunk_rows):
        chunk = arr[start : start + chunk_rows]
        result = result.merge(_histogram_chunk(chunk, grid, track))
    return result


def _histogram_chunk(chunk: np.ndarray, grid: Grid, track_new: bool) -> NumericHistogram:
    return histogram_of_sorted(np.sort(chunk), grid, track_new=track_new)


def finite_part(ordered: np.ndarray) -> np.ndarray:
    """The finite values of a sorted float array (a view: NaN sort last, infinities outside)."""
    lo = int(np.searchsorted(ordered, -np.inf, side="right"))
    hi = int(np.searchsorted(ordered, np.inf, side="left"))
    return ordered[lo:hi]


def histogram_of_sorted(
    ordered: np.ndarray, grid: Grid, *, track_new: bool = False
) -> NumericHistogram:
    """Histogram of an already sorted ``float64`` array (NaN and infinities count as nulls)."""
    finite = finite_part(ordered)
    nulls = ordered.size - finite.size
    if finite.size == 0:
        return NumericHistogram(grid, *_zeros(grid), nulls=nulls)
    counts, sums = _histogram_sorted(finite, grid)
    total = float(sums.sum())
    mean = total / finite.size
    m2 = float(np.square(finite - mean).sum())
    new: tuple[float, ...] = ()
    overflow = False
    if track_new and counts[0::2].any():
        off_grid = _off_grid_values(finite, grid.edges)
        overflow = off_grid.size > NEW_VALUES_CAP
        new = tuple(float(v) for v in off_grid[:NEW_VALUES_CAP])
    return NumericHistogram(
        grid=grid,
        counts=counts,
        sums=sums,
        nulls=nulls,
        minimum=float(finite[0]),
        maximum=float(finite[-1]),
        mean=mean,
        m2=m2,
        new_values=new,
        new_values_overflow=overflow,
    )


def _zeros(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(grid.cells, dtype=np.int64), np.zeros(grid.cells)


def _off_grid_values(sorted_finite: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Distinct values of a sorted array that are not edges (at most ``CAP + 1`` returned)."""
    pos = np.searchsorted(edges, sorted_finite, side="left")
    at = np.minimum(pos, edges.size - 1)
    off = sorted_finite[edges[at] != sorted_finite]
    if off.size == 0:
        return off
    change = np.flatnonzero(off[1:] != off[:-1])
    firsts = np.concatenate([off[:1], off[change + 1]])
    return firsts[: NEW_VALUES_CAP + 1]


def cell_expression(column: str, grid: Grid, *, null_cell: int = -1) -> nw.Expr:
    """A narwhals expression giving each row's cell index over ``grid``.

    A balanced tree of ``when/then`` comparisons (depth ``log2(len(edges))``), so engines that
    evaluate ``CASE`` lazily (DuckDB, Spark) do a binary search per row. Nulls, NaN and
    infinities get ``null_cell``.
    """
    x = nw.col(column)
    edges = grid.edges.tolist()

    def node(lo: int, hi: int) -> nw.Expr:
        # Rows here have e_{lo-1} < x <= e_hi (with e_{-1} = -inf, e_{k+1} = +inf).
        if lo == hi:
            if lo == len(edges):
                return nw.lit(2 * lo)
            return nw.when(x == edges[lo]).then(nw.lit(2 * lo + 1)).otherwise(nw.lit(2 * lo))
        mid = (lo + hi) // 2
        return nw.when(x <= edges[mid]).then(node(lo, mid)).otherwise(node(mid + 1, hi))

    finite = x.is_finite().fill_null(value=False)
    return nw.when(finite).then(node(0, len(edges))).otherwise(nw.lit(null_cell))
