"""The drift checks of the ``monitoring`` section: the data and the model's outputs per window.

Each check reads the windows of a :class:`~charter.checks.monitoring.state.MonitorState` and
returns one finding for the run: it fails when any window breaks the rule, names the first such
window, and carries every window's value in ``details["windows"]`` so the report can plot the
slide over time.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict

from charter.checks.monitoring.state import MonitorState, WindowResult
from charter.checks.registry import check
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule
from charter.stats.drift import METHODS, ColumnDrift, column_drift

MONITORING_CONTROLS = ("eu-ai-act:art-72", "nist-ai-rmf:manage-4.1")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetDriftParams(_Params):
    """Columns counted in the share (default: every compared column)."""

    columns: list[str] | None = None


class ColumnDriftParams(_Params):
    """Columns that must not drift (default: every compared column)."""

    columns: list[str] | None = None


class PredictionDriftParams(_Params):
    """The column judged for prediction drift.

    Default: ``data.prediction``, else ``data.score``, else the model output the registry
    profiled (:func:`charter.monitor.settings.prediction_drift_column`).
    """

    column: str | None = None
    method: str | None = None
    threshold: float | None = None


class EmbeddingDriftParams(_Params):
    """Embedding columns (default: ``monitoring.embeddings``)."""

    columns: list[str] | None = None


class NewCategoriesParams(_Params):
    """Categorical columns watched (default: every one)."""

    columns: list[str] | None = None


def window_entry(w: WindowResult) -> dict[str, Any]:
    """A window's entry in a drift finding's ``details["windows"]`` (not judged: why)."""
    out: dict[str, Any] = {"start": w.start.isoformat(), "rows": w.rows}
    if w.reason:
        out["judged"] = False
        out["reason"] = w.reason
    return out


@check(
    "dataset_drift",
    section="monitoring",
    params=DatasetDriftParams,
    metric="drift_share",
    description="Share of drifted columns per window stays under `max` (Evidently's rule).",
    controls=MONITORING_CONTROLS,
)
def dataset_drift_check(ctx: MonitorState, rule: Rule, params: DatasetDriftParams) -> Finding:
    """Share of drifted columns per window stays under ``max`` (default ``drift_share``)."""
    limit = rule.max if rule.max is not None else ctx.settings.drift_share
    per_window, failing, worst = [], [], math.nan
    for w in ctx.windows:
        entry = window_entry(w)
        if w.drift is not None and not w.reason:
            columns = [
                c for c in w.drift.computed if params.columns is None or c.column in params.columns
            ]
            share = sum(c.drifted for c in columns) / len(columns) if columns else math.nan
            entry["value"] = None if math.isnan(share) else share
            entry["drifted_columns"] = [c.column for c in columns if c.drifted]
            if not math.isnan(share):
                worst = share if math.isnan(worst) else max(worst, share)
                if share >= limit:
                    failing.append(entry)
            else:
                entry["judged"] = False
                entry["reason"] = "no column could be compared"
        per_window.append(entry)
    return ctx.windows_finding(
        rule,
        metric="drift_share",
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=Threshold(max=limit),
        noun="dataset drift",
        extra={"rule": f"drift when share >= {limit:g}"},
    )


@check(
    "column_drift",
    section="monitoring",
    params=ColumnDriftParams,
    metric="drifted_columns",
    description="None of the listed columns drifts in any window.",
    controls=MONITORING_CONTROLS,
)
def column_drift_check(ctx: MonitorState, rule: Rule, params: ColumnDriftParams) -> Finding:
    """None of the listed columns drifts in any window."""
    per_window, failing, worst = [], [], 0.0
    missing = [c for c in (params.columns or []) if c not in ctx.reference.columns]
    for w in ctx.windows:
        entry = window_entry(w)
        if w.drift is not None and not w.reason:
            drifted = [
                c for c in w.drift.drifted_columns if params.columns is None or c in params.columns
            ]
            entry["value"] = len(drifted)
            entry["drifted_columns"] = drifted
            entry["scores"] = {
                c.column: c.to_dict()["score"]
                for c in w.drift.columns
                if params.columns is None or c.column in params.columns
            }
            worst = max(worst, float(len(drifted)))
            if drifted:
                failing.append(entry)
        per_window.append(entry)
    finding = ctx.windows_finding(
        rule,
        metric="drifted_columns",
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=Threshold(max=0),
        noun="column drift",
    )
    if missing:
        return finding.model_copy(
            update={
                "verdict": Verdict.ERROR,
                "message": f"column(s) {', '.join(missing)} are not in the reference profile",
                "details": {**finding.details, "reason": "unknown columns", "missing": missing},
            }
        )
    return finding


@check(
    "prediction_drift",
    section="monitoring",
    params=PredictionDriftParams,
    metric="drift_score",
    description="The distribution of predictions (or scores) does not drift.",
    controls=MONITORING_CONTROLS,
)
def prediction_drift_check(ctx: MonitorState, rule: Rule, params: PredictionDriftParams) -> Finding:
    """The distribution of predictions (or scores) does not drift."""
    column = params.column or ctx.settings.prediction_column
    if column is None or column not in ctx.reference.columns:
        return ctx.finding(
            rule,
            verdict=Verdict.SKIPPED,
            message="no prediction column in the reference profile"
            if column is None
            else f"prediction column '{column}' is not in the reference profile",
            details={
                "reason": "register the version with --train-data (the registry profiles the"
                " model's score and prediction), or set data.prediction / data.score and pass"
                " a --reference that has that column"
            },
        )
    if column in ctx.missing_columns:
        return ctx.finding(
            rule,
            verdict=Verdict.SKIPPED,
            message=f"prediction column '{column}' is not in the log",
            details={
                "column": column,
                "reason": f"the log has no '{column}' column, so the model's outputs cannot be"
                " compared with the reference's",
                "hint": "log the model's score or prediction with each request (Charter's"
                " serving does), or set data.score / data.prediction to the column the log"
                " has",
            },
        )
    ref = ctx.reference.columns[column]
    per_window, failing, worst = [], [], math.nan
    for w in ctx.windows:
        entry = window_entry(w)
        cur = w.summary.profile.columns.get(column) if w.summary is not None else None
        if cur is not None and not w.reason:
            result = column_drift(
                ref,
                cur,
                method=params.method or ctx.settings.method_for(column),
                threshold=params.threshold
                if params.threshold is not None
                else ctx.settings.threshold_for(column),
            )
            entry.update(result.to_dict())
            entry["value"] = entry.pop("score")
            if result.computed:
                worst = result.score if math.isnan(worst) else _worse(result, worst)
                if result.drifted:
                    failing.append(entry)
            else:
                entry["judged"] = False
        elif cur is None and not w.reason:
            entry["judged"] = False
            entry["reason"] = f"'{column}' is not in the log"
        per_window.append(entry)
    return ctx.windows_finding(
        rule,
        metric="drift_score",
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=None,
        noun=f"prediction drift of '{column}'",
        extra={"column": column},
    )


def _worse(result: ColumnDrift, current: float) -> float:
    p_value = result.method is not None and METHODS[result.method].p_value
    return min(current, result.score) if p_value else max(current, result.score)


@check(
    "embedding_drift",
    section="monitoring",
    params=EmbeddingDriftParams,
    metric="drift_score",
    description="Embedding columns do not drift (domain classifier ROC AUC or MMD).",
    controls=MONITORING_CONTROLS,
)
def embedding_drift_check(ctx: MonitorState, rule: Rule, params: EmbeddingDriftParams) -> Finding:
    """Embedding columns do not drift."""
    columns = (
        params.columns
        or list(ctx.settings.embeddings)
        or [n for n, c in ctx.reference.columns.items() if c.kind.value == "embedding"]
    )
    per_window, failing, worst = [], [], math.nan
    for w in ctx.windows:
        entry = window_entry(w)
        scores = {}
        drifted = []
        for name in columns:
            result = w.embeddings.get(name)
            if result is None or not math.isfinite(result.score):
                continue
            scores[name] = result.score
            worst = result.score if math.isnan(worst) else max(worst, result.score)
            if result.drifted:
                drifted.append(name)
        entry["scores"] = scores
        entry["drifted_columns"] = drifted
        if drifted:
            failing.append(entry)
        if not scores and not w.reason:
            entry["judged"] = False
            entry["reason"] = "no embedding could be compared"
        per_window.append(entry)
    return ctx.windows_finding(
        rule,
        metric="drift_score",
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=None,
        noun="embedding drift",
        extra={"columns": columns},
    )


@check(
    "new_categories",
    section="monitoring",
    params=NewCategoriesParams,
    metric="new_categories",
    description="Categorical columns show no value the reference never had.",
    controls=MONITORING_CONTROLS,
)
def new_categories_check(ctx: MonitorState, rule: Rule, params: NewCategoriesParams) -> Finding:
    """Categorical columns show no value the reference never had (a new category is drift)."""
    per_window, failing = [], []
    total = 0
    for w in ctx.windows:
        entry = window_entry(w)
        found: dict[str, list[Any]] = {}
        if w.drift is not None:
            for c in w.drift.columns:
                new = c.details.get("new_categories")
                if new and (params.columns is None or c.column in params.columns):
                    found[c.column] = new
        entry["value"] = sum(len(v) for v in found.values())
        entry["new_categories"] = found
        total = max(total, entry["value"])
        if found:
            failing.append(entry)
        per_window.append(entry)
    finding = ctx.windows_finding(
        rule,
        metric="new_categories",
        per_window=per_window,
        failing=failing,
        value=float(total),
        threshold=Threshold(max=0),
        noun="new categories",
    )
    if failing:
        first = failing[0]["new_categories"]
        shown = "; ".join(f"{k}: {', '.join(map(str, v[:5]))}" for k, v in first.items())
        finding = finding.model_copy(update={"message": f"{finding.message} ({shown})"})
    return finding
