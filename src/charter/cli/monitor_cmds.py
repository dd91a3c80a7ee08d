"""``charter monitor NAME --log PATH``: monitoring on the command line.

Runs once and exits 0 (passed, warnings allowed), 1 (a blocking monitoring rule failed) or 2
(nothing could be computed); with ``--schedule`` runs on a cron schedule until stopped.
Writes ``evidence.json``, ``report.html`` and ``record.json`` into ``--out``, records the
evidence against the model version in the registry when there is one, and takes the actions
of the policy's ``monitoring`` section (webhook, Prometheus, command, needs-review flag).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from charter.cli.app import app, console, err_console
from charter.errors import CharterError, DataError, NotFoundError, did_you_mean
from charter.evidence import Verdict

_STYLE = {
    Verdict.PASS: "[green]pass[/]",
    Verdict.FAIL: "[bold red]FAIL[/]",
    Verdict.ERROR: "[bold red]ERROR[/]",
    Verdict.SKIPPED: "[dim]skipped[/]",
}


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
    from charter.monitor.windows import parse_time

    if engine not in ("batches", "duckdb"):
        raise DataError(f"unknown engine '{engine}'", hint="use --engine batches or duckdb")
    setup = _Setup.resolve(name, reference, policy_path, version)
    if not no_actions:
        from charter.monitor.actions import unset_variables

        for warning in unset_variables(setup.policy, webhook=webhook):
            err_console.print(
                f"[yellow]warning:[/] {warning}; that action will fail until it is set",
                highlight=False,
            )
    start = parse_time(since) if since else None
    end = parse_time(until) if until else None
    prom_registry = None
    port = setup.policy.monitoring.prometheus_port
    if port is not None and not no_actions:
        from prometheus_client import CollectorRegistry

        from charter.monitor.actions import serve_prometheus

        prom_registry = CollectorRegistry()
        serve_prometheus(port, prom_registry)
        console.print(f"serving Prometheus metrics on :{port}/metrics")

    def job(period_start: datetime | None, period_end: datetime | None) -> int:
        return _run_once(
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
            prom_registry=prom_registry,
            webhook=webhook,
            prometheus_textfile=prometheus_textfile,
        )

    if schedule is None:
        code = job(start, end)
        raise typer.Exit(code)
    from charter.monitor.schedule import parse_cron, run_on_schedule

    parse_cron(schedule)
    console.print(f"monitoring {name} on schedule [bold]{schedule}[/] (UTC); Ctrl-C to stop")

    def safe_job(a: datetime, b: datetime) -> int:
        try:
            return job(a, b)
        except CharterError as exc:  # a bad log today must not stop tomorrow's run
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err_console.print(f"  [yellow]hint:[/] {exc.hint}", highlight=False)
            return exc.exit_code

    runs = run_on_schedule(
        schedule,
        safe_job,
        first_since=start,
        max_runs=max_runs,
        on_wait=lambda due: console.print(f"next run at {due:%Y-%m-%d %H:%M:%S} UTC"),
    )
    console.print(f"stopped after {len(runs)} run(s)")
    raise typer.Exit(0)


class _Setup:
    """What a run needs besides the log: policy, reference, version, registry, actor."""

    def __init__(
        self,
        name: str,
        policy: Any,
        reference: Any,
        version: str | None,
        registry: Any,
        actor: Any,
    ) -> None:
        self.name, self.policy, self.reference = name, policy, reference
        self.version, self.registry, self.actor = version, registry, actor

    @classmethod
    def resolve(
        cls, name: str, reference: Path | None, policy_path: Path | None, version: str | None
    ) -> _Setup:
        """Open the registry (if any), act as ``$CHARTER_TOKEN``'s user, read what a run needs.

        With a token, every read goes through :class:`charter.registry.Registry` as that user
        (``version.read``; a refusal is audited and exits 2). The stored policy is validated and
        checked against its recorded hash before it is used: a policy changed in the database
        exits 2 before anything is computed or recorded.
        """
        from charter.policy import load_policy

        registry = _open_registry()
        actor = _acting(registry) if registry is not None else None
        record = None
        if registry is not None:
            record = _find_version(registry, name, version, actor)
        if record is not None and actor is None:
            err_console.print(
                "[yellow]warning:[/] CHARTER_TOKEN is not set: results will not be recorded in"
                " the registry",
                highlight=False,
            )
        policy = None
        if policy_path is not None:
            policy = load_policy(policy_path)
        elif record is not None:
            policy = registry.policy(name, record.number, actor=actor)
        elif Path("policy.yaml").exists():
            policy = load_policy(Path("policy.yaml"))
        if policy is None:
            raise DataError(
                f"no policy for {name}",
                hint="pass --policy policy.yaml, or register the model with its policy",
            )
        profile = _reference(reference, registry, record, name, policy, actor)
        return cls(
            name,
            policy,
            profile,
            str(record.number) if record is not None else version,
            registry,
            actor if record is not None else None,
        )


def _model_names(registry: Any, actor: Any) -> list[str]:
    try:
        return [m.name for m in registry.list_models(actor=actor)]
    except CharterError:
        return []


def _open_registry() -> Any:
    from charter.registry import Registry

    try:
        return Registry.open()
    except NotFoundError:
        return None


def _acting(registry: Any) -> Any:
    """The user of ``$CHARTER_TOKEN`` (a wrong token exits 2); ``None`` without a token."""
    import os

    from charter.registry.service import TOKEN_ENV

    if not os.environ.get(TOKEN_ENV):
        return None
    return registry.actor_from_env()


def _find_version(registry: Any, name: str, version: str | None, actor: Any) -> Any:
    if version is not None:
        return registry.get_version(name, version, actor=actor)
    try:
        return registry.get_version(name, "production", actor=actor)
    except NotFoundError:
        try:
            return registry.get_version(name, "latest", actor=actor)
        except NotFoundError:
            return None


def _reference(
    reference: Path | None, registry: Any, record: Any, name: str, policy: Any, actor: Any
) -> Any:
    from charter.monitor.profile import DataProfile, build_profile, profile_file
    from charter.stats.frames import read_data_file

    bins = policy.monitoring.bins
    kinds = {k: v.kind for k, v in policy.monitoring.per_column.items() if v.kind}
    if reference is not None:
        if reference.suffix.lower() == ".json":
            return DataProfile.read(reference)
        if reference.is_dir() or any(ch in str(reference) for ch in "*?["):
            return profile_file(reference, bins=bins, kinds=kinds)
        return build_profile(read_data_file(reference), bins=bins, kinds=kinds)
    if record is None and registry is None:
        raise DataError(
            f"no reference for {name}: there is no registry here to read it from",
            hint="pass --reference (a profile .json or the training data), or run where the"
            " registry is (CHARTER_HOME / CHARTER_DATABASE_URL)",
        )
    if record is None:
        known = _model_names(registry, actor)
        guess = did_you_mean(name, known)
        raise DataError(
            f"no model '{name}' in the registry" + (f" ({guess})" if guess else ""),
            hint=(
                f"models here: {', '.join(known)}; or pass --reference (a profile .json or the"
                " training data)"
                if known
                else "register it first, or pass --reference (a profile .json or the training data)"
            ),
        )
    data = registry.reference_profile(name, record.number, actor=actor)
    if data is None:
        raise DataError(
            f"{name}:{record.number} has no reference profile",
            hint="register the version with its training data, or pass --reference",
        )
    return DataProfile.from_dict(data)


def _run_once(
    setup: _Setup,
    log: str,
    *,
    window: str | None,
    since: datetime | None,
    until: datetime | None,
    timestamp: str | None,
    labels: Path | None,
    engine: str,
    out: Path,
    actions: bool,
    prom_registry: Any,
    webhook: str | None = None,
    prometheus_textfile: Path | None = None,
) -> int:
    from charter.monitor.actions import take_actions
    from charter.monitor.report import write_report
    from charter.monitor.run import monitor

    total = _count_rows(log)
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
        result = monitor(
            setup.name,
            log,
            policy=setup.policy,
            reference=setup.reference,
            version=setup.version,
            window=window,
            timestamp=timestamp,
            since=since,
            until=until,
            engine=engine,
            labels=labels,
            progress=lambda done: progress.update(task, completed=done),
        )
    out.mkdir(parents=True, exist_ok=True)
    evidence_path = result.evidence.write(out / "evidence.json")
    report_path = write_report(result, out / "report.html")
    import json

    (out / "record.json").write_text(json.dumps(result.record(), indent=2), encoding="utf-8")
    _print(result)
    if actions:
        outcomes = take_actions(
            result,
            registry=setup.registry,
            actor=setup.actor,
            evidence_path=evidence_path,
            webhook=webhook,
            prometheus_textfile=prometheus_textfile,
            prometheus_registry=prom_registry,
            report_url=report_path.resolve().as_uri(),
        )
        for o in outcomes:
            mark = "[green]ok[/]" if o.ok else "[bold red]failed[/]"
            console.print(f"  {o.action}: {mark} {o.detail}", highlight=False)
    console.print(f"evidence {evidence_path} · report {report_path}", highlight=False)
    return 0 if result.passed else 1


def _count_rows(log: str) -> int | None:
    try:
        import pyarrow.dataset as ds

        from charter.monitor.logs import PARQUET, log_files

        files = log_files(log)
        if files[0].suffix.lower() not in PARQUET:
            return None
        return int(ds.dataset([str(f) for f in files], format="parquet").count_rows())
    except Exception:
        return None


def _print(result: Any) -> None:
    run = result.run
    table = Table("rule", "check", "verdict", "severity", "message", title=None)
    for f in result.findings:
        table.add_row(f.rule_id, f.check, _STYLE[f.verdict], f.severity.value, f.message)
    console.print(table)
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
