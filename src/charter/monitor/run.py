"""One monitoring run: an inference log against a reference profile, judged by the policy.

:func:`monitor` summarises the log per time window (:mod:`charter.monitor.summary`), computes
drift per window against the reference, the selection-rate fairness metrics per window over
every row with a prediction, the other fairness and performance metrics where labels are
present, evaluates the ``monitoring`` rules of the policy and returns a
:class:`MonitorResult` holding the per-window results and an
:class:`~charter.evidence.Evidence` bundle. Actions (registry, webhook, Prometheus, command)
are taken by :func:`charter.monitor.actions.take_actions`.

Without rules in ``monitoring.rules`` the run uses these defaults: ``dataset-drift``
(``dataset_drift``, blocking), ``prediction-drift`` (when the reference has the prediction or
score column, blocking), ``new-categories`` (warning), and every fairness and performance rule
of the policy evaluated per window (``<rule id>.window``, with the rule's bounds and
severity).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from charter.errors import CharterError, CheckError, DataError
from charter.evidence import Evidence, Finding, Fingerprint, Severity, Verdict
from charter.monitor.checks import (
    MonitorContext,
    WindowFairnessParams,
    WindowPerformanceParams,
)
from charter.monitor.summary import (
    LabelSpec,
    LogSummary,
    WindowSummary,
    fill_empty_windows,
    summarize_log,
)
from charter.monitor.windows import Window, as_utc
from charter.policy.schema import EmbeddingSettings, Policy, Rule, Task
from charter.stats.counts import ConfusionCounts
from charter.stats.drift import ColumnDrift, DatasetDrift, dataset_drift, embedding_drift
from charter.stats.frames import to_frame
from charter.stats.profile import ColumnKind, DataProfile

MONITORING_STAGE = "monitoring"


@dataclass(frozen=True)
class MonitorSettings:
    """The monitoring settings of a policy, with command-line overrides applied."""

    window: Window
    timestamp: str
    columns: list[str] | None
    method: str | None
    threshold: float | None
    per_column: dict[str, tuple[str | None, float | None]]
    kinds: dict[str, str]
    drift_share: float
    embeddings: dict[str, EmbeddingSettings]
    min_window_rows: int
    prediction_column: str | None
    labels: LabelSpec
    #: The model's output columns (prediction and score): never counted in the drift share.
    output_columns: tuple[str, ...] = ()

    def method_for(self, column: str) -> str | None:
        """Drift method of a column (``None``: Evidently's selection)."""
        method = self.per_column.get(column, (None, None))[0] or self.method
        return None if method in (None, "auto") else method

    def threshold_for(self, column: str) -> float | None:
        """Drift threshold of a column (``None``: the method's default)."""
        threshold = self.per_column.get(column, (None, None))[1]
        return threshold if threshold is not None else self.threshold

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        window: str | None = None,
        timestamp: str | None = None,
        reference: DataProfile | None = None,
    ) -> MonitorSettings:
        """Read the settings from the policy; ``window``/``timestamp`` override it.

        The model's output columns are the policy's ``data.prediction`` and ``data.score``,
        else those the registry profiled the model's outputs into (``reference.meta``).
        """
        mon, data = policy.monitoring, policy.data
        prediction, score = model_output_columns(policy, reference)
        ts = timestamp or mon.timestamp_column or data.timestamp_column
        if not ts:
            raise DataError(
                "no timestamp column is known for the inference log",
                hint="pass --timestamp COLUMN or set monitoring.timestamp_column in the policy",
            )
        sensitive = list(dict.fromkeys(policy.sensitive_features))
        for _, rule in _window_rules(policy):
            extra = rule.params.get("sensitive")
            if isinstance(extra, list):
                sensitive += [s for s in extra if s not in sensitive]
        labels = LabelSpec(
            target=data.target,
            prediction=prediction,
            score=score,
            sensitive=tuple(sensitive),
            regression=policy.model.task is Task.REGRESSION,
            pos_label=data.positive_label,
            threshold=policy.performance.threshold,
        )
        return cls(
            window=Window.parse(window or mon.window),
            timestamp=ts,
            columns=mon.columns,
            method=None if mon.drift_method == "auto" else mon.drift_method,
            threshold=mon.drift_threshold,
            per_column={k: (v.method, v.threshold) for k, v in mon.per_column.items()},
            kinds={k: v.kind for k, v in mon.per_column.items() if v.kind},
            drift_share=mon.drift_share,
            embeddings=dict(mon.embeddings),
            min_window_rows=mon.min_window_rows,
            prediction_column=prediction_drift_column(policy, reference, columns=mon.columns),
            labels=labels,
            output_columns=tuple(c for c in (prediction, score) if c),
        )


def model_output_columns(
    policy: Policy, reference: DataProfile | None = None
) -> tuple[str | None, str | None]:
    """The log's prediction and score columns.

    The policy's ``data.prediction`` and ``data.score``; where it names none, the columns the
    registry profiled the model's outputs into at registration
    (``reference.meta["model_outputs"]``, see :func:`charter.lineage.reference_profile`).
    """
    profiled = (reference.meta.get("model_outputs") or {}) if reference is not None else {}
    return (
        policy.data.prediction or profiled.get("prediction"),
        policy.data.score or profiled.get("score"),
    )


def prediction_drift_column(
    policy: Policy,
    reference: DataProfile | None = None,
    *,
    columns: Sequence[str] | None = None,
) -> str | None:
    """The column judged for prediction drift.

    The policy's ``data.prediction``, else ``data.score``; else the model's profiled score
    (more informative than the thresholded prediction), else its profiled prediction. When
    ``columns`` (``monitoring.columns``) lists some of these, the first listed one in that
    order: a model output named there is monitored as the model's output.
    """
    prediction, score = model_output_columns(policy, reference)
    candidates = [c for c in (policy.data.prediction, policy.data.score, score, prediction) if c]
    if columns is not None:
        listed = [c for c in candidates if c in columns]
        if listed:
            return listed[0]
    return candidates[0] if candidates else None


@dataclass(frozen=True, eq=False)
class WindowResult:
    """What one window showed.

    Attributes
    ----------
    start, end, rows, labelled_rows
        The window and its row counts.
    summary
        The window's summary (profile, counts).
    drift
        Drift of every compared column (``None`` when the window was not judged).
    embeddings
        Drift of each embedding column.
    reason
        Why the window was not judged (no rows, fewer than ``min_window_rows``).
    """

    start: datetime
    end: datetime
    rows: int
    labelled_rows: int
    summary: WindowSummary | None
    drift: DatasetDrift | None
    embeddings: dict[str, ColumnDrift] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (for evidence, the registry and the report)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
            "reason": self.reason,
            "drift": self.drift.to_dict() if self.drift is not None else None,
            "embeddings": {k: v.to_dict() for k, v in self.embeddings.items()},
        }


class MonitorRun:
    """The state of a run that the monitoring checks read."""

    def __init__(
        self,
        *,
        model_name: str,
        model_version: str | None,
        policy: Policy,
        settings: MonitorSettings,
        reference: DataProfile,
        summary: LogSummary,
        windows: list[WindowResult],
    ) -> None:
        self.model_name = model_name
        self.model_version = model_version
        self.policy = policy
        self.settings = settings
        self.reference = reference
        self.summary = summary
        self.windows = windows

    # -- fairness and performance per window ---------------------------------------------------
    def fairness_series(self, rule: Rule, params: WindowFairnessParams) -> list[dict[str, Any]]:
        """The fairness metric of ``params`` in every window, with its bootstrap interval.

        The label-free metrics (:data:`~charter.stats.fairness.LABEL_FREE_METRICS`: demographic
        parity, statistical parity, disparate impact, the four-fifths rule) are computed over
        every row of the window that has a prediction, labelled or not; the others over the
        labelled rows only (a window without any is not judged: "no labelled rows").
        ``rows_used`` says how many rows each window's value rests on.
        """
        from charter.stats.fairness import LABEL_FREE_METRICS, NAMED_METRICS, GroupMetrics

        if params.metric not in NAMED_METRICS and params.metric != "four_fifths_rule":
            raise CheckError(
                f"unknown fairness metric '{params.metric}'",
                hint=f"use one of {', '.join(NAMED_METRICS)}, four_fifths_rule",
            )
        fair = self.policy.fairness
        names = list(params.sensitive or self.policy.sensitive_features)
        if not names:
            raise CheckError(
                "window_fairness needs sensitive columns",
                hint="set fairness.sensitive (or data.sensitive) or the rule's sensitive param",
            )
        privileged = params.privileged or fair.privileged or None
        label_free = params.metric in LABEL_FREE_METRICS
        absent = [n for n in names if n in self.summary.missing_sensitive]
        out = []
        for w in self.windows:
            entry = _stub(w)
            counts = None
            if w.summary is not None:
                counts = w.summary.selection if label_free else w.summary.counts
            if w.reason is not None:
                out.append(entry)
                continue
            if label_free and absent:
                entry.update(
                    judged=False,
                    reason=f"sensitive column(s) {', '.join(absent)} not in the log",
                )
            elif counts is None or int(counts.rows.sum()) == 0:
                entry.update(
                    judged=False,
                    reason="no rows with a prediction" if label_free else "no labelled rows",
                )
            else:
                entry["rows_used"] = int(counts.rows.sum())
                groups = GroupMetrics(
                    marginal_counts(counts, names),
                    min_group_size=fair.min_group_size,
                    small_groups=fair.small_groups.value,
                    bootstrap=fair.bootstrap,
                    confidence_level=fair.confidence_level,
                    seed=fair.seed,
                )
                if params.metric == "four_fifths_rule":
                    bound = rule.min if rule.min is not None else 0.8
                    result = groups.four_fifths_rule(bound)
                else:
                    result = NAMED_METRICS[params.metric](
                        groups, params.method, "worst_case", privileged
                    )
                entry.update(_metric_entry(result))
            out.append(entry)
        return out

    def performance_series(
        self, rule: Rule, params: WindowPerformanceParams
    ) -> list[dict[str, Any]]:
        """The performance metric of ``params`` in every window, with an interval.

        Values and intervals come from :func:`charter.stats.performance.evaluate`, as in the
        gate: a percentile bootstrap over resampled counts for accuracy, balanced accuracy,
        precision, recall and F1; DeLong for ROC AUC; normal approximations for log loss,
        Brier, MAE and RMSE; none for R². The settings are ``performance.bootstrap``,
        ``confidence_level`` and ``seed``, defaulting to the ``fairness`` ones
        (``bootstrap: 0`` turns intervals off). With ``aggregate: worst_group`` the value and
        interval are the worst group's.
        """
        from charter.stats.performance import evaluate, get_metric

        metric = get_metric(params.metric)
        options = _interval_options(self.policy)
        min_group_size = self.policy.fairness.min_group_size
        worst_group = params.aggregate == "worst_group"
        names = list(params.sensitive or self.policy.sensitive_features)
        out = []
        for w in self.windows:
            entry = _stub(w)
            summary = w.summary
            stats: Any = None
            if summary is not None and worst_group and metric.kind != "scores":
                grouped = summary.counts if metric.kind == "counts" else summary.regression
                if grouped is not None:
                    stats = (
                        marginal_counts(grouped, names)
                        if isinstance(grouped, ConfusionCounts)
                        else grouped
                    )
            elif summary is not None:
                stats = {
                    "counts": summary.counts,
                    "scores": summary.scores,
                    "regression": summary.regression,
                }[metric.kind]
                stats = stats.overall() if stats is not None else None
            if w.reason is None and (stats is None or len(stats.keys) == 0):
                entry.update(judged=False, reason=f"no labelled rows with {metric.kind}")
            elif stats is not None and w.reason is None:
                if int(np.asarray(stats.rows).sum()) == 0:
                    entry.update(judged=False, reason="no labelled rows")
                else:
                    result = evaluate(
                        params.metric, stats, min_group_size=min_group_size, **options
                    )
                    entry.update(_metric_entry(result))
                    if worst_group:
                        worst = result.details.get("worst_group")
                        entry["value"] = _num(worst["value"]) if worst else None
                        entry["worst_group"] = worst["group"] if worst else None
                        entry.pop("ci", None)
                        if worst and worst.get("ci") is not None:
                            entry["ci"] = list(worst["ci"])
            out.append(entry)
        return out


def _interval_options(policy: Policy) -> dict[str, Any]:
    """``evaluate`` interval options: ``performance``'s settings, else ``fairness``'s.

    As in the gate (:mod:`charter.checks.performance`), ``bootstrap: 0`` means no intervals.
    """
    perf, fair = policy.performance, policy.fairness
    bootstrap = perf.bootstrap if perf.bootstrap is not None else fair.bootstrap
    if bootstrap <= 0:
        return {}
    return {
        "confidence_level": (
            perf.confidence_level if perf.confidence_level is not None else fair.confidence_level
        ),
        "bootstrap": bootstrap,
        "seed": perf.seed if perf.seed is not None else fair.seed,
    }


def _stub(w: WindowResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "start": w.start.isoformat(),
        "rows": w.rows,
        "labelled_rows": w.labelled_rows,
    }
    if w.reason:
        entry.update(judged=False, reason=w.reason)
    return entry


def _metric_entry(result: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": _num(result.value)}
    if result.reason:
        entry.update(judged=False, reason=result.reason)
    if result.ci is not None:
        entry["ci"] = [_num(result.ci[0]), _num(result.ci[1])]
    groups = result.by_group() if result.groups else {}
    if groups:
        entry["groups"] = {k: _num(v) for k, v in groups.items()}
    return entry


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def marginal_counts(counts: ConfusionCounts, names: Sequence[str]) -> ConfusionCounts:
    """Counts per group of a subset of the sensitive columns (summing the others out)."""
    wanted = list(names)
    if tuple(wanted) == counts.names:
        return counts
    missing = [n for n in wanted if n not in counts.names]
    if missing:
        raise CheckError(
            f"sensitive column(s) {missing} were not counted in this run",
            hint="list them in fairness.sensitive so the log is grouped by them",
        )
    positions = [counts.names.index(n) for n in wanted]
    cells = []
    for g, key in enumerate(counts.keys):
        sub = tuple(key[p] for p in positions)
        for yt in (0, 1):
            for yp in (0, 1):
                cells.append(
                    (sub, yt, yp, float(counts.weighted[g, yt, yp]), int(counts.rows[g, yt, yp]))
                )
    return ConfusionCounts.from_cells(wanted, cells, labelled=counts.labelled)


# -- rules ------------------------------------------------------------------------------------

_FAIRNESS_CHECKS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "statistical_parity_difference",
    "disparate_impact",
    "average_odds_difference",
)
_PERFORMANCE_CHECKS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "brier",
    "mae",
    "rmse",
    "r2",
)


def _window_rules(policy: Policy) -> list[tuple[str, Rule]]:
    """The policy's fairness and performance rules, as per-window monitoring rules."""
    out = []
    for section, rule in policy.iter_rules():
        if section == "fairness" and rule.check in (*_FAIRNESS_CHECKS, "four_fifths_rule"):
            params = {
                k: v for k, v in rule.params.items() if k in ("sensitive", "privileged", "method")
            }
            if isinstance(params.get("sensitive"), str):
                params["sensitive"] = [params["sensitive"]]
            check = "window_fairness"
        elif section == "performance" and rule.check in _PERFORMANCE_CHECKS:
            params = {k: v for k, v in rule.params.items() if k in ("sensitive", "aggregate")}
            if rule.params.get("per_group") and "aggregate" not in params:
                params["aggregate"] = "worst_group"
            check = "window_performance"
        else:
            continue
        out.append(
            (
                section,
                Rule(
                    id=f"{rule.id}.window",
                    check=check,
                    params={"metric": rule.check, **params},
                    min=rule.min,
                    max=rule.max,
                    severity=rule.severity,
                    controls=rule.controls,
                    description=f"{rule.check} per window ({rule.id})",
                ),
            )
        )
    return out


def monitoring_rules(policy: Policy, reference: DataProfile) -> list[Rule]:
    """The rules a run evaluates: ``monitoring.rules``, or the defaults (module notes)."""
    if policy.monitoring.rules:
        return list(policy.monitoring.rules)
    rules = [Rule(id="dataset-drift", check="dataset_drift")]
    prediction = prediction_drift_column(policy, reference, columns=policy.monitoring.columns)
    if prediction and prediction in reference.columns:
        rules.append(Rule(id="prediction-drift", check="prediction_drift"))
    rules.append(Rule(id="new-categories", check="new_categories", severity=Severity.WARN))
    if policy.monitoring.embeddings:
        rules.append(Rule(id="embedding-drift", check="embedding_drift"))
    rules.extend(rule for _, rule in _window_rules(policy))
    return rules


# -- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MonitorResult:
    """The outcome of one monitoring run.

    Attributes
    ----------
    run
        Per-window results and the settings used.
    evidence
        The Evidence bundle (``stage="monitoring"``) with one finding per rule.
    """

    run: MonitorRun
    evidence: Evidence

    @property
    def passed(self) -> bool:
        """True when no blocking rule failed."""
        return self.evidence.passed

    @property
    def findings(self) -> tuple[Finding, ...]:
        """One finding per rule."""
        return self.evidence.findings

    @property
    def windows(self) -> list[WindowResult]:
        """Per-window results in time order."""
        return self.run.windows

    @property
    def violations(self) -> list[Finding]:
        """Findings that failed (blocking or warning)."""
        return [f for f in self.findings if f.verdict in (Verdict.FAIL, Verdict.ERROR)]

    def record(self) -> dict[str, Any]:
        """The compact record stored for the dashboard (per-window scores, verdicts)."""
        summary = self.run.summary
        return {
            "model": self.run.model_name,
            "version": self.run.model_version,
            "status": self.evidence.status,
            "window": str(self.run.settings.window),
            "first": summary.first.isoformat() if summary.first else None,
            "last": summary.last.isoformat() if summary.last else None,
            "rows": summary.rows,
            "evidence_sha256": self.evidence.digest,
            "windows": [_window_record(w) for w in self.run.windows],
            "findings": [
                {
                    "rule_id": f.rule_id,
                    "check": f.check,
                    "verdict": f.verdict.value,
                    "severity": f.severity.value,
                    "message": f.message,
                    "value": f.value if f.value is None or math.isfinite(f.value) else None,
                }
                for f in self.findings
            ],
        }


def _window_record(w: WindowResult) -> dict[str, Any]:
    record: dict[str, Any] = {
        "start": w.start.isoformat(),
        "rows": w.rows,
        "labelled_rows": w.labelled_rows,
        "reason": w.reason,
    }
    if w.drift is not None:
        share = w.drift.share
        record["drift_share"] = None if math.isnan(share) else share
        record["drifted_columns"] = w.drift.drifted_columns
        record["scores"] = {c.column: c.to_dict()["score"] for c in w.drift.columns}
    return record


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
        from charter.monitor.logs import served_labels

        labels = served_labels(log, name)  # posted to `charter serve`, kept beside its log
    log = _join_labels(log, policy, labels if labels is not None else policy.monitoring.labels)
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
    summary = fill_empty_windows(summary, reference, since, until)
    windows = [_judge_window(w, reference, settings, present) for w in summary.windows.values()]
    run = MonitorRun(
        model_name=name,
        model_version=version,
        policy=policy,
        settings=settings,
        reference=reference,
        summary=summary,
        windows=windows,
    )
    findings = _evaluate_rules(run, rules)
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


def _evaluate_rules(run: MonitorRun, rules: list[Rule]) -> list[Finding]:
    from charter.checks.registry import get_check
    from charter.stats.frames import to_frame as _frame

    ctx = MonitorContext(policy=run.policy, data=_frame({"_": np.zeros(0)}), run=run)
    findings = []
    for rule in rules:
        spec = get_check(rule.check, section="monitoring")
        params = spec.parse_params(rule.params)
        try:
            result = spec.func(ctx, rule, params)
        except CharterError as exc:
            result = ctx.finding(
                rule,
                verdict=Verdict.ERROR,
                message=exc.message,
                details={"reason": exc.message, "hint": exc.hint},
            )
        findings.extend(result if isinstance(result, list) else [result])
    return findings


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
        from charter.monitor.logs import log_files

        files = log_files(log)
        if len(files) == 1 and files[0].stat().st_size <= 1 << 30:
            from charter.evidence import fingerprint_file

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


def _join_labels(log: Any, policy: Policy, labels: Any) -> Any:
    """Join delayed labels to the log by ``data.id_column`` (left join, labels win)."""
    if labels is None:
        return log
    import narwhals as nw

    key, target = policy.data.id_column, policy.data.target
    from charter.stats.frames import column_names

    label_names = (
        set(column_names(to_frame(labels))) if not isinstance(labels, str | Path) else set()
    )
    served = {"request_id", "row"} <= label_names  # labels posted to `charter serve`
    if served and target and target not in label_names and "label" in label_names:
        labels = to_frame(labels).rename({"label": target})
    if not key and served:
        key = "request_id"
    if not key or not target:
        raise DataError(
            "delayed labels need data.id_column and data.target in the policy",
            hint="name the request id column and the label column under data:",
        )
    from charter.stats.frames import read_data_file, require_columns

    connection = None
    if isinstance(log, str | Path):
        import duckdb

        from charter.monitor.logs import scan_lazy

        connection = duckdb.connect()
        frame: Any = scan_lazy(log, connection=connection)
    else:
        frame = to_frame(log)
    label_frame: Any = (
        read_data_file(labels) if isinstance(labels, str | Path) else to_frame(labels)
    )
    keys = ["request_id", "row"] if served else [key]
    require_columns(label_frame, [*keys, target], role="label file column")
    require_columns(frame, keys, role="request id column")
    label_frame = label_frame.select(*keys, nw.col(target).alias("__charter_label"))
    if isinstance(frame, nw.LazyFrame):
        if isinstance(label_frame, nw.LazyFrame):
            label_frame = label_frame.collect()
        arrow = label_frame.to_arrow()
        if connection is not None or hasattr(frame.to_native(), "query"):
            import duckdb

            con = connection if connection is not None else duckdb.default_connection()
            label_frame = nw.from_native(con.from_arrow(arrow))
        else:
            label_frame = nw.from_native(arrow).lazy(backend=frame.implementation)
    else:
        if isinstance(label_frame, nw.LazyFrame):
            label_frame = label_frame.collect()
        # Same backend on both sides (a pandas log and polars-read labels, say).
        label_frame = nw.from_arrow(label_frame.to_arrow(), backend=frame.implementation)
    joined = frame.join(label_frame, on=keys, how="left")
    if target in column_names(frame):
        joined = joined.with_columns(
            nw.coalesce(nw.col("__charter_label"), nw.col(target)).alias(target)
        ).drop("__charter_label")
    else:
        joined = joined.rename({"__charter_label": target})
    return joined
