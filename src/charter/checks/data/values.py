"""Data checks of values: ranges, categories, uniqueness, duplicates, means and quantiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from charter.checks.context import CheckContext
from charter.checks.data.schema import (
    DATA_CONTROLS,
    EXAMPLES,
    Bounds,
    CategoriesParams,
    DuplicateParams,
    KeyParams,
    QuantileParams,
    RangeParams,
    _collect,
    _jsonable,
    _literal,
    _missing,
    _missing_finding,
    _number,
    _one_row,
    _share_finding,
    _wrong_type_finding,
)
from charter.checks.registry import check
from charter.evidence import Finding, Threshold
from charter.policy.schema import Rule
from charter.stats.frames import AnyFrame


# -- values --------------------------------------------------------------------------------------
@check(
    "value_range",
    section="data",
    params=RangeParams,
    metric="out_of_range_share",
    description="Values of each listed column lie within its min/max; share of offending rows.",
    controls=DATA_CONTROLS,
)
def value_range(ctx: CheckContext, rule: Rule, params: RangeParams) -> Finding:
    """Every value of each listed column lies within its bounds (nulls are not judged).

    The metric is the largest share of rows outside the bounds over the listed columns; the
    rule's ``max`` (default 0) bounds it.
    """
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    schema = ctx.data.collect_schema()
    wrong = [c for c in params.columns if not (schema[c].is_numeric() or schema[c].is_temporal())]
    if wrong:
        return _wrong_type_finding(ctx, rule, wrong, schema, "numeric or date/time")
    exprs: list[Any] = [nw.len().alias("__rows")]
    for i, (name, bounds) in enumerate(params.columns.items()):
        col = nw.col(name)
        lo, hi = (_literal(b, schema[name]) for b in (bounds.min, bounds.max))
        outside = None
        if lo is not None:
            outside = col < lo
        if hi is not None:
            outside = (col > hi) if outside is None else (outside | (col > hi))
        assert outside is not None
        exprs += [
            outside.sum().alias(f"__bad{i}"),
            col.min().alias(f"__min{i}"),
            col.max().alias(f"__max{i}"),
        ]
    row = _one_row(ctx.data, exprs)
    rows = int(row["__rows"])
    columns: dict[str, Any] = {}
    for i, (name, bounds) in enumerate(params.columns.items()):
        bad = int(row[f"__bad{i}"] or 0)
        columns[name] = {
            "min": _jsonable(bounds.min),
            "max": _jsonable(bounds.max),
            "observed_min": _jsonable(row[f"__min{i}"]),
            "observed_max": _jsonable(row[f"__max{i}"]),
            "offending_rows": bad,
            "offending_share": bad / rows if rows else 0.0,
        }
    return _share_finding(ctx, rule, columns, rows, what="out of range")


@check(
    "allowed_categories",
    section="data",
    params=CategoriesParams,
    metric="unexpected_category_share",
    description="Each listed column takes only its allowed values; unexpected values with counts.",
    controls=DATA_CONTROLS,
)
def allowed_categories(ctx: CheckContext, rule: Rule, params: CategoriesParams) -> Finding:
    """Each listed column takes only the allowed values (nulls are not judged).

    The metric is the largest share of rows holding an unexpected value; the rule's ``max``
    (default 0) bounds it. Details list the most frequent unexpected values with their counts.
    """
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    schema = ctx.data.collect_schema()
    unexpected_exprs = {
        name: _unexpected(name, allowed, schema[name]) for name, allowed in params.columns.items()
    }
    exprs: list[Any] = [nw.len().alias("__rows")]
    exprs += [e.sum().alias(f"__bad{i}") for i, e in enumerate(unexpected_exprs.values())]
    row = _one_row(ctx.data, exprs)
    rows = int(row["__rows"])
    columns: dict[str, Any] = {}
    for i, (name, allowed) in enumerate(params.columns.items()):
        bad = int(row[f"__bad{i}"] or 0)
        columns[name] = {
            "allowed": [_jsonable(v) for v in allowed],
            "unexpected": _top_values(ctx.data, name, unexpected_exprs[name]) if bad else {},
            "offending_rows": bad,
            "offending_share": bad / rows if rows else 0.0,
        }
    return _share_finding(ctx, rule, columns, rows, what="with unexpected values")


def _unexpected(name: str, allowed: Sequence[Any], dtype: Any) -> Any:
    col = nw.col(name)
    values: list[Any] = list(allowed)
    if isinstance(dtype, nw.String | nw.Categorical | nw.Enum):
        if not isinstance(dtype, nw.String):
            col = col.cast(nw.String)
        values = [str(v) for v in allowed]
    return ~col.is_in(values) & ~col.is_null()


def _top_values(frame: AnyFrame, name: str, unexpected: Any) -> dict[str, int]:
    # Count every value first, then keep the unexpected ones: one pass over the rows.
    counted = (
        frame.group_by(name)
        .agg(nw.len().alias("__n"))
        .filter(unexpected)
        .sort(["__n", name], descending=[True, False], nulls_last=True)
        .head(EXAMPLES)
    )
    rows = _collect(counted).rows()
    return {str(_jsonable(value)): int(n) for value, n in rows}


@check(
    "unique",
    section="data",
    params=KeyParams,
    metric="duplicate_key_share",
    description="The listed columns together identify each row (no duplicated key).",
    controls=DATA_CONTROLS,
)
def unique(ctx: CheckContext, rule: Rule, params: KeyParams) -> Finding:
    """The listed columns together identify each row; nulls count as a key value.

    The metric is the share of rows whose key repeats an earlier row's; the rule's ``max``
    (default 0) bounds it. Details list the most repeated keys.
    """
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    stats = _duplicates(ctx.data, params.columns)
    key = ", ".join(params.columns)
    message = (
        f"{stats['duplicated_rows']} of {stats['rows']} rows repeat a key ({key})"
        if stats["duplicated_rows"]
        else f"({key}) identifies all {stats['rows']} rows"
    )
    return ctx.finding(
        rule,
        value=stats["share"],
        threshold=rule.threshold or Threshold(max=0.0),
        message=message,
        details={"columns": params.columns, **stats},
    )


@check(
    "duplicate_rows",
    section="data",
    params=DuplicateParams,
    metric="duplicate_row_share",
    description="The share of rows that duplicate an earlier row stays under `max`.",
    controls=DATA_CONTROLS,
)
def duplicate_rows(ctx: CheckContext, rule: Rule, params: DuplicateParams) -> Finding:
    """The share of rows repeating an earlier row (on all or listed columns) stays under ``max``.

    A row counts as a duplicate when an earlier row has the same values (pandas'
    ``DataFrame.duplicated(keep="first")``); the rule's ``max`` (default 0) bounds the share.
    """
    columns = params.columns or ctx.columns
    missing = _missing(ctx, columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    stats = _duplicates(ctx.data, columns, examples=False)
    return ctx.finding(
        rule,
        value=stats["share"],
        threshold=rule.threshold or Threshold(max=0.0),
        message=f"{stats['duplicated_rows']} of {stats['rows']} rows are duplicates"
        f" ({stats['share']:.2%})",
        details={"columns": columns if params.columns else "all", **stats},
    )


def _duplicates(frame: AnyFrame, columns: list[str], *, examples: bool = True) -> dict[str, Any]:
    groups = frame.select(columns).group_by(columns).agg(nw.len().alias("__n"))
    row = _one_row(groups, [nw.len().alias("distinct"), nw.col("__n").sum().alias("rows")])
    distinct, rows = int(row["distinct"]), int(row["rows"] or 0)
    duplicated = rows - distinct
    stats: dict[str, Any] = {
        "rows": rows,
        "distinct": distinct,
        "duplicated_rows": duplicated,
        "share": duplicated / rows if rows else 0.0,
    }
    if examples:
        top = _collect(
            groups.filter(nw.col("__n") > 1)
            .sort(["__n", *columns], descending=[True] + [False] * len(columns), nulls_last=True)
            .head(EXAMPLES)
        ).rows(named=True)
        stats["examples"] = [
            {"key": {c: _jsonable(r[c]) for c in columns}, "count": int(r["__n"])} for r in top
        ]
    return stats


# -- distribution --------------------------------------------------------------------------------
@check(
    "mean_bounds",
    section="data",
    params=RangeParams,
    description="The mean of each listed column lies within its min/max.",
    controls=DATA_CONTROLS,
)
def mean_bounds(ctx: CheckContext, rule: Rule, params: RangeParams) -> Finding:
    """The mean of each listed column (over its non-null values) lies within its bounds."""
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    schema = ctx.data.collect_schema()
    wrong = [c for c in params.columns if not schema[c].is_numeric()]
    if wrong:
        return _wrong_type_finding(ctx, rule, wrong, schema, "numeric")
    row = _one_row(
        ctx.data, [nw.col(c).mean().alias(f"__m{i}") for i, c in enumerate(params.columns)]
    )
    columns = {
        name: _judge(_number(row[f"__m{i}"]), bounds, "mean")
        for i, (name, bounds) in enumerate(params.columns.items())
    }
    return _bounds_finding(ctx, rule, columns, "mean")


@check(
    "quantile_bounds",
    section="data",
    params=QuantileParams,
    description="The q-quantile of each listed column lies within its min/max.",
    controls=DATA_CONTROLS,
)
def quantile_bounds(ctx: CheckContext, rule: Rule, params: QuantileParams) -> Finding:
    """Each listed ``q``-quantile (linear interpolation, as numpy's default) lies within bounds."""
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    schema = ctx.data.collect_schema()
    wrong = [c for c in params.columns if not schema[c].is_numeric()]
    if wrong:
        return _wrong_type_finding(ctx, rule, wrong, schema, "numeric")
    exprs = [
        nw.col(name).quantile(b.q, interpolation="linear").alias(f"__q{i}_{j}")
        for i, (name, bounds) in enumerate(params.columns.items())
        for j, b in enumerate(bounds)
    ]
    row = _one_row(ctx.data, exprs)
    columns: dict[str, Any] = {}
    for i, (name, bounds) in enumerate(params.columns.items()):
        columns[name] = [
            {"q": b.q, **_judge(_number(row[f"__q{i}_{j}"]), b, "value")}
            for j, b in enumerate(bounds)
        ]
    return _bounds_finding(ctx, rule, columns, "quantile")


def _judge(value: float | None, bounds: Bounds, key: str) -> dict[str, Any]:
    lo, hi = bounds.min, bounds.max
    ok = (
        value is not None
        and (lo is None or value >= lo)  # type: ignore[operator]
        and (hi is None or value <= hi)  # type: ignore[operator]
    )
    return {key: value, "min": _jsonable(lo), "max": _jsonable(hi), "ok": bool(ok)}


def _bounds_finding(ctx: CheckContext, rule: Rule, columns: dict[str, Any], what: str) -> Finding:
    offending = sorted(
        name
        for name, entry in columns.items()
        if not all(e["ok"] for e in (entry if isinstance(entry, list) else [entry]))
    )
    if offending:
        message = f"{what} out of bounds in {len(offending)} column(s): {', '.join(offending)}"
    else:
        message = f"{what} within bounds in all {len(columns)} column(s)"
    return ctx.finding(
        rule,
        passed=not offending,
        message=message,
        details={"columns": columns, "offending": offending},
    )
