"""Privacy checks: protected attributes kept out of the model, and a scan for personal data.

``protected_attributes_not_features`` reads what the fitted model really consumes (see
:mod:`charter.checks.model_inputs`), so a protected attribute that a ``ColumnTransformer`` drops
passes and one slipped in by ``remainder='passthrough'`` fails. ``pii_scan`` looks for personal
data by column name and by value pattern on a sample (see :mod:`charter.checks.pii`).
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from charter.checks.context import CheckContext
from charter.checks.model_inputs import consumed_columns
from charter.checks.pii import (
    VALUE_PATTERNS,
    PiiKind,
    ambiguous_name,
    match_patterns,
    name_kind,
    name_likeness,
)
from charter.checks.registry import check
from charter.errors import CheckError
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule
from charter.stats.frames import num_rows

PRIVACY_CONTROLS = ("eu-ai-act:art-10.5", "nist-ai-rmf:measure-2.10", "oecd:1.2")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProtectedParams(_Params):
    """Protected attributes beyond ``privacy.protected_attributes``."""

    attributes: list[str] = Field(default_factory=list)


class PiiScanParams(_Params):
    """What the PII scan looks at.

    Attributes
    ----------
    columns
        Columns to scan; default every column.
    allow
        Columns allowed to hold personal data (e.g. a hashed id kept on purpose).
    kinds
        PII kinds to look for; default all.
    by_name, by_value
        Scan column names, values, or both.
    sample_size, seed
        Rows sampled for the value scan (lazy frames: the first rows).
    """

    columns: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    kinds: list[PiiKind] = Field(default_factory=list)
    by_name: bool = True
    by_value: bool = True
    sample_size: int = Field(default=10_000, ge=1)
    seed: int = 0


@check(
    "protected_attributes_not_features",
    section="privacy",
    params=ProtectedParams,
    description="No protected attribute is among the columns the model consumes.",
    controls=PRIVACY_CONTROLS,
)
def protected_attributes_not_features(
    ctx: CheckContext, rule: Rule, params: ProtectedParams
) -> Finding:
    """No protected attribute (policy's and ``attributes``) is among the model's inputs.

    The model's inputs are what the fitted model consumes: for a scikit-learn Pipeline whose
    first step is a ColumnTransformer, the columns its transformers use (including those
    ``remainder='passthrough'`` lets through); else ``feature_names_in_``; else the context's
    feature list. Names compare case-insensitively.
    """
    protected = list(dict.fromkeys([*ctx.policy.privacy.protected_attributes, *params.attributes]))
    if not protected:
        raise CheckError(
            f"rule '{rule.id}' has no protected attributes to look for",
            hint="list them under privacy.protected_attributes or the rule's params.attributes",
        )
    routes, source = _model_inputs(ctx)
    wanted = {p.lower() for p in protected}
    offending = {column: route for column, route in routes.items() if column.lower() in wanted}
    details: dict[str, Any] = {
        "protected": protected,
        "model_inputs": list(routes),
        "inputs_from": source,
        "offending": offending,
    }
    if not offending:
        return ctx.finding(
            rule,
            passed=True,
            message=f"none of {len(protected)} protected attribute(s) is a model input"
            f" ({len(routes)} inputs, from {source})",
            details=details,
        )
    via = "; ".join(f"{c} via {r}" for c, r in offending.items())
    by_design = [str(c) for c in getattr(ctx.model, "sensitive_", [])]
    if getattr(ctx.model, "charter_decides_per_group", False) and set(offending) <= set(by_design):
        hint = (
            "this model was made by threshold_optimizer, which decides with the sensitive"
            " attribute by design (a threshold per group); accept and document that use (set"
            " this rule's severity to warn), or mitigate with reweighing or"
            " exponentiated_gradient, whose models do not read it"
        )
    else:
        hint = (
            "retrain without them: list them under 'drop' in the ColumnTransformer (or use"
            " remainder='drop'), or remove them from data.features; keep them in the data for"
            " fairness checks"
        )
    details["hint"] = hint
    return ctx.finding(
        rule,
        passed=False,
        message=f"protected attribute(s) used as model input: {via}. Fix: {hint}",
        details=details,
    )


def _model_inputs(ctx: CheckContext) -> tuple[dict[str, str], str]:
    if ctx.model is not None:
        routes = consumed_columns(ctx.model)
        if routes is not None:
            return routes, f"the fitted {type(ctx.model).__name__}"
    features = list(ctx.features or [])
    source = "data.features" if ctx.policy.data.features else "the data's non-label columns"
    return {c: "feature" for c in features}, source


@check(
    "pii_scan",
    section="privacy",
    params=PiiScanParams,
    metric="pii_value_share",
    description="No column holds personal data (by name, or by value beyond `max` share).",
    controls=PRIVACY_CONTROLS,
)
def pii_scan(ctx: CheckContext, rule: Rule, params: PiiScanParams) -> Finding:
    """No column looks like personal data, by its name or by its values.

    Names are matched against a vocabulary per kind (e-mail, phone, national id, card,
    bank account, IP, name, address, date of birth); boolean columns are exempt. Values of
    string columns are matched on a sample against patterns (see :mod:`charter.checks.pii`).
    The metric is the largest share of sampled values matching a pattern in one column; the
    rule's ``max`` (default 0) bounds it. A column flagged by name fails regardless. Columns
    in ``allow`` are reported but never fail.
    """
    columns = params.columns or ctx.columns
    missing = [c for c in columns if c not in ctx.columns]
    if missing:
        return ctx.finding(
            rule,
            passed=False,
            message=f"missing column(s): {', '.join(missing)}",
            details={"missing": missing},
        )
    kinds = set(params.kinds or PiiKind)
    schema = ctx.data.collect_schema()
    report: dict[str, dict[str, Any]] = {}
    if params.by_name:
        for column in columns:
            kind = name_kind(column)
            if kind is not None and kind in kinds and not isinstance(schema[column], nw.Boolean):
                report.setdefault(column, {})["by_name"] = kind.value
    sample_info: dict[str, Any] = {}
    if params.by_value and PiiKind.NAME in kinds:
        _confirm_names(ctx, columns, schema, report, params)
    if params.by_value:
        patterns = [p for p, k in VALUE_PATTERNS.items() if k in kinds]
        textual = [
            c for c in columns if isinstance(schema[c], nw.String | nw.Categorical | nw.Enum)
        ]
        if patterns and textual:
            shares, sample_info = _value_shares(ctx, textual, patterns, params)
            for column, entry in shares.items():
                report.setdefault(column, {}).update(entry)
    report = {c: report[c] for c in columns if c in report}
    bounds = rule.threshold or Threshold(max=0.0)
    allowed = set(params.allow)
    offending = []
    worst = 0.0
    for column, entry in report.items():
        entry.setdefault("by_name", None)
        entry["allowed"] = column in allowed
        share = max(entry.get("kinds", {}).values(), default=0.0)
        if column in allowed:
            continue
        worst = max(worst, share)
        if entry["by_name"] is not None or not bounds.admits(share):
            offending.append(column)
    details = {
        "columns": report,
        "offending": offending,
        "allowed": sorted(allowed & set(report)),
        "scanned": len(columns),
        **sample_info,
    }
    if offending:
        parts = []
        for column in offending:
            entry = report[column]
            found = dict(entry.get("kinds", {}))
            what = ", ".join(f"{k} {s:.0%} of values" for k, s in found.items() if s > 0)
            named = entry.get("why") or (
                f"named like {entry['by_name']}" if entry["by_name"] else ""
            )
            parts.append(f"{column} ({'; '.join(p for p in (named, what) if p)})")
        message = f"personal data in {len(offending)} column(s): {', '.join(parts)}"
    else:
        message = f"no personal data found in {len(columns)} column(s)"
        if report:
            message += f" beyond the allowed bound or list ({len(report)} noted)"
    return ctx.finding(
        rule,
        value=worst,
        threshold=bounds,
        verdict=Verdict.FAIL if offending else Verdict.PASS,
        message=message,
        details=details,
    )


def _confirm_names(
    ctx: CheckContext,
    columns: list[str],
    schema: Any,
    report: dict[str, dict[str, Any]],
    params: PiiScanParams,
) -> None:
    """Flag ``first``, ``last``, ``given``... when their values look like people's names."""
    candidates = [
        c
        for c in columns
        if c not in report
        and ambiguous_name(c)
        and isinstance(schema[c], nw.String | nw.Categorical | nw.Enum)
    ]
    if not candidates:
        return
    sample = ctx.data.select(candidates).head(params.sample_size)
    if isinstance(sample, nw.LazyFrame):
        sample = sample.collect()
    table = sample.to_arrow()
    for column in candidates:
        share = name_likeness(table.column(column))
        if share >= NAME_LIKENESS_MIN:
            report[column] = {
                "by_name": PiiKind.NAME.value,
                "name_likeness": share,
                "why": f"named '{column}' and {share:.0%} of its distinct values look like names",
            }


#: Share of distinct values that must look like names for ``first``/``last`` to count.
NAME_LIKENESS_MIN = 0.8


def _value_shares(
    ctx: CheckContext, columns: list[str], patterns: list[str], params: PiiScanParams
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Share of non-empty sampled values matching each pattern, per column (hits only)."""
    frame = ctx.data.select([nw.col(c).cast(nw.String) for c in columns])
    if isinstance(frame, nw.LazyFrame):
        sample = frame.head(params.sample_size).collect()
        how = "first rows"
    else:
        rows = num_rows(frame)
        if rows > params.sample_size:
            sample = frame.sample(n=params.sample_size, seed=params.seed)
            how = "random"
        else:
            sample, how = frame, "all rows"
    table = sample.to_arrow()
    out: dict[str, dict[str, Any]] = {}
    for column in columns:
        values = table.column(column).drop_null()
        masks = match_patterns(values, patterns)
        nonempty = len(values) - int(np.count_nonzero(_empty(values)))
        if nonempty == 0:
            continue
        hits = {p: float(m.sum()) / nonempty for p, m in masks.items() if m.any()}
        if not hits:
            continue
        by_kind: dict[str, np.ndarray] = {}
        for pattern, mask in masks.items():
            kind = VALUE_PATTERNS[pattern].value
            by_kind[kind] = by_kind[kind] | mask if kind in by_kind else mask
        out[column] = {
            "kinds": {k: float(m.sum()) / nonempty for k, m in by_kind.items() if m.any()},
            "patterns": hits,
            "values_scanned": nonempty,
        }
    return out, {"sample_rows": int(table.num_rows), "sampling": how}


def _empty(values: Any) -> np.ndarray:
    """Which values are empty after trimming whitespace."""
    trimmed = pc.utf8_trim_whitespace(values)
    return np.asarray(pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False))
