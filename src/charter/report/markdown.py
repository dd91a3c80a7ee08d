"""The Markdown rendering of an Evidence bundle, for CI job summaries and pull requests."""

from __future__ import annotations

from charter.evidence import Evidence, Finding, Outcome
from charter.report.html import format_number

_ICONS = {
    Outcome.PASSED: "✅",
    Outcome.FAILED_BLOCKING: "❌",
    Outcome.FAILED_WARNING: "⚠️",
    Outcome.ERROR: "⛔",
    Outcome.SKIPPED: "⏭️",
}


def render_markdown(evidence: Evidence, *, report_path: str | None = None) -> str:
    """Render the bundle as GitHub-flavoured Markdown.

    Parameters
    ----------
    evidence
        The bundle.
    report_path
        Where the HTML report is, mentioned at the end when given.
    """
    status = evidence.status.replace("_", " ")
    icon = {"passed": "✅", "failed": "❌"}.get(evidence.status, "⚠️")
    lines = [
        f"## {icon} Charter gate: {evidence.model_name} — {status}",
        "",
        f"{evidence.summary_line()}. Policy `{(evidence.policy.sha256 or '')[:12]}`"
        + (f", stage {evidence.stage}" if evidence.stage else "")
        + ".",
        "",
    ]
    if evidence.blocking_findings:
        lines.append("**Blocking:**")
        lines.extend(f"- `{f.rule_id}`: {_cell(f.message)}" for f in evidence.blocking_findings)
        lines.append("")
    lines.append("| rule | section | metric | value | threshold | verdict |")
    lines.append("| --- | --- | --- | ---: | --- | --- |")
    for f in evidence.findings:
        threshold = f.threshold.describe() if f.threshold else ""
        lines.append(
            f"| `{f.rule_id}` | {f.section} | {_cell(f.metric or '')} |"
            f" {format_number(f.value) if f.value is not None else ''} | {_cell(threshold)} |"
            f" {_verdict(f)} |"
        )
    lines.append("")
    if report_path:
        lines.append(f"Full report with per-group plots: `{report_path}`")
        lines.append("")
    return "\n".join(lines)


def _verdict(finding: Finding) -> str:
    return f"{_ICONS[finding.outcome]} {finding.outcome.value}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
