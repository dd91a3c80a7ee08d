"""Which rules a monitoring run evaluates, and which model outputs it judges.

Without rules in ``monitoring.rules`` a run uses these defaults: ``dataset-drift``
(``dataset_drift``, blocking), ``prediction-drift`` (when the reference has the prediction or
score column, blocking), ``new-categories`` (warning), ``embedding-drift`` (when the policy
names embedding columns), and every fairness and performance rule of the policy evaluated per
window (``<rule id>.window``, with the rule's bounds, severity and interval settings).

The metrics that can be watched per window are those of the stats registries:
:data:`~charter.stats.fairness.NAMED_METRICS` (and the four-fifths rule) and
:data:`~charter.stats.performance.PERFORMANCE_METRICS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from charter.evidence import Severity
from charter.policy.schema import Policy, Rule
from charter.stats.fairness import NAMED_METRICS
from charter.stats.performance import PERFORMANCE_METRICS
from charter.stats.profile import DataProfile

#: Fairness checks of the gate that a monitoring run also evaluates per window.
WINDOW_FAIRNESS_METRICS = (*NAMED_METRICS, "four_fifths_rule")
#: Performance checks of the gate that a monitoring run also evaluates per window.
WINDOW_PERFORMANCE_METRICS = tuple(PERFORMANCE_METRICS)
_INTERVAL_PARAMS = ("bootstrap", "confidence_level", "seed")


def model_output_columns(
    policy: Policy, reference: DataProfile | None = None
) -> tuple[str | None, str | None]:
    """The log's prediction and score columns.

    The policy's ``data.prediction`` and ``data.score``; where it names none, the columns the
    registry profiled the model's outputs into at registration
    (``reference.meta["model_outputs"]``, see :func:`charter.lineage.reference_profile`).
    """
    profiled = (reference.meta.get("model_outputs") or {}) if reference is not None else {}
    return (
        policy.data.prediction or profiled.get("prediction"),
        policy.data.score or profiled.get("score"),
    )


def prediction_drift_column(
    policy: Policy,
    reference: DataProfile | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> str | None:
    """The column judged for prediction drift.

    The policy's ``data.prediction``, else ``data.score``; else the model's profiled score
    (more informative than the thresholded prediction), else its profiled prediction. When
    ``columns`` (``monitoring.columns``) lists some of these, the first listed one in that
    order: a model output named there is monitored as the model's output.
    """
    prediction, score = model_output_columns(policy, reference)
    candidates = [c for c in (policy.data.prediction, policy.data.score, score, prediction) if c]
    if columns is not None:
        listed = [c for c in candidates if c in columns]
        if listed:
            return listed[0]
    return candidates[0] if candidates else None


def window_rules(policy: Policy) -> list[tuple[str, Rule]]:
    """The policy's fairness and performance rules, as per-window monitoring rules.

    Each keeps the rule's bounds, severity and controls, and the params that make sense per
    window: the sensitive columns, privileged groups and method (fairness), the aggregate
    (performance), and the interval settings (``bootstrap``, ``confidence_level``, ``seed``).
    """
    out = []
    for section, rule in policy.iter_rules():
        if section == "fairness" and rule.check in WINDOW_FAIRNESS_METRICS:
            params = {
                k: v
                for k, v in rule.params.items()
                if k in ("sensitive", "privileged", "method", *_INTERVAL_PARAMS)
            }
            if isinstance(params.get("sensitive"), str):
                params["sensitive"] = [params["sensitive"]]
            check = "window_fairness"
        elif section == "performance" and rule.check in WINDOW_PERFORMANCE_METRICS:
            params = {
                k: v
                for k, v in rule.params.items()
                if k in ("sensitive", "aggregate", *_INTERVAL_PARAMS)
            }
            if rule.params.get("per_group") and "aggregate" not in params:
                params["aggregate"] = "worst_group"
            check = "window_performance"
        else:
            continue
        out.append(
            (
                section,
                Rule(
                    id=f"{rule.id}.window",
                    check=check,
                    params={"metric": rule.check, **params},
                    min=rule.min,
                    max=rule.max,
                    severity=rule.severity,
                    controls=rule.controls,
                    description=f"{rule.check} per window ({rule.id})",
                ),
            )
        )
    return out


def monitoring_rules(policy: Policy, reference: DataProfile) -> list[Rule]:
    """The rules a run evaluates: ``monitoring.rules``, or the defaults (module notes)."""
    if policy.monitoring.rules:
        return list(policy.monitoring.rules)
    rules = [Rule(id="dataset-drift", check="dataset_drift")]
    prediction = prediction_drift_column(policy, reference, columns=policy.monitoring.columns)
    if prediction and prediction in reference.columns:
        rules.append(Rule(id="prediction-drift", check="prediction_drift"))
    rules.append(Rule(id="new-categories", check="new_categories", severity=Severity.WARN))
    if policy.monitoring.embeddings:
        rules.append(Rule(id="embedding-drift", check="embedding_drift"))
    rules.extend(rule for _, rule in window_rules(policy))
    return rules
