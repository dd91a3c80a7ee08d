"""``charter check``: the gate on the command line.

Runs :func:`charter.gate.check`, writes ``evidence.json``, ``report.html`` and ``summary.md``
into ``--out``, prints a summary table, appends the Markdown summary to
``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions job summaries), and exits 0 when every
blocking rule passed, 1 when one failed, 2 when the gate could not run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from charter.cli.app import app, console, err_console
from charter.errors import CharterError, DataError, PolicyError
from charter.evidence import Evidence, Finding

_TABLE_WIDTH = 120
_TONE_STYLE = {"ok": "green", "bad": "bold red", "warn": "yellow", "muted": "dim"}


@app.command("check")
def check_command(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="Evaluation data (Parquet, CSV, Arrow).")
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="The policy (default: policy.yaml in this folder)."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Model artifact (.skops; .pkl/.joblib).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Column of true labels.")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="The production model, for max_drop rules.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for evidence.json and report.html.")
    ] = Path("charter-out"),
    predictions: Annotated[
        str | None,
        typer.Option(
            "--predictions",
            help="Column of predictions in the data (check without a model), or a file with"
            " one column of predictions, one per row.",
        ),
    ] = None,
    scores: Annotated[
        str | None,
        typer.Option("--scores", help="Column (or one-column file) of positive-class scores."),
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only rules gating this stage.")
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="Load pickle/joblib models without a hash (unsafe)."),
    ] = False,
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="Expected sha256 of the model file.")
    ] = None,
    trust_type: Annotated[
        list[str] | None,
        typer.Option("--trust-type", help="Trust this type in a .skops file (repeatable)."),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also append the Markdown summary to this file."),
    ] = None,
) -> None:
    """Run the policy's gate on a model and data; exit 1 when a blocking rule fails."""
    from charter.gate import check
    from charter.report import render_markdown, write_outputs

    if policy is None:
        policy = Path("policy.yaml")
        if not policy.exists():
            raise PolicyError(
                f"no --policy was given and there is no policy.yaml in {Path.cwd()}",
                hint="pass --policy PATH, or write a policy.yaml here (docs/policy.md;"
                " examples/credit_risk/policy.yaml is a complete one)",
            )
    evidence = check(
        policy,
        data,
        model=model,
        target=target,
        baseline=baseline,
        predictions=_column_or_file(predictions, "predictions"),
        scores=_column_or_file(scores, "scores"),
        stage=stage,
        trust_pickle=trust_pickle,
        sha256=sha256,
        trusted_types=trust_type or (),
    )
    outputs = write_outputs(evidence, out)
    print_summary(evidence)
    summary_md = render_markdown(evidence, report_path=str(outputs.report))
    if markdown is not None:
        _append(markdown, summary_md)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            _append(Path(step_summary), summary_md)
        except CharterError as exc:  # a CI nicety must not change the gate's verdict
            err_console.print(f"[yellow]warning:[/] {exc.message}", highlight=False)
    console.print(f"evidence: [bold]{outputs.evidence}[/]", highlight=False)
    console.print(f"report:   [bold]{outputs.report}[/]", highlight=False)
    if not evidence.passed:
        raise typer.Exit(1)


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
        wide = Console(
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
    from charter.report.html import format_number

    return "-" if finding.value is None else format_number(finding.value)


def _verdict(finding: Finding) -> str:
    outcome = finding.outcome
    return f"[{_TONE_STYLE[outcome.tone]}]{outcome.value}[/]"


def _column_or_file(value: str | None, role: str) -> Any:
    """A column name as given, or the values of a one-column file."""
    import numpy as np

    from charter.stats.frames import SUPPORTED_DATA_FILES, read_data_file

    if value is None:
        return None
    path = Path(value)
    if path.suffix.lower() not in SUPPORTED_DATA_FILES:
        return value
    if not path.exists():
        raise DataError(f"{role} file {path} does not exist", hint="check the path")
    frame = read_data_file(path)
    if len(frame.columns) != 1:
        raise DataError(
            f"{role} file {path} has {len(frame.columns)} columns; it must have exactly one",
            hint=f"write only the {role} to the file, or add them to the data and pass the"
            " column name",
        )
    return np.asarray(frame.get_column(frame.columns[0]).to_numpy())


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise CharterError(
            f"cannot append the summary to {path}: {exc.strerror or exc}",
            hint="check that the file's folder exists and is writable",
        ) from exc
