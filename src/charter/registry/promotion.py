"""What a promotion needs: evidence that passes the policy's rules for the stage, and approvals.

Pure functions over a :class:`~charter.policy.Policy` and an :class:`~charter.evidence.Evidence`
bundle; the service layer calls them inside the transaction that changes the stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from charter.evidence import Evidence, Finding, Severity, Threshold, Verdict
from charter.policy.bounds import expected_threshold
from charter.policy.schema import NEEDS_REVIEW as NEEDS_REVIEW  # re-exported: the service uses it
from charter.policy.schema import Policy, RiskTier, Rule

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

    A rule blocks when the policy says ``severity: block`` and a finding of it failed or
    errored, when the evidence has no finding for it at all (it was never checked), or when a
    finding that claims to pass does not hold up against the policy (see
    :func:`recheck_findings`): a verdict is never taken on the evidence's word. The evidence
    must also have been produced under this very policy (same sha256). Monitoring rules are
    not the gate's: they run in ``charter monitor``.
    """
    problems: list[str] = []
    if policy.sha256 and evidence.policy.sha256 != policy.sha256:
        problems.append(
            f"the evidence was produced under policy {evidence.policy.sha256[:12]}, not the "
            f"version's policy {policy.sha256[:12]}"
        )
    by_rule: dict[str, list[Finding]] = {}
    for finding in evidence.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    rules = policy.gate_rules(stage)
    for section, rule in rules:
        if rule.severity is not Severity.BLOCK:
            continue
        found = by_rule.get(rule.id)
        if not found:
            problems.append(f"rule '{rule.id}' ({section}) was not checked: no finding for it")
            continue
        for finding in found:
            if finding.verdict in (Verdict.FAIL, Verdict.ERROR):
                problems.append(
                    f"rule '{rule.id}' ({section}) {finding.outcome.value}: {finding.message}"
                )
        problems.extend(recheck_findings(section, rule, found))
    return GateOutcome(stage=stage, rules=len(rules), problems=problems)


def recheck_findings(section: str, rule: Rule, findings: Sequence[Finding]) -> list[str]:
    """Why the passing findings of ``rule`` do not hold up against the policy (empty: they do).

    Evidence is a file its bearer could have edited. For every finding that claims ``pass``
    this recomputes the verdict from what the policy says, not from what the finding says:

    * the finding is of the rule's check and section;
    * its bounds are the policy's (the rule's ``min``/``max``, or the check's default when the
      rule has none): evidence carrying other bounds is refused, not re-judged;
    * its value lies within those bounds (NaN never does; a bounded rule needs a value);
    * a ``max_drop`` comparison with the baseline holds the policy's ``max_drop``.

    The value itself is only as good as the gate that measured it: the registry re-runs the
    gate, or trusts a signature, when the policy asks for verified evidence.
    """
    problems: list[str] = []
    where = f"rule '{rule.id}' ({section})"
    expected = expected_threshold(rule)
    for finding in findings:
        if finding.check != rule.check or finding.section != section:
            problems.append(
                f"{where}: the evidence has a finding of check '{finding.check}' in"
                f" '{finding.section}', but the policy's rule is '{rule.check}' in '{section}'"
            )
            continue
        if finding.verdict is not Verdict.PASS:
            continue
        if not _same_bounds(finding.threshold, expected):
            problems.append(
                f"{where}: the evidence holds it to {_describe(finding.threshold)}, but the"
                f" policy says {_describe(expected)}"
            )
            continue
        if expected is not None:
            value = finding.value
            if value is None or math.isnan(value):
                problems.append(f"{where}: claims pass but has no value to hold to the bounds")
            elif not expected.admits(value):
                problems.append(
                    f"{where}: claims pass, but its value {value:.6g} is not {expected.describe()}"
                )
        problems.extend(_recheck_drop(where, rule, finding))
    return problems


def _recheck_drop(where: str, rule: Rule, finding: Finding) -> list[str]:
    max_drop = rule.params.get("max_drop")
    if max_drop is None:
        return []
    details = finding.details
    if details.get("max_drop") != max_drop:
        return [
            f"{where}: the evidence allows a drop of {details.get('max_drop')}, the policy"
            f" {max_drop}"
        ]
    drop = details.get("drop")
    if not isinstance(drop, int | float) or not math.isfinite(drop):
        return [f"{where}: claims pass but records no drop against the baseline"]
    if drop > float(max_drop) + 1e-12:
        return [f"{where}: claims pass, but drops {drop:.6g} (max drop {max_drop})"]
    return []


def _same_bounds(found: Threshold | None, expected: Threshold | None) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return _close(found.min, expected.min) and _close(found.max, expected.max)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0.0, abs_tol=0.0) or a == b


def _describe(bounds: Threshold | None) -> str:
    return bounds.describe() if bounds is not None else "no bounds"


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


def strictest_approvals(
    policy: Policy,
    stage: str,
    *,
    production_policy: Policy | None = None,
    floor: int | None = None,
) -> int | None:
    """Approvals a promotion to ``stage`` needs: the strictest of every rule that applies.

    The strictest of the new version's policy, the policy of the production version it
    replaces (a next version cannot lower the bar by copying the policy with ``risk_tier:
    minimal``), and — for production — the floor an admin set for the model. ``None``: never
    (a tier of ``unacceptable``).
    """
    own = required_approvals(policy, stage)
    if own is None:
        return None
    needed = [own]
    if stage == "production" and production_policy is not None:
        theirs = required_approvals(production_policy, "production")
        if theirs is not None:
            needed.append(theirs)
    if floor is not None and stage == "production":
        needed.append(floor)
    return max(needed)


def leaving_production_approvals(production_policy: Policy, floor: int | None = None) -> int:
    """Approvals taking a version out of production needs: those of putting it there."""
    needed = required_approvals(production_policy, "production")
    return max(needed or 0, floor or 0)


def requires_verified_evidence(policy: Policy) -> bool:
    """Whether promotion needs evidence the registry verified (re-ran, or a trusted signature).

    Always at the ``high`` tier; below it when ``approvals.verified_evidence`` says so.
    """
    return policy.model.risk_tier in (RiskTier.HIGH, RiskTier.UNACCEPTABLE) or bool(
        policy.approvals.verified_evidence
    )


def policy_changes(production: Policy, candidate: Policy) -> list[str]:
    """How ``candidate`` is looser than ``production``'s policy, one line per change.

    Lists a lower risk tier, fewer approvals, rules dropped (or no longer gating production),
    a ``block`` rule turned into ``warn``, a bound loosened or removed, and verified evidence
    no longer asked for. An empty list: the candidate is at least as strict on every rule.
    """
    changes: list[str] = []
    order = list(RiskTier)
    if order.index(candidate.model.risk_tier) < order.index(production.model.risk_tier):
        changes.append(
            f"risk tier {production.model.risk_tier.value} -> {candidate.model.risk_tier.value}"
        )
    before, after = (
        required_approvals(production, "production"),
        required_approvals(candidate, "production"),
    )
    if before is not None and after is not None and after < before:
        changes.append(f"approvals for production {before} -> {after}")
    if requires_verified_evidence(production) and not requires_verified_evidence(candidate):
        changes.append("verified evidence no longer required")
    theirs = {r.id: (s, r) for s, r in production.gate_rules("production")}
    ours = {r.id: (s, r) for s, r in candidate.gate_rules("production")}
    for rule_id, (section, rule) in theirs.items():
        if rule_id not in ours:
            changes.append(f"rule '{rule_id}' ({section}, {rule.check}) dropped")
            continue
        _, new = ours[rule_id]
        if new.check != rule.check:
            changes.append(f"rule '{rule_id}' checks {new.check}, not {rule.check}")
        if rule.severity is Severity.BLOCK and new.severity is not Severity.BLOCK:
            changes.append(f"rule '{rule_id}' only warns now (was block)")
        changes.extend(_looser_bounds(rule_id, rule, new))
        if new.params != rule.params:
            changes.append(f"rule '{rule_id}' params {rule.params} -> {new.params}")
    return changes


def _looser_bounds(rule_id: str, old: Rule, new: Rule) -> list[str]:
    out = []
    if old.min is not None and (new.min is None or new.min < old.min):
        out.append(f"rule '{rule_id}' min {old.min:g} -> {_bound(new.min)}")
    if old.max is not None and (new.max is None or new.max > old.max):
        out.append(f"rule '{rule_id}' max {old.max:g} -> {_bound(new.max)}")
    return out


def _bound(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"
