"""Which bounds each check holds its metric to, so a policy means what it says.

A rule's ``min`` and ``max`` only mean something when its check compares its metric with
them. Pass/fail checks (``required_columns``, ``dtypes``) have no metric; some monitoring
checks judge against a fixed bound (``column_drift``: no column may drift) or against their
own ``params.threshold`` (``prediction_drift``). A policy writing ``max: 3`` on such a rule
would look stricter or looser than it is, so the loader refuses it, naming the bounds the
check does honour.

Third-party checks honour both bounds when they declare a metric, and none otherwise.
"""

from __future__ import annotations

from typing import Protocol

from charter.evidence import Threshold
from charter.policy.schema import Rule


class CheckSpec(Protocol):
    """What this module reads of a registered check (:class:`charter.checks.registry.CheckSpec`)."""

    @property
    def id(self) -> str:
        """The check's id."""
        ...

    @property
    def metric(self) -> str | None:
        """The metric it measures, or ``None`` for a pass/fail check."""
        ...


BOTH: frozenset[str] = frozenset({"min", "max"})
NONE: frozenset[str] = frozenset()

#: Charter's checks whose metric does not follow the default (a metric honours both bounds).
_EXCEPTIONS: dict[str, frozenset[str]] = {
    "column_drift": NONE,
    "new_categories": NONE,
    "prediction_drift": NONE,
    "embedding_drift": NONE,
    "dataset_drift": frozenset({"max"}),
}

_WHY: dict[str, str] = {
    "column_drift": "it fails when any listed column drifts; list columns in params.columns",
    "new_categories": "it fails on any new category; list columns in params.columns",
    "prediction_drift": "set params.threshold (or monitoring.drift_threshold) instead",
    "embedding_drift": "set params.threshold (or monitoring.embeddings) instead",
    "dataset_drift": "only max (the drifted share allowed) applies",
}


def honoured_bounds(spec: CheckSpec) -> frozenset[str]:
    """The bounds (``min``, ``max``) that ``spec``'s check compares its metric with."""
    if spec.id in _EXCEPTIONS:
        return _EXCEPTIONS[spec.id]
    return BOTH if spec.metric is not None else NONE


def ignored_bounds_hint(spec: CheckSpec) -> str:
    """What to write instead of a bound the check ignores."""
    honoured = sorted(honoured_bounds(spec))
    base = _WHY.get(spec.id) or (
        f"{spec.id} is a pass/fail check without a metric; use its params"
        if spec.metric is None
        else f"{spec.id} honours only {', '.join(honoured)}"
    )
    return f"remove the bound: {base}"


#: Bounds a check holds its metric to when the rule gives none.
DEFAULT_BOUNDS: dict[str, Threshold] = {
    "four_fifths_rule": Threshold(min=0.8),
    "unique": Threshold(max=0.0),
    "duplicate_rows": Threshold(max=0.0),
    "value_range": Threshold(max=0.0),
    "allowed_categories": Threshold(max=0.0),
    "pii_scan": Threshold(max=0.0),
    "column_drift": Threshold(max=0.0),
    "new_categories": Threshold(max=0.0),
}


def expected_threshold(rule: Rule) -> Threshold | None:
    """The bounds a finding of ``rule`` must carry: the rule's own, or its check's default.

    ``shap_explanations`` holds the protected share to ``params.max_protected_share`` when the
    rule sets it.
    """
    if rule.check == "shap_explanations" and rule.params.get("max_protected_share") is not None:
        return Threshold(max=float(rule.params["max_protected_share"]))
    return rule.threshold or DEFAULT_BOUNDS.get(rule.check)
