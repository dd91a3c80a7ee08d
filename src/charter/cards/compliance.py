"""Compliance reports: every control of the catalogue, with its status for one version.

Each control (:mod:`charter.policy.controls`) says what kind of evidence can satisfy it:
``checks`` (findings of rules mapped to it), ``registry`` (lineage, approvals, audit trail),
``monitoring`` (monitoring evidence recorded for the version) and ``human`` (only a person can
attest it). A control is

``failed``
    when any of its evidence failed (a blocking finding, a broken audit trail, failing
    monitoring);
``satisfied``
    when every machine kind it names is evidenced and none failed — the report lists the
    evidence;
``needs a person``
    otherwise: a person must attest it (what Charter has is still listed), a rule serving it
    failed with severity ``warn`` (a person judges whether that is acceptable), or no evidence
    of a kind it needs exists yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from charter.cards.context import CardContext
from charter.policy.controls import Control, catalogue, frameworks


class ControlStatus(StrEnum):
    """Where a control stands."""

    SATISFIED = "satisfied"
    FAILED = "failed"
    NEEDS_PERSON = "needs_person"


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class ControlResult(_Report):
    """One control's status, with the evidence behind it and what is missing."""

    id: str
    framework: str
    title: str
    evidence_kinds: list[str]
    status: ControlStatus
    evidence: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class ComplianceReport(_Report):
    """The status of every control of the catalogue for one version."""

    model: str
    version: int
    stage: str | None
    generated_at: datetime
    policy_sha256: str
    evidence_digest: str | None
    audit: dict[str, object] | None
    frameworks: dict[str, str]
    controls: list[ControlResult]

    @property
    def counts(self) -> dict[str, int]:
        """Controls per status."""
        out = {s.value: 0 for s in ControlStatus}
        for control in self.controls:
            out[control.status.value] += 1
        return out

    def control(self, control_id: str) -> ControlResult:
        """The result of one control."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)


_Part = tuple[str, list[str], list[str]]  # ("satisfied"|"failed"|"missing", evidence, notes)


def _serves(finding_controls: tuple[str, ...], control_id: str) -> bool:
    """A finding serves a control directly or through one of its sub-clauses (art-10.3 → art-10)."""
    return any(c == control_id or c.startswith(control_id + ".") for c in finding_controls)


#: Controls that a recorded bias mitigation (``evidence.extras["mitigation"]``) evidences.
MITIGATION_CONTROLS = ("eu-ai-act:art-10.2.g",)


def _checks(ctx: CardContext, control: Control) -> _Part:
    """Findings of the rules serving the control (and a recorded mitigation, where it counts).

    A failing blocking rule fails the control. A failing ``warn`` rule (``failed-warning``, or
    an ``error`` of a warn rule) leaves it to a person: the control is not satisfied.
    """
    findings = [f for f in ctx.evidence.findings if _serves(f.controls, control.id)]
    evidence = _mitigation_lines(ctx) if control.id in MITIGATION_CONTROLS else []
    if not findings and not evidence:
        note = "no rule of the policy serves this control"
        if control.id in MITIGATION_CONTROLS:
            note += "; no bias mitigation is recorded (`charter mitigate --check-data` records one)"
        return "missing", [], [note]
    failed, review = False, []
    for f in findings:
        value = f" {f.metric} = {f.value:.4g}" if f.metric and f.value is not None else ""
        bound = f" ({f.threshold.describe()})" if f.threshold else ""
        evidence.append(f"rule {f.rule_id}:{value}{bound} {f.outcome.value}")
        if f.blocking:
            failed = True
        elif f.outcome.failed:
            review.append(
                f"rule {f.rule_id} is {f.outcome.value}: a person must judge whether that is"
                " acceptable"
            )
    if failed:
        return "failed", evidence, []
    return ("review" if review else "satisfied"), evidence, review


def _mitigation_lines(ctx: CardContext) -> list[str]:
    from charter.cards.findings import mitigation_text

    record = ctx.evidence.extras.get("mitigation")
    if not isinstance(record, dict):
        return []
    lines = [f"bias mitigation: {mitigation_text(record)}"]
    for rule, m in (record.get("metrics") or {}).items():
        if m.get("section") != "fairness":
            continue
        before, after = m.get("before"), m.get("after")
        shown = [f"{v:.4g}" if isinstance(v, int | float) else "undefined" for v in (before, after)]
        lines.append(f"rule {rule}: {m.get('metric')} {shown[0]} → {shown[1]} after mitigation")
    return lines


def _record(ctx: CardContext) -> _Part:
    v = ctx.version
    return (
        "satisfied",
        [
            f"{v.ref} registered {v.created_at:%Y-%m-%d} by {v.created_by}: artifact sha256 "
            f"{v.artifact_sha256[:16]}…, policy {v.policy_sha256[:16]}…, evidence "
            f"{(v.evidence.digest[:16] + '…') if v.evidence else 'none'}"
        ],
        [],
    )


def _lineage(ctx: CardContext) -> _Part:
    git = ctx.version.lineage.get("git") or {}
    data = ctx.version.lineage.get("data") or {}
    evidence, notes = [], []
    if git.get("commit"):
        evidence.append(f"git {git['commit'][:12]}{' (dirty)' if git.get('dirty') else ''}")
    else:
        notes.append("no git commit recorded: the version was registered outside a git work tree")
    for key, fp in data.items():
        evidence.append(
            f"data:{key} sha256 {str(fp.get('sha256', ''))[:16]}… rows {fp.get('rows')}"
        )
    if not data:
        notes.append("no data fingerprint recorded")
    env = ctx.version.lineage.get("environment") or {}
    if env:
        evidence.append(f"environment: Python {env.get('python')} on {env.get('platform')}")
    return ("satisfied" if git.get("commit") and data else "missing"), evidence, notes


def _audit(ctx: CardContext) -> _Part:
    if ctx.audit is None:
        return "missing", [], ["the audit trail was not verified for this report"]
    if ctx.audit.get("ok"):
        return (
            "satisfied",
            [
                f"audit trail intact: {ctx.audit['checked']} hash-chained entries verified, head "
                f"{str(ctx.audit['head_hash'])[:16]}…"
            ],
            [],
        )
    return (
        "failed",
        [],
        [f"audit trail broken at entry {ctx.audit.get('first_broken')} ({ctx.audit.get('kind')})"],
    )


def _oversight(ctx: CardContext) -> _Part:
    required = ctx.policy.required_approvals
    done = [r for r in ctx.completed_requests if r.required_approvals > 0]
    if done:
        return (
            "satisfied",
            [
                f"promotion to {r.to_stage} approved by "
                f"{', '.join(a.approver for a in r.approvals if not a.withdrawn)} "
                f"({r.required_approvals} required; requested by {r.requested_by})"
                for r in done
            ],
            [],
        )
    if required == 0:
        return "missing", [], ["the policy's risk tier requires no human approval"]
    return "missing", [], [f"no approved promotion yet ({required} approval(s) required)"]


def _history(ctx: CardContext) -> _Part:
    moves = [
        f"{h.at:%Y-%m-%d} {h.from_stage or 'registered'} → {h.to_stage} by {h.actor}"
        for h in ctx.history
    ]
    return "satisfied", moves or ["registered; no stage change yet"], []


def _intended(ctx: CardContext) -> _Part:
    info = ctx.policy.model
    if info.intended_use and info.description:
        return (
            "satisfied",
            [f"intended use: {info.intended_use}", f"owner: {info.owner or '—'}"],
            [],
        )
    return "missing", [], ["the policy does not state model.description and model.intended_use"]


#: Which registry fact evidences which control (default: the version's registry record).
_REGISTRY_FACTS: dict[str, Callable[[CardContext], _Part]] = {
    "eu-ai-act:art-11": _lineage,
    "eu-ai-act:art-12": _audit,
    "eu-ai-act:art-13": _intended,
    "eu-ai-act:art-13.3.b": _intended,
    "eu-ai-act:art-14": _oversight,
    "eu-ai-act:art-17": _audit,
    "eu-ai-act:annex-iv.1": _intended,
    "eu-ai-act:annex-iv.2.a": _lineage,
    "eu-ai-act:annex-iv.2.d": _lineage,
    "eu-ai-act:annex-iv.2.e": _oversight,
    "eu-ai-act:annex-iv.6": _history,
    "nist-ai-rmf:govern-1.4": _audit,
    "nist-ai-rmf:govern-2.1": _oversight,
    "nist-ai-rmf:manage-1.1": _oversight,
    "nist-ai-rmf:manage-2.3": _history,
    "nist-ai-rmf:manage-2.4": _history,
    "nist-ai-rmf:map-1.1": _intended,
    "nist-ai-rmf:map-2.1": _intended,
    "nist-ai-rmf:measure-2.1": _lineage,
    "nist-ai-rmf:measure-2.8": _audit,
    "oecd:1.3": _intended,
    "oecd:1.5": _audit,
}


def _registry(ctx: CardContext, control: Control) -> _Part:
    return _REGISTRY_FACTS.get(control.id, lambda c: _record(c))(ctx)


def _monitoring(ctx: CardContext, control: Control) -> _Part:
    if not ctx.monitoring:
        return (
            "missing",
            [],
            ["no monitoring evidence recorded for this version yet (schedule `charter monitor`)"],
        )
    latest = ctx.monitoring[-1]
    line = (
        f"{len(ctx.monitoring)} monitoring run(s); latest {latest.status} "
        f"({latest.created_at:%Y-%m-%d %H:%M} UTC)"
    )
    return ("failed" if not latest.passed else "satisfied"), [line], []


_KINDS: dict[str, Callable[[CardContext, Control], _Part]] = {
    "checks": _checks,
    "registry": _registry,
    "monitoring": _monitoring,
}


def evaluate_control(ctx: CardContext, control: Control) -> ControlResult:
    """The status of one control for the version in ``ctx``."""
    parts = {kind: _KINDS[kind](ctx, control) for kind in control.evidence if kind in _KINDS}
    evidence = [line for _, lines, _ in parts.values() for line in lines]
    notes = [note for _, _, ns in parts.values() for note in ns]
    states = [state for state, _, _ in parts.values()]
    if "failed" in states:
        status = ControlStatus.FAILED
    elif "human" in control.evidence:
        status = ControlStatus.NEEDS_PERSON
        notes.append(
            "a person must attest this control"
            + ("; Charter's evidence above supports it" if evidence else "")
        )
    elif states and all(s == "satisfied" for s in states):
        status = ControlStatus.SATISFIED
    else:
        status = ControlStatus.NEEDS_PERSON
    return ControlResult(
        id=control.id,
        framework=control.framework,
        title=control.title,
        evidence_kinds=list(control.evidence),
        status=status,
        evidence=evidence,
        notes=notes,
    )


def build_compliance_report(ctx: CardContext, framework: str | None = None) -> ComplianceReport:
    """Every control of the catalogue (or of one framework), evaluated for one version."""
    v = ctx.version
    return ComplianceReport(
        model=v.model,
        version=v.number,
        stage=v.stage,
        generated_at=datetime.now(UTC),
        policy_sha256=v.policy_sha256,
        evidence_digest=v.evidence.digest if v.evidence else None,
        audit=ctx.audit,
        frameworks={k: f.title for k, f in frameworks().items()},
        controls=[evaluate_control(ctx, c) for c in catalogue(framework)],
    )
