"""``charter audit verify | log | export``: read and check the tamper-evident audit trail."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from charter.cli.console import JSON_HELP, acting, console, open_registry
from charter.errors import CharterError

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

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
def verify(
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint (file or fsspec URL) whose head the chain must still"
            " contain (repeatable).",
        ),
    ] = None,
    public: Annotated[
        list[Path] | None,
        typer.Option("--public", help="Public key (PEM) that signs checkpoints (repeatable)."),
    ] = None,
) -> None:
    """Recompute every hash and link; report the first broken entry and how it was broken."""
    from charter.audit.checkpoint import read_checkpoint

    trusted = _public_keys(public or [])
    if checkpoint and not trusted:
        from charter.errors import CharterError

        raise CharterError(
            "--checkpoint needs the public key that signed it",
            hint="add --public AUDITOR.pub (the .pub of `charter keys generate`)",
        )
    points = [read_checkpoint(c, trusted) for c in checkpoint or []]
    with open_registry() as registry:
        actor = acting(registry)
        from sqlalchemy import func, select

        from charter.audit.tables import audit_head

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
        from charter.audit.checkpoint import missing_checkpoints, raise_for_missing

        missing = missing_checkpoints(registry.engine, points) if report.ok else []
    if as_json:
        console.print_json(
            json.dumps({**report.to_dict(), "checkpoints": len(points), "missing": missing})
        )
    elif report.ok and not missing:
        # two short lines: a CI log at 80 columns never splits the hash or the sentence
        console.print(
            f"[green]intact[/]: {report.checked} entries verified"
            + (f"; contains {len(points)} signed checkpoint(s)" if points else ""),
            highlight=False,
        )
        console.print(f"  head {report.head_seq} {report.head_hash}", highlight=False)
    report.raise_for_break()
    raise_for_missing(missing)


def _public_keys(paths: list[Path]) -> dict[str, Any]:
    from charter.errors import CharterError
    from charter.signing import key_id, load_public_key

    keys = {}
    for path in paths:
        try:
            key = load_public_key(path.read_bytes())
        except OSError as exc:
            raise CharterError(f"cannot read {path}: {exc.strerror or exc}") from None
        keys[key_id(key)] = key
    return keys


@audit_app.command("checkpoint")
def checkpoint_command(
    key: Annotated[Path, typer.Option("--key", help="The auditor's Ed25519 private key (PEM).")],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="File or fsspec URL to write (e.g. a write-once bucket); never replaced."
            " {seq} and {at} in it become the head's sequence number and the time.",
        ),
    ],
    schedule: Annotated[
        str | None,
        typer.Option(help="Checkpoint on this cron schedule (UTC) until stopped."),
    ] = None,
    max_runs: Annotated[int | None, typer.Option(help="With --schedule: stop after N.")] = None,
) -> None:
    """Verify the chain and sign its head (seq and hash), to keep outside the database."""
    from charter.audit.checkpoint import checkpoint_target, write_checkpoint
    from charter.signing import load_private_key

    private = load_private_key(key)

    def once() -> None:
        with open_registry() as registry:
            envelope = registry.checkpoint_audit(private, actor=acting(registry))
        target = write_checkpoint(envelope, checkpoint_target(out, envelope))
        head = json.loads(base64.b64decode(envelope["payload"]))
        console.print(
            f"checkpoint of entry {head['seq']} ({head['hash'][:16]}) written to {target}",
            highlight=False,
        )

    if schedule is None:
        once()
        return
    from charter.monitor.schedule import parse_cron, run_on_schedule

    parse_cron(schedule)
    if "{seq}" not in out and "{at}" not in out:
        from charter.errors import CharterError

        raise CharterError(
            "a scheduled checkpoint needs {seq} or {at} in its target: checkpoints are never"
            " overwritten",
            hint="e.g. --out s3://audit-witness/charter/{seq}.json",
            field="out",
        )
    runs = run_on_schedule(schedule, lambda _a, _b: once(), max_runs=max_runs)
    console.print(f"stopped after {len(runs)} checkpoint(s)")


@audit_app.command("log")
def log(
    model: _Model = None,
    actor: _Actor = None,
    action: _Action = None,
    since: _Since = None,
    until: _Until = None,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
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
            from charter.files import atomic_output

            # a refusal or an error leaves an existing file as it was
            with atomic_output(out) as handle:
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
