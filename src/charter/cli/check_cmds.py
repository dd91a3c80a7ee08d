"""``charter check``: the gate on the command line.

Runs :func:`charter.gate.check`, writes ``evidence.json``, ``report.html`` and ``summary.md``
into ``--out``, prints a summary table, appends the Markdown summary to
``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions job summaries), and exits 0 when every
blocking rule passed, 1 when one failed, 2 when the gate could not run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.console import console, err_console
from charter.cli.findings import print_summary
from charter.errors import CharterError, PolicyError

__all__ = ["app", "print_summary"]

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()


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
    sign: Annotated[
        Path | None,
        typer.Option(
            "--sign",
            help="Ed25519 private key (PEM): sign the evidence, writing evidence.dsse.json.",
        ),
    ] = None,
) -> None:
    """Run the policy's gate on a model and data; exit 1 when a blocking rule fails."""
    from charter.gate import check
    from charter.report import render_markdown, write_outputs
    from charter.signing import load_private_key

    signing_key = load_private_key(sign) if sign is not None else None  # fail before the run

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
        predictions=predictions,
        scores=scores,
        stage=stage,
        trust_pickle=trust_pickle,
        sha256=sha256,
        trusted_types=trust_type or (),
    )
    outputs = write_outputs(evidence, out)
    if signing_key is not None:
        from charter.signing import write_evidence_signature

        signature = write_evidence_signature(evidence, signing_key, outputs.evidence.parent)
        err_console.print(f"signed: {signature}", highlight=False)
    else:  # a signature of an earlier run would sit beside evidence it does not sign
        from charter.signing import EVIDENCE_SIGNATURE_FILE

        outputs.evidence.with_name(EVIDENCE_SIGNATURE_FILE).unlink(missing_ok=True)
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


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise CharterError(
            f"cannot append the summary to {path}: {exc.strerror or exc}",
            hint="check that the file's folder exists and is writable",
        ) from exc
