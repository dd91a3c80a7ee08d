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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.monitor.windows import NAT, Window, as_utc, timestamps_ns
from charter.stats.counts import OVERALL, ConfusionCounts, confusion_counts
from charter.stats.frames import AnyFrame, column_names, is_lazy, to_frame
from charter.stats.profile import DataProfile, RowGroups, profile_against, profile_against_lazy
from charter.stats.regression import RegressionMoments, regression_moments
from charter.stats.scores import ScoreCounts, score_counts

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
            counts=_merge(self.counts, other.counts),
            scores=_merge(self.scores, other.scores),
            regression=_merge(self.regression, other.regression),
            selection=_merge(self.selection, other.selection),
        )


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)


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
        from charter.monitor.logs import iter_batches, log_files, scan_lazy

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
            part = _summarize_eager(batch, reference, size, timestamp, wanted, spec, since, until)
            total = part if total is None else total.merge(part)
            done += int(batch.shape[0])
            if progress is not None:
                progress(done)
        if total is None:
            from charter.monitor.logs import log_columns

            present = log_columns(log)
            if timestamp not in present:
                raise _no_timestamp(timestamp, list(present))
            return LogSummary(size, {}, missing_columns=tuple(_missing(wanted, present)))
        return total
    frame = to_frame(log)
    _require_timestamp(frame, timestamp)
    if is_lazy(frame):
        assert isinstance(frame, nw.LazyFrame)
        result = _summarize_lazy(frame, reference, size, timestamp, wanted, spec, since, until)
    else:
        assert isinstance(frame, nw.DataFrame)
        result = _summarize_eager(frame, reference, size, timestamp, wanted, spec, since, until)
    if progress is not None:
        progress(result.rows)
    return result


def _needed_columns(wanted: Sequence[str], spec: LabelSpec, timestamp: str) -> list[str]:
    extra = [spec.target, spec.prediction, spec.score, *spec.sensitive, timestamp]
    return list(dict.fromkeys([*wanted, *[c for c in extra if c]]))


def _missing(wanted: Sequence[str], present: Iterable[str]) -> list[str]:
    have = set(present)
    return [c for c in wanted if c not in have]


def _require_timestamp(frame: AnyFrame, timestamp: str) -> None:
    names = column_names(frame)
    if timestamp not in names:
        raise _no_timestamp(timestamp, list(names))


def _no_timestamp(timestamp: str, names: list[str]) -> DataError:
    from charter.errors import did_you_mean

    guess = did_you_mean(timestamp, names)
    shown = ", ".join(names[:30]) + (f", … ({len(names)} in all)" if len(names) > 30 else "")
    return DataError(
        f"timestamp column '{timestamp}' is not in the log" + (f" ({guess})" if guess else ""),
        hint=f"the log's columns: {shown}; name the time column with --timestamp or"
        " monitoring.timestamp_column in the policy",
    )


# -- eager ---------------------------------------------------------------------------------------


def _summarize_eager(
    frame: nw.DataFrame[Any],
    reference: DataProfile,
    size: Window,
    timestamp: str,
    wanted: Sequence[str],
    spec: LabelSpec,
    since: datetime | None,
    until: datetime | None,
) -> LogSummary:
    _require_timestamp(frame, timestamp)
    names = column_names(frame)
    missing = _missing(wanted, names)
    ns = timestamps_ns(frame.get_column(timestamp), column=timestamp)
    valid = ns != NAT
    no_ts = int((~valid).sum())
    if since is not None:
        valid &= ns >= _to_ns(since)
    if until is not None:
        valid &= ns < _to_ns(until)
    kept = ns[valid]
    out_of_order = int((kept[1:] < kept[:-1]).sum()) if kept.size > 1 else 0
    index = size.index_of_ns(ns)
    present = np.unique(index[valid])
    codes = np.full(ns.shape[0], -1, dtype=np.int64)
    codes[valid] = np.searchsorted(present, index[valid])
    groups = RowGroups(codes, int(present.size))
    columns = [c for c in wanted if c in names]
    profiles = (
        profile_against(frame, reference, columns=columns, groups=groups) if present.size else []
    )
    starts = [size.start_of_index(int(i)) for i in present]
    label_parts = _eager_labels(frame, spec, codes, valid, int(present.size))
    selection = _eager_selection(frame, spec, codes, valid, int(present.size))
    windows = {}
    for g, start in enumerate(starts):
        profile = replace(profiles[g], start=start, end=start + size.length)
        counts, scores, moments = (part[g] if part is not None else None for part in label_parts)
        windows[start] = WindowSummary(
            start,
            start + size.length,
            profile,
            counts,
            scores,
            moments,
            selection[g] if selection is not None else None,
        )
    first = _from_ns(int(kept.min())) if kept.size else None
    last = _from_ns(int(kept.max())) if kept.size else None
    return LogSummary(
        size,
        windows,
        rows=int(valid.sum()),
        rows_without_timestamp=no_ts,
        out_of_order=out_of_order,
        first=first,
        last=last,
        missing_columns=tuple(missing),
        missing_sensitive=tuple(_missing_sensitive(spec, names)),
    )


def _to_ns(moment: datetime) -> int:
    delta = as_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _labelled_mask(frame: nw.DataFrame[Any], spec: LabelSpec, valid: np.ndarray) -> np.ndarray:
    assert spec.target is not None
    target = frame.get_column(spec.target)
    mask = valid & ~target.is_null().to_numpy()
    if target.dtype.is_float():
        mask &= ~np.isnan(target.to_numpy())
    return mask


def _eager_labels(
    frame: nw.DataFrame[Any],
    spec: LabelSpec,
    codes: np.ndarray,
    valid: np.ndarray,
    n_windows: int,
) -> tuple[list[Any] | None, list[Any] | None, list[Any] | None]:
    if not n_windows or not spec.usable(frame.columns):
        return None, None, None
    mask = _labelled_mask(frame, spec, valid)
    rows = np.flatnonzero(mask)
    sub = frame[rows] if rows.size < mask.size else frame
    groups: dict[str, Any] = {WINDOW_KEY: codes[rows]}
    for name in spec.sensitive:
        if name not in sub.columns:
            raise DataError(
                f"sensitive column '{name}' is not in the log",
                hint="log the sensitive attributes with each prediction, or remove them from"
                " the policy's fairness settings",
            )
        groups[name] = sub.get_column(name).to_native()
    assert spec.target is not None
    y_true = sub.get_column(spec.target).to_numpy()
    if spec.regression:
        assert spec.prediction is not None
        moments = regression_moments(
            y_true, sub.get_column(spec.prediction).to_numpy(), sensitive_features=groups
        )
        return None, None, _split(moments, n_windows)
    if spec.prediction and spec.prediction in sub.columns:
        y_pred = sub.get_column(spec.prediction).to_numpy()
    else:
        assert spec.score is not None
        y_pred = _threshold(sub.get_column(spec.score).to_numpy(), spec)
    counts = confusion_counts(y_true, y_pred, sensitive_features=groups, pos_label=spec.pos_label)
    scores = None
    if spec.score and spec.score in sub.columns:
        scores = score_counts(
            y_true,
            sub.get_column(spec.score).to_numpy(),
            sensitive_features={WINDOW_KEY: codes[rows]},
            pos_label=spec.pos_label,
        )
    return (
        _split(counts, n_windows),
        _split(scores, n_windows) if scores is not None else None,
        None,
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


def _eager_selection(
    frame: nw.DataFrame[Any],
    spec: LabelSpec,
    codes: np.ndarray,
    valid: np.ndarray,
    n_windows: int,
) -> list[ConfusionCounts] | None:
    """Label-free counts per window: every row with a prediction, labelled or not."""
    names = frame.columns
    column = _prediction_column(spec, names)
    if not n_windows or column is None or _missing_sensitive(spec, names):
        return None
    values = frame.get_column(column)
    mask = valid & ~values.is_null().to_numpy()
    if values.dtype.is_float():
        mask &= ~np.isnan(values.to_numpy())
    rows = np.flatnonzero(mask)
    sub = frame[rows] if rows.size < mask.size else frame
    y_pred = sub.get_column(column).to_numpy()
    if column != spec.prediction:
        y_pred = _threshold(y_pred, spec)
    groups: dict[str, Any] = {WINDOW_KEY: codes[rows]}
    for name in spec.sensitive:
        groups[name] = sub.get_column(name).to_native()
    counts = confusion_counts(None, y_pred, sensitive_features=groups, pos_label=spec.pos_label)
    return _split(counts, n_windows)


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


def _split(stats: Any, n_windows: int) -> list[Any]:
    """Per-window statistics out of statistics grouped by ``(window, *sensitive)``."""
    window_of = [int(k[0]) for k in stats.keys]
    out = []
    for w in range(n_windows):
        idx = [i for i, k in enumerate(window_of) if k == w]
        out.append(_select(stats, idx))
    return out


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


# -- lazy ----------------------------------------------------------------------------------------


def _summarize_lazy(
    frame: nw.LazyFrame[Any],
    reference: DataProfile,
    size: Window,
    timestamp: str,
    wanted: Sequence[str],
    spec: LabelSpec,
    since: datetime | None,
    until: datetime | None,
) -> LogSummary:
    names = column_names(frame)
    missing = _missing(wanted, names)
    ts = nw.col(timestamp)
    data = frame
    condition = None
    if since is not None:
        condition = ts >= _naive_if_needed(frame, timestamp, since)
    if until is not None:
        upper = ts < _naive_if_needed(frame, timestamp, until)
        condition = upper if condition is None else condition & upper
    if condition is not None:
        # Rows without a timestamp stay, to be counted as such (their key is null).
        data = frame.filter(ts.is_null() | condition)
    key = ts.dt.truncate(size.engine_unit)
    columns = [c for c in wanted if c in names]
    stats: dict[Any, dict[str, Any]] = {}
    per_unit = profile_against_lazy(
        data,
        reference,
        columns=columns,
        key=key,
        row_aggregates=[ts.min().alias("__first"), ts.max().alias("__last")],
        row_stats=stats,
    )
    no_ts = per_unit.pop(None).rows if None in per_unit else 0
    stats.pop(None, None)
    labelled = _lazy_labels(data, spec, key, names)
    windows: dict[datetime, WindowSummary] = {}
    for unit_start, profile in per_unit.items():
        moment = _as_datetime(unit_start)
        start = size.start_of(moment)
        part = WindowSummary(
            start,
            start + size.length,
            replace(profile, start=start, end=start + size.length),
            *_lazy_parts_for(labelled, unit_start),
        )
        windows[start] = windows[start].merge(part) if start in windows else part
    firsts = [_as_datetime(r["__first"]) for r in stats.values() if r["__first"] is not None]
    lasts = [_as_datetime(r["__last"]) for r in stats.values() if r["__last"] is not None]
    return LogSummary(
        size,
        dict(sorted(windows.items())),
        rows=sum(p.rows for p in per_unit.values()),
        rows_without_timestamp=no_ts,
        out_of_order=None,
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
        missing_columns=tuple(missing),
        missing_sensitive=tuple(_missing_sensitive(spec, names)),
    )


def _naive_if_needed(frame: nw.LazyFrame[Any], timestamp: str, moment: datetime) -> datetime:
    dtype = frame.collect_schema()[timestamp]
    zone = getattr(dtype, "time_zone", None)
    return moment if zone else moment.astimezone(UTC).replace(tzinfo=None)


def _as_datetime(value: Any) -> datetime:
    # pandas warns (UserWarning) when nanoseconds are dropped; microseconds are all a window
    # boundary needs, so the conversion is silent.
    if isinstance(value, datetime):
        return as_utc(value.to_pydatetime(warn=False) if hasattr(value, "to_pydatetime") else value)
    if hasattr(value, "to_pydatetime"):
        return as_utc(value.to_pydatetime(warn=False))
    raise DataError(f"cannot read the timestamp {value!r}", hint="store timestamps as datetimes")


def _lazy_labels(
    data: nw.LazyFrame[Any], spec: LabelSpec, key: nw.Expr, names: Sequence[str]
) -> dict[str, Any]:
    out = _lazy_selection(data, spec, key, names)
    if not spec.usable(names):
        return out
    assert spec.target is not None
    keyed = data.filter(~nw.col(spec.target).is_null()).with_columns(key.alias(WINDOW_KEY))
    sensitive = [WINDOW_KEY, *spec.sensitive]
    if spec.regression:
        assert spec.prediction is not None
        out["regression"] = regression_moments(
            spec.target, spec.prediction, sensitive_features=sensitive, data=keyed
        )
        return out
    if spec.prediction and spec.prediction in names:
        prediction = spec.prediction
    else:
        assert spec.score is not None
        keyed = keyed.with_columns(_lazy_threshold(spec.score, spec).alias("__charter_pred"))
        prediction = "__charter_pred"
    out["counts"] = confusion_counts(
        spec.target, prediction, sensitive_features=sensitive, data=keyed, pos_label=spec.pos_label
    )
    if spec.score and spec.score in names:
        out["scores"] = score_counts(
            spec.target,
            spec.score,
            sensitive_features=[WINDOW_KEY],
            data=keyed,
            pos_label=spec.pos_label,
        )
    return out


def _lazy_threshold(score: str, spec: LabelSpec) -> nw.Expr:
    """The engine's version of :func:`_threshold`: 0/1 predictions coded as the eager ones."""
    if spec.pos_label not in (0, 1, True, False):
        _threshold(np.zeros(0), spec)  # raises: a score needs a 0/1 pos_label
    positive = nw.col(score) >= spec.threshold
    if spec.pos_label in (0, False):
        positive = ~positive
    return positive.cast(nw.Int64)


def _lazy_selection(
    data: nw.LazyFrame[Any], spec: LabelSpec, key: nw.Expr, names: Sequence[str]
) -> dict[str, Any]:
    """Label-free counts per engine unit: every row with a prediction, labelled or not."""
    column = _prediction_column(spec, names)
    if column is None or _missing_sensitive(spec, names):
        return {}
    present = ~nw.col(column).is_null()
    if data.collect_schema()[column].is_float():
        present = present & ~nw.col(column).is_nan()
    keyed = data.filter(present).with_columns(key.alias(WINDOW_KEY))
    prediction = column
    if column != spec.prediction:
        keyed = keyed.with_columns(_lazy_threshold(column, spec).alias("__charter_pred"))
        prediction = "__charter_pred"
    selection = confusion_counts(
        None,
        prediction,
        sensitive_features=[WINDOW_KEY, *spec.sensitive],
        data=keyed,
        pos_label=spec.pos_label,
    )
    return {"selection": selection}


def _lazy_parts_for(labelled: dict[str, Any], unit_start: Any) -> tuple[Any, Any, Any, Any]:
    parts: list[Any] = []
    for name in ("counts", "scores", "regression", "selection"):
        stats = labelled.get(name)
        if stats is None:
            parts.append(None)
            continue
        idx = [i for i, k in enumerate(stats.keys) if k[0] == unit_start]
        parts.append(_select(stats, idx))
    return parts[0], parts[1], parts[2], parts[3]


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
