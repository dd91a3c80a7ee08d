"""Model cards after Mitchell et al. (2019), "Model Cards for Model Reporting" (FAT* '19).

The nine sections of the paper — model details, intended use, factors, metrics, evaluation
data, training data, quantitative analyses, ethical considerations, caveats and
recommendations — filled from what Charter knows: the registry (version, lineage, approvals,
stage history), the policy (owner, intended use, risk tier, sensitive attributes, limitations)
and the evidence (every finding, with per-group rates and confidence intervals). What only a
person can write is listed in each section as *needs a person*, never invented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from charter.cards.context import CardContext
from charter.cards.findings import explainability_items, finding_charts, mitigation_items
from charter.cards.groups import (
    CardItem,
    CardSection,
    CardTable,
    _Card,
)
from charter.cards.groups import fmt_interval as _interval
from charter.cards.groups import fmt_threshold as _threshold
from charter.cards.groups import fmt_value as _fmt
from charter.cards.groups import group_table as _group_table
from charter.evidence import Finding

#: The sections of Mitchell et al. (2019), in the paper's order: (id, title).
SECTIONS = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation data"),
    ("training_data", "Training data"),
    ("quantitative_analyses", "Quantitative analyses"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats", "Caveats and recommendations"),
)


class ModelCard(_Card):
    """A model card: the sections of Mitchell et al. (2019) for one registered version."""

    model: str
    version: int
    stage: str | None
    generated_at: datetime
    evidence_digest: str | None
    policy_sha256: str
    status: str
    sections: list[CardSection]

    def section(self, section_id: str) -> CardSection:
        """The section with id ``section_id``."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def needs_person(self) -> list[tuple[str, str]]:
        """Every ``(section title, prompt)`` a person still has to write."""
        return [(s.title, p) for s in self.sections for p in s.needs_person]


def build_model_card(context: CardContext) -> ModelCard:
    """Write the card of one version from its registry record, policy and evidence."""
    builders = {
        "model_details": _model_details,
        "intended_use": _intended_use,
        "factors": _factors,
        "metrics": _metrics,
        "evaluation_data": _evaluation_data,
        "training_data": _training_data,
        "quantitative_analyses": _quantitative,
        "ethical_considerations": _ethics,
        "caveats": _caveats,
    }
    sections = [builders[sid](context, sid, title) for sid, title in SECTIONS]
    version = context.version
    return ModelCard(
        model=version.model,
        version=version.number,
        stage=version.stage,
        generated_at=datetime.now(UTC),
        evidence_digest=version.evidence.digest if version.evidence else None,
        policy_sha256=version.policy_sha256,
        status=context.evidence.status,
        sections=sections,
    )


def _model_details(ctx: CardContext, sid: str, title: str) -> CardSection:
    v, info = ctx.version, ctx.policy.model
    items = [
        CardItem(label="Name and version", value=v.ref, source="registry"),
        CardItem(label="Stage", value=v.stage or "registered (not promoted)", source="registry"),
        CardItem(
            label="Registered",
            value=f"{v.created_at:%Y-%m-%d %H:%M} UTC by {v.created_by}",
            source="registry",
        ),
    ]
    if info.owner:
        items.append(CardItem(label="Owner / contact", value=info.owner, source="policy"))
    if info.description:
        items.append(CardItem(label="Description", value=info.description, source="policy"))
    estimator = _explained_model(ctx)
    items.append(
        CardItem(
            label="Model type",
            value=f"{estimator + ', ' if estimator else ''}{info.task.value.replace('_', ' ')}; "
            f"artifact {v.artifact_format} sha256 {v.artifact_sha256}",
            source="registry",
        )
    )
    items.append(CardItem(label="Risk tier", value=info.risk_tier.value, source="policy"))
    if v.params:
        items.append(
            CardItem(
                label="Parameters",
                value=", ".join(f"{k}={val}" for k, val in sorted(v.params.items())),
                source="registry",
            )
        )
    git = v.lineage.get("git") or {}
    if git.get("commit"):
        items.append(
            CardItem(
                label="Source",
                value=f"git {git['commit']} on {git.get('branch') or 'a detached HEAD'}"
                f"{' (uncommitted changes)' if git.get('dirty') else ''}"
                f"{' at ' + git['remote'] if git.get('remote') else ''}",
                source="registry",
            )
        )
    mlflow = v.lineage.get("mlflow") or {}
    if mlflow:
        items.append(
            CardItem(
                label="MLflow source",
                value=f"{mlflow.get('model_uri')} (run {mlflow.get('run_id')})",
                source="registry",
            )
        )
    for request in ctx.completed_requests:
        approvers = ", ".join(a.approver for a in request.approvals if not a.withdrawn) or "none"
        items.append(
            CardItem(
                label=f"Promoted to {request.to_stage}",
                value=f"{request.decided_at:%Y-%m-%d %H:%M} UTC, requested by "
                f"{request.requested_by}, approved by {approvers} "
                f"({request.required_approvals} required)",
                source="registry",
            )
        )
    items.append(CardItem(label="Policy", value=f"sha256 {v.policy_sha256}", source="registry"))
    needs = ["Paper or other resource for more information", "Citation details", "License"]
    if not info.owner:
        needs.insert(0, "Person or organisation developing the model (set model.owner)")
    return CardSection(id=sid, title=title, items=items, needs_person=needs)


def _explained_model(ctx: CardContext) -> str | None:
    for finding in ctx.evidence.findings:
        model = finding.details.get("model") if finding.section == "explainability" else None
        if isinstance(model, str):
            return model
    return None


def _intended_use(ctx: CardContext, sid: str, title: str) -> CardSection:
    info = ctx.policy.model
    items, needs = [], []
    if info.intended_use:
        items.append(
            CardItem(label="Primary intended use", value=info.intended_use, source="policy")
        )
    else:
        needs.append("Primary intended uses (set model.intended_use in the policy)")
    if info.out_of_scope:
        items.append(
            CardItem(label="Out of scope", value="; ".join(info.out_of_scope), source="policy")
        )
    else:
        needs.append("Out-of-scope uses (set model.out_of_scope)")
    items.append(
        CardItem(
            label="Risk tier",
            value=f"{info.risk_tier.value}; promotion to production needs {_approvals_text(ctx)}",
            source="policy",
        )
    )
    needs.append("Primary intended users")
    return CardSection(id=sid, title=title, items=items, needs_person=needs)


def _approvals_text(ctx: CardContext) -> str:
    required = ctx.policy.required_approvals
    if required is None:
        return "nothing: the tier forbids deployment"
    plural = "s" if required != 1 else ""
    return f"{required} approval{plural} by role {ctx.policy.approvals.approver_role}"


def _fairness(ctx: CardContext) -> list[Finding]:
    return [f for f in ctx.evidence.findings if f.details.get("groups") and f.section == "fairness"]


def _factors(ctx: CardContext, sid: str, title: str) -> CardSection:
    items = []
    sensitive = list(dict.fromkeys([*ctx.policy.data.sensitive, *ctx.policy.sensitive_features]))
    if sensitive:
        items.append(
            CardItem(label="Sensitive attributes", value=", ".join(sensitive), source="policy")
        )
    groups: dict[str, int] = {}
    for finding in ctx.evidence.findings:
        for group in finding.details.get("groups") or []:
            if isinstance(group, dict) and "group" in group:
                groups[str(group["group"])] = int(group.get("count") or 0)
    if groups:
        items.append(
            CardItem(
                label="Groups evaluated",
                value=", ".join(f"{g} (n={n})" for g, n in sorted(groups.items())),
                source="evidence",
            )
        )
    small = sorted({g for f in ctx.evidence.findings for g in f.details.get("small_groups") or []})
    if small:
        items.append(
            CardItem(
                label="Groups below the minimum size", value=", ".join(small), source="evidence"
            )
        )
    needs = [
        "Relevant factors beyond the sensitive attributes (instrumentation, environment, "
        "context of use) and why these groups were chosen"
    ]
    if not sensitive:
        needs.insert(0, "Which groups the model's performance may vary across (set data.sensitive)")
    return CardSection(id=sid, title=title, items=items, needs_person=needs)


def _metrics(ctx: CardContext, sid: str, title: str) -> CardSection:
    rows = []
    for finding in ctx.evidence.findings:
        if finding.metric and finding.section in ("performance", "fairness", "explainability"):
            rows.append(
                [
                    finding.rule_id,
                    finding.section,
                    finding.metric,
                    _threshold(finding),
                    finding.severity.value,
                ]
            )
    tables = (
        [
            CardTable(
                title="Metrics the policy holds the model to",
                columns=["rule", "section", "metric", "bound", "on failure"],
                rows=rows,
            )
        ]
        if rows
        else []
    )
    items = [
        CardItem(
            label="Decision threshold",
            value=_fmt(ctx.policy.performance.threshold),
            source="policy",
        )
    ]
    boot = next(
        (f.details.get("bootstrap") for f in _fairness(ctx) if f.details.get("bootstrap")), None
    )
    if isinstance(boot, dict):
        items.append(
            CardItem(
                label="Variation",
                value=f"{_fmt(100 * float(boot.get('confidence_level', 0.95)), 3)}% "
                f"{boot.get('method', 'bootstrap')} with {boot.get('resamples')} resamples "
                f"(seed {boot.get('seed')})",
                source="evidence",
            )
        )
    return CardSection(
        id=sid,
        title=title,
        items=items,
        tables=tables,
        needs_person=["Why these metrics and bounds were chosen for this use"],
    )


def _fingerprint_rows(data: dict[str, Any]) -> list[list[str]]:
    schema = data.get("columns") or data.get("schema") or {}
    return [
        [
            str(data.get("path") or "—"),
            str(data.get("sha256", ""))[:16],
            _fmt(data.get("rows")),
            str(len(schema)) if schema else "—",
        ]
    ]


def _evaluation_data(ctx: CardContext, sid: str, title: str) -> CardSection:
    tables = []
    for key, fp in ctx.evidence.inputs.items():
        if key in ("model", "baseline"):
            continue
        tables.append(
            CardTable(
                title=f"Evaluation data ({key})",
                columns=["file", "sha256", "rows", "columns"],
                rows=_fingerprint_rows(fp.model_dump()),
            )
        )
    items = [
        CardItem(
            label="Evidence",
            value=f"{ctx.evidence.status}, produced "
            f"{ctx.evidence.created_at:%Y-%m-%d %H:%M} UTC by Charter "
            f"{ctx.evidence.charter_version}",
            source="evidence",
        )
    ]
    return CardSection(
        id=sid,
        title=title,
        items=items,
        tables=tables,
        needs_person=["Why this data set was chosen, and how it was preprocessed"],
    )


def _training_data(ctx: CardContext, sid: str, title: str) -> CardSection:
    train = (ctx.version.lineage.get("data") or {}).get("train")
    tables, items, needs = [], [], []
    if train:
        tables.append(
            CardTable(
                title="Training data",
                columns=["file", "sha256", "rows", "columns"],
                rows=_fingerprint_rows(train),
            )
        )
        dvc = train.get("dvc") or {}
        if dvc.get("md5"):
            items.append(
                CardItem(
                    label="DVC",
                    value=f"md5 {dvc['md5']} ({dvc.get('dvc_file')})",
                    source="registry",
                )
            )
        if ctx.version.lineage.get("data") and train.get("schema"):
            items.append(
                CardItem(label="Columns", value=", ".join(train["schema"]), source="registry")
            )
    else:
        needs.append("The training data (register with --train-data to fingerprint it)")
    needs.append("How the training data was collected, labelled and preprocessed")
    return CardSection(id=sid, title=title, items=items, tables=tables, needs_person=needs)


def _quantitative(ctx: CardContext, sid: str, title: str) -> CardSection:
    confidence = ctx.policy.fairness.confidence_level
    unitary = [
        [
            f.rule_id,
            f.metric or "—",
            _fmt(f.value),
            _interval(f.interval),
            _threshold(f),
            f.outcome.value,
        ]
        for f in ctx.evidence.findings
        if f.metric and f.section in ("performance", "fairness", "explainability")
    ]
    tables = [
        CardTable(
            title="Unitary results",
            columns=["rule", "metric", "value", "CI", "bound", "outcome"],
            rows=unitary,
        )
    ]
    for finding in [f for f in ctx.evidence.findings if f.details.get("groups")]:
        tables.append(_group_table(finding, confidence))
    sensitive = list(ctx.evidence.extras.get("run", {}).get("sensitive") or [])
    return CardSection(
        id=sid,
        title=title,
        items=explainability_items(ctx.evidence),
        tables=tables,
        charts=finding_charts(ctx.evidence, sensitive),
        needs_person=["How the differences between groups matter for the people affected"],
    )


def _ethics(ctx: CardContext, sid: str, title: str) -> CardSection:
    info = ctx.policy.model
    items = [
        CardItem(label="Stated", value=text, source="policy")
        for text in info.ethical_considerations
    ]
    if ctx.policy.privacy.protected_attributes:
        items.append(
            CardItem(
                label="Protected attributes (not to be features)",
                value=", ".join(ctx.policy.privacy.protected_attributes),
                source="policy",
            )
        )
    for finding in ctx.evidence.findings:
        if finding.section == "privacy":
            items.append(
                CardItem(
                    label=f"Privacy check {finding.rule_id}",
                    value=f"{finding.outcome.value}: {finding.message}",
                    source="evidence",
                )
            )
    mitigation, tables = mitigation_items(ctx.evidence)
    items.extend(mitigation)
    needs = ["Risks and harms to the people affected, mitigations, and the use of sensitive data"]
    if not info.ethical_considerations:
        needs.insert(0, "Ethical considerations (set model.ethical_considerations)")
    return CardSection(id=sid, title=title, items=items, tables=tables, needs_person=needs)


def _caveats(ctx: CardContext, sid: str, title: str) -> CardSection:
    items = [
        CardItem(label="Limitation", value=text, source="policy")
        for text in ctx.policy.model.limitations
    ]
    for finding in ctx.evidence.findings:
        if finding.outcome.failed:
            items.append(
                CardItem(
                    label=f"{finding.outcome.value}: {finding.rule_id}",
                    value=finding.message,
                    source="evidence",
                )
            )
    for flag in ctx.version.flags:
        raised = f"{flag.reason} (raised by {flag.created_by}, {flag.created_at:%Y-%m-%d})"
        if flag.open:
            items.append(CardItem(label=f"Open flag {flag.flag}", value=raised, source="registry"))
        else:
            items.append(
                CardItem(
                    label=f"Resolved flag {flag.flag}",
                    value=f"{raised}; resolved by {flag.resolved_by} "
                    f"({flag.resolved_at:%Y-%m-%d}): {flag.resolved_reason}",
                    source="registry",
                )
            )
    if ctx.monitoring:
        latest = ctx.monitoring[-1]
        items.append(
            CardItem(
                label="Latest monitoring",
                value=f"{latest.status} ({latest.created_at:%Y-%m-%d %H:%M} UTC)",
                source="registry",
            )
        )
    needs = ["Recommendations for deployers, and what was not tested"]
    if not ctx.policy.model.limitations:
        needs.insert(0, "Known limitations (set model.limitations)")
    return CardSection(id=sid, title=title, items=items, needs_person=needs)
