"""The policy language: schema, loading, control catalogue."""

from charter.policy.controls import Control, catalogue, get_control
from charter.policy.loader import load_policy, policy_from_dict
from charter.policy.schema import (
    DEFAULT_APPROVALS,
    Approvals,
    DataSection,
    FairnessSection,
    ModelInfo,
    Policy,
    RiskTier,
    Rule,
    SmallGroupPolicy,
    Task,
)

__all__ = [
    "DEFAULT_APPROVALS",
    "Approvals",
    "Control",
    "DataSection",
    "FairnessSection",
    "ModelInfo",
    "Policy",
    "RiskTier",
    "Rule",
    "SmallGroupPolicy",
    "Task",
    "catalogue",
    "get_control",
    "load_policy",
    "policy_from_dict",
]
