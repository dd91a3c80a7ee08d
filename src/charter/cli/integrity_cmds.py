"""Admin settings above the policies: ``charter approval-floor`` and ``charter monitoring``.

``approval-floor`` is an admin's minimum of approvals per model; ``monitoring allow`` says what
registered policies' monitoring may run, write or post to as the monitor. Signing keys are in
:mod:`charter.cli.keys_cmds`; ``charter evidence verify`` and ``charter rollback`` sit with the
other version commands in :mod:`charter.cli.registry_cmds`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.console import acting, console, open_registry

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

monitoring_app = typer.Typer(
    help="What registered policies' monitoring actions may do (admin).", no_args_is_help=True
)
app.add_typer(monitoring_app, name="monitoring")


@app.command("approval-floor")
def approval_floor(
    name: Annotated[str, typer.Argument(help="The model.")],
    minimum: Annotated[
        int | None,
        typer.Argument(help="Fewest approvals for production; leave out to remove the floor."),
    ] = None,
) -> None:
    """Set the fewest approvals any promotion of the model to production needs (admin)."""
    with open_registry() as registry:
        registry.set_approval_floor(name, minimum, actor=acting(registry))
    console.print(
        f"{name}: production needs at least {minimum} approval(s) whatever the policy says"
        if minimum is not None
        else f"{name}: no approval floor; the policies decide",
        highlight=False,
    )


@monitoring_app.command("allow")
def monitoring_allow(
    command: Annotated[
        list[str] | None,
        typer.Option("--command", help="A command, exactly as policies write it (repeatable)."),
    ] = None,
    textfile_dir: Annotated[
        list[Path] | None,
        typer.Option("--textfile-dir", help="A folder for Prometheus textfiles (repeatable)."),
    ] = None,
    webhook_prefix: Annotated[
        list[str] | None,
        typer.Option("--webhook-prefix", help="A URL prefix webhooks may post to (repeatable)."),
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take these entries away.")] = False,
) -> None:
    """Allow-list what a registered policy's monitoring may run, write or post to."""
    with open_registry() as registry:
        actor = acting(registry)
        current = registry.monitoring_allowlist(actor=actor)
        allow = current.merged(
            commands=command or [],
            textfile_dirs=[str(d) for d in textfile_dir or []],
            webhook_prefixes=webhook_prefix or [],
            remove=remove,
        )
        registry.set_monitoring_allowlist(allow, actor=actor)
    console.print_json(json.dumps(allow.to_dict()))


@monitoring_app.command("allowed")
def monitoring_allowed() -> None:
    """Show what registered policies' monitoring may run, write or post to."""
    with open_registry() as registry:
        allow = registry.monitoring_allowlist(actor=acting(registry))
    console.print_json(json.dumps(allow.to_dict()))
