"""The findings of a gate as a table on the console, and the verdict line under it.

Shared by ``charter check`` and ``charter mitigate --check-data``.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from charter.cli.console import SafeConsole, console
from charter.evidence import Evidence, Finding

_TABLE_WIDTH = 120
_TONE_STYLE = {"ok": "green", "bad": "bold red", "warn": "yellow", "muted": "dim"}


def print_summary(evidence: Evidence) -> None:
    """Print the findings table and the verdict line."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("rule", "section", "metric", "value", "threshold", "verdict"):
        table.add_column(name, no_wrap=True, justify="right" if name == "value" else "left")
    for finding in evidence.findings:
        table.add_row(
            finding.rule_id,
            finding.section,
            finding.metric or "-",
            _value(finding),
            finding.threshold.describe() if finding.threshold else "-",
            _verdict(finding),
        )
    # never crop a row: CI logs are read at 80 columns but keep long lines
    if console.width >= _TABLE_WIDTH:
        console.print(table)
    else:
        wide = SafeConsole(
            file=console.file,
            width=_TABLE_WIDTH,
            force_terminal=console.is_terminal,
            no_color=console.no_color,
        )
        wide.print(table, crop=False)
    line = evidence.summary_line()
    colour = {"passed": "green", "failed": "red"}.get(evidence.status, "yellow")
    status = evidence.status.replace("_", " ").upper()
    console.print(f"[bold {colour}]{status}[/] {evidence.model_name}: {line}", highlight=False)
    for finding in evidence.blocking_findings:
        console.print(f"  [red]✗[/] {finding.rule_id}: {finding.message}", highlight=False)
    cautions = {
        f.details["positive_label_warning"]
        for f in evidence.findings
        if "positive_label_warning" in f.details
    }
    for caution in sorted(cautions):
        console.print(f"  [yellow]caution:[/] {caution}", highlight=False)


def _value(finding: Finding) -> str:
    from charter.report.html import format_number  # on first use: `charter --help` stays fast

    return "-" if finding.value is None else format_number(finding.value)


def _verdict(finding: Finding) -> str:
    outcome = finding.outcome
    return f"[{_TONE_STYLE[outcome.tone]}]{outcome.value}[/]"
