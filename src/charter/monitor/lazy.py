"""Summaries of lazy frames (DuckDB, Spark, polars LazyFrame) by grouped aggregations."""

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
    _select,
    _threshold,
)
from charter.monitor.windows import Window, as_utc
from charter.stats.counts import confusion_counts
from charter.stats.frames import column_names
from charter.stats.profile import DataProfile, profile_against_lazy
from charter.stats.regression import regression_moments
from charter.stats.scores import score_counts
from charter.stats.window import WindowSummary


def summarize_lazy_frame(
    frame: nw.LazyFrame[Any],
    reference: DataProfile,
    size: Window,
    timestamp: str,
    wanted: Sequence[str],
    spec: LabelSpec,
    since: datetime | None,
    until: datetime | None,
) -> LogSummary:
    """Summarise a lazy frame per window of ``size`` inside its engine.

    As :func:`charter.monitor.eager.summarize_frame`, with grouped aggregations evaluated by
    the engine (DuckDB, Spark, polars): only the cell counts leave it.
    """
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
