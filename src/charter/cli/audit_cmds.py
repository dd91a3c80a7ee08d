"""``charter audit verify | log | export``: read and check the tamper-evident audit trail."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from charter.cli.app import app, console
from charter.cli.console import acting, open_registry

audit_app = typer.Typer(help="The audit trail: verify, read, export.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

_Model = Annotated[str | None, typer.Option(help="Only entries about this model.")]
_Actor = Annotated[str | None, typer.Option("--actor", help="Only entries by this user.")]
_Action = Annotated[
    str | None, typer.Option(help="Only this action; a trailing * matches a prefix (promotion.*).")
]
_Since = Annotated[str | None, typer.Option(help="From this UTC time (ISO 8601), inclusive.")]
_Until = Annotated[str | None, typer.Option(help="Until this UTC time (ISO 8601), exclusive.")]


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recompute every hash and link; report the first broken entry and how it was broken."""
    with open_registry() as registry:
        actor = acting(registry)
        from sqlalchemy import func, select

        from charter.registry.tables import audit_head

        with registry.engine.connect() as connection:
            total = int(connection.execute(select(func.max(audit_head.c.seq))).scalar() or 0)
        progress = Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=as_json or total < 200_000,
        )
        with progress:
            task = progress.add_task("verify", total=total)
            report = registry.verify_audit(
                actor=actor, on_batch=lambda n: progress.advance(task, n)
            )
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    elif report.ok:
        console.print(
            f"[green]intact[/]: {report.checked} entries verified; head {report.head_seq} "
            f"{report.head_hash}",
            highlight=False,
        )
    report.raise_for_break()


@audit_app.command("log")
def log(
    model: _Model = None,
    actor: _Actor = None,
    action: _Action = None,
    since: _Since = None,
    until: _Until = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show audit entries, filtered by model, actor, action and time."""
    with open_registry() as registry:
        entries = registry.audit_log(
            actor=acting(registry),
            model=model,
            user=actor,
            action=action,
            since=since,
            until=until,
            limit=limit,
        )
    if as_json:
        console.print_json(json.dumps([e.to_dict() for e in entries]))
        return
    table = Table("seq", "at (UTC)", "actor", "action", "subject", "details")
    for e in entries:
        details = json.dumps(e.details, sort_keys=True)
        table.add_row(
            str(e.seq),
            e.at[:19].replace("T", " "),
            e.actor,
            e.action,
            e.subject,
            details if len(details) < 100 else details[:97] + "...",
        )
    console.print(table)


@audit_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    model: _Model = None,
    actor: _Actor = None,
    action: _Action = None,
    since: _Since = None,
    until: _Until = None,
) -> None:
    """Export audit entries, with their hashes, as JSON lines or CSV."""
    from charter.audit.log import EXPORT_FORMATS
    from charter.errors import CharterError

    if fmt not in EXPORT_FORMATS:
        raise CharterError(
            f"unknown export format '{fmt}'", hint="use --format jsonl or --format csv"
        )
    with open_registry() as registry:
        user = acting(registry)
        if out is None:
            count = registry.export_audit(
                sys.stdout,
                actor=user,
                fmt=fmt,
                model=model,
                user=actor,
                action=action,
                since=since,
                until=until,
            )
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = registry.export_audit(
                    handle,
                    actor=user,
                    fmt=fmt,
                    model=model,
                    user=actor,
                    action=action,
                    since=since,
                    until=until,
                )
            console.print(f"wrote {count} entries to {out}")
