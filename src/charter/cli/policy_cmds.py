"""``charter policy validate``, ``charter checks``, ``charter controls``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from charter.cli.console import console, keep_whole, print_json

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

policy_app = typer.Typer(help="Work with policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="The policy.yaml to validate.")] = Path(
        "policy.yaml"
    ),
) -> None:
    """Validate a policy: schema, extends, check ids and their params, control ids."""
    from charter.policy import load_policy

    policy = load_policy(path)
    rules = policy.iter_rules()
    by_section: dict[str, int] = {}
    for section, _ in rules:
        by_section[section] = by_section.get(section, 0) + 1
    sections = ", ".join(f"{s} {n}" for s, n in by_section.items()) or "none"
    console.print(
        f"[green]valid[/] {path}: model [bold]{policy.model.name}[/], risk tier "
        f"{policy.model.risk_tier.value}, {len(rules)} rules ({sections}), "
        f"sha256 {policy.sha256[:12] if policy.sha256 else '-'}",
        highlight=False,
    )


@app.command("checks")
def list_checks(
    section: Annotated[str | None, typer.Option(help="Only checks of this section.")] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON: one object per check (id, section, metric, params with their"
            " types and defaults, description, controls, needs).",
        ),
    ] = False,
) -> None:
    """List the checks rules can use, built-in and from plugins."""
    from charter.checks.registry import available_checks

    specs = [
        spec
        for spec in sorted(available_checks().values(), key=lambda s: (s.section, s.id))
        if not section or spec.section == section
    ]
    if as_json:
        print_json([_check_json(spec) for spec in specs])
        return
    table = Table("check", "section", "metric", "params", "description")
    for spec in specs:
        params = ", ".join(spec.params.model_fields) or "-"
        table.add_row(spec.id, spec.section, spec.metric or "-", params, spec.description)
    console.print(keep_whole(table, "check", "section"))


def _check_json(spec: Any) -> dict[str, Any]:
    return {
        "id": spec.id,
        "section": spec.section,
        "metric": spec.metric,
        "description": spec.description,
        "params": {
            name: {
                "type": str(field.annotation).replace("typing.", ""),
                "default": None
                if field.is_required()
                else field.get_default(call_default_factory=True),
                "required": field.is_required(),
            }
            for name, field in spec.params.model_fields.items()
        },
        "controls": list(getattr(spec, "controls", ()) or ()),
        "needs": list(getattr(spec, "needs", ()) or ()),
    }


@app.command("controls")
def list_controls(
    framework: Annotated[str | None, typer.Option(help="eu-ai-act, nist-ai-rmf or oecd.")] = None,
) -> None:
    """List the control catalogue that rules map to."""
    from charter.policy import catalogue

    table = Table("control", "title", "evidence")
    for control in catalogue(framework):
        table.add_row(control.id, control.title, ", ".join(control.evidence))
    console.print(keep_whole(table, "control"))
