"""Fairness checks: the named metrics of fairlearn and AIF360, the four-fifths rule, any rate.

Each check counts once per set of sensitive columns (memoised by the
:class:`~charter.checks.context.CheckContext`), evaluates its metric with
:class:`~charter.stats.fairness.GroupMetrics`, and returns one finding whose ``details`` carry
the per-group table, the bootstrap confidence interval, small-group handling and, for an
undefined metric, the reason. The shape of ``details`` is documented in ``docs/metrics.md``.

Parameters shared by every fairness check (all optional):

``sensitive``
    Sensitive columns; several give intersectional groups. Default: the policy's
    ``fairness.sensitive`` (or ``data.sensitive``).
``privileged``
    ``{column: value}`` of the privileged group, for AIF360-style metrics. Default: the
    policy's ``fairness.privileged``.
``min_group_size``, ``small_groups``, ``bootstrap``, ``confidence_level``, ``seed``
    Override the policy's ``fairness`` settings for this rule.
``undefined``
    ``nan`` (default): an undefined group rate makes the metric undefined (an error finding
    that blocks like a failure); ``skip``: leave such groups out and list them.

Checks of predictions alone — ``demographic_parity_difference``/``_ratio``,
``statistical_parity_difference``, ``disparate_impact``, ``four_fifths_rule`` and
``group_metric`` on ``selection_rate`` — run without a target column (a model's predictions on
unlabelled, production-like data); every other fairness check needs the target and says so.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from charter.checks.context import CheckContext
from charter.checks.favourable import RATIO_CHECKS, unfavourable_target
from charter.checks.registry import check
from charter.errors import CheckError, DataError
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule, SmallGroupPolicy
from charter.stats.counts import ConfusionCounts
from charter.stats.fairness import (
    LABEL_FREE_METRICS,
    NAMED_METRICS,
    Aggregation,
    GroupMetrics,
    Method,
)
from charter.stats.rates import RATES, get_rate
from charter.stats.results import MetricResult, describe_groups

FAIRNESS_CONTROLS = ("eu-ai-act:art-10.2.f", "nist-ai-rmf:measure-2.11", "oecd:1.2")


class FairnessParams(BaseModel):
    """Parameters shared by every fairness check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitive: list[str] | None = Field(
        default=None, description="Sensitive columns; several give intersectional groups."
    )
    privileged: dict[str, Any] | None = Field(
        default=None, description="Privileged value per sensitive column (AIF360-style)."
    )
    min_group_size: int | None = Field(default=None, ge=1)
    small_groups: SmallGroupPolicy | None = None
    undefined: Literal["nan", "skip"] = "nan"
    bootstrap: int | None = Field(default=None, ge=0)
    confidence_level: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed: int | None = None


class MethodParams(FairnessParams):
    """fairlearn-style metrics: how groups are compared."""

    method: Literal["between_groups", "to_overall"] = "between_groups"


class EqualizedOddsParams(MethodParams):
    """Equalized odds: also how the TPR and FPR parts combine."""

    agg: Literal["worst_case", "mean"] = "worst_case"


class EqualOpportunityParams(MethodParams):
    """Equal opportunity difference: fairlearn's (unsigned) or AIF360's (signed)."""

    convention: Literal["fairlearn", "aif360"] = "fairlearn"


class GroupMetricParams(MethodParams):
    """Any per-group rate with a difference or ratio aggregation."""

    metric: str = Field(description="A rate: selection_rate, true_positive_rate, precision, ...")
    aggregation: Literal["difference", "ratio"] = "difference"

    @field_validator("metric")
    @classmethod
    def _known_rate(cls, value: str) -> str:
        try:
            return get_rate(value).name
        except CheckError as exc:
            raise ValueError(f"{exc.message}; use one of {', '.join(RATES)}") from None


def _sensitive(ctx: CheckContext, params: FairnessParams) -> list[str]:
    names = list(params.sensitive or ctx.policy.sensitive_features)
    if not names:
        raise CheckError(
            "a fairness rule needs sensitive columns but none were given",
            hint="set fairness.sensitive (or data.sensitive) in the policy, or the rule's"
            " params.sensitive",
        )
    return names


def _privileged(ctx: CheckContext, params: FairnessParams) -> dict[str, Any] | None:
    if params.privileged is not None:
        return dict(params.privileged)
    return dict(ctx.policy.fairness.privileged) or None


def _counts(ctx: CheckContext, names: list[str]) -> ConfusionCounts:
    """Confusion counts; without a target, counts of the predictions alone (memoised)."""
    if ctx.target:
        return ctx.confusion_counts(names)
    key = tuple(names)
    return ctx.memo(
        f"selection_counts:{key}",
        lambda: ConfusionCounts.from_index(
            ctx.group_index(key), None, ctx.y_pred(), ctx.sample_weight()
        ),
    )


def _require_target(ctx: CheckContext, rule: Rule, what: str) -> None:
    if not ctx.target:
        raise DataError(
            f"rule '{rule.id}' ({what}) needs true labels but no target column was given",
            hint="pass --target COLUMN or set data.target in the policy; on unlabelled data"
            f" use {', '.join(LABEL_FREE_METRICS)} or group_metric with metric=selection_rate",
        )


def _group_metrics(ctx: CheckContext, params: FairnessParams, names: list[str]) -> GroupMetrics:
    settings = ctx.policy.fairness
    small = params.small_groups or settings.small_groups
    return GroupMetrics(
        _counts(ctx, names),
        min_group_size=params.min_group_size or settings.min_group_size,
        small_groups=small.value,
        undefined=params.undefined,
        bootstrap=settings.bootstrap if params.bootstrap is None else params.bootstrap,
        confidence_level=params.confidence_level or settings.confidence_level,
        seed=settings.seed if params.seed is None else params.seed,
    )


def _finding(
    ctx: CheckContext,
    rule: Rule,
    result: MetricResult,
    names: list[str],
    *,
    threshold: Threshold | None = None,
) -> Finding:
    details = result.to_details()
    details["sensitive"] = names
    bounds = threshold if threshold is not None else rule.threshold
    where = " × ".join(names)
    if not result.defined:
        return ctx.finding(
            rule,
            value=math.nan,
            verdict=Verdict.ERROR,
            message=f"{result.metric} over {where} is undefined: {result.reason}",
            details=details,
            metric=result.metric,
            threshold=bounds,
        )
    text = f"{result.metric} = {result.value:.4g} over {where}"
    if result.ci is not None and not math.isnan(result.ci[0]):
        level = details.get("bootstrap", {}).get("confidence_level", 0.95)
        text += f" ({level:.0%} CI {result.ci[0]:.4g} to {result.ci[1]:.4g})"
    if bounds is not None:
        text += f"; must be {bounds.describe()}"
    text += _gap(details)
    if rule.check in RATIO_CHECKS and (caution := unfavourable_target(ctx.policy, ctx.target)):
        details["positive_label_warning"] = caution
        text += f". Caution: {caution}"
    verdict = None
    small = result.small_groups
    if details.get("small_group_failure"):
        verdict = Verdict.FAIL
        text += (
            f"; {len(small)} group(s) under {details['min_group_size']} rows, too small to"
            f" judge: {describe_groups(small)}"
        )
    elif small and details.get("small_group_policy") == "exclude":
        text += f"; excluded {len(small)} small group(s)"
    elif small:
        text += f"; {len(small)} small group(s) reported: {describe_groups(small)}"
    return ctx.finding(
        rule,
        value=result.value,
        verdict=verdict,
        message=text,
        details=details,
        threshold=bounds,
        metric=result.metric,
    )


def _gap(details: dict[str, Any]) -> str:
    """``"; set by race=Black, sex=F (selection_rate 0.1, n=4, small) and ..."``.

    Names the two groups whose rates make a between-groups difference or ratio (for several
    rates, the rate with the widest spread), with their sizes, so that a gap made by two tiny
    groups shows as such.
    """
    if (
        details.get("method") not in (None, "between_groups")
        or len(details.get("groups") or []) < 3
    ):
        return ""
    rates = list(details.get("metric_rates") or [])
    groups = [g for g in details["groups"] if isinstance(g, dict) and not g.get("excluded")]
    best: tuple[float, str, dict[str, Any], dict[str, Any]] | None = None
    for rate in rates:
        valued = [
            g for g in groups if isinstance(g.get(rate), int | float) and math.isfinite(g[rate])
        ]
        if len(valued) < 2:
            continue
        high = max(valued, key=lambda g: g[rate])
        low = min(valued, key=lambda g: g[rate])
        spread = float(high[rate] - low[rate])
        if best is None or spread > best[0]:
            best = (spread, rate, high, low)
    if best is None:
        return ""
    _, rate, high, low = best

    def one(g: dict[str, Any]) -> str:
        small = ", small" if g.get("small") else ""
        return f"[{g.get('group')}] ({rate} {g[rate]:.3g}, n={g.get('count')}{small})"

    return f"; set by {one(high)} and {one(low)}"


_PRIVILEGED = ("statistical_parity_difference", "disparate_impact", "average_odds_difference")


def _named(metric: str) -> Any:
    def run(ctx: CheckContext, rule: Rule, params: FairnessParams) -> Finding:
        names = _sensitive(ctx, params)
        if metric not in LABEL_FREE_METRICS:
            _require_target(ctx, rule, metric)
        gm = _group_metrics(ctx, params, names)
        method: Method = getattr(params, "method", "between_groups")
        agg: Aggregation = getattr(params, "agg", "worst_case")
        privileged = None
        aif360 = metric in _PRIVILEGED or (
            isinstance(params, EqualOpportunityParams) and params.convention == "aif360"
        )
        if aif360:
            privileged = _privileged(ctx, params)
            if not privileged:
                raise CheckError(
                    f"{metric} compares with a privileged group but none was given",
                    hint="set fairness.privileged in the policy (or the rule's params.privileged),"
                    " e.g. {sex: M}",
                )
        result = NAMED_METRICS[metric](gm, method, agg, privileged)
        return _finding(ctx, rule, result, names)

    run.__name__ = metric
    run.__doc__ = f"Fairness check {metric}."
    return run


_DESCRIPTIONS = {
    "demographic_parity_difference": (
        MethodParams,
        "Largest gap in selection rate between groups (fairlearn).",
    ),
    "demographic_parity_ratio": (
        MethodParams,
        "Smallest over largest group selection rate (fairlearn).",
    ),
    "equalized_odds_difference": (
        EqualizedOddsParams,
        "Largest gap in true or false positive rate between groups (fairlearn).",
    ),
    "equalized_odds_ratio": (
        EqualizedOddsParams,
        "Smallest ratio of true or false positive rates between groups (fairlearn).",
    ),
    "equal_opportunity_difference": (
        EqualOpportunityParams,
        "Gap in true positive rate: fairlearn's max-min, or AIF360's signed gap to privileged.",
    ),
    "equal_opportunity_ratio": (
        MethodParams,
        "Smallest over largest group true positive rate (fairlearn).",
    ),
    "statistical_parity_difference": (
        FairnessParams,
        "Selection rate of the unprivileged minus that of the privileged group (AIF360).",
    ),
    "disparate_impact": (
        FairnessParams,
        "Selection rate of the unprivileged over that of the privileged group (AIF360).",
    ),
    "average_odds_difference": (
        FairnessParams,
        "Mean of the unprivileged-minus-privileged FPR and TPR gaps (AIF360).",
    ),
}

for _metric, (_params, _description) in _DESCRIPTIONS.items():
    check(
        _metric,
        section="fairness",
        params=_params,
        metric=_metric,
        description=_description,
        needs=("y_pred", "sensitive")
        if _metric in LABEL_FREE_METRICS
        else ("y_true", "y_pred", "sensitive"),
        controls=FAIRNESS_CONTROLS,
    )(_named(_metric))


@check(
    "four_fifths_rule",
    section="fairness",
    params=FairnessParams,
    metric="four_fifths_rule",
    description="Every group's selection rate is at least 4/5 of the most favoured group's.",
    needs=("y_pred", "sensitive"),
    controls=FAIRNESS_CONTROLS,
)
def four_fifths_rule(ctx: CheckContext, rule: Rule, params: FairnessParams) -> Finding:
    """Every group's selection rate is at least ``min`` (default 0.8) of the highest one."""
    names = _sensitive(ctx, params)
    bounds = rule.threshold or Threshold(min=0.8)
    threshold = bounds.min if bounds.min is not None else 0.8
    result = _group_metrics(ctx, params, names).four_fifths_rule(threshold)
    return _finding(ctx, rule, result, names, threshold=bounds)


@check(
    "group_metric",
    section="fairness",
    params=GroupMetricParams,
    metric="group_metric",
    description="Difference or ratio of any per-group rate (selection_rate, precision, ...).",
    needs=("y_pred", "sensitive"),
    controls=FAIRNESS_CONTROLS,
)
def group_metric(ctx: CheckContext, rule: Rule, params: GroupMetricParams) -> Finding:
    """The ``difference`` or ``ratio`` of one rate across groups, as fairlearn aggregates it.

    Needs the target unless the rate is label-free (``selection_rate``).
    """
    names = _sensitive(ctx, params)
    if get_rate(params.metric).uses_labels:
        _require_target(ctx, rule, f"{params.metric} {params.aggregation}")
    gm = _group_metrics(ctx, params, names)
    if params.aggregation == "difference":
        result = gm.difference(params.metric, params.method)
    else:
        result = gm.ratio(params.metric, params.method)
    return _finding(ctx, rule, result, names)
