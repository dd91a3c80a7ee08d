"""Delayed labels: joined to the inference log by request id before it is summarised.

In production the true outcome of a prediction arrives late (a loan defaults months later).
``monitoring.labels`` (or ``--labels``) names a frame or file holding ``data.id_column`` and
``data.target``; :func:`join_labels` left-joins it to the log, the label file winning where
both have a label, in the log's own engine (DuckDB for files, the frame's backend otherwise).
Labels posted to ``charter serve`` (``request_id``, ``row`` and the label) are found beside
its log (:func:`charter.monitor.logs.served_labels`) and joined by request id and row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import narwhals as nw

from charter.errors import DataError
from charter.monitor.logs import scan_lazy
from charter.policy.schema import Policy
from charter.stats.frames import column_names, read_data_file, require_columns, to_frame


def join_labels(log: Any, policy: Policy, labels: Any) -> Any:
    """Join delayed labels to the log by ``data.id_column`` (left join, labels win)."""
    if labels is None:
        return log
    key, target = policy.data.id_column, policy.data.target
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
    connection = None
    if isinstance(log, str | Path):
        import duckdb  # imported when a log file is joined: it is slow to import

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
