"""What the monitoring checks read: a run's windows, judged against the reference.

:func:`charter.monitor.run.monitor` summarises an inference log per time window, compares each
window with the reference profile, and hands the monitoring checks one :class:`MonitorState`.
Everything in it is a frozen record: :class:`WindowResult` per window, :class:`DriftSettings`
for the drift rules, and :class:`WindowValue` for a metric's value in one window (the series
that ``window_fairness`` and ``window_performance`` judge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charter.checks.findings import rule_finding
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import EmbeddingSettings, Policy, Rule
from charter.stats.drift import ColumnDrift, DatasetDrift
from charter.stats.profile import DataProfile
from charter.stats.window import WindowSummary


@dataclass(frozen=True, kw_only=True)
class DriftSettings:
    """How drift is judged: the policy's ``monitoring`` settings (with overrides applied).

    Attributes
    ----------
    method, threshold
        Default drift method (``None``: Evidently's selection) and threshold.
    per_column
        Column to its own ``(method, threshold)``.
    drift_share
        Share of drifted columns at which the dataset drifts.
    embeddings
        Settings of each embedding column.
    prediction_column
        The model output judged for prediction drift, if any.
    """

    method: str | None
    threshold: float | None
    per_column: dict[str, tuple[str | None, float | None]]
    drift_share: float
    embeddings: dict[str, EmbeddingSettings]
    prediction_column: str | None

    def method_for(self, column: str) -> str | None:
        """Drift method of a column (``None``: Evidently's selection)."""
        method = self.per_column.get(column, (None, None))[0] or self.method
        return None if method in (None, "auto") else method

    def threshold_for(self, column: str) -> float | None:
        """Drift threshold of a column (``None``: the method's default)."""
        threshold = self.per_column.get(column, (None, None))[1]
        return threshold if threshold is not None else self.threshold


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


@dataclass(frozen=True)
class WindowValue:
    """A metric's value in one window, with its interval and per-group values.

    Attributes
    ----------
    start, rows, labelled_rows
        The window.
    judged
        Whether the window was judged; ``reason`` says why not.
    measured
        Whether the metric was computed (``value`` may still be ``None``: undefined).
    value, ci, groups
        The estimate, its interval and the value of each group.
    rows_used
        Rows the value rests on (fairness: every row with a prediction for the label-free
        metrics, the labelled rows for the others).
    worst_group
        With ``aggregate: worst_group``, the group judged (``value`` and ``ci`` are its own).
    status
        ``ok``, ``at_risk`` or ``violation`` once judged against the rule's bounds.
    """

    start: str
    rows: int
    labelled_rows: int
    judged: bool = True
    reason: str | None = None
    measured: bool = False
    value: float | None = None
    ci: tuple[float | None, float | None] | None = None
    groups: dict[str, float | None] | None = None
    rows_used: int | None = None
    worst_group: str | None = None
    by_worst_group: bool = False
    status: str | None = None

    @classmethod
    def of(cls, window: WindowResult) -> WindowValue:
        """The window with nothing measured yet (not judged when the run left it out)."""
        return cls(
            start=window.start.isoformat(),
            rows=window.rows,
            labelled_rows=window.labelled_rows,
            judged=window.reason is None,
            reason=window.reason,
        )

    def to_dict(self) -> dict[str, Any]:
        """The window's entry in ``details["windows"]`` of the finding."""
        out: dict[str, Any] = {
            "start": self.start,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
        }
        if not self.judged:
            out.update(judged=False, reason=self.reason)
        if self.rows_used is not None:
            out["rows_used"] = self.rows_used
        if self.measured:
            out["value"] = self.value
            if self.ci is not None:
                out["ci"] = list(self.ci)
            if self.groups:
                out["groups"] = dict(self.groups)
            if self.by_worst_group:
                out["worst_group"] = self.worst_group
        if self.status is not None:
            out["status"] = self.status
        return out


@dataclass(frozen=True, eq=False)
class MonitorState:
    """A monitoring run as its checks see it.

    Attributes
    ----------
    model_name, model_version
        The model monitored.
    policy
        Its policy.
    settings
        How drift is judged.
    reference
        The reference profile.
    windows
        Every window in time order.
    missing_columns
        Compared columns absent from the log.
    missing_sensitive
        Sensitive columns absent from the log.
    """

    model_name: str
    model_version: str | None
    policy: Policy
    settings: DriftSettings
    reference: DataProfile
    windows: tuple[WindowResult, ...]
    missing_columns: tuple[str, ...] = ()
    missing_sensitive: tuple[str, ...] = ()

    def finding(
        self,
        rule: Rule,
        *,
        message: str,
        value: float | None = None,
        passed: bool | None = None,
        verdict: Verdict | None = None,
        details: dict[str, Any] | None = None,
        metric: str | None = None,
        threshold: Threshold | None = None,
    ) -> Finding:
        """Build a finding for ``rule`` (see :func:`charter.checks.findings.rule_finding`)."""
        return rule_finding(
            rule,
            message=message,
            value=value,
            passed=passed,
            verdict=verdict,
            details=details,
            metric=metric,
            threshold=threshold,
        )

    def windows_finding(
        self,
        rule: Rule,
        *,
        metric: str,
        per_window: list[dict[str, Any]],
        failing: list[dict[str, Any]],
        value: float,
        threshold: Threshold | None,
        noun: str,
        extra: dict[str, Any] | None = None,
    ) -> Finding:
        """The run's finding for a rule judged window by window.

        ``skipped`` when no window could be judged; else it fails when ``failing`` is not
        empty, naming the first failing window, with every window in ``details["windows"]``.
        """
        judged = [w for w in per_window if w.get("judged", True)]
        details: dict[str, Any] = {"windows": per_window, **(extra or {})}
        if not judged:
            return self.finding(
                rule,
                verdict=Verdict.SKIPPED,
                message=f"no window could be judged for {noun}",
                value=None,
                details=details,
                metric=metric,
                threshold=threshold,
            )
        if failing:
            first = failing[0]["start"]
            details["first_failing_window"] = first
            message = f"{noun} in {len(failing)} of {len(judged)} windows, first {first[:16]}"
        else:
            message = f"no {noun} in {len(judged)} windows"
        return self.finding(
            rule,
            passed=not failing,
            message=message,
            value=None if math.isnan(value) else value,
            details=details,
            metric=metric,
            threshold=threshold,
        )
