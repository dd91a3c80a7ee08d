"""Data-quality checks: schema, completeness, ranges, categories, uniqueness, size.

Every statistic is computed inside the frame's engine through narwhals expressions, one
``select`` per check, so the same checks run on pandas, polars and lazy engines.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
from pydantic import BaseModel, ConfigDict, Field

from charter.checks.context import CheckContext
from charter.checks.registry import NoParams, check
from charter.evidence import Finding
from charter.policy.schema import Rule
from charter.stats.frames import num_rows

DATA_CONTROLS = ("eu-ai-act:art-10.3", "nist-ai-rmf:measure-2.1")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsParams(_Params):
    """A list of columns; empty means every column of the data."""

    columns: list[str] = Field(default_factory=list)


@check(
    "required_columns",
    section="data",
    params=ColumnsParams,
    description="Every listed column is present in the data.",
    controls=DATA_CONTROLS,
)
def required_columns(ctx: CheckContext, rule: Rule, params: ColumnsParams) -> Finding:
    """Every listed column is present in the data."""
    missing = [c for c in params.columns if c not in ctx.columns]
    if missing:
        return ctx.finding(
            rule,
            passed=False,
            message=f"missing column(s): {', '.join(missing)}",
            details={"missing": missing, "present": ctx.columns},
        )
    return ctx.finding(rule, passed=True, message=f"all {len(params.columns)} columns present")


@check(
    "min_rows",
    section="data",
    params=NoParams,
    metric="rows",
    description="The data has at least `min` rows.",
    controls=DATA_CONTROLS,
)
def min_rows(ctx: CheckContext, rule: Rule, params: NoParams) -> Finding:
    """The data has at least ``min`` rows."""
    rows = num_rows(ctx.data)
    return ctx.finding(rule, value=float(rows), message=f"{rows} rows")


@check(
    "null_fraction",
    section="data",
    params=ColumnsParams,
    metric="max_null_fraction",
    description="The share of missing values of each column stays under `max`.",
    controls=DATA_CONTROLS,
)
def null_fraction(ctx: CheckContext, rule: Rule, params: ColumnsParams) -> Finding:
    """The share of missing values in each listed column (or all columns) stays under ``max``."""
    columns = params.columns or ctx.columns
    missing = [c for c in columns if c not in ctx.columns]
    if missing:
        return ctx.finding(
            rule,
            passed=False,
            message=f"missing column(s): {', '.join(missing)}",
            details={"missing": missing},
        )
    fractions = _null_fractions(ctx, columns)
    worst = max(fractions, key=lambda c: fractions[c]) if fractions else None
    value = fractions[worst] if worst is not None else 0.0
    bounds = rule.threshold
    offending = {c: f for c, f in fractions.items() if bounds is not None and not bounds.admits(f)}
    message = f"worst column {worst}: {value:.2%} missing" if worst is not None else "no columns"
    if offending:
        message = f"{len(offending)} column(s) over the limit; " + message
    return ctx.finding(
        rule,
        value=value,
        message=message,
        details={"null_fraction": fractions, "offending": sorted(offending)},
    )


def _null_fractions(ctx: CheckContext, columns: list[str]) -> dict[str, float]:
    rows = num_rows(ctx.data)
    if rows == 0:
        return {c: 0.0 for c in columns}
    exprs = [nw.col(c).null_count().alias(c) for c in columns]
    result: Any = ctx.data.select(*exprs)
    if isinstance(result, nw.LazyFrame):
        result = result.collect()
    row = result.row(0)
    return {c: float(n) / rows for c, n in zip(columns, row, strict=True)}
