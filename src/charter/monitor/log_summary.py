"""What monitoring keeps of a log: its summary per time window, mergeable.

:class:`LabelSpec` names the log's label, prediction, score and sensitive columns;
:class:`LogSummary` holds a :class:`~charter.stats.window.WindowSummary` per window. The helpers
here are shared by the eager (:mod:`charter.monitor.eager`) and lazy
(:mod:`charter.monitor.lazy`) summarisers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from charter.errors import DataError, did_you_mean
from charter.monitor.windows import Window, as_utc
from charter.stats.counts import OVERALL, ConfusionCounts
from charter.stats.frames import AnyFrame, column_names
from charter.stats.profile import DataProfile
from charter.stats.regression import RegressionMoments
from charter.stats.scores import ScoreCounts
from charter.stats.window import WindowSummary

WINDOW_KEY = "__charter_window"


Progress = Callable[[int], None]


@dataclass(frozen=True)
class LabelSpec:
    """Which log columns hold labels, predictions, scores and groups.

    Attributes
    ----------
    target
        True labels (may be null where labels have not arrived; those rows are left out).
    prediction
        Predicted labels, or ``None`` to threshold ``score``.
    score
        Score/probability of the positive class.
    sensitive
        Sensitive columns for fairness per window.
    regression
        Whether the model is a regressor (moments instead of counts).
    pos_label, threshold
        Favourable label; score threshold for a prediction.
    """

    target: str | None = None
    prediction: str | None = None
    score: str | None = None
    sensitive: tuple[str, ...] = ()
    regression: bool = False
    pos_label: Any = 1
    threshold: float = 0.5

    def usable(self, columns: Iterable[str]) -> bool:
        """Whether the log has labels and predictions (or scores)."""
        present = set(columns)
        if not self.target or self.target not in present:
            return False
        return bool(
            (self.prediction and self.prediction in present)
            or (self.score and self.score in present)
        )


@dataclass(frozen=True, eq=False)
class LogSummary:
    """A log summarised per window.

    Attributes
    ----------
    window
        The window size.
    windows
        Window start to summary, in time order.
    rows
        Rows read (after ``since``/``until``).
    rows_without_timestamp
        Rows left out because their timestamp was null.
    out_of_order
        Rows whose timestamp is earlier than the previous row's (``None`` when the engine
        cannot tell, e.g. Spark).
    first, last
        Earliest and latest timestamp seen.
    missing_columns
        Reference columns the log does not have.
    missing_sensitive
        Sensitive columns the log does not have (no label-free fairness counts without them).
    """

    window: Window
    windows: dict[datetime, WindowSummary]
    rows: int = 0
    rows_without_timestamp: int = 0
    out_of_order: int | None = 0
    first: datetime | None = None
    last: datetime | None = None
    missing_columns: tuple[str, ...] = ()
    missing_sensitive: tuple[str, ...] = ()

    def merge(self, other: LogSummary) -> LogSummary:
        """Add the summary of more rows (another batch, file or day)."""
        windows = dict(self.windows)
        for start, summary in other.windows.items():
            windows[start] = windows[start].merge(summary) if start in windows else summary
        firsts = [t for t in (self.first, other.first) if t is not None]
        lasts = [t for t in (self.last, other.last) if t is not None]
        order = (
            None
            if self.out_of_order is None or other.out_of_order is None
            else self.out_of_order + other.out_of_order
        )
        # A batch that starts before the previous one ended is out of order too.
        if order is not None and self.last is not None and other.first is not None:
            order += int(other.first < self.last)
        return LogSummary(
            window=self.window,
            windows=dict(sorted(windows.items())),
            rows=self.rows + other.rows,
            rows_without_timestamp=self.rows_without_timestamp + other.rows_without_timestamp,
            out_of_order=order,
            first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
            missing_columns=tuple(sorted(set(self.missing_columns) | set(other.missing_columns))),
            missing_sensitive=tuple(
                sorted(set(self.missing_sensitive) | set(other.missing_sensitive))
            ),
        )

    def coarsen(self, window: Window | str) -> LogSummary:
        """The same log over larger windows (``1h`` summaries into ``1d``)."""
        target = Window.parse(window)
        windows: dict[datetime, WindowSummary] = {}
        for start, summary in self.windows.items():
            new_start = target.start_of(start)
            moved = replace(summary, start=new_start, end=new_start + target.length)
            windows[new_start] = windows[new_start].merge(moved) if new_start in windows else moved
        return replace(self, window=target, windows=dict(sorted(windows.items())))

    def total(self) -> WindowSummary | None:
        """Every window merged into one."""
        merged: WindowSummary | None = None
        for summary in self.windows.values():
            merged = summary if merged is None else merged.merge(summary)
        return merged


def _missing(wanted: Sequence[str], present: Iterable[str]) -> list[str]:
    have = set(present)
    return [c for c in wanted if c not in have]


def _require_timestamp(frame: AnyFrame, timestamp: str) -> None:
    names = column_names(frame)
    if timestamp not in names:
        raise no_timestamp(timestamp, list(names))


def no_timestamp(timestamp: str, names: list[str]) -> DataError:
    """The error for a timestamp column the log lacks: it lists the log's columns."""
    guess = did_you_mean(timestamp, names)
    shown = ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "")
    return DataError(
        f"timestamp column '{timestamp}' is not in the log" + (f" ({guess})" if guess else ""),
        hint=f"the log's columns: {shown}; name the time column with --timestamp or"
        " monitoring.timestamp_column in the policy",
    )


def _prediction_column(spec: LabelSpec, names: Sequence[str]) -> str | None:
    """The log column predictions come from: the prediction, else the score (thresholded)."""
    if spec.regression:
        return None
    if spec.prediction and spec.prediction in names:
        return spec.prediction
    if spec.score and spec.score in names:
        return spec.score
    return None


def _missing_sensitive(spec: LabelSpec, names: Sequence[str]) -> list[str]:
    """Sensitive columns absent from a log that has predictions (none are counted then)."""
    if _prediction_column(spec, names) is None:
        return []
    have = set(names)
    return [s for s in spec.sensitive if s not in have]


def _threshold(scores: np.ndarray, spec: LabelSpec) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    positive = values >= spec.threshold
    if spec.pos_label in (0, 1, True, False):
        return (
            positive.astype(np.int64)
            if spec.pos_label in (1, True)
            else (~positive).astype(np.int64)
        )
    raise DataError(
        "predictions must come from a prediction column when pos_label is not 0 or 1",
        hint="set data.prediction in the policy",
    )


def _select(stats: Any, idx: list[int]) -> Any:
    names = tuple(stats.names[1:])
    keys = tuple(tuple(stats.keys[i][1:]) if names else OVERALL for i in idx)
    if isinstance(stats, ConfusionCounts):
        if not idx:
            return ConfusionCounts(
                names, (), np.zeros((0, 2, 2)), np.zeros((0, 2, 2), np.int64), stats.labelled
            )
        return ConfusionCounts(names, keys, stats.weighted[idx], stats.rows[idx], stats.labelled)
    if isinstance(stats, ScoreCounts):
        take = np.isin(stats.group, idx)
        remap = np.full(len(stats.keys), -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        return ScoreCounts(
            names,
            keys,
            remap[stats.group[take]],
            stats.score[take],
            stats.weighted[take],
            stats.rows[take],
        )
    assert isinstance(stats, RegressionMoments)
    return RegressionMoments(
        names,
        keys,
        stats.weight[idx],
        stats.rows[idx],
        stats.mean[idx],
        stats.m2[idx],
        stats.sse[idx],
        stats.sae[idx],
        stats.y_min[idx],
        stats.y_max[idx],
    )


def empty_window(reference: DataProfile, start: datetime, size: Window) -> WindowSummary:
    """A window without rows (reported as such, never judged)."""
    end = start + size.length
    return WindowSummary(start, end, reference.empty_like(start=start, end=end))


def window_range(
    summary: LogSummary, since: datetime | None, until: datetime | None
) -> list[datetime]:
    """Every window start from ``since`` (or the first row) to ``until`` (or the last row)."""
    size = summary.window
    first = as_utc(since) if since is not None else summary.first
    last = as_utc(until) - size.length / 1_000_000 if until is not None else summary.last
    if first is None or last is None:
        return []
    start = size.start_of(first)
    out: list[datetime] = []
    while start <= last and len(out) < 100_000:
        out.append(start)
        start = start + size.length
    return out


def fill_empty_windows(
    summary: LogSummary, reference: DataProfile, since: datetime | None, until: datetime | None
) -> LogSummary:
    """Add empty windows for the gaps between ``since`` and ``until`` (no rows is a finding)."""
    windows = dict(summary.windows)
    for start in window_range(summary, since, until):
        if start not in windows:
            windows[start] = empty_window(reference, start, summary.window)
    return replace(summary, windows=dict(sorted(windows.items())))
