"""``charter monitor NAME --log PATH``: monitoring on the command line.

Runs once and exits 0 (passed, warnings allowed), 1 (a blocking monitoring rule failed) or 2
(nothing could be computed); with ``--schedule`` runs on a cron schedule until stopped.
Writes ``evidence.json``, ``report.html`` and ``record.json`` into ``--out``, records the
evidence against the model version in the registry when there is one, and takes the actions
of the policy's ``monitoring`` section (webhook, Prometheus, command, needs-review flag).

The use case is the library's (:mod:`charter.monitor.target`); this door opens the registry,
acts as ``$CHARTER_TOKEN``'s user, parses the options and prints.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from charter.cli.console import (
    acting,
    console,
    err_console,
    keep_whole,
    open_registry,
    print_error,
)
from charter.errors import CharterError, DataError, NotFoundError

app = typer.Typer()  # mounted by charter.cli.app

#: Style of each outcome tone; and the width from which messages fit in the table.
_STYLE = {
    "ok": "[green]%s[/]",
    "bad": "[bold red]%s[/]",
    "warn": "[yellow]%s[/]",
    "muted": "[dim]%s[/]",
}
_WIDE = 120


@app.command("monitor")
def monitor_command(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    log: Annotated[
        str,
        typer.Option("--log", "-l", help="Inference log: Parquet/CSV file, directory or glob."),
    ],
    window: Annotated[
        str | None, typer.Option("--window", "-w", help="Window size (1h, 1d, 1w...).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Start: ISO time (2024-03-01) or a duration (7d).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (exclusive), ISO time.")] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            "-r",
            help="Reference: a profile (.json) or a data file; default: the registry's.",
        ),
    ] = None,
    policy_path: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy file; default: the registered version's."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version", help="Model version: number, stage or alias (default production)."
        ),
    ] = None,
    timestamp: Annotated[
        str | None, typer.Option("--timestamp", help="Timestamp column of the log.")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Delayed labels, joined by data.id_column.")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="How files are read: batches (pyarrow) or duckdb.")
    ] = "batches",
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for evidence.json, report.html, record.json."),
    ] = Path("charter-monitoring"),
    schedule: Annotated[
        str | None,
        typer.Option(
            "--schedule", help='Cron expression (UTC), e.g. "0 6 * * *"; runs until stopped.'
        ),
    ] = None,
    max_runs: Annotated[int | None, typer.Option("--max-runs", hidden=True)] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            help="Post the alert to this URL (Slack-compatible JSON); overrides"
            " monitoring.webhook.",
        ),
    ] = None,
    prometheus_textfile: Annotated[
        Path | None,
        typer.Option(
            "--prometheus-textfile",
            help="Write the gauges to this file for the node exporter; overrides"
            " monitoring.prometheus_textfile.",
        ),
    ] = None,
    no_actions: Annotated[
        bool, typer.Option("--no-actions", help="Do not record, alert or run commands.")
    ] = False,
) -> None:
    """Monitor a model's inference log: drift, fairness and performance per window."""
    from charter.monitor import actions, logs, target, windows
    from charter.monitor import schedule as scheduler
    from charter.registry import Actor

    if engine not in ("batches", "duckdb"):
        raise DataError(f"unknown engine '{engine}'", hint="use --engine batches or duckdb")
    registry, actor = _session()
    setup = target.resolve_target(
        name,
        registry=registry,
        actor=actor,
        version=version,
        policy=policy_path,
        reference=reference,
        system_reader=Actor.system("monitor"),
    )
    if setup.registered and actor is None:
        err_console.print(
            "[yellow]warning:[/] CHARTER_TOKEN is not set: results will not be recorded in"
            " the registry",
            highlight=False,
        )
    if not no_actions:
        for warning in actions.unset_variables(setup.policy, webhook=webhook):
            err_console.print(
                f"[yellow]warning:[/] {warning}; that action will fail until it is set",
                highlight=False,
            )
    start = windows.parse_time(since) if since else None
    end = windows.parse_time(until) if until else None
    prom_registry = None
    port = setup.policy.monitoring.prometheus_port
    if port is not None and not no_actions:
        prom_registry = actions.serve_prometheus(port)
        console.print(f"serving Prometheus metrics on :{port}/metrics")

    def job(period_start: datetime | None, period_end: datetime | None) -> int:
        total = logs.count_rows(log)
        with Progress(
            TextColumn("[bold]monitoring[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} rows"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=total is None or total < 2_000_000,
        ) as progress:
            task = progress.add_task(Path(log).name, total=total or 0)
            outcome = target.run_target(
                setup,
                log,
                window=window,
                since=period_start,
                until=period_end,
                timestamp=timestamp,
                labels=labels,
                engine=engine,
                out=out,
                actions=not no_actions,
                webhook=webhook,
                prometheus_textfile=prometheus_textfile,
                prometheus_registry=prom_registry,
                progress=lambda done: progress.update(task, completed=done),
            )
        _print(outcome)
        return outcome.exit_code

    if schedule is None:
        raise typer.Exit(job(start, end))
    scheduler.parse_cron(schedule)
    console.print(f"monitoring {name} on schedule [bold]{schedule}[/] (UTC); Ctrl-C to stop")

    def safe_job(a: datetime, b: datetime) -> int:
        try:
            return job(a, b)
        except CharterError as exc:  # a bad log today must not stop tomorrow's run
            print_error(exc)
            return exc.exit_code

    runs = scheduler.run_on_schedule(
        schedule,
        safe_job,
        first_since=start,
        max_runs=max_runs,
        on_wait=lambda due: console.print(f"next run at {due:%Y-%m-%d %H:%M:%S} UTC"),
    )
    console.print(f"stopped after {len(runs)} run(s)")
    raise typer.Exit(0)


def _session() -> tuple[Any, Any]:
    """The registry and the acting user, or ``None`` for either.

    The registry is CHARTER_HOME's / CHARTER_DATABASE_URL's (``None`` when there is none: an
    unregistered model is monitored from --policy and --reference); the user is
    ``$CHARTER_TOKEN``'s (``None`` without a token; a wrong token exits 2).
    """
    from charter.registry import TOKEN_ENV

    try:
        registry = open_registry()
    except NotFoundError:
        return None, None
    return registry, acting(registry) if os.environ.get(TOKEN_ENV) else None


def _print(outcome: Any) -> None:
    result = outcome.result
    run = result.run
    # Narrow terminals (a CI log at 80 columns) get the messages under the table, one per
    # line, instead of a message column wrapped over many lines.
    narrow = console.width < _WIDE
    headers = ["rule", "check", "outcome", "severity"] + ([] if narrow else ["message"])
    table = Table(*headers, title=None)
    for f in result.findings:
        cells = [f.rule_id, f.check, _STYLE[f.outcome.tone] % f.outcome.value, f.severity.value]
        table.add_row(*cells, *([] if narrow else [f.message]))
    console.print(keep_whole(table, "rule", "check", "outcome"))
    if narrow:
        for f in result.findings:
            if f.outcome.failed:
                console.print(f"  {f.rule_id}: {f.message}", highlight=False)
    status = result.evidence.status
    colour = {"failed": "bold red", "passed": "green"}.get(status, "yellow")
    period = (
        f"{run.summary.first:%Y-%m-%d %H:%M} – {run.summary.last:%Y-%m-%d %H:%M} UTC"
        if run.summary.first and run.summary.last
        else "no rows"
    )
    console.print(
        f"[{colour}]{status.replace('_', ' ')}[/]: {run.model_name}"
        f"{':' + run.model_version if run.model_version else ''}, {run.summary.rows:,} rows,"
        f" {len(run.windows)} windows of {run.settings.window}, {period}",
        highlight=False,
    )
    for o in outcome.actions:
        mark = "[green]ok[/]" if o.ok else "[bold red]failed[/]"
        console.print(f"  {o.action}: {mark} {o.detail}", highlight=False)
    console.print(
        f"evidence {outcome.evidence_path} · report {outcome.report_path}", highlight=False
    )
