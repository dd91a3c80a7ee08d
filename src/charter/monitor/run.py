"""One monitoring run: an inference log against a reference profile, judged by the policy.

:func:`monitor` summarises the log per time window (:mod:`charter.monitor.summary`), computes
drift per window against the reference, the selection-rate fairness metrics per window over
every row with a prediction, the other fairness and performance metrics where labels are
present, evaluates the monitoring rules (:mod:`charter.monitor.rules`) through the rule runner
(:mod:`charter.checks.runner`, as the gate does) and returns a
:class:`~charter.monitor.result.MonitorResult` holding the per-window results and an
:class:`~charter.evidence.Evidence` bundle. Actions (registry, webhook, Prometheus, command)
are taken by :func:`charter.monitor.actions.take_actions`; monitoring a registered version
end to end is :func:`charter.monitor.target.monitor_version`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from charter.checks.monitoring.state import MonitorState, WindowResult
from charter.checks.runner import run_rule
from charter.errors import DataError
from charter.evidence import Evidence, Finding, Fingerprint, Severity, Verdict, fingerprint_file
from charter.monitor.labels import join_labels
from charter.monitor.logs import log_files, served_labels
from charter.monitor.result import MonitorResult, MonitorRun
from charter.monitor.rules import (
    model_output_columns,
    monitoring_rules,
    prediction_drift_column,
)
from charter.monitor.settings import MonitorSettings
from charter.monitor.summary import LogSummary, fill_empty_windows, summarize_log
from charter.monitor.windows import as_utc
from charter.policy.schema import EmbeddingSettings, Policy, Rule
from charter.stats.drift import ColumnDrift, DatasetDrift, dataset_drift, embedding_drift
from charter.stats.profile import ColumnKind, DataProfile
from charter.stats.window import WindowSummary

MONITORING_STAGE = "monitoring"

__all__ = [
    "MONITORING_STAGE",
    "MonitorResult",
    "MonitorRun",
    "MonitorSettings",
    "WindowResult",
    "model_output_columns",
    "monitor",
    "monitoring_rules",
    "prediction_drift_column",
]


def monitor(
    name: str,
    log: Any,
    *,
    policy: Policy,
    reference: DataProfile,
    version: str | None = None,
    window: str | None = None,
    timestamp: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    engine: str = "auto",
    labels: Any = None,
    progress: Callable[[int], None] | None = None,
) -> MonitorResult:
    """Monitor an inference log against a reference profile under a policy.

    Parameters
    ----------
    name
        The model's registry name.
    log
        The inference log: a frame (pandas, polars, pyarrow, DuckDB, Spark) or a path to
        Parquet/CSV files (file, directory, glob).
    policy
        The model's policy (its ``monitoring`` section and rules).
    reference
        The reference profile (from the registry, or built from a file).
    version
        The model version monitored (recorded in the evidence).
    window, timestamp
        Override ``monitoring.window`` and the timestamp column.
    since, until
        Only rows with ``since <= timestamp < until``.
    engine
        For paths: ``"batches"`` (pyarrow, the default) or ``"duckdb"``.
    labels
        Delayed labels (a frame or file with ``data.id_column`` and ``data.target``), joined
        to the log before summarising; default ``monitoring.labels``.
    progress
        Called with the rows done so far (for progress bars).

    Returns
    -------
    MonitorResult

    Raises
    ------
    DataError
        When nothing can be computed: no timestamp column, no compared column in the log, a
        reference profile that shares no column with the log.
    """
    settings = MonitorSettings.from_policy(
        policy, window=window, timestamp=timestamp, reference=reference
    )
    rules = monitoring_rules(policy, reference)
    columns = _compared_columns(settings, reference, policy, rules)
    source = log
    if labels is None and policy.monitoring.labels is None and isinstance(log, str | Path):
        labels = served_labels(log, name)  # posted to `charter serve`, kept beside its log
    log = join_labels(log, policy, labels if labels is not None else policy.monitoring.labels)
    summary = summarize_log(
        log,
        reference,
        window=settings.window,
        timestamp=settings.timestamp,
        columns=columns,
        labels=settings.labels,
        since=since,
        until=until,
        engine="batches" if engine == "auto" else engine,
        progress=progress,
    )
    present = [c for c in columns if c not in summary.missing_columns]
    if not present:
        raise DataError(
            "none of the reference's columns is in the log"
            + (f" (expected {', '.join(columns[:8])})" if columns else ""),
            hint="check that --reference is the profile of this model's data, or pass"
            " --reference with the right profile",
        )
    _require_rows(summary, since, until, settings.timestamp)
    summary = fill_empty_windows(summary, reference, since, until)
    windows = [_judge_window(w, reference, settings, present) for w in summary.windows.values()]
    state = MonitorState(
        model_name=name,
        model_version=version,
        policy=policy,
        settings=settings,
        reference=reference,
        windows=tuple(windows),
        missing_columns=tuple(summary.missing_columns),
        missing_sensitive=tuple(summary.missing_sensitive),
    )
    run = MonitorRun(state=state, settings=settings, summary=summary)
    findings = [f for rule in rules for f in run_rule(state, MONITORING_STAGE, rule)]
    findings.extend(_input_findings(summary, reference, columns))
    evidence = Evidence(
        model_name=name,
        stage=MONITORING_STAGE,
        policy=Fingerprint(kind="policy", sha256=policy.sha256 or "", path=policy.source),
        inputs={
            "log": _log_fingerprint(source, summary),
            "reference_profile": Fingerprint(
                kind="reference_profile",
                sha256=hashlib.sha256(reference.to_json().encode()).hexdigest(),
                rows=reference.rows,
                columns=reference.schema,
                format="charter.profile",
            ),
        },
        findings=tuple(findings),
        extras={
            "model_version": version,
            "monitoring": {
                "window": str(settings.window),
                "timestamp_column": settings.timestamp,
                "since": as_utc(since).isoformat() if since else None,
                "until": as_utc(until).isoformat() if until else None,
                "rows": summary.rows,
                "rows_without_timestamp": summary.rows_without_timestamp,
                "out_of_order": summary.out_of_order,
                "missing_columns": list(summary.missing_columns),
                "windows": [w.to_dict() for w in windows],
            },
        },
    )
    return MonitorResult(run, evidence)


def _require_rows(
    summary: LogSummary, since: datetime | None, until: datetime | None, timestamp: str
) -> None:
    """Refuse a run over zero rows: nothing judged must never read as "passed"."""
    if sum(w.rows for w in summary.windows.values()) > 0:
        return
    span = " and ".join(
        part
        for part in (
            f"at or after {as_utc(since).isoformat()}" if since else "",
            f"before {as_utc(until).isoformat()}" if until else "",
        )
        if part
    )
    if summary.rows_without_timestamp:
        why = f"all {summary.rows_without_timestamp:,} rows of the log have no {timestamp}" + (
            f", and none {span}" if span else ""
        )
        hint = f"fill the {timestamp} column of the log, or name another with --timestamp"
    else:
        why = f"the log has no rows {span}" if span else "the log has no rows"
        hint = (
            "check --since/--until against the log's time range"
            if span
            else "check that --log points at the inference log"
        )
    raise DataError(f"nothing to monitor: {why}", hint=hint + "; nothing was recorded")


def _compared_columns(
    settings: MonitorSettings, reference: DataProfile, policy: Policy, rules: Sequence[Rule]
) -> list[str]:
    """The columns summarised per window.

    ``monitoring.columns`` (else every reference column but the target, timestamp, id, weight
    and the model outputs not judged), plus the model output judged for prediction drift and
    any column a ``prediction_drift`` rule names, so those are read even when the list leaves
    them out.
    """
    if settings.columns is not None:
        unknown = [c for c in settings.columns if c not in reference.columns]
        if unknown:
            raise DataError(
                f"monitoring.columns names {', '.join(unknown)}, which the reference profile"
                " does not have",
                hint=f"the profile has: {', '.join(list(reference.columns)[:20])}",
            )
        columns = list(settings.columns)
    else:
        skip = {policy.data.target, settings.timestamp, policy.data.id_column, policy.data.weight}
        # of the model's outputs only the one judged for prediction drift is compared
        skip |= set(settings.output_columns) - {settings.prediction_column}
        columns = [c for c in reference.columns if c not in skip]
    judged = [settings.prediction_column] + [
        rule.params.get("column") for rule in rules if rule.check == "prediction_drift"
    ]
    for name in judged:
        if isinstance(name, str) and name in reference.columns and name not in columns:
            columns.append(name)
    return columns


def _judge_window(
    summary: WindowSummary, reference: DataProfile, settings: MonitorSettings, columns: list[str]
) -> WindowResult:
    rows = summary.rows

    def result(
        drift: DatasetDrift | None,
        embeddings: dict[str, ColumnDrift] | None = None,
        reason: str | None = None,
    ) -> WindowResult:
        return WindowResult(
            summary.start,
            summary.end,
            rows,
            summary.labelled_rows,
            summary,
            drift,
            embeddings or {},
            reason,
        )

    if rows == 0:
        return result(None, reason="no rows in this window")
    if rows < settings.min_window_rows:
        return result(
            None,
            reason=f"{rows} rows, fewer than monitoring.min_window_rows"
            f" ({settings.min_window_rows})",
        )
    value_columns = [
        c
        for c in columns
        if reference.columns[c].kind in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL)
        and c != settings.prediction_column
        and c not in settings.output_columns
        and (settings.columns is None or c in settings.columns)
    ]
    drift = dataset_drift(
        reference,
        summary.profile,
        columns=[c for c in value_columns if c in summary.profile.columns],
        method=settings.method,
        threshold=settings.threshold,
        per_column=settings.per_column,
        drift_share=settings.drift_share,
    )
    embeddings = {}
    for name in columns:
        ref = reference.columns[name]
        if ref.kind is ColumnKind.EMBEDDING and name in summary.profile.columns:
            how = settings.embeddings.get(name, EmbeddingSettings())
            embeddings[name] = embedding_drift(
                ref, summary.profile.columns[name], method=how.method, threshold=how.threshold
            )
    return result(drift, embeddings)


def _input_findings(
    summary: LogSummary, reference: DataProfile, columns: list[str]
) -> list[Finding]:
    """Findings about the log itself: missing columns, out-of-order or missing timestamps."""
    out = []
    if summary.missing_columns:
        out.append(
            _log_finding(
                "log.missing-columns",
                Verdict.FAIL,
                f"{len(summary.missing_columns)} reference column(s) missing from the log: "
                + ", ".join(summary.missing_columns[:10]),
                {"missing": list(summary.missing_columns)},
            )
        )
    if summary.out_of_order:
        out.append(
            _log_finding(
                "log.timestamp-order",
                Verdict.FAIL,
                f"{summary.out_of_order} rows have a timestamp earlier than the row before;"
                " windows are assigned by timestamp, so results are unaffected",
                {"out_of_order": summary.out_of_order},
            )
        )
    if summary.rows_without_timestamp:
        out.append(
            _log_finding(
                "log.missing-timestamps",
                Verdict.FAIL,
                f"{summary.rows_without_timestamp} rows have no timestamp and were left out",
                {"rows": summary.rows_without_timestamp},
            )
        )
    empty = [w for w in summary.windows.values() if w.rows == 0]
    if empty:
        out.append(
            _log_finding(
                "log.empty-windows",
                Verdict.FAIL,
                f"{len(empty)} window(s) have no rows, first {empty[0].start.isoformat()[:16]}",
                {"windows": [w.start.isoformat() for w in empty]},
            )
        )
    return out


def _log_finding(rule_id: str, verdict: Verdict, message: str, details: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=rule_id,
        check="log_quality",
        section=MONITORING_STAGE,
        verdict=verdict,
        severity=Severity.WARN,
        message=message,
        details=details,
        controls=("eu-ai-act:art-12",),
    )


def _log_fingerprint(log: Any, summary: LogSummary) -> Fingerprint:
    """Fingerprint of the log: file bytes for one file up to 1 GiB, else what was read."""
    if isinstance(log, str | Path):
        files = log_files(log)
        if len(files) == 1 and files[0].stat().st_size <= 1 << 30:
            return fingerprint_file(files[0], kind="inference_log", rows=summary.rows)
        listing = [
            {"path": str(f), "size": f.stat().st_size, "mtime": f.stat().st_mtime} for f in files
        ]
        digest = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
        return Fingerprint(
            kind="inference_log",
            sha256=digest,
            path=str(log),
            size_bytes=sum(f.stat().st_size for f in files),
            rows=summary.rows,
            format="file-listing",
        )
    digest = hashlib.sha256(
        json.dumps(
            [
                [w.start.isoformat(), w.rows, w.profile.to_dict()["columns"]]
                for w in summary.windows.values()
            ],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    return Fingerprint(kind="inference_log", sha256=digest, rows=summary.rows, format="summary")
