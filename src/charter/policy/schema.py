"""The policy language: pydantic models of ``policy.yaml``.

A policy has a ``model`` section (who owns the model, what it is for, its risk tier) and one
section per concern — ``data``, ``privacy``, ``performance``, ``fairness``, ``explainability``,
``monitoring`` — each carrying its settings and a list of :class:`Rule`. ``approvals`` says how
many people must approve a promotion. Unknown keys are errors (``extra="forbid"``); the loader
(:mod:`charter.policy.loader`) turns pydantic's errors into messages naming the file, the key
path and the fix, checks rule ids against the check registry and control ids against the
catalogue.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from charter.evidence import Severity, Threshold

SECTIONS = ("data", "privacy", "performance", "fairness", "explainability", "monitoring")
#: The sections whose rules the gate runs (and promotion holds evidence to); ``monitoring``
#: rules run in ``charter monitor`` over windows of production traffic.
GATE_SECTIONS = SECTIONS[:-1]
STAGES = ("staging", "production")
#: The flag monitoring raises on a violation (``monitoring.mark_needs_review``); while open it
#: blocks promotion to production.
NEEDS_REVIEW = "needs-review"

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RiskTier(StrEnum):
    """Risk tier of the model, after the EU AI Act's categories."""

    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"
    UNACCEPTABLE = "unacceptable"


#: Approvals a promotion to production needs by default, per tier. ``None``: never promotable.
DEFAULT_APPROVALS: dict[RiskTier, int | None] = {
    RiskTier.MINIMAL: 0,
    RiskTier.LIMITED: 1,
    RiskTier.HIGH: 2,
    RiskTier.UNACCEPTABLE: None,
}


class Task(StrEnum):
    """What the model predicts."""

    BINARY_CLASSIFICATION = "binary_classification"
    REGRESSION = "regression"


class ModelInfo(_Strict):
    """Who owns the model and what it may be used for."""

    name: str = Field(min_length=1, description="Registry name of the model.")
    owner: str | None = Field(default=None, description="Team or person accountable for it.")
    description: str | None = None
    intended_use: str | None = None
    out_of_scope: list[str] = Field(default_factory=list)
    risk_tier: RiskTier = RiskTier.LIMITED
    task: Task = Task.BINARY_CLASSIFICATION
    limitations: list[str] = Field(default_factory=list)
    ethical_considerations: list[str] = Field(default_factory=list)


class Rule(_Strict):
    """One rule: a check, its parameters, the bounds its metric must keep, what a failure does.

    Attributes
    ----------
    id
        Unique within the policy; evidence and reports refer to the rule by it.
    check
        Id of a registered check (``demographic_parity_difference``, ``null_fraction``, ...).
    params
        Parameters of the check, validated by the check's own parameter model.
    min, max
        Bounds on the check's metric. Checks without a metric ignore them.
    severity
        ``block`` (default) stops the gate and promotion; ``warn`` only reports.
    stages
        Stages whose promotion this rule gates (default: every stage).
    controls
        Catalogue control ids the rule serves, e.g. ``eu-ai-act:art-10``.
    """

    id: str
    check: str
    params: dict[str, Any] = Field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    severity: Severity = Severity.BLOCK
    stages: list[str] | None = None
    controls: list[str] = Field(default_factory=list)
    description: str | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError(
                "rule ids use letters, digits, '_', '-' and '.', and start with a letter or digit"
            )
        return value

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = [s for s in value if s not in STAGES]
            if unknown:
                raise ValueError(f"unknown stage(s) {unknown}; stages are {list(STAGES)}")
        return value

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Rule:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    @property
    def threshold(self) -> Threshold | None:
        """The rule's bounds, or ``None`` when it has none."""
        if self.min is None and self.max is None:
            return None
        return Threshold(min=self.min, max=self.max)

    def applies_to(self, stage: str | None) -> bool:
        """Whether the rule gates ``stage`` (every rule gates a run without a stage)."""
        return stage is None or self.stages is None or stage in self.stages


class _Section(_Strict):
    rules: list[Rule] = Field(default_factory=list)


class DataSection(_Section):
    """Which columns mean what, and the data-quality rules."""

    target: str | None = Field(default=None, description="Column holding the true label.")
    prediction: str | None = Field(
        default=None, description="Column holding predictions, to check without a model."
    )
    score: str | None = Field(
        default=None, description="Column holding scores/probabilities of the positive class."
    )
    features: list[str] | None = Field(
        default=None, description="Model features; default: what the model says it uses."
    )
    sensitive: list[str] = Field(default_factory=list, description="Sensitive attribute columns.")
    positive_label: Any = 1
    weight: str | None = Field(default=None, description="Column of sample weights.")
    id_column: str | None = None
    timestamp_column: str | None = None


class PrivacySection(_Section):
    """Protected attributes that must not be features, and the PII scan."""

    protected_attributes: list[str] = Field(default_factory=list)


class PerformanceSection(_Section):
    """Performance thresholds and regression against the production baseline."""

    threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Score threshold for the positive class."
    )
    bootstrap: int | None = Field(
        default=None,
        ge=0,
        description="Bootstrap resamples for count-metric CIs; 0: no CIs; default fairness's.",
    )
    confidence_level: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="Coverage of the CIs; default fairness's."
    )
    seed: int | None = Field(default=None, description="Bootstrap seed; default fairness's.")


class SmallGroupPolicy(StrEnum):
    """What to do with a group smaller than ``min_group_size``."""

    REPORT = "report"
    """Keep it in the metric and flag it in the finding."""
    EXCLUDE = "exclude"
    """Leave it out of the metric; list it in the finding."""
    FAIL = "fail"
    """Make the rule fail (or error) because the group is too small to judge."""


class FairnessSection(_Section):
    """Settings shared by the fairness rules."""

    sensitive: list[str] | None = Field(
        default=None, description="Default sensitive columns; falls back to data.sensitive."
    )
    privileged: dict[str, Any] = Field(
        default_factory=dict,
        description="Privileged value per sensitive column, for AIF360-style signed metrics.",
    )
    min_group_size: int = Field(default=30, ge=1)
    small_groups: SmallGroupPolicy = SmallGroupPolicy.REPORT
    confidence_level: float = Field(default=0.95, gt=0.0, lt=1.0)
    bootstrap: int = Field(default=1000, ge=0, description="Bootstrap resamples for CIs; 0: none.")
    seed: int = 0


class ExplainabilitySection(_Section):
    """SHAP settings."""

    sample_size: int = Field(default=1000, ge=1)
    background_size: int = Field(default=100, ge=1)
    seed: int = 0


class Approvals(_Strict):
    """Human approvals a promotion needs."""

    required: int | None = Field(
        default=None, ge=0, description="Approvals needed; default by risk tier (0/1/2/never)."
    )
    approver_role: str = "approver"
    stages: list[str] = Field(default_factory=lambda: ["production"])
    verified_evidence: bool = Field(
        default=False,
        description="Require evidence the registry verified (re-ran the gate, or a trusted"
        " signature) below the high tier; the high tier always requires it.",
    )


_DRIFT_METHODS = (
    "auto",
    "ks",
    "chisquare",
    "z",
    "wasserstein",
    "jensenshannon",
    "psi",
    "hellinger",
)
_WINDOW = re.compile(r"^\s*[1-9]\d*\s*[mhdw]\s*$")


def _check_drift_method(value: str | None) -> str | None:
    if value is not None and value not in _DRIFT_METHODS:
        raise ValueError(f"unknown drift method '{value}'; use one of {list(_DRIFT_METHODS)}")
    return value


class ColumnDriftSettings(_Strict):
    """Drift settings of one monitored column."""

    method: str | None = Field(default=None, description="A drift method, or 'auto'.")
    threshold: float | None = None
    kind: Literal["numerical", "categorical"] | None = Field(
        default=None, description="Compare the column as this kind instead of the inferred one."
    )

    _method = field_validator("method")(_check_drift_method)


class EmbeddingSettings(_Strict):
    """How an embedding column is compared."""

    method: Literal["model", "mmd"] = Field(
        default="model",
        description="'model': ROC AUC of a classifier telling reference from current (drift"
        " above 0.55); 'mmd': maximum mean discrepancy (drift above 0.015).",
    )
    threshold: float | None = None


class MonitoringSection(_Section):
    """How production is watched: windows, drift methods and thresholds, actions.

    Rules in ``monitoring.rules`` use the monitoring checks (``dataset_drift``,
    ``column_drift``, ``prediction_drift``, ``embedding_drift``, ``new_categories``,
    ``window_fairness``, ``window_performance``). Without rules, monitoring blocks on dataset
    drift and prediction drift and warns on new categories; the fairness and performance rules
    of the policy are then also evaluated in every window.
    """

    window: str = Field(default="1d", description="Window size: 15m, 1h, 6h, 1d, 7d, 1w.")
    reference: str = Field(default="training", description="'training' or a path to a file.")
    timestamp_column: str | None = Field(
        default=None, description="Time of each logged prediction; default data.timestamp_column."
    )
    columns: list[str] | None = Field(
        default=None,
        description="Columns of data drift; default every column of the reference. A model"
        " output listed here (score, prediction) is judged for prediction drift instead.",
    )
    drift_method: str = "auto"
    drift_threshold: float | None = None
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    window_verdict: Literal["estimate", "interval"] = Field(
        default="estimate",
        description=(
            "When a fairness or performance window violates its bounds: 'estimate' when the"
            " point estimate leaves them; 'interval' only when the whole confidence interval"
            " does (a point estimate outside with an interval crossing the bound is reported"
            " 'at risk'). 'interval' trades sensitivity for fewer alerts on small windows."
        ),
    )
    per_column: dict[str, ColumnDriftSettings] = Field(default_factory=dict)
    embeddings: dict[str, EmbeddingSettings] = Field(default_factory=dict)
    bins: int = Field(default=100, ge=2, le=10_000, description="Quantile bins of profiles.")
    min_window_rows: int = Field(
        default=1, ge=1, description="Windows with fewer rows are reported, not judged."
    )
    labels: str | None = Field(
        default=None, description="File of delayed labels, joined to the log by data.id_column."
    )
    webhook: str | None = Field(
        default=None,
        description="URL receiving Slack-compatible JSON; ${VAR} kept as written at load and"
        " expanded when posting (a secret stays out of the registry and evidence).",
    )
    webhook_on: Literal["violation", "always"] = "violation"
    command: str | None = Field(
        default=None,
        description="Command run on a violation (e.g. a retraining job); ${VAR} kept as written"
        " at load and expanded when it runs.",
    )
    mark_needs_review: bool = False
    prometheus_textfile: str | None = Field(
        default=None, description="File for the node exporter's textfile collector."
    )
    prometheus_port: int | None = Field(
        default=None, ge=1, le=65535, description="Serve /metrics on this port."
    )
    schedule: str | None = Field(
        default=None,
        description="Cron expression (UTC) on which `charter serve` monitors the log it writes,"
        ' e.g. "0 6 * * *".',
    )

    _method = field_validator("drift_method")(_check_drift_method)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(
                f"'{value}' is not a cron expression; use five fields (minute hour day month"
                ' weekday), e.g. "0 6 * * *" for 06:00 UTC every day'
            )
        return value.strip()

    @field_validator("window")
    @classmethod
    def _window_size(cls, value: str) -> str:
        if not _WINDOW.match(value):
            raise ValueError(f"'{value}' is not a window size; use e.g. 15m, 1h, 6h, 1d, 7d, 1w")
        return value.strip()


class Policy(_Strict):
    """A whole policy, after ``extends`` has been resolved.

    Build one with :func:`charter.policy.load_policy` rather than directly: the loader resolves
    ``extends`` and environment variables, and checks rule and control ids.
    """

    version: Literal[1] = 1
    model: ModelInfo
    data: DataSection = Field(default_factory=DataSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)
    performance: PerformanceSection = Field(default_factory=PerformanceSection)
    fairness: FairnessSection = Field(default_factory=FairnessSection)
    explainability: ExplainabilitySection = Field(default_factory=ExplainabilitySection)
    approvals: Approvals = Field(default_factory=Approvals)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    #: Where the policy came from and its hash; filled by the loader.
    source: str | None = None
    sha256: str | None = None

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Policy:
        seen: dict[str, str] = {}
        for section, rule in self.iter_rules():
            if rule.id in seen:
                raise ValueError(
                    f"rule id '{rule.id}' is used in both {seen[rule.id]} and {section}; "
                    "rule ids must be unique"
                )
            seen[rule.id] = section
        return self

    def iter_rules(self, stage: str | None = None) -> list[tuple[str, Rule]]:
        """``(section, rule)`` pairs in policy order, keeping only those that gate ``stage``."""
        pairs: list[tuple[str, Rule]] = []
        for name in SECTIONS:
            section: _Section = getattr(self, name)
            pairs.extend((name, r) for r in section.rules if r.applies_to(stage))
        return pairs

    def gate_rules(self, stage: str | None = None) -> list[tuple[str, Rule]]:
        """The rules the gate runs for ``stage``: every section but ``monitoring``."""
        return [(s, r) for s, r in self.iter_rules(stage) if s in GATE_SECTIONS]

    def rule(self, rule_id: str) -> Rule:
        """The rule with id ``rule_id``."""
        for _, rule in self.iter_rules():
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def sensitive_features(self) -> list[str]:
        """Sensitive columns for fairness: ``fairness.sensitive`` or else ``data.sensitive``."""
        return list(self.fairness.sensitive or self.data.sensitive)

    @property
    def required_approvals(self) -> int | None:
        """Approvals needed to promote; ``None`` when the tier forbids promotion."""
        tier_default = DEFAULT_APPROVALS[self.model.risk_tier]
        if tier_default is None:
            return None
        if self.approvals.required is None:
            return tier_default
        return max(self.approvals.required, tier_default)
