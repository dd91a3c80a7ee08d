"""What a promotion needs: evidence that passes the policy's rules for the stage, and approvals.

Pure functions over a :class:`~charter.policy.Policy` and an :class:`~charter.evidence.Evidence`
bundle; the service layer calls them inside the transaction that changes the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charter.evidence import Evidence, Severity, Verdict
from charter.policy.schema import NEEDS_REVIEW as NEEDS_REVIEW  # re-exported: the service uses it
from charter.policy.schema import Policy, RiskTier

#: Stages a version can be promoted to; ``archived`` is reached by archiving or superseding.
PROMOTABLE_STAGES = ("staging", "production")
STAGES = ("staging", "production", "archived")


@dataclass(frozen=True)
class GateOutcome:
    """Whether evidence passes a policy's rules for one stage, and what blocks it."""

    stage: str
    rules: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing blocks."""
        return not self.problems


def evaluate_evidence(policy: Policy, evidence: Evidence, stage: str) -> GateOutcome:
    """Check that ``evidence`` passes every blocking rule ``policy`` applies to ``stage``.

    A rule blocks when the policy says ``severity: block`` and its finding failed or errored —
    or when the evidence has no finding for it at all (it was never checked). The evidence must
    also have been produced under this very policy (same sha256).
    """
    problems: list[str] = []
    if policy.sha256 and evidence.policy.sha256 != policy.sha256:
        problems.append(
            f"the evidence was produced under policy {evidence.policy.sha256[:12]}, not the "
            f"version's policy {policy.sha256[:12]}"
        )
    findings = {f.rule_id: f for f in evidence.findings}
    rules = policy.iter_rules(stage)
    for section, rule in rules:
        if rule.severity is not Severity.BLOCK:
            continue
        finding = findings.get(rule.id)
        if finding is None:
            problems.append(f"rule '{rule.id}' ({section}) was not checked: no finding for it")
        elif finding.verdict in (Verdict.FAIL, Verdict.ERROR):
            problems.append(f"rule '{rule.id}' ({section}) {finding.verdict}: {finding.message}")
    return GateOutcome(stage=stage, rules=len(rules), problems=problems)


def required_approvals(policy: Policy, stage: str) -> int | None:
    """Approvals a promotion of a version under ``policy`` to ``stage`` needs.

    ``None`` means never: the model's risk tier is ``unacceptable``. Stages not listed in
    ``approvals.stages`` need none; the others need ``Policy.required_approvals`` (at least the
    tier's default: minimal 0, limited 1, high 2).
    """
    if policy.model.risk_tier is RiskTier.UNACCEPTABLE:
        return None
    if stage not in policy.approvals.stages:
        return 0
    return policy.required_approvals
