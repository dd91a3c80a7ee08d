"""Performance checks: thresholds on a metric, per group, and ``max_drop`` against a baseline.

One check per metric of :data:`~charter.stats.performance.PERFORMANCE_METRICS`: ``accuracy``,
``balanced_accuracy``, ``precision``, ``recall``, ``f1`` (from predictions), ``roc_auc``,
``log_loss``, ``brier`` (from positive-class probabilities: the model's ``predict_proba`` or the
policy's ``data.score`` column) and ``mae``, ``rmse``, ``r2`` (regression). Statistics are
memoised per context, so several rules on the same predictions aggregate once.

Parameters (all optional):

``per_group`` / ``sensitive``
    Add the per-group table (``details["groups"]``); ``sensitive`` names the columns (default:
    the policy's sensitive columns) and implies ``per_group``.
``aggregate``
    ``overall`` (default) holds the overall value to the rule's bounds; ``worst_group`` holds
    the worst group's value (lowest score, highest loss).
``max_drop``
    Largest allowed degradation against the baseline model (``--baseline``): for scores
    ``baseline - current``, for losses ``current - baseline``. Without a baseline the finding
    is SKIPPED with the reason; put unconditional bounds in a separate rule.
``bootstrap``, ``confidence_level``, ``seed``
    Override the policy's ``performance`` settings (which default to the ``fairness`` ones)
    for the confidence intervals: ``details["ci"]`` overall, ``"<metric>_ci"`` per group,
    ``details["interval"]`` saying how (count bootstrap, DeLong, normal approximation).
    ``bootstrap: 0`` turns intervals off.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from charter.checks.context import CheckContext
from charter.checks.registry import check
from charter.errors import CheckError
from charter.evidence import Finding, Verdict
from charter.policy.schema import Rule, Task
from charter.stats.performance import PERFORMANCE_METRICS, PerformanceMetric, Statistics, evaluate
from charter.stats.regression import RegressionMoments
from charter.stats.results import MetricResult
from charter.stats.scores import ScoreCounts

PERFORMANCE_CONTROLS = ("eu-ai-act:art-15.3", "nist-ai-rmf:measure-2.3")


class PerformanceParams(BaseModel):
    """Parameters of every performance check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_group: bool = False
    sensitive: list[str] | None = None
    aggregate: Literal["overall", "worst_group"] = "overall"
    max_drop: float | None = Field(default=None, ge=0.0)
    bootstrap: int | None = Field(default=None, ge=0)
    confidence_level: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed: int | None = None


def _interval_settings(ctx: CheckContext, params: PerformanceParams) -> dict[str, Any]:
    """``evaluate`` options: the rule's, else ``performance``'s, else ``fairness``'s."""
    section, fairness = ctx.policy.performance, ctx.policy.fairness

    def pick(name: str) -> Any:
        for source in (params, section):
            value = getattr(source, name)
            if value is not None:
                return value
        return getattr(fairness, name)

    bootstrap = int(pick("bootstrap"))
    if bootstrap <= 0:
        return {}
    return {
        "confidence_level": float(pick("confidence_level")),
        "bootstrap": bootstrap,
        "seed": int(pick("seed")),
    }


def _names(ctx: CheckContext, params: PerformanceParams) -> tuple[str, ...]:
    if params.sensitive is not None:
        return tuple(params.sensitive)
    if params.per_group or params.aggregate == "worst_group":
        names = tuple(ctx.policy.sensitive_features)
        if not names:
            raise CheckError(
                "per-group performance needs sensitive columns but none were given",
                hint="set data.sensitive or fairness.sensitive in the policy, or params.sensitive",
            )
        return names
    return ()


def _statistics(
    ctx: CheckContext, metric: PerformanceMetric, names: tuple[str, ...], *, baseline: bool
) -> Statistics | None:
    """Memoised statistics the metric is computed from; ``None`` when scores are missing."""
    regression = ctx.task is Task.REGRESSION
    if regression != (metric.kind == "regression"):
        kind = "regression" if metric.kind == "regression" else "classification"
        raise CheckError(
            f"'{metric.name}' is a {kind} metric but the policy's model.task is {ctx.task.value}",
            hint="use accuracy/roc_auc/... for classifiers and mae/rmse/r2 for regressors,"
            " or set model.task",
        )
    if metric.kind == "counts":
        return ctx.confusion_counts(names, baseline=baseline)
    if metric.kind == "regression":
        return ctx.memo(
            f"regression_moments:{names}:{baseline}",
            lambda: RegressionMoments.from_index(
                ctx.group_index(names),
                ctx.y_true(),
                ctx.y_pred(baseline=baseline),
                ctx.sample_weight(),
            ),
        )
    scores = ctx.scores(baseline=baseline)
    if scores is None:
        return None
    return ctx.memo(
        f"score_counts:{names}:{baseline}",
        lambda: ScoreCounts.from_index(
            ctx.group_index(names), ctx.y_true(), scores, ctx.sample_weight()
        ),
    )


def _value(result: MetricResult, params: PerformanceParams) -> tuple[float, str | None]:
    if params.aggregate == "overall":
        return result.value, result.reason
    worst = result.details.get("worst_group")
    if worst is None:
        return math.nan, "no group has a defined value"
    return float(worst["value"]), None


def _ci_text(result: MetricResult, params: PerformanceParams) -> str:
    """`` (95% CI a to b)`` for the value held to the bounds, or nothing."""
    bounds: Any = result.ci
    if params.aggregate == "worst_group":
        bounds = result.details.get("worst_group", {}).get("ci")
    if bounds is None or bounds[0] is None or bounds[1] is None:
        return ""
    low, high = float(bounds[0]), float(bounds[1])
    if math.isnan(low) or math.isnan(high):
        return ""
    level = result.details.get("interval", {}).get("confidence_level", 0.95)
    return f" ({level:.0%} CI {low:.4g} to {high:.4g})"


def _no_scores(ctx: CheckContext, rule: Rule, baseline: bool) -> Finding:
    who = "baseline model" if baseline else "model"
    reason = (
        f"the {who} has no predict_proba and the data has no score column, so "
        f"{rule.check} cannot be computed"
    )
    return ctx.finding(
        rule,
        value=math.nan,
        verdict=Verdict.ERROR,
        message=reason,
        details={"reason": reason},
    )


def _run(metric_name: str) -> Any:
    metric = PERFORMANCE_METRICS[metric_name]

    def run(ctx: CheckContext, rule: Rule, params: PerformanceParams) -> Finding:
        names = _names(ctx, params)
        if params.max_drop is not None and ctx.baseline is None:
            skip = "max_drop compares with a baseline model, and none was given (--baseline)"
            return ctx.finding(
                rule,
                verdict=Verdict.SKIPPED,
                message=f"skipped: {skip}",
                details={"reason": skip, "max_drop": params.max_drop},
            )
        stats = _statistics(ctx, metric, names, baseline=False)
        if stats is None:
            return _no_scores(ctx, rule, baseline=False)
        min_size = ctx.policy.fairness.min_group_size if names else None
        result = evaluate(
            metric_name, stats, min_group_size=min_size, **_interval_settings(ctx, params)
        )
        value, reason = _value(result, params)
        details = result.to_details()
        details["aggregate"] = params.aggregate
        if names:
            details["sensitive"] = list(names)
        where = f" ({params.aggregate.replace('_', ' ')})" if names else ""
        if math.isnan(value):
            why = reason or result.reason or "undefined"
            details["reason"] = why
            return ctx.finding(
                rule,
                value=math.nan,
                verdict=Verdict.ERROR,
                message=f"{metric_name}{where} is undefined: {why}",
                details=details,
            )
        message = f"{metric_name}{where} = {value:.4g}{_ci_text(result, params)}"
        bounds = rule.threshold
        passed = bounds.admits(value) if bounds is not None else True
        if bounds is not None:
            message += f"; must be {bounds.describe()}"
        if params.max_drop is not None:
            base_stats = _statistics(ctx, metric, names, baseline=True)
            if base_stats is None:
                return _no_scores(ctx, rule, baseline=True)
            base = evaluate(metric_name, base_stats)
            base_value, _ = _value(base, params)
            if math.isnan(base_value):
                base_reason = "the baseline's metric is undefined: " + (
                    base.reason or "no group has a defined value"
                )
                details["reason"] = base_reason
                return ctx.finding(
                    rule, value=value, verdict=Verdict.ERROR, message=base_reason, details=details
                )
            drop = base_value - value if metric.higher_is_better else value - base_value
            details.update(
                {"baseline_value": base_value, "drop": drop, "max_drop": params.max_drop}
            )
            kept = bool(np.isfinite(drop)) and drop <= params.max_drop + 1e-12
            passed = passed and kept
            message += (
                f"; baseline {base_value:.4g}, "
                f"{'drop' if drop >= 0 else 'gain'} {abs(drop):.4g} (max drop {params.max_drop:g})"
            )
        return ctx.finding(
            rule,
            value=value,
            verdict=Verdict.PASS if passed else Verdict.FAIL,
            message=message,
            details=details,
        )

    run.__name__ = metric_name
    run.__doc__ = f"Performance check {metric_name}: {metric.description}."
    return run


for _name, _metric in PERFORMANCE_METRICS.items():
    _needs = ["y_true", "y_pred"] if _metric.kind != "scores" else ["y_true", "scores"]
    check(
        _name,
        section="performance",
        params=PerformanceParams,
        metric=_name,
        description=f"{_metric.description[0].upper()}{_metric.description[1:]}"
        f" ({'higher' if _metric.higher_is_better else 'lower'} is better).",
        needs=_needs,
        controls=PERFORMANCE_CONTROLS,
    )(_run(_name))
