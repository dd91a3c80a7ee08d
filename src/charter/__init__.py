"""Charter: governance as code for machine-learning models.

Write the rules in ``policy.yaml``; :func:`charter.check` (or ``charter check``) evaluates them
against data and a model and returns :class:`Evidence`, which blocks a non-compliant model.
"""

from charter.artifacts import load_model, save_model
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
from charter.policy import Policy, Rule, load_policy
from charter.stats.counts import ConfusionCounts, confusion_counts

__version__ = "0.1.0"

__all__ = [
    "CharterError",
    "ConfusionCounts",
    "DataError",
    "Evidence",
    "Finding",
    "Fingerprint",
    "GateFailedError",
    "ModelLoadError",
    "Policy",
    "PolicyError",
    "Rule",
    "Severity",
    "Threshold",
    "UntrustedArtifactError",
    "Verdict",
    "__version__",
    "check",
    "confusion_counts",
    "load_model",
    "load_policy",
    "save_model",
]
