"""``charter mitigate``: produce a fairer model, save it, and put it through the gate again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from charter.cli.console import console
from charter.cli.findings import print_summary
from charter.errors import CharterError
from charter.evidence import Evidence, sha256_file


def compare_metrics(before: Evidence, after: Evidence) -> dict[str, Any]:
    """Each metric rule's value and verdict before and after mitigation, with the gate's status.

    Returns
    -------
    dict
        ``{"before": {...}, "after": {...}, "metrics": {rule_id: {...}}}``, JSON-able.
    """
    previous = {f.rule_id: f for f in before.findings}
    metrics: dict[str, Any] = {}
    for finding in after.findings:
        old = previous.get(finding.rule_id)
        if (
            finding.metric is None
            or old is None
            or finding.section
            not in (
                "fairness",
                "performance",
            )
        ):
            continue
        metrics[finding.rule_id] = {
            "metric": finding.metric,
            "section": finding.section,
            "before": _number(old.value),
            "after": _number(finding.value),
            "outcome_before": old.outcome.value,
            "outcome_after": finding.outcome.value,
        }
    return {
        "before": {"status": before.status, "summary": before.summary()},
        "after": {"status": after.status, "summary": after.summary()},
        "metrics": metrics,
    }


def _number(value: float | None) -> float | None:
    import math

    return None if value is None or math.isnan(value) else float(value)


#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()


@app.command("mitigate")
def mitigate_command(
    model: Annotated[
        Path, typer.Option("--model", "-m", help="The model to mitigate (.skops; .pkl/.joblib).")
    ],
    data: Annotated[
        Path, typer.Option("--data", "-d", help="Training data with the sensitive columns.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the mitigated model (.skops).")
    ],
    method: Annotated[
        str,
        typer.Option("--method", help="reweighing, exponentiated_gradient or threshold_optimizer."),
    ] = "reweighing",
    constraint: Annotated[
        str,
        typer.Option("--constraint", help="Fairness constraint for the fairlearn methods."),
    ] = "demographic_parity",
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", "-p", help="Policy: default target and sensitive columns; gate to rerun."
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Column of true labels.")
    ] = None,
    sensitive: Annotated[
        list[str] | None,
        typer.Option("--sensitive", "-s", help="Sensitive column (repeatable)."),
    ] = None,
    check_data: Annotated[
        Path | None,
        typer.Option("--check-data", help="Holdout data: run the policy's gate on the result."),
    ] = None,
    check_out: Annotated[
        Path, typer.Option("--check-out", help="Folder for the re-check's evidence and report.")
    ] = Path("charter-out-mitigated"),
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Load a pickle/joblib model without a hash.")
    ] = False,
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="Expected sha256 of the model file.")
    ] = None,
) -> None:
    """Mitigate bias in a model, save the result, and (with --check-data) gate it again."""
    from charter.artifacts import load_model, save_model
    from charter.mitigate import mitigate
    from charter.policy import load_policy
    from charter.stats.frames import read_data_file

    loaded_policy = load_policy(policy) if policy is not None else None
    label = target or (loaded_policy.data.target if loaded_policy else None)
    columns = list(sensitive or (loaded_policy.sensitive_features if loaded_policy else []))
    if not label:
        raise CharterError(
            "mitigation needs the target column",
            hint="pass --target COLUMN or --policy with data.target set",
        )
    if not columns:
        raise CharterError(
            "mitigation needs at least one sensitive column",
            hint="pass --sensitive COLUMN or --policy with fairness.sensitive set",
        )
    if check_data is not None and loaded_policy is None:
        raise CharterError("--check-data needs --policy", hint="pass the policy to gate with")
    if out.suffix.lower() != ".skops":
        raise CharterError(f"--out {out} must end in .skops", hint="e.g. --out model-fair.skops")
    estimator = load_model(model, sha256=sha256, trust_pickle=trust_pickle)
    frame = read_data_file(data)
    positive = loaded_policy.data.positive_label if loaded_policy else 1
    source = {"path": str(model), "sha256": sha256_file(model)}
    with console.status(f"mitigating with {method} on {', '.join(columns)}"):
        fair = mitigate(
            estimator,
            frame,
            target=label,
            sensitive=columns,
            method=method,
            constraint=constraint,
            positive_label=positive,
            source=source,
        )
    save_model(fair, out)
    console.print(f"mitigated model ({method}): [bold]{out}[/]", highlight=False)
    if check_data is None or loaded_policy is None:
        console.print(
            "the mitigation is recorded in the model; pass --check-data (and --policy) to"
            " record the metrics before and after it",
            highlight=False,
        )
        return
    from charter.gate import check
    from charter.report import write_outputs

    with console.status("checking the model before mitigation"):
        before = check(loaded_policy, check_data, model=estimator, target=label, progress=False)
    evidence = check(loaded_policy, check_data, model=out, target=label)
    record = {**evidence.extras.get("mitigation", {}), **compare_metrics(before, evidence)}
    evidence = evidence.model_copy(update={"extras": {**evidence.extras, "mitigation": record}})
    outputs = write_outputs(evidence, check_out)
    print_summary(evidence)
    console.print(f"evidence: [bold]{outputs.evidence}[/]", highlight=False)
    console.print(f"report:   [bold]{outputs.report}[/]", highlight=False)
    if not evidence.passed:
        raise typer.Exit(1)
