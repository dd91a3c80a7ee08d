"""The monitoring checks: rules of the policy's ``monitoring`` section.

Each check reads the per-window results of a monitoring run (:class:`MonitorContext`) and
returns one finding for the run: it fails when any window breaks the rule, names the first such
window, and carries the value of every window in ``details["windows"]`` so the report can plot
the slide over time.

=====================  ===================  ==================================================
check                  metric               fails when
=====================  ===================  ==================================================
``dataset_drift``      ``drift_share``      share of drifted columns ``>=`` ``max`` (default
                                            ``monitoring.drift_share``) in a window
``column_drift``       ``drifted_columns``  a listed column (default: any) drifts in a window
``prediction_drift``   ``drift_score``      the prediction (or score) column drifts
``embedding_drift``    ``drift_score``      an embedding column drifts
``new_categories``     ``new_categories``   a categorical column shows a value the reference
                                            never had
``window_fairness``    the named metric     the metric leaves ``[min, max]`` in a window
``window_performance`` the named metric     the metric leaves ``[min, max]`` in a window
=====================  ===================  ==================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from charter.checks.context import CheckContext
from charter.checks.registry import check
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule

if TYPE_CHECKING:
    from charter.monitor.run import MonitorRun, WindowResult

MONITORING_CONTROLS = ("eu-ai-act:art-72", "nist-ai-rmf:manage-4.1")


@dataclass
class MonitorContext(CheckContext):
    """A check context carrying the results of a monitoring run."""

    run: MonitorRun | None = field(default=None, repr=False)

    def require_run(self) -> MonitorRun:
        """The monitoring run (monitoring checks only run inside one)."""
        if self.run is None:
            from charter.errors import CheckError

            raise CheckError(
                "monitoring checks run inside `charter monitor`, not in a gate",
                hint="move the rule under monitoring.rules and run `charter monitor`",
            )
        return self.run


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
    profiled (:func:`charter.monitor.run.prediction_drift_column`).
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


class WindowFairnessParams(_Params):
    """A fairness metric per window (a name from :mod:`charter.stats.fairness`)."""

    metric: str = "demographic_parity_difference"
    sensitive: list[str] | None = None
    privileged: dict[str, Any] | None = None
    method: Literal["between_groups", "to_overall"] = "between_groups"


class WindowPerformanceParams(_Params):
    """A performance metric per window (a name from :mod:`charter.stats.performance`).

    ``aggregate: worst_group`` judges the worst group of ``sensitive`` (default: the policy's
    sensitive columns) instead of all rows.
    """

    metric: str = "accuracy"
    sensitive: list[str] | None = None
    aggregate: Literal["overall", "worst_group"] = "overall"


def _windows_finding(
    ctx: MonitorContext,
    rule: Rule,
    *,
    metric: str,
    per_window: list[dict[str, Any]],
    failing: list[dict[str, Any]],
    value: float,
    threshold: Threshold | None,
    noun: str,
    extra: dict[str, Any] | None = None,
) -> Finding:
    judged = [w for w in per_window if w.get("judged", True)]
    details: dict[str, Any] = {"windows": per_window, **(extra or {})}
    if not judged:
        return ctx.finding(
            rule,
            verdict=Verdict.SKIPPED,
            message=f"no window could be judged for {noun}",
            value=None,
            details=details,
            metric=metric,
            threshold=threshold,
        )
    if failing:
        first = failing[0]["start"]
        details["first_failing_window"] = first
        message = f"{noun} in {len(failing)} of {len(judged)} windows, first {first[:16]}"
    else:
        message = f"no {noun} in {len(judged)} windows"
    return ctx.finding(
        rule,
        passed=not failing,
        message=message,
        value=None if math.isnan(value) else value,
        details=details,
        metric=metric,
        threshold=threshold,
    )


def _window_stub(w: WindowResult) -> dict[str, Any]:
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
def dataset_drift_check(ctx: CheckContext, rule: Rule, params: DatasetDriftParams) -> Finding:
    """Share of drifted columns per window stays under ``max`` (default ``drift_share``)."""
    run = _run(ctx)
    limit = rule.max if rule.max is not None else run.settings.drift_share
    per_window, failing, worst = [], [], math.nan
    for w in run.windows:
        entry = _window_stub(w)
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
    assert isinstance(ctx, MonitorContext)
    return _windows_finding(
        ctx,
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
def column_drift_check(ctx: CheckContext, rule: Rule, params: ColumnDriftParams) -> Finding:
    """None of the listed columns drifts in any window."""
    run = _run(ctx)
    per_window, failing, worst = [], [], 0.0
    missing = [c for c in (params.columns or []) if c not in run.reference.columns]
    for w in run.windows:
        entry = _window_stub(w)
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
    assert isinstance(ctx, MonitorContext)
    finding = _windows_finding(
        ctx,
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
def prediction_drift_check(ctx: CheckContext, rule: Rule, params: PredictionDriftParams) -> Finding:
    """The distribution of predictions (or scores) does not drift."""
    from charter.stats.drift import column_drift

    run = _run(ctx)
    column = params.column or run.settings.prediction_column
    assert isinstance(ctx, MonitorContext)
    if column is None or column not in run.reference.columns:
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
    if column in run.summary.missing_columns:
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
    ref = run.reference.columns[column]
    per_window, failing, worst = [], [], math.nan
    for w in run.windows:
        entry = _window_stub(w)
        cur = w.summary.profile.columns.get(column) if w.summary is not None else None
        if cur is not None and not w.reason:
            result = column_drift(
                ref,
                cur,
                method=params.method or run.settings.method_for(column),
                threshold=params.threshold
                if params.threshold is not None
                else run.settings.threshold_for(column),
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
    return _windows_finding(
        ctx,
        rule,
        metric="drift_score",
        per_window=per_window,
        failing=failing,
        value=worst,
        threshold=None,
        noun=f"prediction drift of '{column}'",
        extra={"column": column},
    )


def _worse(result: Any, current: float) -> float:
    from charter.stats.drift import METHODS

    spec = METHODS[result.method]
    return min(current, result.score) if spec.p_value else max(current, result.score)


@check(
    "embedding_drift",
    section="monitoring",
    params=EmbeddingDriftParams,
    metric="drift_score",
    description="Embedding columns do not drift (domain classifier ROC AUC or MMD).",
    controls=MONITORING_CONTROLS,
)
def embedding_drift_check(ctx: CheckContext, rule: Rule, params: EmbeddingDriftParams) -> Finding:
    """Embedding columns do not drift."""
    run = _run(ctx)
    columns = (
        params.columns
        or list(run.settings.embeddings)
        or [n for n, c in run.reference.columns.items() if c.kind.value == "embedding"]
    )
    per_window, failing, worst = [], [], math.nan
    for w in run.windows:
        entry = _window_stub(w)
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
    assert isinstance(ctx, MonitorContext)
    return _windows_finding(
        ctx,
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
def new_categories_check(ctx: CheckContext, rule: Rule, params: NewCategoriesParams) -> Finding:
    """Categorical columns show no value the reference never had (a new category is drift)."""
    run = _run(ctx)
    per_window, failing = [], []
    total = 0
    for w in run.windows:
        entry = _window_stub(w)
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
    assert isinstance(ctx, MonitorContext)
    finding = _windows_finding(
        ctx,
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


@check(
    "window_fairness",
    section="monitoring",
    params=WindowFairnessParams,
    metric="fairness",
    description="A fairness metric stays within bounds in every window (with its interval).",
    controls=("eu-ai-act:art-72", "nist-ai-rmf:measure-2.11"),
)
def window_fairness_check(ctx: CheckContext, rule: Rule, params: WindowFairnessParams) -> Finding:
    """A fairness metric stays within ``[min, max]`` in every window."""
    run = _run(ctx)
    assert isinstance(ctx, MonitorContext)
    return _metric_over_windows(ctx, rule, run.fairness_series(rule, params), params.metric)


@check(
    "window_performance",
    section="monitoring",
    params=WindowPerformanceParams,
    metric="performance",
    description="A performance metric stays within bounds in every window (with its interval).",
    controls=("eu-ai-act:art-72", "eu-ai-act:art-15"),
)
def window_performance_check(
    ctx: CheckContext, rule: Rule, params: WindowPerformanceParams
) -> Finding:
    """A performance metric stays within ``[min, max]`` in every window."""
    run = _run(ctx)
    assert isinstance(ctx, MonitorContext)
    return _metric_over_windows(ctx, rule, run.performance_series(rule, params), params.metric)


def _metric_over_windows(
    ctx: MonitorContext, rule: Rule, series: list[dict[str, Any]], metric: str
) -> Finding:
    bounds = rule.threshold
    by_interval = ctx.policy.monitoring.window_verdict == "interval"
    failing, at_risk = [], []
    worst = math.nan
    for entry in series:
        value = entry.get("value")
        if not entry.get("judged", True) or value is None:
            continue
        entry["status"] = _window_status(bounds, value, entry.get("ci"), by_interval=by_interval)
        if entry["status"] == "violation":
            failing.append(entry)
        elif entry["status"] == "at_risk":
            at_risk.append(entry["start"])
        worst = value if math.isnan(worst) else _farther(bounds, value, worst)
    extra: dict[str, Any] = {
        "metric": metric,
        "window_verdict": "interval" if by_interval else "estimate",
    }
    if at_risk:
        extra["at_risk_windows"] = at_risk
    slope = _trend(series)
    if slope is not None:
        extra["trend_per_window"] = slope
    finding = _windows_finding(
        ctx,
        rule,
        metric=metric,
        per_window=series,
        failing=failing,
        value=worst,
        threshold=bounds,
        noun=f"{metric} out of bounds",
        extra=extra,
    )
    if at_risk and finding.verdict is Verdict.PASS:
        finding = finding.model_copy(
            update={
                "message": f"{finding.message}; the interval crosses the bound in"
                f" {len(at_risk)} window(s)"
            }
        )
    return finding


def _window_status(
    bounds: Threshold | None, value: float, ci: list[float | None] | None, *, by_interval: bool
) -> str:
    """``violation``, ``at_risk`` or ``ok`` for one window's estimate and interval.

    By estimate, the window violates when its estimate leaves the bounds and is at risk when
    only its interval crosses them. By interval, it violates only when the whole interval lies
    outside the bounds (the violation is significant at the interval's level); an estimate
    outside with an interval crossing the bound is at risk. Without an interval, the estimate
    decides either way.
    """
    if bounds is None:
        return "ok"
    inside = bounds.admits(value)
    has_ci = bool(ci) and ci is not None and ci[0] is not None and ci[1] is not None
    if not has_ci:
        return "ok" if inside else "violation"
    assert ci is not None
    crosses = _ci_crosses(bounds, ci)
    if not by_interval:
        return "violation" if not inside else ("at_risk" if crosses else "ok")
    low, high = float(ci[0]), float(ci[1])  # type: ignore[arg-type]
    wholly_outside = (bounds.max is not None and low > bounds.max) or (
        bounds.min is not None and high < bounds.min
    )
    if wholly_outside:
        return "violation"
    return "at_risk" if (not inside or crosses) else "ok"


def _ci_crosses(bounds: Threshold, ci: list[float | None]) -> bool:
    low, high = ci
    if low is None or high is None:
        return False
    return not (bounds.admits(low) and bounds.admits(high))


def _farther(bounds: Threshold | None, value: float, worst: float) -> float:
    if bounds is None or (bounds.max is not None and bounds.min is None):
        return max(value, worst)
    if bounds.min is not None and bounds.max is None:
        return min(value, worst)
    mid = ((bounds.min or 0.0) + (bounds.max or 0.0)) / 2
    return value if abs(value - mid) > abs(worst - mid) else worst


def _trend(series: list[dict[str, Any]]) -> float | None:
    points = [
        (i, e["value"])
        for i, e in enumerate(series)
        if e.get("judged", True) and e.get("value") is not None
    ]
    if len(points) < 3:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def _run(ctx: CheckContext) -> MonitorRun:
    if not isinstance(ctx, MonitorContext):
        from charter.errors import CheckError

        raise CheckError(
            "monitoring checks run inside `charter monitor`, not in a gate",
            hint="move the rule under monitoring.rules and run `charter monitor`",
        )
    return ctx.require_run()
