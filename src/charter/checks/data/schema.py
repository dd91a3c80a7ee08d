"""Data checks of shape and completeness: required columns, dtypes, size, nulls.

Also the parameter models and the finding helpers the value checks share
(:mod:`charter.checks.data.values`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any

import narwhals as nw
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from charter.checks.context import CheckContext
from charter.checks.registry import NoParams, check
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule
from charter.stats.frames import AnyFrame, num_rows

DATA_CONTROLS = ("eu-ai-act:art-10.3", "nist-ai-rmf:measure-2.1")

#: Most unexpected values / duplicated keys listed in a finding's details.
EXAMPLES = 10

Bound = float | dt.datetime | dt.date


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnsParams(_Params):
    """A list of columns; empty means every column of the data."""

    columns: list[str] = Field(default_factory=list)


class KeyParams(_Params):
    """Columns that together must identify each row."""

    columns: list[str] = Field(min_length=1)


class Bounds(_Params):
    """Lower and upper bound of a value (either may be open)."""

    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class QuantileBounds(Bounds):
    """Bounds on the ``q``-quantile of a column."""

    q: float = Field(ge=0.0, le=1.0)


class RangeParams(_Params):
    """Per column, the bounds every value must keep: ``{age: {min: 18, max: 100}}``."""

    columns: dict[str, Bounds] = Field(min_length=1)


class QuantileParams(_Params):
    """Per column, one or several quantile bounds: ``{age: {q: 0.5, min: 30, max: 50}}``."""

    columns: dict[str, list[QuantileBounds]] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class CategoriesParams(_Params):
    """Per column, the values it may take: ``{sex: [F, M]}``. Nulls are not judged here."""

    columns: dict[str, list[str | int | float | bool]] = Field(min_length=1)


class DtypeKind(StrEnum):
    """Kinds of column types a policy can require."""

    NUMERIC = "numeric"
    INTEGER = "integer"
    FLOAT = "float"
    STRING = "string"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"


class DtypesParams(_Params):
    """Per column, the kind(s) of type it must have: ``{age: integer, sex: [string, boolean]}``."""

    columns: dict[str, list[DtypeKind]] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class DuplicateParams(_Params):
    """Columns compared to call two rows duplicates; empty means every column."""

    columns: list[str] = Field(default_factory=list)


# -- schema and size -----------------------------------------------------------------------------
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
    "dtypes",
    section="data",
    params=DtypesParams,
    description="Each listed column has the expected kind of type (numeric, string, ...).",
    controls=DATA_CONTROLS,
)
def dtypes(ctx: CheckContext, rule: Rule, params: DtypesParams) -> Finding:
    """Each listed column has one of the expected kinds of type; read from the schema only."""
    missing = _missing(ctx, params.columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
    schema = ctx.data.collect_schema()
    columns: dict[str, Any] = {}
    offending = []
    for name, kinds in params.columns.items():
        dtype = schema[name]
        ok = any(_is_kind(dtype, kind) for kind in kinds)
        columns[name] = {"expected": [k.value for k in kinds], "actual": str(dtype), "ok": ok}
        if not ok:
            offending.append(name)
    if offending:
        shown = "; ".join(
            f"{c} is {columns[c]['actual']}, expected {' or '.join(columns[c]['expected'])}"
            for c in offending
        )
        message = f"{len(offending)} column(s) of the wrong type: {shown}"
    else:
        message = f"all {len(columns)} columns have the expected type"
    return ctx.finding(
        rule,
        passed=not offending,
        message=message,
        details={"columns": columns, "offending": offending},
    )


def _is_kind(dtype: Any, kind: DtypeKind) -> bool:
    if kind is DtypeKind.NUMERIC:
        return bool(dtype.is_numeric())
    if kind is DtypeKind.INTEGER:
        return bool(dtype.is_integer())
    if kind is DtypeKind.FLOAT:
        return bool(dtype.is_float())
    if kind is DtypeKind.STRING:
        return isinstance(dtype, nw.String)
    if kind is DtypeKind.CATEGORICAL:
        return isinstance(dtype, nw.Categorical | nw.Enum)
    if kind is DtypeKind.BOOLEAN:
        return isinstance(dtype, nw.Boolean)
    return isinstance(dtype, nw.Datetime | nw.Date)


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


# -- completeness --------------------------------------------------------------------------------
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
    missing = _missing(ctx, columns)
    if missing:
        return _missing_finding(ctx, rule, missing)
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
    row = _one_row(
        ctx.data, [nw.len().alias("__rows")] + [nw.col(c).null_count().alias(c) for c in columns]
    )
    rows = int(row["__rows"])
    if rows == 0:
        return {c: 0.0 for c in columns}
    return {c: float(row[c]) / rows for c in columns}


# -- shared --------------------------------------------------------------------------------------
def _share_finding(
    ctx: CheckContext, rule: Rule, columns: dict[str, Any], rows: int, *, what: str
) -> Finding:
    bounds = rule.threshold or Threshold(max=0.0)
    shares = {name: entry["offending_share"] for name, entry in columns.items()}
    worst = max(shares, key=lambda c: shares[c])
    offending = sorted(c for c, s in shares.items() if not bounds.admits(s))
    if offending:
        parts = ", ".join(f"{c} ({columns[c]['offending_rows']} rows)" for c in offending)
        message = f"rows {what} in {parts} of {rows}"
    else:
        message = f"worst column {worst}: {shares[worst]:.2%} of {rows} rows {what}"
    return ctx.finding(
        rule,
        value=shares[worst],
        threshold=bounds,
        message=message,
        details={"columns": columns, "offending": offending, "rows": rows},
    )


def _missing(ctx: CheckContext, columns: Sequence[str] | Mapping[str, Any]) -> list[str]:
    present = set(ctx.columns)
    return [c for c in columns if c not in present]


def _missing_finding(ctx: CheckContext, rule: Rule, missing: list[str]) -> Finding:
    return ctx.finding(
        rule,
        passed=False,
        message=f"missing column(s): {', '.join(missing)}",
        details={"missing": missing},
    )


def _wrong_type_finding(
    ctx: CheckContext, rule: Rule, wrong: list[str], schema: Any, needed: str
) -> Finding:
    shown = ", ".join(f"{c} ({schema[c]})" for c in wrong)
    return ctx.finding(
        rule,
        verdict=Verdict.ERROR,
        message=f"{rule.check} needs {needed} columns; not so: {shown}",
        details={
            "reason": f"column(s) of type not {needed}",
            "columns": {c: str(schema[c]) for c in wrong},
            "hint": "cast the column(s) or remove them from the rule's params",
        },
    )


def _literal(bound: Bound | None, dtype: Any) -> Any:
    """A bound as a literal comparable with a column of ``dtype`` in every backend."""
    if (
        isinstance(bound, dt.date)
        and not isinstance(bound, dt.datetime)
        and isinstance(dtype, nw.Datetime)
    ):
        return dt.datetime(bound.year, bound.month, bound.day)
    return bound


def _collect(frame: AnyFrame) -> nw.DataFrame[Any]:
    if isinstance(frame, nw.LazyFrame):
        return frame.collect()
    return frame


def _one_row(frame: AnyFrame, exprs: Sequence[Any]) -> dict[str, Any]:
    """Evaluate aggregate expressions in the frame's engine; one row as a dict."""
    rows = _collect(frame.select(*exprs)).rows(named=True)
    return dict(rows[0])


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _jsonable(value: Any) -> Any:
    """A scalar from any engine as a JSON-able Python value (dates as ISO strings)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
