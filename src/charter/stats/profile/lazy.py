"""Profiles of lazy frames (DuckDB, Spark, polars LazyFrame), binned inside their engine.

The columns are binned through narwhals expressions, so only the cell counts leave the engine:
:func:`build_profile_lazy` profiles a reference, :func:`profile_against_lazy` summarises new
data over a reference's grids per group of rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.frames import column_names, is_lazy, to_frame
from charter.stats.histogram import (
    NEW_VALUES_CAP,
    CategoryCounts,
    Grid,
    NumericHistogram,
    cell_expression,
)
from charter.stats.profile.model import ColumnKind, ColumnProfile, DataProfile, infer_kind

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
