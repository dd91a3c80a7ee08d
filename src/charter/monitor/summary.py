"""Summaries of an inference log per time window, from any engine, mergeable.

:func:`summarize_log` reads a log once and returns, for every time window, the current data
over the reference's grids (:class:`~charter.stats.profile.DataProfile`) and, where labels are
present, the confusion counts per sensitive group, the score counts and the regression moments;
and, for classifiers, the predictions per sensitive group over *every* row with a prediction,
labelled or not (label-free counts, for the selection-rate fairness metrics: in production
labels arrive late or never). Every part merges by addition, so batches of a Parquet log,
engine groups of a coarser unit, or yesterday's and today's windows combine exactly
(:meth:`LogSummary.merge`).

Paths
-----
* eager frames (pandas, polars, pyarrow): numpy, one pass per column over chunks of rows;
* files: pyarrow dataset batches through the eager path (memory: one batch), or DuckDB;
* lazy frames (DuckDB, Spark, polars LazyFrame): grouped aggregations in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import narwhals as nw

from charter.monitor.eager import summarize_frame
from charter.monitor.lazy import summarize_lazy_frame
from charter.monitor.log_summary import (
    WINDOW_KEY,
    LabelSpec,
    LogSummary,
    Progress,
    _missing,
    _require_timestamp,
    empty_window,
    fill_empty_windows,
    no_timestamp,
    window_range,
)
from charter.monitor.logs import iter_batches, log_columns, log_files, scan_lazy
from charter.monitor.windows import Window, as_utc
from charter.stats.frames import is_lazy, to_frame
from charter.stats.profile import DataProfile
from charter.stats.window import WindowSummary

__all__ = [
    "WINDOW_KEY",
    "LabelSpec",
    "LogSummary",
    "WindowSummary",
    "empty_window",
    "fill_empty_windows",
    "summarize_log",
    "window_range",
]


def summarize_log(
    log: Any,
    reference: DataProfile,
    *,
    window: Window | str,
    timestamp: str,
    columns: Sequence[str] | None = None,
    labels: LabelSpec | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    engine: str = "auto",
    batch_rows: int = 1 << 20,
    progress: Progress | None = None,
) -> LogSummary:
    """Summarise an inference log per time window over a reference's grids.

    Parameters
    ----------
    log
        A frame (pandas, polars, pyarrow, DuckDB, Spark, narwhals) or a path to Parquet/CSV
        files (a file, a directory, a glob).
    reference
        The reference profile.
    window
        Window size (``1h``, ``1d``, ``1w``...).
    timestamp
        The column holding each prediction's time.
    columns
        Columns to compare (default: the reference's).
    labels
        Label, prediction, score and sensitive columns for fairness and performance.
    since, until
        Keep rows with ``since <= timestamp < until``.
    engine
        For paths: ``"batches"`` (pyarrow dataset batches, the default) or ``"duckdb"``.
    batch_rows
        Rows per batch when reading files in batches.
    progress
        Called with the number of rows done after each batch.

    Returns
    -------
    LogSummary

    Raises
    ------
    DataError
        When the timestamp column is missing or not a datetime, or no compared column is in
        the log.
    """
    size = Window.parse(window)
    wanted = list(columns) if columns is not None else list(reference.columns)
    spec = labels or LabelSpec()
    since = as_utc(since) if since is not None else None
    until = as_utc(until) if until is not None else None
    if isinstance(log, str | Path):
        log_files(log)
        if engine == "duckdb":
            return summarize_log(
                scan_lazy(log),
                reference,
                window=size,
                timestamp=timestamp,
                columns=wanted,
                labels=spec,
                since=since,
                until=until,
                progress=progress,
            )
        needed = _needed_columns(wanted, spec, timestamp)
        total: LogSummary | None = None
        done = 0
        for batch in iter_batches(
            log,
            columns=needed,
            batch_rows=batch_rows,
            timestamp=timestamp,
            since=since,
            until=until,
        ):
            part = summarize_frame(batch, reference, size, timestamp, wanted, spec, since, until)
            total = part if total is None else total.merge(part)
            done += int(batch.shape[0])
            if progress is not None:
                progress(done)
        if total is None:
            present = log_columns(log)
            if timestamp not in present:
                raise no_timestamp(timestamp, list(present))
            return LogSummary(size, {}, missing_columns=tuple(_missing(wanted, present)))
        return total
    frame = to_frame(log)
    _require_timestamp(frame, timestamp)
    if is_lazy(frame):
        assert isinstance(frame, nw.LazyFrame)
        result = summarize_lazy_frame(frame, reference, size, timestamp, wanted, spec, since, until)
    else:
        assert isinstance(frame, nw.DataFrame)
        result = summarize_frame(frame, reference, size, timestamp, wanted, spec, since, until)
    if progress is not None:
        progress(result.rows)
    return result


def _needed_columns(wanted: Sequence[str], spec: LabelSpec, timestamp: str) -> list[str]:
    extra = [spec.target, spec.prediction, spec.score, *spec.sensitive, timestamp]
    return list(dict.fromkeys([*wanted, *[c for c in extra if c]]))
