"""What monitoring keeps of one time window of a log: its profile and its counts, mergeable.

A :class:`WindowSummary` is built by :func:`charter.monitor.summary.summarize_log` and read
by the monitoring checks (:mod:`charter.checks.monitoring`). Every part merges by addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.stats.counts import ConfusionCounts
from charter.stats.profile import DataProfile
from charter.stats.regression import RegressionMoments
from charter.stats.scores import ScoreCounts


@dataclass(frozen=True, eq=False)
class WindowSummary:
    """Everything monitoring keeps of one time window.

    Attributes
    ----------
    start, end
        The window ``[start, end)`` in UTC.
    profile
        The window's data over the reference's grids.
    counts
        Confusion counts per sensitive group (``None`` without labels).
    scores
        Score counts over all labelled rows (``None`` without scores and labels).
    regression
        Regression moments per sensitive group (regressors).
    selection
        Predictions per sensitive group over every row of the window that has a prediction
        (or a score), labelled or not: label-free counts (``labelled=False``) for demographic
        parity, statistical parity, disparate impact and the four-fifths rule. ``None`` for
        regressors, or when the log has no prediction or no sensitive column.
    """

    start: datetime
    end: datetime
    profile: DataProfile
    counts: ConfusionCounts | None = None
    scores: ScoreCounts | None = None
    regression: RegressionMoments | None = None
    selection: ConfusionCounts | None = None

    @property
    def rows(self) -> int:
        """Rows in the window."""
        return self.profile.rows

    @property
    def labelled_rows(self) -> int:
        """Rows with a label."""
        if self.counts is not None:
            return int(self.counts.rows.sum())
        if self.regression is not None:
            return int(self.regression.rows.sum())
        return 0

    def merge(self, other: WindowSummary) -> WindowSummary:
        """Add another summary (same window or an adjacent one)."""
        return WindowSummary(
            start=min(self.start, other.start),
            end=max(self.end, other.end),
            profile=self.profile.merge(other.profile),
            counts=merge_parts(self.counts, other.counts),
            scores=merge_parts(self.scores, other.scores),
            regression=merge_parts(self.regression, other.regression),
            selection=merge_parts(self.selection, other.selection),
        )


def merge_parts(a: Any, b: Any) -> Any:
    """``a.merge(b)``, where either may be ``None`` (absent)."""
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)
