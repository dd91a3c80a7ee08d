"""What a monitoring run produced: its windows, its settings and its evidence.

:class:`MonitorRun` is the run (the state its checks read, the settings used, the log's
summary); :class:`MonitorResult` adds the :class:`~charter.evidence.Evidence` bundle and the
compact record stored for the dashboard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from charter.checks.monitoring.state import MonitorState, WindowResult
from charter.evidence import Evidence, Finding, Verdict
from charter.monitor.settings import MonitorSettings
from charter.monitor.summary import LogSummary
from charter.policy.schema import Policy
from charter.stats.profile import DataProfile


@dataclass(frozen=True, eq=False)
class MonitorRun:
    """One run: the state its checks read, the settings used and the log's summary.

    Attributes
    ----------
    state
        The windows judged against the reference, as the monitoring checks read them.
    settings
        The policy's monitoring settings with overrides applied.
    summary
        The log summarised per window.
    """

    state: MonitorState
    settings: MonitorSettings
    summary: LogSummary

    @property
    def model_name(self) -> str:
        """The model's registry name."""
        return self.state.model_name

    @property
    def model_version(self) -> str | None:
        """The version monitored, if known."""
        return self.state.model_version

    @property
    def policy(self) -> Policy:
        """The model's policy."""
        return self.state.policy

    @property
    def reference(self) -> DataProfile:
        """The reference profile."""
        return self.state.reference

    @property
    def windows(self) -> list[WindowResult]:
        """Per-window results in time order."""
        return list(self.state.windows)


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
