"""Finding a served request in the inference log by its request id (the inference explorer).

:func:`find_request` reads every Parquet file of the log with DuckDB, filtered on
``request_id`` (row groups whose statistics exclude the id are skipped), and joins the labels
posted for the request. Its cost grows with the log; a team with a large log keeps the
explorer's lookups to recent dates or compacts the log.
"""

from __future__ import annotations

import json
import math
from typing import Any

from charter.monitor.logs import LABELS_DIR
from charter.serving.log import REJECTED_DIR


def find_request(root: str, request_id: str) -> list[dict[str, Any]]:
    """The logged rows of ``request_id`` (with ``label`` once joined), in row order."""
    import duckdb
    import fsspec.core

    fs, base = fsspec.core.url_to_fs(root)
    pattern = f"{base.rstrip('/')}/*/*/*/*.parquet"
    files = [f for f in fs.glob(pattern) if f"/{LABELS_DIR}/" not in f and REJECTED_DIR not in f]
    if not files:
        return []
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    names = [f if protocol in ("file", "local") else f"{protocol}://{f}" for f in files]
    con = duckdb.connect()
    relation = con.read_parquet(names, union_by_name=True)
    found = relation.filter(duckdb.ColumnExpression("request_id") == request_id).order("row")
    table = found.to_arrow_table()
    rows = table.to_pylist()
    if not rows:
        return []
    labels = _labels(fs, base, rows[0]["model"], request_id)
    out = []
    for row in rows:
        record = {k: _plain(v) for k, v in row.items() if v is not None}
        if isinstance(record.get("explanation"), str):
            record["explanation"] = json.loads(record["explanation"])
        if row["row"] in labels:
            record["label"] = labels[row["row"]]
        out.append(record)
    return out


def _labels(fs: Any, base: str, model: str, request_id: str) -> dict[int, Any]:
    import pyarrow.parquet as pq

    folder = f"{base.rstrip('/')}/{LABELS_DIR}/{model}"
    found: dict[int, tuple[Any, Any]] = {}
    for path in sorted(fs.glob(f"{folder}/*.parquet")):
        with fs.open(path, "rb") as handle:
            table = pq.read_table(handle)
        target = next(
            c
            for c in table.column_names
            if c not in ("request_id", "row", "labelled_at", "labelled_by")
        )
        for item in table.to_pylist():
            if item["request_id"] != request_id:
                continue
            previous = found.get(item["row"])
            if previous is None or item["labelled_at"] >= previous[0]:
                found[item["row"]] = (item["labelled_at"], item[target])
    return {row: value for row, (_, value) in found.items()}


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
