"""Data profiles: the compact, mergeable summary monitoring compares against.

A :class:`DataProfile` keeps, per column, what every drift statistic needs and nothing more:

* numeric columns: a :class:`~charter.stats.histogram.NumericHistogram` over a grid of reference
  quantile edges (or, with at most ``max_atoms`` distinct values, over the distinct values
  themselves), with min, max, mean, sum of squared deviations and the null count;
* categorical columns: :class:`~charter.stats.histogram.CategoryCounts`;
* embedding columns: a uniform sample of at most ``embedding_sample`` vectors.

A reference of at most ``max_atoms`` (1,000) rows therefore keeps every raw value (as distinct
values with their counts): the Kolmogorov-Smirnov and chi-square tests Evidently runs on small
references are computed exactly from it.

:func:`build_profile` profiles a reference; :func:`profile_against` summarises new data over a
reference's grids, optionally per group of rows (time windows), so both sides of a drift test
come from the same cells. Eager frames (pandas, polars, pyarrow) are counted with numpy, one
sort per chunk of rows; lazy frames (DuckDB, Spark, polars LazyFrame) bin inside their engine
through narwhals expressions and only the cell counts leave it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.frames import column_names, is_lazy, require_columns, to_frame
from charter.stats.histogram import (
    CHUNK_ROWS,
    NEW_VALUES_CAP,
    CategoryCounts,
    Grid,
    NumericHistogram,
    as_float_array,
    category_counts,
    cell_expression,
    finite_part,
    histogram_of_sorted,
    numeric_histogram,
)

PROFILE_FORMAT = "charter.profile"
PROFILE_VERSION = 1
#: Evidently 0.7 treats an integer column with at most this many distinct values as categorical.
INTEGER_CARDINALITY_LIMIT = 10
#: Evidently 0.7 treats a string column whose distinct values exceed this share of its non-null
#: rows as text (not compared by the categorical tests).
TEXT_UNIQUE_SHARE = 0.5
#: Distinct values up to which a numeric column is kept exactly (value by value).
MAX_ATOMS = 1000
DEFAULT_BINS = 100
EMBEDDING_SAMPLE = 1000

T = TypeVar("T")


class ColumnKind(StrEnum):
    """How a column is compared."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    TEXT = "text"
    """High-cardinality strings (ids, free text): profiled for nulls only, not drift-tested."""
    DATETIME = "datetime"
    EMBEDDING = "embedding"
    UNKNOWN = "unknown"


def infer_kind(
    dtype: Any,
    *,
    nunique: Callable[[], int],
    count: Callable[[], int],
    first_value: Callable[[], Any] | None = None,
) -> ColumnKind:
    """Column kind by Evidently 0.7's rule (``evidently.core.datasets.infer_column_type``).

    * float → numerical;
    * integer → categorical with at most 10 distinct non-null values, else numerical;
    * string → text when distinct values exceed half the non-null rows, else categorical;
    * boolean, categorical, enum → categorical; date and time → datetime;
    * list or array of numbers → embedding (Evidently: list, not drift-tested by default).

    Charter also applies the rule to nullable integer, float and boolean columns, which
    Evidently classes as unknown and leaves out.

    Parameters
    ----------
    dtype
        A narwhals dtype.
    nunique, count
        Callables giving the number of distinct non-null values and of non-null rows (only
        called when the dtype needs them).
    first_value
        Callable giving the first non-null value, for object columns.
    """
    if dtype.is_float() or dtype == nw.Decimal:
        return ColumnKind.NUMERICAL
    if dtype.is_integer():
        return (
            ColumnKind.CATEGORICAL
            if nunique() <= INTEGER_CARDINALITY_LIMIT
            else ColumnKind.NUMERICAL
        )
    if dtype == nw.String:
        return (
            ColumnKind.TEXT if nunique() > count() * TEXT_UNIQUE_SHARE else ColumnKind.CATEGORICAL
        )
    if dtype in (nw.Boolean, nw.Categorical) or isinstance(dtype, nw.Enum) or dtype == nw.Enum:
        return ColumnKind.CATEGORICAL
    if dtype in (nw.Datetime, nw.Date, nw.Duration) or isinstance(dtype, nw.Datetime | nw.Duration):
        return ColumnKind.DATETIME
    if isinstance(dtype, nw.List | nw.Array) or dtype in (nw.List, nw.Array):
        return ColumnKind.EMBEDDING
    if dtype == nw.Object and first_value is not None:
        value = first_value()
        if isinstance(value, str):
            return (
                ColumnKind.TEXT
                if nunique() > count() * TEXT_UNIQUE_SHARE
                else ColumnKind.CATEGORICAL
            )
        if isinstance(value, list | tuple | np.ndarray):
            return ColumnKind.EMBEDDING
    return ColumnKind.UNKNOWN


@dataclass(frozen=True, eq=False)
class EmbeddingSample:
    """A uniform sample of the vectors of an embedding column, with their count and mean.

    Attributes
    ----------
    vectors
        ``float32`` array ``(sample, dim)``.
    count
        Vectors seen (the sample is uniform over them).
    total
        ``float64`` sum of every vector seen (for the mean).
    """

    vectors: np.ndarray
    count: int
    total: np.ndarray

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def merge(self, other: EmbeddingSample, *, limit: int = EMBEDDING_SAMPLE) -> EmbeddingSample:
        """Combine two samples into a uniform sample of the union (seeded, reproducible)."""
        if self.count == 0:
            return other
        if other.count == 0:
            return self
        if self.dim != other.dim:
            raise ValueError(f"embedding dimensions differ: {self.dim} and {other.dim}")
        size = min(limit, len(self.vectors) + len(other.vectors))
        rng = np.random.default_rng(self.count * 1_000_003 + other.count)
        share = self.count / (self.count + other.count)
        take_self = min(len(self.vectors), int(rng.binomial(size, share)))
        take_other = min(len(other.vectors), size - take_self)
        take_self = min(len(self.vectors), size - take_other)
        a = self.vectors[rng.choice(len(self.vectors), take_self, replace=False)]
        b = other.vectors[rng.choice(len(other.vectors), take_other, replace=False)]
        return EmbeddingSample(
            np.concatenate([a, b]), self.count + other.count, self.total + other.total
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"vectors": self.vectors.tolist(), "count": self.count, "total": self.total.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbeddingSample:
        """Inverse of :meth:`to_dict`."""
        vectors = np.asarray(data["vectors"], dtype=np.float32)
        total = np.asarray(data["total"], dtype=np.float64)
        return cls(vectors.reshape(-1, total.size), int(data["count"]), total)


def embedding_sample(
    values: Any, *, limit: int = EMBEDDING_SAMPLE, seed: int = 0
) -> EmbeddingSample:
    """Sample the vectors of an embedding column (a list/array column or a 2-d array)."""
    matrix = _as_matrix(values)
    rng = np.random.default_rng(seed)
    rows = matrix.shape[0]
    pick = np.sort(rng.choice(rows, min(limit, rows), replace=False)) if rows > limit else None
    sample = matrix if pick is None else matrix[pick]
    return EmbeddingSample(sample.astype(np.float32), rows, matrix.sum(axis=0, dtype=np.float64))


def _as_matrix(values: Any) -> np.ndarray:
    if isinstance(values, nw.Series):
        native = values.to_native()
        to_arrow = getattr(native, "to_arrow", None)
        if callable(to_arrow):
            import pyarrow as pa

            arrow = to_arrow()
            if isinstance(arrow, pa.ChunkedArray):
                arrow = arrow.combine_chunks()
            if (
                pa.types.is_list(arrow.type)
                or pa.types.is_large_list(arrow.type)
                or pa.types.is_fixed_size_list(arrow.type)
            ):
                if arrow.null_count:
                    raise DataError(
                        f"embedding column '{values.name}' has {arrow.null_count} null vectors",
                        hint="drop the rows without an embedding before monitoring",
                    )
                flat = arrow.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
                return flat.reshape(len(arrow), -1) if len(arrow) else flat.reshape(0, 0)
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype == object:
        if any(v is None for v in arr):
            raise DataError(
                "an embedding column has null vectors",
                hint="drop the rows without an embedding before monitoring",
            )
        arr = np.stack([np.asarray(v, dtype=np.float64) for v in arr]) if arr.size else arr
    if arr.ndim != 2:
        raise DataError(
            "an embedding column must hold vectors of one length",
            hint="store each embedding as a fixed-length list or array of numbers",
        )
    return arr.astype(np.float64, copy=False)


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """What is kept of one column.

    Attributes
    ----------
    name, kind, dtype
        Column name, how it is compared, and its narwhals dtype.
    rows
        Rows seen (including nulls).
    nulls
        Null rows (plus NaN and infinite values of numeric columns).
    numeric, categories, embedding
        The summary for the column's kind (the others are ``None``).
    """

    name: str
    kind: ColumnKind
    dtype: str
    rows: int
    nulls: int
    numeric: NumericHistogram | None = None
    categories: CategoryCounts | None = None
    embedding: EmbeddingSample | None = None

    @property
    def count(self) -> int:
        """Non-null rows."""
        return self.rows - self.nulls

    @property
    def null_fraction(self) -> float:
        """Share of null rows (NaN for no rows)."""
        return self.nulls / self.rows if self.rows else math.nan

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """Add another profile of the same column (same kind and grid)."""
        if other.kind is not self.kind:
            raise ValueError(f"column '{self.name}' is {self.kind} here and {other.kind} there")
        return ColumnProfile(
            name=self.name,
            kind=self.kind,
            dtype=self.dtype,
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            numeric=_merge_opt(self.numeric, other.numeric, lambda a, b: a.merge(b)),
            categories=_merge_opt(self.categories, other.categories, lambda a, b: a.merge(b)),
            embedding=_merge_opt(self.embedding, other.embedding, lambda a, b: a.merge(b)),
        )

    def empty_like(self) -> ColumnProfile:
        """A profile of no rows over the same grid (for an empty window)."""
        return ColumnProfile(
            name=self.name,
            kind=self.kind,
            dtype=self.dtype,
            rows=0,
            nulls=0,
            numeric=NumericHistogram.empty(self.numeric.grid) if self.numeric else None,
            categories=CategoryCounts() if self.categories is not None else None,
            embedding=(
                EmbeddingSample(
                    np.zeros((0, self.embedding.dim), np.float32), 0, np.zeros(self.embedding.dim)
                )
                if self.embedding
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "dtype": self.dtype,
            "rows": self.rows,
            "nulls": self.nulls,
        }
        if self.numeric is not None:
            out["numeric"] = self.numeric.to_dict()
        if self.categories is not None:
            out["categories"] = self.categories.to_dict()
        if self.embedding is not None:
            out["embedding"] = self.embedding.to_dict()
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=name,
            kind=ColumnKind(data["kind"]),
            dtype=str(data["dtype"]),
            rows=int(data["rows"]),
            nulls=int(data["nulls"]),
            numeric=NumericHistogram.from_dict(data["numeric"]) if "numeric" in data else None,
            categories=CategoryCounts.from_dict(data["categories"])
            if "categories" in data
            else None,
            embedding=EmbeddingSample.from_dict(data["embedding"]) if "embedding" in data else None,
        )


def _merge_opt(a: T | None, b: T | None, merge: Callable[[T, T], T]) -> T | None:
    if a is None:
        return b
    if b is None:
        return a
    return merge(a, b)


@dataclass(frozen=True, eq=False)
class DataProfile:
    """Profiles of the columns of a frame: a reference, or new data over a reference's grids.

    Attributes
    ----------
    columns
        Column name to :class:`ColumnProfile`, in the frame's order.
    rows
        Rows profiled.
    bins
        Quantile bins of numeric grids (when built as a reference).
    max_atoms
        Distinct values up to which numeric columns were kept exactly.
    created_at
        When the profile was built (UTC).
    start, end
        The time window the rows fall in, for a windowed summary of new data.
    """

    columns: dict[str, ColumnProfile]
    rows: int
    bins: int = DEFAULT_BINS
    max_atoms: int = MAX_ATOMS
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    start: datetime | None = None
    end: datetime | None = None

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def schema(self) -> dict[str, str]:
        """Column name to kind."""
        return {n: c.kind.value for n, c in self.columns.items()}

    def merge(self, other: DataProfile) -> DataProfile:
        """Add the rows of another profile over the same grids (e.g. two windows).

        Columns present on one side only are kept as they are.
        """
        merged = dict(self.columns)
        for name, col in other.columns.items():
            merged[name] = merged[name].merge(col) if name in merged else col
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return replace(
            self,
            columns=merged,
            rows=self.rows + other.rows,
            start=min(starts) if starts else None,
            end=max(ends) if ends else None,
        )

    __add__ = merge

    def empty_like(
        self, *, start: datetime | None = None, end: datetime | None = None
    ) -> DataProfile:
        """No rows over the same grids."""
        return DataProfile(
            {n: c.empty_like() for n, c in self.columns.items()},
            0,
            self.bins,
            self.max_atoms,
            start=start,
            end=end,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what the registry stores for a model version)."""
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "rows": self.rows,
            "bins": self.bins,
            "max_atoms": self.max_atoms,
            "created_at": self.created_at.isoformat(),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "columns": {n: c.to_dict() for n, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataProfile:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        DataError
            When ``data`` is not a Charter profile or of a newer format version.
        """
        if not isinstance(data, Mapping) or data.get("format") != PROFILE_FORMAT:
            raise DataError(
                "this is not a Charter data profile",
                hint="pass a profile written by build_profile(...).write(), or a data file",
            )
        if int(data.get("version", 0)) > PROFILE_VERSION:
            raise DataError(
                f"profile format version {data['version']} is newer than this Charter"
                f" understands ({PROFILE_VERSION})",
                hint="upgrade charter-governance",
            )
        return cls(
            columns={n: ColumnProfile.from_dict(n, c) for n, c in data["columns"].items()},
            rows=int(data["rows"]),
            bins=int(data.get("bins", DEFAULT_BINS)),
            max_atoms=int(data.get("max_atoms", MAX_ATOMS)),
            created_at=datetime.fromisoformat(data["created_at"]),
            start=datetime.fromisoformat(data["start"]) if data.get("start") else None,
            end=datetime.fromisoformat(data["end"]) if data.get("end") else None,
        )

    def to_json(self) -> str:
        """Compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    def write(self, path: str | Path) -> Path:
        """Write the profile as JSON and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def read(cls, path: str | Path) -> DataProfile:
        """Read a profile written by :meth:`write`."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(
                f"profile file {source} does not exist", hint="check the path"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"profile file {source} is not valid JSON: {exc}",
                hint="pass a profile written by Charter, or a Parquet/CSV data file",
            ) from None
        return cls.from_dict(data)


# -- building a reference profile ---------------------------------------------------------------


def build_profile(
    frame: Any,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_atoms: int = MAX_ATOMS,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    embedding_sample_size: int = EMBEDDING_SAMPLE,
    seed: int = 0,
    workers: int | None = None,
) -> DataProfile:
    """Profile a reference frame (the training or validation data of a model version).

    Parameters
    ----------
    frame
        pandas, polars (eager or lazy), pyarrow, DuckDB relation, Spark DataFrame, narwhals.
    columns
        Columns to profile (default: all).
    bins
        Quantile bins for numeric columns with more than ``max_atoms`` distinct values.
    max_atoms
        Numeric columns with at most this many distinct values keep every value exactly; a
        reference of at most ``max_atoms`` rows thus keeps its raw values, which Evidently's
        exact tests (Kolmogorov-Smirnov, chi-square) on small references need.
    kinds
        Override the inferred kind of some columns (``numerical``, ``categorical``,
        ``embedding``, ...).
    embedding_sample_size
        Vectors kept per embedding column.
    seed
        Seed of the embedding sample.
    workers
        Threads profiling columns in parallel (default: CPU count, at most 8).

    Returns
    -------
    DataProfile
    """
    data = to_frame(frame)
    names = list(columns) if columns is not None else column_names(data)
    require_columns(data, names, role="column to profile")
    overrides = {k: ColumnKind(v) for k, v in (kinds or {}).items()}
    if bins < 1 or max_atoms < 1:
        raise DataError("bins and max_atoms must be at least 1", hint="use e.g. bins=100")
    if is_lazy(data):
        assert isinstance(data, nw.LazyFrame)
        cols, rows = build_profile_lazy(data, names, bins, max_atoms, overrides)
        return DataProfile(cols, rows, bins, max_atoms)
    assert isinstance(data, nw.DataFrame)
    schema = data.collect_schema()
    rows = int(data.shape[0])

    def one(name: str) -> ColumnProfile:
        return _profile_series(
            data.get_column(name),
            name,
            overrides.get(name),
            str(schema[name]),
            bins,
            max_atoms,
            embedding_sample_size,
            seed,
        )

    profiles = _parallel(one, names, workers)
    return DataProfile(dict(zip(names, profiles, strict=True)), rows, bins, max_atoms)


def _parallel(func: Callable[[str], T], names: Sequence[str], workers: int | None) -> list[T]:
    n = workers if workers is not None else min(8, os.cpu_count() or 1)
    if n <= 1 or len(names) <= 1:
        return [func(name) for name in names]
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(func, names))


def _profile_series(
    series: nw.Series[Any],
    name: str,
    kind: ColumnKind | None,
    dtype: str,
    bins: int,
    max_atoms: int,
    sample_size: int,
    seed: int,
) -> ColumnProfile:
    rows = len(series)
    counts: CategoryCounts | None = None
    if kind is None and (isinstance(series.dtype, nw.List | nw.Array)):
        kind = ColumnKind.EMBEDDING
    if kind is None and series.dtype == nw.Object:
        non_null = series.drop_nulls()
        if len(non_null) and isinstance(non_null.item(0), list | tuple | np.ndarray):
            kind = ColumnKind.EMBEDDING
    if kind is None:
        if series.dtype.is_integer() or series.dtype.is_float() or series.dtype.is_temporal():
            counter: Callable[[], int] = lambda: rows - int(series.null_count())  # noqa: E731
            unique: Callable[[], int] = lambda: int(series.drop_nulls().n_unique())  # noqa: E731
        else:
            # Strings, booleans, categoricals: the counts are needed anyway and give both.
            counts = category_counts(series)
            counter = lambda: counts.count if counts is not None else 0  # noqa: E731
            unique = lambda: len(counts.values) if counts is not None else 0  # noqa: E731

        def first() -> Any:
            non_null = series.drop_nulls()
            return non_null.item(0) if len(non_null) else None

        kind = infer_kind(series.dtype, nunique=unique, count=counter, first_value=first)
    if kind is ColumnKind.NUMERICAL:
        if rows <= CHUNK_ROWS:
            ordered = np.sort(_numeric_values(series, name))
            grid = Grid.from_sorted(finite_part(ordered), bins=bins, max_atoms=max_atoms)
            hist = histogram_of_sorted(ordered, grid)
        else:
            hist = _numeric_profile_chunked(series, name, bins, max_atoms, seed)
        return ColumnProfile(name, kind, dtype, rows, hist.nulls, numeric=hist)
    if kind is ColumnKind.CATEGORICAL:
        counts = counts if counts is not None else category_counts(series)
        return ColumnProfile(name, kind, dtype, rows, counts.nulls, categories=counts)
    if kind is ColumnKind.EMBEDDING:
        sample = embedding_sample(series.drop_nulls(), limit=sample_size, seed=seed)
        return ColumnProfile(name, kind, dtype, rows, rows - sample.count, embedding=sample)
    nulls = counts.nulls if counts is not None else int(series.null_count())
    return ColumnProfile(name, kind, dtype, rows, nulls)


#: Values sampled (uniformly, seeded) to place the quantile edges of a large column.
QUANTILE_SAMPLE = 1 << 18


def _numeric_profile_chunked(
    series: nw.Series[Any], name: str, bins: int, max_atoms: int, seed: int
) -> NumericHistogram:
    """Profile a long numeric column in chunks: memory stays O(chunk), not O(column).

    A first pass finds the minimum, the maximum and, while there are at most ``max_atoms``,
    the distinct values; quantile edges of a column with more come from a uniform sample of
    :data:`QUANTILE_SAMPLE` values (the counts over them are exact, only the edges'
    positions are sampled). A second pass counts.
    """
    rows = len(series)
    atoms: set[float] | None = set()
    lo, hi = math.inf, -math.inf
    for start in range(0, rows, CHUNK_ROWS):
        chunk = _numeric_values(series[start : start + CHUNK_ROWS], name)
        finite = chunk[np.isfinite(chunk)]
        if finite.size == 0:
            continue
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if atoms is not None:
            distinct = np.unique(finite)
            if distinct.size > max_atoms:
                atoms = None
            else:
                atoms.update(distinct.tolist())
                if len(atoms) > max_atoms:
                    atoms = None
    if atoms is not None:
        grid = Grid(np.asarray(sorted(atoms)) if atoms else np.zeros(1), atomic=True)
    else:
        rng = np.random.default_rng(seed)
        picks = np.sort(rng.integers(0, rows, min(rows, QUANTILE_SAMPLE)))
        sample = np.sort(_numeric_values(series[picks], name))
        sample = finite_part(sample)
        positions = np.round(np.linspace(0, sample.size - 1, bins + 1)).astype(np.int64)
        inner = sample[positions][1:-1]
        edges = np.unique(np.concatenate([[lo], inner[(inner > lo) & (inner < hi)], [hi]]))
        grid = Grid(edges, atomic=False)
    result = NumericHistogram.empty(grid)
    for start in range(0, rows, CHUNK_ROWS):
        chunk = _numeric_values(series[start : start + CHUNK_ROWS], name)
        result = result.merge(histogram_of_sorted(np.sort(chunk), grid))
    return result


def _numeric_values(series: nw.Series[Any], name: str) -> np.ndarray:
    try:
        return as_float_array(series)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"column '{name}' is numeric in the reference but holds non-numbers here: {exc}",
            hint=f"convert '{name}' to numbers, or give it kind 'categorical'",
        ) from exc


# -- summarising new data over a reference's grids ----------------------------------------------


@dataclass(frozen=True)
class RowGroups:
    """Rows of an eager frame split into groups (time windows).

    Attributes
    ----------
    codes
        Group of each row, ``0 <= code < size``; rows with code ``-1`` are left out.
    size
        Number of groups.
    """

    codes: np.ndarray
    size: int


def profile_against(
    frame: Any,
    reference: DataProfile,
    *,
    columns: Sequence[str] | None = None,
    groups: RowGroups | None = None,
    workers: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[DataProfile]:
    """Summarise an eager frame over the grids of ``reference``, per group of rows.

    Parameters
    ----------
    frame
        The new data (pandas, polars, pyarrow or narwhals eager frame).
    reference
        The reference profile whose grids and kinds are used.
    columns
        Columns to summarise (default: the reference's columns present in ``frame``).
    groups
        Split rows into groups (one profile each); default: one group of every row.
    workers
        Threads working on columns in parallel.
    chunk_rows
        Rows handled at a time per column (bounds the extra memory).

    Returns
    -------
    list of DataProfile
        One per group, in group order (a group without rows gives an empty profile).
    """
    data = to_frame(frame)
    if is_lazy(data):
        raise DataError(
            "profile_against works on eager frames; use profile_against_lazy for a lazy one"
        )
    assert isinstance(data, nw.DataFrame)
    present = set(column_names(data))
    names = [c for c in (columns or reference.columns) if c in present and c in reference.columns]
    rows = int(data.shape[0])
    n_groups = groups.size if groups is not None else 1
    plan = _GroupPlan.build(groups, rows, chunk_rows)

    def one(name: str) -> list[ColumnProfile]:
        return _summarise_column(data.get_column(name), reference.columns[name], plan, n_groups)

    per_column = _parallel(one, names, workers)
    out = []
    for g in range(n_groups):
        cols = {name: per_column[i][g] for i, name in enumerate(names)}
        out.append(DataProfile(cols, plan.group_rows[g], reference.bins, reference.max_atoms))
    return out


@dataclass(frozen=True)
class _GroupPlan:
    """Per chunk of rows: the row order that makes groups contiguous, and group bounds."""

    chunks: list[tuple[int, int, np.ndarray | None, np.ndarray]]
    group_rows: list[int]

    @classmethod
    def build(cls, groups: RowGroups | None, rows: int, chunk_rows: int) -> _GroupPlan:
        chunks: list[tuple[int, int, np.ndarray | None, np.ndarray]] = []
        if groups is None:
            for start in range(0, rows, chunk_rows):
                stop = min(rows, start + chunk_rows)
                chunks.append((start, stop, None, np.array([0, 0, stop - start])))
            return cls(chunks, [rows])
        codes = np.asarray(groups.codes)
        if codes.shape[0] != rows:
            raise ValueError("one group code per row is needed")
        totals = np.bincount(codes[codes >= 0], minlength=groups.size)
        for start in range(0, rows, chunk_rows):
            stop = min(rows, start + chunk_rows)
            part = codes[start:stop]
            if part.size > 1 and (part[1:] >= part[:-1]).all():
                order = None
                ordered = part
            else:
                small = part.astype(np.int16) if groups.size < 32_000 else part
                order = np.argsort(small, kind="stable").astype(np.int64)
                ordered = part[order]
            bounds = np.searchsorted(ordered, np.arange(-1, groups.size + 1), side="left")
            # bounds[0] .. bounds[1]: rows left out (-1); bounds[g+1]..bounds[g+2]: group g
            chunks.append((start, stop, order, bounds))
        return cls(chunks, [int(t) for t in totals])


def _summarise_column(
    series: nw.Series[Any], ref: ColumnProfile, plan: _GroupPlan, n_groups: int
) -> list[ColumnProfile]:
    name, kind = ref.name, ref.kind
    acc: list[ColumnProfile] = [ref.empty_like() for _ in range(n_groups)]
    for start, stop, order, bounds in plan.chunks:
        part = series[start:stop]
        values: Any = part
        if kind is ColumnKind.NUMERICAL:
            values = _numeric_values(part, name)
        elif kind is ColumnKind.EMBEDDING:
            values = _as_matrix(part)
        if order is not None:
            values = _take(values, order)
        for g in range(n_groups):
            lo, hi = int(bounds[g + 1]), int(bounds[g + 2])
            if hi <= lo:
                continue
            piece = _slice(values, lo, hi)
            acc[g] = acc[g].merge(_column_piece(piece, ref))
    return acc


def _take(values: Any, order: np.ndarray) -> Any:
    return values[order]


def _slice(values: Any, lo: int, hi: int) -> Any:
    return values[lo:hi]


def _column_piece(values: Any, ref: ColumnProfile) -> ColumnProfile:
    kind = ref.kind
    if kind is ColumnKind.NUMERICAL:
        assert ref.numeric is not None
        hist = numeric_histogram(values, ref.numeric.grid, chunk_rows=max(len(values), 1))
        return ColumnProfile(ref.name, kind, ref.dtype, hist.rows, hist.nulls, numeric=hist)
    if kind is ColumnKind.CATEGORICAL:
        counts = category_counts(values)
        return ColumnProfile(
            ref.name, kind, ref.dtype, counts.rows, counts.nulls, categories=counts
        )
    if kind is ColumnKind.EMBEDDING:
        sample = embedding_sample(values)
        return ColumnProfile(ref.name, kind, ref.dtype, sample.count, 0, embedding=sample)
    n = len(values)
    nulls = int(values.null_count()) if isinstance(values, nw.Series) else 0
    return ColumnProfile(ref.name, kind, ref.dtype, n, nulls)


__all__ = [
    "ColumnKind",
    "ColumnProfile",
    "DataProfile",
    "EmbeddingSample",
    "RowGroups",
    "build_profile",
    "embedding_sample",
    "infer_kind",
    "lazy_histograms",
    "profile_against",
    "profile_against_lazy",
]


# -- lazy engines (DuckDB, Spark, polars LazyFrame) ---------------------------------------------

_KEY = "__charter_group"


def _finite_expr(name: str) -> nw.Expr:
    """The column as Float64 with NaN and infinities turned into nulls."""
    x = nw.col(name).cast(nw.Float64)
    return nw.when(x.is_finite().fill_null(value=False)).then(x)


def _collect(frame: nw.LazyFrame[Any]) -> list[dict[str, Any]]:
    return frame.collect().to_arrow().to_pylist()


def build_profile_lazy(
    frame: nw.LazyFrame[Any],
    names: Sequence[str],
    bins: int,
    max_atoms: int,
    overrides: Mapping[str, ColumnKind],
) -> tuple[dict[str, ColumnProfile], int]:
    """Profile a lazy frame with a few aggregation queries evaluated by its engine.

    One query gives row, null and distinct counts (and, for numeric columns, the finite
    count, mean and quantile edges); one more gives every numeric histogram (binned inside the
    engine by :func:`~charter.stats.histogram.cell_expression`) and one per categorical column
    its value counts.
    """
    schema = frame.collect_schema()
    numeric_dtype = {n: schema[n].is_numeric() and schema[n] != nw.Boolean for n in names}
    exprs: list[nw.Expr] = [nw.len().alias("__rows")]
    for i, name in enumerate(names):
        exprs.append(nw.col(name).null_count().alias(f"n{i}"))
        if numeric_dtype[name]:
            fx = _finite_expr(name)
            exprs += [
                fx.count().alias(f"c{i}"),
                fx.n_unique().alias(f"u{i}"),
                fx.mean().alias(f"m{i}"),
            ]
        elif schema[name] in (nw.String, nw.Boolean, nw.Categorical) or schema[name] == nw.Object:
            exprs.append(nw.col(name).n_unique().alias(f"u{i}"))
    stats = _collect(frame.select(*exprs))[0]
    rows = int(stats["__rows"])
    kinds: dict[str, ColumnKind] = {}
    for i, name in enumerate(names):
        nulls = int(stats[f"n{i}"])
        if numeric_dtype[name]:
            count = int(stats[f"c{i}"])
            distinct = int(stats[f"u{i}"]) - (1 if count < rows else 0)
        else:
            count = rows - nulls
            distinct = int(stats.get(f"u{i}") or 0) - (1 if nulls else 0)
        kinds[name] = overrides.get(name) or infer_kind(
            schema[name], nunique=_const(distinct), count=_const(count)
        )
        stats[f"d{i}"] = distinct
    profiles: dict[str, ColumnProfile] = {}
    grids: dict[str, tuple[Grid, float]] = {}
    quantile_columns = []
    for i, name in enumerate(names):
        kind, dtype = kinds[name], str(schema[name])
        if kind is ColumnKind.NUMERICAL:
            if not numeric_dtype[name]:
                raise DataError(
                    f"column '{name}' is {schema[name]}; it cannot be profiled as numerical",
                    hint="convert it to numbers or give it another kind",
                )
            if int(stats[f"d{i}"]) <= max_atoms:
                counts = _collect(
                    frame.select(_finite_expr(name).alias("v"))
                    .group_by("v", drop_null_keys=True)
                    .agg(nw.len().alias("n"))
                )
                hist = _atomic_histogram(counts, rows)
                profiles[name] = ColumnProfile(name, kind, dtype, rows, hist.nulls, numeric=hist)
            else:
                quantile_columns.append((i, name))
        elif kind is ColumnKind.CATEGORICAL:
            counts = _collect(frame.group_by(name, drop_null_keys=False).agg(nw.len().alias("__n")))
            cats = CategoryCounts.from_pairs((r[name], r["__n"]) for r in counts)
            profiles[name] = ColumnProfile(name, kind, dtype, rows, cats.nulls, categories=cats)
        elif kind is ColumnKind.EMBEDDING:
            raise DataError(
                f"embedding column '{name}' cannot be profiled inside a lazy engine",
                hint="profile embeddings from an eager frame (collect that column first)",
            )
        else:
            profiles[name] = ColumnProfile(name, kind, dtype, rows, int(stats[f"n{i}"]))
    if quantile_columns:
        qs = np.linspace(0.0, 1.0, bins + 1).tolist()
        edges_row = _collect(
            frame.select(
                *[
                    _finite_expr(name).quantile(q, interpolation="linear").alias(f"q{i}_{j}")
                    for i, name in quantile_columns
                    for j, q in enumerate(qs)
                ]
            )
        )[0]
        for i, name in quantile_columns:
            edges = np.unique(np.asarray([edges_row[f"q{i}_{j}"] for j in range(len(qs))], float))
            grids[name] = (Grid(edges, atomic=False), float(stats[f"m{i}"]))
        hists = lazy_histograms(frame, grids, key=None)
        for _, name in quantile_columns:
            hist = hists[(None, name)]
            hist = replace(hist, nulls=rows - hist.count)
            profiles[name] = ColumnProfile(
                name, ColumnKind.NUMERICAL, str(schema[name]), rows, hist.nulls, numeric=hist
            )
    return {n: profiles[n] for n in names}, rows


def _const(value: int) -> Callable[[], int]:
    return lambda: value


def _atomic_histogram(value_counts: list[dict[str, Any]], rows: int) -> NumericHistogram:
    pairs = sorted((float(r["v"]), int(r["n"])) for r in value_counts if r["v"] is not None)
    if not pairs:
        grid = Grid(np.zeros(1), atomic=True)
        return replace(NumericHistogram.empty(grid), nulls=rows)
    values = np.asarray([p[0] for p in pairs])
    counts = np.asarray([p[1] for p in pairs], dtype=np.int64)
    grid = Grid(values, atomic=True)
    cells = np.zeros(grid.cells, dtype=np.int64)
    cells[1::2] = counts
    sums = np.zeros(grid.cells)
    sums[1::2] = counts * values
    n = int(counts.sum())
    mean = float(sums.sum() / n)
    m2 = float((counts * np.square(values - mean)).sum())
    return NumericHistogram(
        grid, cells, sums, rows - n, float(values[0]), float(values[-1]), mean, m2
    )


#: Categorical columns with at most this many reference values are counted inside the shared
#: histogram query (coded by a CASE chain); larger ones get a ``group_by`` of their own.
MAX_CODED_CATEGORIES = 64
_NEW_CODE = -2


def lazy_histograms(
    frame: nw.LazyFrame[Any],
    grids: Mapping[str, tuple[Grid, float]],
    *,
    key: nw.Expr | None,
    categories: Mapping[str, Sequence[Any]] | None = None,
) -> dict[tuple[Any, str], Any]:
    """Histograms of numeric columns and codes of categorical ones, per group, in one query.

    Every column contributes one ``group_by(group, column, cell)`` sub-query and the
    sub-queries are concatenated, so the engine runs a single job (one scan per column).

    Parameters
    ----------
    frame
        The lazy frame.
    grids
        Numeric column name to ``(grid, shift)``; ``shift`` (e.g. the reference mean) keeps the
        sum of squares well conditioned.
    key
        Expression of the group key (a truncated timestamp), or ``None`` for one group.
    categories
        Categorical column name to its reference values; a row's cell is the index of its value
        (``-1`` null, ``-2`` a value the reference does not have).

    Returns
    -------
    dict
        ``(key value, column)`` to a :class:`NumericHistogram` (numeric columns; null counts
        include NaN and infinities) or to ``(counts per value, new rows, nulls)`` (categorical
        columns). The key value is ``None`` without ``key``.
    """
    cats = dict(categories or {})
    if not grids and not cats:
        return {}
    group = key.alias(_KEY) if key is not None else nw.lit(0).alias(_KEY)
    names = [*grids, *cats]
    parts = []
    for i, name in enumerate(names):
        if name in grids:
            grid, shift = grids[name]
            fx = _finite_expr(name)
            cell = cell_expression(name, grid)
            x, d = fx, fx - shift
        else:
            cell = category_code_expression(name, cats[name])
            x = d = nw.lit(0.0)
        parts.append(
            frame.select(
                group,
                nw.lit(i).cast(nw.Int64).alias("__i"),
                cell.cast(nw.Int64).alias("__c"),
                x.cast(nw.Float64).alias("__x"),
                d.cast(nw.Float64).alias("__d"),
            )
            .with_columns((nw.col("__d") * nw.col("__d")).alias("__d2"))
            .group_by(_KEY, "__i", "__c", drop_null_keys=False)
            .agg(
                nw.len().alias("__n"),
                nw.col("__x").sum().alias("__s"),
                nw.col("__d2").sum().alias("__q"),
                nw.col("__x").min().alias("__lo"),
                nw.col("__x").max().alias("__hi"),
            )
        )
    table = nw.concat(parts, how="vertical").collect().to_arrow()
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    acc: dict[tuple[Any, str], dict[str, Any]] = {}
    for r in range(table.num_rows):
        name = names[int(cols["__i"][r])]
        group_value = cols[_KEY][r] if key is not None else None
        code, n = int(cols["__c"][r]), int(cols["__n"][r])
        if name in cats:
            slot = acc.setdefault(
                (group_value, name),
                {"counts": np.zeros(len(cats[name]), dtype=np.int64), "new": 0, "nulls": 0},
            )
            if code == -1:
                slot["nulls"] += n
            elif code == _NEW_CODE:
                slot["new"] += n
            else:
                slot["counts"][code] += n
            continue
        slot = acc.setdefault((group_value, name), _empty_cells(grids[name][0]))
        if code < 0:
            slot["nulls"] += n
            continue
        slot["counts"][code] += n
        slot["sums"][code] += float(cols["__s"][r] or 0.0)
        slot["q"] += float(cols["__q"][r] or 0.0)
        slot["lo"] = min(slot["lo"], float(cols["__lo"][r]))
        slot["hi"] = max(slot["hi"], float(cols["__hi"][r]))
    out: dict[tuple[Any, str], Any] = {}
    for (group_value, name), slot in acc.items():
        if name in cats:
            out[(group_value, name)] = (slot["counts"], slot["new"], slot["nulls"])
            continue
        grid, shift = grids[name]
        n = int(slot["counts"].sum())
        mean = float(slot["sums"].sum() / n) if n else math.nan
        m2 = max(slot["q"] - n * (mean - shift) ** 2, 0.0) if n else 0.0
        slot["sums"][1::2] = slot["counts"][1::2] * grid.edges
        out[(group_value, name)] = NumericHistogram(
            grid,
            slot["counts"],
            slot["sums"],
            slot["nulls"],
            slot["lo"] if n else math.nan,
            slot["hi"] if n else math.nan,
            mean,
            m2,
        )
    return out


def category_code_expression(column: str, values: Sequence[Any]) -> nw.Expr:
    """Index of each row's value among ``values`` (``-1`` for null, ``-2`` for another value)."""
    x = nw.col(column)
    expr: nw.Expr = nw.lit(_NEW_CODE)
    for i in range(len(values) - 1, -1, -1):
        expr = nw.when(x == values[i]).then(nw.lit(i)).otherwise(expr)
    return nw.when(x.is_null()).then(nw.lit(-1)).otherwise(expr)


def _empty_cells(grid: Grid) -> dict[str, Any]:
    return {
        "counts": np.zeros(grid.cells, dtype=np.int64),
        "sums": np.zeros(grid.cells),
        "nulls": 0,
        "q": 0.0,
        "lo": math.inf,
        "hi": -math.inf,
    }


def profile_against_lazy(
    frame: Any,
    reference: DataProfile,
    *,
    columns: Sequence[str] | None = None,
    key: nw.Expr | None = None,
    row_aggregates: Sequence[nw.Expr] = (),
    row_stats: dict[Any, dict[str, Any]] | None = None,
) -> dict[Any, DataProfile]:
    """Summarise a lazy frame over the grids of ``reference``, per value of ``key``.

    Two engine jobs in the common case: one for row and null counts per group, one for every
    histogram and category count (plus one per categorical column with more than
    :data:`MAX_CODED_CATEGORIES` reference values, and one when new values must be named).

    Parameters
    ----------
    frame
        DuckDB relation, Spark DataFrame, polars LazyFrame (or narwhals LazyFrame).
    reference
        The reference profile whose grids and kinds are used.
    columns
        Columns to summarise (default: the reference's columns present in ``frame``).
    key
        Group key expression (e.g. ``nw.col("ts").dt.truncate("1d")``); ``None``: one group,
        returned under the key ``None``. Rows whose key is null form the group ``None``.
    row_aggregates
        Extra aggregations per group (aliased), e.g. the first and last timestamp.
    row_stats
        When given, filled with the per-group row statistics (including ``row_aggregates``).

    Returns
    -------
    dict
        Key value to :class:`DataProfile`, for the keys that have rows.
    """
    data = to_frame(frame)
    if not is_lazy(data):
        data = data.lazy()
    assert isinstance(data, nw.LazyFrame)
    present = set(column_names(data))
    names = [c for c in (columns or reference.columns) if c in present and c in reference.columns]
    group = key.alias(_KEY) if key is not None else nw.lit(0).alias(_KEY)
    keyed = data.with_columns(group)
    stats_rows = _collect(
        keyed.group_by(_KEY, drop_null_keys=False).agg(
            nw.len().alias("__rows"),
            *[nw.col(n).null_count().alias(f"n{i}") for i, n in enumerate(names)],
            *row_aggregates,
        )
    )
    groups = {(r[_KEY] if key is not None else None): r for r in stats_rows}
    if row_stats is not None:
        row_stats.update(groups)
    key_expr = nw.col(_KEY) if key is not None else None
    grids: dict[str, tuple[Grid, float]] = {}
    coded: dict[str, list[Any]] = {}
    wide: list[str] = []
    for name in names:
        ref = reference.columns[name]
        if ref.kind is ColumnKind.NUMERICAL and ref.numeric is not None:
            shift = ref.numeric.mean if not math.isnan(ref.numeric.mean) else 0.0
            grids[name] = (ref.numeric.grid, shift)
        elif ref.kind is ColumnKind.CATEGORICAL and ref.categories is not None:
            if len(ref.categories.values) <= MAX_CODED_CATEGORIES:
                coded[name] = list(ref.categories.values)
            else:
                wide.append(name)
        elif ref.kind is ColumnKind.EMBEDDING:
            raise DataError(
                f"embedding column '{name}' cannot be summarised inside a lazy engine",
                hint="monitor embeddings from an eager frame or from Parquet batches",
            )
    hists = lazy_histograms(keyed, grids, key=key_expr, categories=coded)
    atomic = [n for n in grids if grids[n][0].atomic]
    new_values = _lazy_new_values(keyed, reference, atomic, hists, key)
    cats: dict[tuple[Any, str], CategoryCounts] = {}
    for name in coded:
        values = coded[name]
        needs_names = any(
            part[1] > 0 for (g, n), part in hists.items() if n == name and isinstance(part, tuple)
        )
        extra = _lazy_category_counts(keyed, name, key, only_new=values) if needs_names else {}
        for (g, n), part in hists.items():
            if n != name:
                continue
            counts, _, nulls = part
            pairs = [(v, int(c)) for v, c in zip(values, counts.tolist(), strict=True) if c]
            pairs += extra.get(g, [])
            found = CategoryCounts.from_pairs(pairs)
            cats[(g, name)] = CategoryCounts(found.values, found.counts, nulls)
    for name in wide:
        for g, pairs in _lazy_category_counts(keyed, name, key).items():
            cats[(g, name)] = CategoryCounts.from_pairs(pairs)
    out: dict[Any, DataProfile] = {}
    for g, stats in groups.items():
        cols: dict[str, ColumnProfile] = {}
        rows = int(stats["__rows"])
        for i, name in enumerate(names):
            ref = reference.columns[name]
            nulls = int(stats[f"n{i}"])
            if name in grids:
                hist = hists.get((g, name)) or NumericHistogram.empty(grids[name][0])
                found_new = new_values.get((g, name), ())
                hist = replace(
                    hist,
                    new_values=tuple(found_new[:NEW_VALUES_CAP]),
                    new_values_overflow=len(found_new) > NEW_VALUES_CAP,
                )
                cols[name] = ColumnProfile(
                    name, ref.kind, ref.dtype, rows, hist.nulls, numeric=hist
                )
            elif ref.kind is ColumnKind.CATEGORICAL:
                counts = cats.get((g, name), CategoryCounts(nulls=nulls))
                cols[name] = ColumnProfile(
                    name, ref.kind, ref.dtype, rows, counts.nulls, categories=counts
                )
            else:
                cols[name] = ColumnProfile(name, ref.kind, ref.dtype, rows, nulls)
        out[g] = DataProfile(cols, rows, reference.bins, reference.max_atoms)
    return out


def _lazy_category_counts(
    keyed: nw.LazyFrame[Any], name: str, key: nw.Expr | None, *, only_new: Sequence[Any] = ()
) -> dict[Any, list[tuple[Any, int]]]:
    """Value counts of one column per group (only values outside ``only_new`` if given)."""
    frame = keyed
    if only_new:
        frame = frame.filter(~nw.col(name).is_in(list(only_new)) & ~nw.col(name).is_null())
    result = _collect(frame.group_by(_KEY, name, drop_null_keys=False).agg(nw.len().alias("__n")))
    per_group: dict[Any, list[tuple[Any, int]]] = {}
    for r in result:
        per_group.setdefault(r[_KEY] if key is not None else None, []).append(
            (r[name], int(r["__n"]))
        )
    return per_group


def _lazy_new_values(
    keyed: nw.LazyFrame[Any],
    reference: DataProfile,
    atomic: Sequence[str],
    hists: Mapping[tuple[Any, str], Any],
    key: nw.Expr | None,
) -> dict[tuple[Any, str], tuple[float, ...]]:
    """Values off the atomic grids, for the columns and groups that have any."""
    out: dict[tuple[Any, str], tuple[float, ...]] = {}
    for name in atomic:
        if not any(
            h.interval_counts().any()
            for (_, n), h in hists.items()
            if n == name and isinstance(h, NumericHistogram)
        ):
            continue
        edges = reference.columns[name].numeric.grid.edges.tolist()  # type: ignore[union-attr]
        fx = _finite_expr(name)
        found = _collect(
            keyed.select(nw.col(_KEY), fx.alias("__v"))
            .filter(~nw.col("__v").is_in(edges) & ~nw.col("__v").is_null())
            .unique(["__v", _KEY])
            .head(10_000)
        )
        per: dict[Any, set[float]] = {}
        for r in found:
            per.setdefault(r[_KEY] if key is not None else None, set()).add(float(r["__v"]))
        for g, values in per.items():
            out[(g, name)] = tuple(sorted(values))[: NEW_VALUES_CAP + 1]
    return out
