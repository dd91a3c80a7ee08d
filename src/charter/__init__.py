"""Charter: governance as code for machine-learning models.

Write the rules in ``policy.yaml``; :func:`charter.check` (or ``charter check``) evaluates them
against data and a model and returns :class:`Evidence`, which blocks a non-compliant model.

The public names below are imported on first use (PEP 562), so ``import charter`` and the CLI
start fast and only pay for the parts they touch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "CharterError": "charter.errors",
    "DataError": "charter.errors",
    "GateFailedError": "charter.errors",
    "ModelLoadError": "charter.errors",
    "PolicyError": "charter.errors",
    "UntrustedArtifactError": "charter.errors",
    "check": "charter.gate",
    "load_model": "charter.artifacts",
    "save_model": "charter.artifacts",
    "Evidence": "charter.evidence",
    "Finding": "charter.evidence",
    "Fingerprint": "charter.evidence",
    "Severity": "charter.evidence",
    "Threshold": "charter.evidence",
    "Verdict": "charter.evidence",
    "Policy": "charter.policy",
    "Rule": "charter.policy",
    "load_policy": "charter.policy",
    "ConfusionCounts": "charter.stats.counts",
    "confusion_counts": "charter.stats.counts",
    "GroupMetrics": "charter.stats.fairness",
    "MetricResult": "charter.stats.results",
    "DataProfile": "charter.stats.profile",
    "build_profile": "charter.monitor.profile",
    "Registry": "charter.registry",
    "compliance_report": "charter.cards",
    "model_card": "charter.cards",
}

__all__ = [
    "CharterError",
    "ConfusionCounts",
    "DataError",
    "DataProfile",
    "Evidence",
    "Finding",
    "Fingerprint",
    "GateFailedError",
    "GroupMetrics",
    "MetricResult",
    "ModelLoadError",
    "Policy",
    "PolicyError",
    "Registry",
    "Rule",
    "Severity",
    "Threshold",
    "UntrustedArtifactError",
    "Verdict",
    "__version__",
    "build_profile",
    "check",
    "compliance_report",
    "confusion_counts",
    "load_model",
    "load_policy",
    "model_card",
    "save_model",
]

if TYPE_CHECKING:
    from charter.artifacts import load_model, save_model
    from charter.cards import compliance_report, model_card
    from charter.errors import (
        CharterError,
        DataError,
        GateFailedError,
        ModelLoadError,
        PolicyError,
        UntrustedArtifactError,
    )
    from charter.evidence import Evidence, Finding, Fingerprint, Severity, Threshold, Verdict
    from charter.gate import check
    from charter.monitor.profile import build_profile
    from charter.policy import Policy, Rule, load_policy
    from charter.registry import Registry
    from charter.stats.counts import ConfusionCounts, confusion_counts
    from charter.stats.fairness import GroupMetrics
    from charter.stats.profile import DataProfile
    from charter.stats.results import MetricResult


assert set(__all__) == {"__version__", *_EXPORTS}, "keep __all__ and _EXPORTS in step"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'charter' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
