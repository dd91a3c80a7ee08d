"""What the model card shows of the gate's findings beyond its tables.

Charts drawn from the evidence with the gate report's own plots (per-group rates with their
intervals and the rule's bounds; SHAP importances with the protected attributes marked), the
explainability rule's value and top features, and the bias mitigation the model went through
(recorded in ``evidence.extras["mitigation"]`` by :func:`charter.mitigate.mitigate` and
``charter mitigate``).
"""

from __future__ import annotations

from typing import Any

from charter.cards.groups import CardChart, CardItem, CardTable, fmt_threshold, fmt_value
from charter.evidence import Evidence, Finding

_CHARTED = ("fairness", "performance", "explainability")


def finding_charts(evidence: Evidence, sensitive: list[str]) -> list[CardChart]:
    """One chart per finding with per-group results or importances."""
    from charter.report.html import finding_plots

    charts = []
    for finding in evidence.findings:
        if finding.section not in _CHARTED:
            continue
        if not (finding.details.get("groups") or finding.details.get("importances")):
            continue
        for svg in finding_plots(finding, sensitive):
            caption = (
                "Mean |SHAP| per input column; protected attributes and proxies marked."
                if finding.section == "explainability"
                else "Per-group values with their confidence intervals; dashed: the rule's bound."
            )
            charts.append(
                CardChart(
                    title=f"{finding.rule_id}: {finding.metric or finding.check}"
                    f" — {finding.outcome.value}",
                    svg=svg,
                    caption=caption,
                )
            )
    return charts


def explainability_items(evidence: Evidence) -> list[CardItem]:
    """The explainability rules' value against their bound, top features and method."""
    items = []
    for finding in evidence.findings:
        if finding.section != "explainability":
            continue
        details = finding.details
        shares = details.get("shares") or {}
        top = ", ".join(f"{k} {float(v):.1%}" for k, v in list(shares.items())[:5])
        value = f"{finding.outcome.value}"
        if finding.value is not None:
            value += f": {finding.metric} = {fmt_value(finding.value)} ({fmt_threshold(finding)})"
        protected = details.get("protected_shares") or {}
        if protected:
            value += "; held by " + ", ".join(f"{k} {float(v):.1%}" for k, v in protected.items())
        if top:
            value += f"; top features: {top}"
        items.append(
            CardItem(label=f"Explainability {finding.rule_id}", value=value, source="evidence")
        )
        if details.get("method"):
            items.append(
                CardItem(
                    label=f"Explained with ({finding.rule_id})",
                    value=f"{details['method']}; {details.get('sample_size')} rows",
                    source="evidence",
                )
            )
    return items


def mitigation_text(record: dict[str, Any]) -> str:
    """One sentence: which method, on what, from which model."""
    params = record.get("parameters") or {}
    source = record.get("source_model") or {}
    text = f"{record.get('method')} on {', '.join(params.get('sensitive') or [])}"
    if params.get("constraint"):
        text += f" (constraint {params['constraint']})"
    origin = source.get("class", "a model")
    if source.get("sha256"):
        origin += f" sha256 {str(source['sha256'])[:16]}…"
    text += f", from {origin}, refitted on {record.get('training_rows')} rows"
    after = (record.get("after") or {}).get("status")
    before = (record.get("before") or {}).get("status")
    if after and before:
        text += f"; gate {before} before, {after} after"
    return text


def mitigation_items(evidence: Evidence) -> tuple[list[CardItem], list[CardTable]]:
    """The mitigation the model went through, and its metrics before and after."""
    record = evidence.extras.get("mitigation")
    if not isinstance(record, dict):
        return [], []
    items = [CardItem(label="Bias mitigation", value=mitigation_text(record), source="evidence")]
    metrics = record.get("metrics") or {}
    if not metrics:
        return items, []
    rows = [
        [
            rule,
            str(m.get("metric")),
            fmt_value(m.get("before")),
            fmt_value(m.get("after")),
            f"{m.get('outcome_before')} → {m.get('outcome_after')}",
        ]
        for rule, m in metrics.items()
    ]
    table = CardTable(
        title="Before and after mitigation (same evaluation data)",
        columns=["rule", "metric", "before", "after", "outcome"],
        rows=rows,
    )
    return items, [table]


def findings_of(evidence: Evidence, section: str) -> list[Finding]:
    """The findings of one policy section."""
    return [f for f in evidence.findings if f.section == section]
