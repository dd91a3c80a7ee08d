"""Profiles of eager frames (pandas, polars, pyarrow), counted with numpy.

:func:`build_profile` profiles a reference (any frame: a lazy one is handed to
:mod:`~charter.stats.profile.lazy`); :func:`profile_against` summarises new data over a
reference's grids, optionally per group of rows (time windows), one sort per chunk of rows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.frames import column_names, is_lazy, require_columns, to_frame
from charter.stats.histogram import (
    CHUNK_ROWS,
    CategoryCounts,
    Grid,
    NumericHistogram,
    as_float_array,
    category_counts,
    finite_part,
    histogram_of_sorted,
    numeric_histogram,
)
from charter.stats.profile.lazy import build_profile_lazy
from charter.stats.profile.model import (
    DEFAULT_BINS,
    EMBEDDING_SAMPLE,
    MAX_ATOMS,
    ColumnKind,
    ColumnProfile,
    DataProfile,
    T,
    _as_matrix,
    embedding_sample,
    infer_kind,
)


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


# -- lazy engines (DuckDB, Spark, polars LazyFrame) ---------------------------------------------
