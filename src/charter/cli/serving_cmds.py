"""``charter suspend`` and ``charter resume``: the stop button of a served model.

An approver or admin suspends the serving of a model with a reason (EU AI Act Art. 14(4)(e));
every ``charter serve`` process answers 503 with that reason within a second, until someone
resumes it. Both are audited; no version changes stage.
"""

from __future__ import annotations

from typing import Annotated

import typer

from charter.cli.console import console

app = typer.Typer()  # mounted by charter.cli.app


@app.command("suspend")
def suspend_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why serving must stop (audited).")],
) -> None:
    """Suspend the serving of a model (approver or admin): predictions answer 503."""
    from charter.registry import Registry
    from charter.registry import serving as registry_serving

    with Registry.open() as registry:
        done = registry_serving.suspend(registry, name, reason, actor=registry.actor_from_env())
    console.print(
        f"[bold red]suspended[/] serving of {name} by {done.suspended_by}: {done.reason}"
        f"\nresume with: charter resume {name}",
        highlight=False,
    )


@app.command("resume")
def resume_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why serving may resume (audited).")
    ] = None,
) -> None:
    """Resume the serving of a suspended model (approver or admin)."""
    from charter.registry import Registry
    from charter.registry import serving as registry_serving

    with Registry.open() as registry:
        done = registry_serving.resume(
            registry, name, actor=registry.actor_from_env(), reason=reason
        )
    console.print(
        f"[bold green]resumed[/] serving of {name} by {done.resumed_by}"
        f" (suspended by {done.suspended_by}: {done.reason})",
        highlight=False,
    )
