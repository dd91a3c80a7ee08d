"""Summaries of eager frames and Parquet/CSV batches with numpy: one pass per column per chunk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.monitor.log_summary import (
    WINDOW_KEY,
    LabelSpec,
    LogSummary,
    _missing,
    _missing_sensitive,
    _prediction_column,
    _require_timestamp,
    _select,
    _threshold,
)
from charter.monitor.windows import NAT, Window, as_utc, timestamps_ns
from charter.stats.counts import ConfusionCounts, confusion_counts
from charter.stats.frames import column_names
from charter.stats.profile import DataProfile, RowGroups, profile_against
from charter.stats.regression import regression_moments
from charter.stats.scores import score_counts
from charter.stats.window import WindowSummary


def summarize_frame(
    frame: nw.DataFrame[Any],
    reference: DataProfile,
    size: Window,
    timestamp: str,
    wanted: Sequence[str],
    spec: LabelSpec,
    since: datetime | None,
    until: datetime | None,
) -> LogSummary:
    """Summarise an eager frame (or one batch of a log file) per window of ``size``.

    The frame's rows with ``since <= timestamp < until`` are profiled over the reference's
    grids per window; with labels (``spec``), their confusion counts, score counts or
    regression moments per sensitive group, and the label-free selection counts.
    """
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


def _split(stats: Any, n_windows: int) -> list[Any]:
    """Per-window statistics out of statistics grouped by ``(window, *sensitive)``."""
    window_of = [int(k[0]) for k in stats.keys]
    out = []
    for w in range(n_windows):
        idx = [i for i, k in enumerate(window_of) if k == w]
        out.append(_select(stats, idx))
    return out
