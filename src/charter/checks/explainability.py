"""Explainability check: SHAP explanations computable and finite; protected share bounded.

The SHAP computation lives in :mod:`charter.checks.explanations` and is memoised on the check
context, so several rules (and the report's importance plot) share one computation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from charter.checks.context import CheckContext
from charter.checks.explanations import ExplainerKind, Explanation, explain
from charter.checks.registry import check
from charter.errors import CharterError, CheckError
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Rule

EXPLAINABILITY_CONTROLS = ("eu-ai-act:art-13", "nist-ai-rmf:measure-2.9", "oecd:1.3")

#: Largest tolerated ``|sum(SHAP) + expected - output|``, relative to the output's spread.
ADDITIVITY_TOLERANCE = 1e-4


class ShapParams(BaseModel):
    """Parameters of ``shap_explanations``.

    Attributes
    ----------
    explainer
        ``auto`` (default), ``tree``, ``linear`` or ``permutation``.
    max_protected_share
        Upper bound on the share of total importance held by the protected attributes
        (``privacy.protected_attributes`` or ``attributes``) and the ``proxies``.
    attributes
        Protected attributes; default ``privacy.protected_attributes``.
    proxies
        Further columns that stand in for protected attributes (``zip_code`` for ethnicity).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    explainer: ExplainerKind = ExplainerKind.AUTO
    max_protected_share: float | None = Field(default=None, ge=0.0, le=1.0)
    attributes: list[str] | None = None
    proxies: list[str] = Field(default_factory=list)


@check(
    "shap_explanations",
    section="explainability",
    params=ShapParams,
    metric="protected_importance_share",
    description="SHAP explanations can be computed and are finite; importances recorded.",
    needs=("model",),
    controls=EXPLAINABILITY_CONTROLS,
)
def shap_explanations(ctx: CheckContext, rule: Rule, params: ShapParams) -> Finding:
    """SHAP values on a sample: ERROR when they cannot be computed or are not finite.

    Records the explainer, sample size and global importances (mean |SHAP| per original
    column, and its normalised share). With ``max_protected_share`` (or the rule's
    ``min``/``max``), the share of importance held by protected attributes and proxies is the
    metric and is bounded.
    """
    protected = list(
        dict.fromkeys(
            [
                *(
                    params.attributes
                    if params.attributes is not None
                    else ctx.policy.privacy.protected_attributes
                ),
                *params.proxies,
            ]
        )
    )
    bounds = (
        Threshold(max=params.max_protected_share)
        if params.max_protected_share is not None
        else rule.threshold
    )
    if bounds is not None and not protected:
        raise CheckError(
            f"rule '{rule.id}' bounds the protected share of importance but names no"
            " protected attribute",
            hint="list them under privacy.protected_attributes, or the rule's attributes/proxies",
        )
    settings = ctx.policy.explainability
    base: dict[str, Any] = {
        "sample_size": settings.sample_size,
        "background_size": settings.background_size,
        "seed": settings.seed,
    }
    if ctx.model is None:
        raise CheckError(
            f"rule '{rule.id}' explains a model, and none was given",
            hint="pass --model MODEL, or drop the explainability rules for prediction-only checks",
        )
    try:
        explanation = explain(ctx, kind=params.explainer)
    except CharterError:
        raise
    except Exception as exc:
        return ctx.finding(
            rule,
            verdict=Verdict.ERROR,
            value=float("nan"),
            threshold=bounds,
            message=f"SHAP explanations could not be computed: {type(exc).__name__}: {exc}",
            details={**base, "reason": f"{type(exc).__name__}: {exc}"},
        )
    details = _details(explanation)
    if not explanation.finite:
        return ctx.finding(
            rule,
            verdict=Verdict.ERROR,
            value=float("nan"),
            threshold=bounds,
            message="SHAP explanations are not finite (NaN or infinite values)",
            details={**details, "reason": "non-finite SHAP values"},
        )
    spread = float(max(1.0, abs(explanation.expected_value)))
    if explanation.additivity_error > ADDITIVITY_TOLERANCE * spread:
        return ctx.finding(
            rule,
            verdict=Verdict.ERROR,
            value=float("nan"),
            threshold=bounds,
            message="SHAP values do not add up to the model output"
            f" (error {explanation.additivity_error:.3g})",
            details={**details, "reason": "SHAP additivity failed"},
        )
    top = ", ".join(f"{k} {v:.0%}" for k, v in list(details["shares"].items())[:3])
    summary = (
        f"{explanation.explainer} SHAP on {len(explanation.sample_rows)} rows; top features: {top}"
    )
    if not protected:
        return ctx.finding(rule, passed=True, message=summary, details=details)
    shares = explanation.shares
    present = [p for p in protected if p in shares]
    share = float(sum(shares[p] for p in present))
    details["protected"] = protected
    details["protected_present"] = present
    details["protected_share"] = share
    held = sorted(present, key=lambda p: -shares[p])
    details["protected_shares"] = {p: shares[p] for p in held}
    named = ", ".join(f"{p} {shares[p]:.1%}" for p in held) or "none of them among the inputs"
    who = "protected attributes and their proxies" if params.proxies else "protected attributes"
    message = f"{summary}; {who} hold {share:.1%} of importance ({named})"
    if bounds is not None:
        message += f"; must be {bounds.describe()}"
    if bounds is None:
        return ctx.finding(rule, passed=True, value=share, message=message, details=details)
    return ctx.finding(rule, value=share, threshold=bounds, message=message, details=details)


def _details(explanation: Explanation) -> dict[str, Any]:
    details: dict[str, Any] = {
        "explainer": explanation.explainer,
        "explainer_class": explanation.explainer_class,
        "model": explanation.model,
        "output": explanation.output,
        "sample_size": len(explanation.sample_rows),
        "background_size": explanation.background_size,
        "expected_value": explanation.expected_value,
        "importances": explanation.importances,
        "shares": explanation.shares,
        "additivity_max_error": explanation.additivity_error,
        "method": explanation.method,
    }
    if explanation.encoded:
        details["encoded"] = explanation.encoded
    if explanation.transformed_features is not None:
        details["transformed_features"] = len(explanation.transformed_features)
        details["feature_map"] = explanation.feature_map
    return details
