"""Inference logs: where the current data comes from.

A log is a frame already in memory (pandas, polars, pyarrow, DuckDB, Spark), or files:
a Parquet or CSV file, a directory of Parquet files, or a glob. Files are read lazily —
through DuckDB (:func:`scan_lazy`) or in Arrow record batches (:func:`iter_batches`) — so a
log larger than memory is summarised out of core.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.monitor.windows import as_utc

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".tsv")
#: Folder beside a served log's model folders holding delayed labels (charter.serving.labels).
LABELS_DIR = "_labels"


def log_files(path: str | Path) -> list[Path]:
    """The files a log path stands for: a file, a directory (recursively) or a glob.

    Raises
    ------
    DataError
        When nothing matches or the format is not Parquet or CSV.
    """
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in globlib.glob(text, recursive=True))
    else:
        source = Path(text)
        if source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.suffix.lower() in PARQUET + CSV)
        elif source.exists():
            files = [source]
        else:
            raise DataError(f"log {source} does not exist", hint="check the --log path")
    if not files:
        raise DataError(f"no Parquet or CSV files found at {text}", hint="check the --log path")
    bad = [f for f in files if f.suffix.lower() not in PARQUET + CSV]
    if bad:
        raise DataError(
            f"log file {bad[0]} is neither Parquet nor CSV",
            hint="write the inference log as Parquet (recommended) or CSV",
        )
    kinds = {f.suffix.lower() in PARQUET for f in files}
    if len(kinds) > 1:
        raise DataError(
            f"the log at {text} mixes Parquet and CSV files",
            hint="point --log at files of one format",
        )
    return files


def scan_lazy(path: str | Path, *, connection: Any = None) -> nw.LazyFrame[Any]:
    """The log as a lazy DuckDB relation wrapped in narwhals (nothing is read yet)."""
    import duckdb

    files = log_files(path)
    con = connection if connection is not None else duckdb.connect()
    names = [str(f) for f in files]
    try:
        if files[0].suffix.lower() in PARQUET:
            relation = con.read_parquet(names, union_by_name=True)
        else:
            relation = con.read_csv(names, union_by_name=True)
    except Exception as exc:  # duckdb raises its own error types
        raise DataError(
            f"cannot read the log at {path}: {exc}", hint="check that the files are valid"
        ) from exc
    return nw.from_native(relation)


def count_rows(path: str | Path) -> int | None:
    """Rows of a Parquet log from the files' metadata (``None`` for CSV or when unreadable)."""
    try:
        import pyarrow.dataset as ds

        files = log_files(path)
        if files[0].suffix.lower() not in PARQUET:
            return None
        return int(ds.dataset([str(f) for f in files], format="parquet").count_rows())
    except Exception:
        return None


def log_columns(path: str | Path) -> list[str]:
    """Column names of a log on disk (read from the file metadata, not the rows)."""
    import pyarrow.dataset as ds

    files = log_files(path)
    fmt = "parquet" if files[0].suffix.lower() in PARQUET else "csv"
    try:
        return list(ds.dataset([str(f) for f in files], format=fmt).schema.names)
    except Exception as exc:
        raise DataError(f"cannot read the log at {path}: {exc}", hint="check the files") from exc


def iter_batches(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    batch_rows: int = 1 << 20,
    timestamp: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[nw.DataFrame[Any]]:
    """The log's rows in eager batches of at most ``batch_rows``.

    Parquet files are read one row group at a time (``pyarrow.parquet.ParquetFile``, no
    read-ahead): memory stays about one batch whatever the log's size; row groups whose
    timestamp statistics fall outside ``[since, until)`` are skipped unread. CSV files are
    streamed through a pyarrow dataset.

    Parameters
    ----------
    path
        File, directory or glob (see :func:`log_files`).
    columns
        Columns to read (others are never decoded).
    batch_rows
        Rows per batch.
    timestamp, since, until
        Keep rows with ``since <= timestamp < until``.
    """
    files = log_files(path)
    if files[0].suffix.lower() in PARQUET:
        for file in files:
            yield from _parquet_batches(file, columns, batch_rows, timestamp, since, until)
        return
    yield from _csv_batches(files, columns, batch_rows, timestamp, since, until)


def _time_filter(
    table: Any, timestamp: str | None, since: datetime | None, until: datetime | None
) -> Any:
    import pyarrow.compute as pc

    if timestamp is None or (since is None and until is None):
        return table
    column = table.column(timestamp)
    mask = None
    if since is not None:
        mask = pc.greater_equal(column, _arrow_scalar(since, column.type))
    if until is not None:
        upper = pc.less(column, _arrow_scalar(until, column.type))
        mask = upper if mask is None else pc.and_(mask, upper)
    return table.filter(pc.fill_null(mask, True))


def _parquet_batches(
    file: Path,
    columns: Sequence[str] | None,
    batch_rows: int,
    timestamp: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[nw.DataFrame[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(file, pre_buffer=False)
    except Exception as exc:
        raise DataError(f"cannot read the log file {file}: {exc}", hint="check the file") from exc
    names = reader.schema_arrow.names
    wanted = [c for c in (columns or names) if c in names]
    groups = _row_groups_in_range(reader, timestamp, since, until)
    if not groups:
        return
    for batch in reader.iter_batches(
        batch_size=batch_rows, row_groups=groups, columns=wanted, use_threads=False
    ):
        table = _time_filter(pa.Table.from_batches([batch]), timestamp, since, until)
        if table.num_rows:
            yield nw.from_native(table, eager_only=True)


def _row_groups_in_range(
    reader: Any, timestamp: str | None, since: datetime | None, until: datetime | None
) -> list[int]:
    """Row groups that may hold rows in ``[since, until)`` (by their min/max statistics)."""
    every = list(range(reader.num_row_groups))
    if timestamp is None or (since is None and until is None):
        return every
    names = reader.schema_arrow.names
    if timestamp not in names:
        return every
    index = reader.schema_arrow.get_field_index(timestamp)
    ts_type = reader.schema_arrow.field(timestamp).type
    keep = []
    for g in every:
        stats = reader.metadata.row_group(g).column(index).statistics
        if stats is None or not stats.has_min_max:
            keep.append(g)
            continue
        low, high = _as_utc_value(stats.min, ts_type), _as_utc_value(stats.max, ts_type)
        if low is None or high is None:
            keep.append(g)
            continue
        if since is not None and high < since:
            continue
        if until is not None and low >= until:
            continue
        keep.append(g)
    return keep


def _as_utc_value(value: Any, arrow_type: Any) -> datetime | None:
    import pyarrow as pa

    if isinstance(value, datetime):
        return as_utc(value)
    if pa.types.is_date(arrow_type):
        return as_utc(datetime(value.year, value.month, value.day))
    return None


def _csv_batches(
    files: list[Path],
    columns: Sequence[str] | None,
    batch_rows: int,
    timestamp: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[nw.DataFrame[Any]]:
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset([str(f) for f in files], format="csv")
    except Exception as exc:
        raise DataError(f"cannot read the log: {exc}", hint="check the files") from exc
    names = dataset.schema.names
    wanted = [c for c in (columns or names) if c in names]
    scanner = dataset.scanner(
        columns=wanted, batch_size=batch_rows, batch_readahead=0, fragment_readahead=0
    )
    for batch in scanner.to_batches():
        table = _time_filter(pa.Table.from_batches([batch]), timestamp, since, until)
        if table.num_rows:
            yield nw.from_native(table, eager_only=True)


def _arrow_scalar(moment: datetime, arrow_type: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        value = moment if arrow_type.tz else moment.replace(tzinfo=None)
        return pa.scalar(value, type=arrow_type)
    if pa.types.is_date(arrow_type):
        return pa.scalar(moment.date(), type=arrow_type)
    raise DataError(
        f"the timestamp column is {arrow_type}, not a date or timestamp",
        hint="store timestamps as a Parquet timestamp column",
    )


def served_labels(path: str | Path, model: str) -> Any:
    """Labels posted to the server for ``model``, found beside its log, or ``None``.

    ``charter serve`` keeps labels in ``<root>/_labels/<model>/`` next to ``<root>/<model>/``
    (:mod:`charter.serving.labels`); ``path`` may be the model's folder or any folder below it.
    Returns an Arrow table of ``request_id``, ``row`` and the label column, one row per
    ``(request_id, row)`` (a row labelled twice keeps its latest label).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    start = Path(str(path))
    if any(ch in str(path) for ch in "*?[") or not start.exists():
        return None
    start = start if start.is_dir() else start.parent
    for folder in [start, *list(start.parents)[:3]]:
        candidate = folder / LABELS_DIR / model
        files = sorted(candidate.glob("*.parquet")) if candidate.is_dir() else []
        if files:
            table = ds.dataset([str(f) for f in files], format="parquet").to_table()
            table = table.sort_by([("labelled_at", "descending")])
            keys = pc.binary_join_element_wise(
                table["request_id"], pc.cast(table["row"], pa.string()), "\x1f"
            )
            _, first = np.unique(keys.to_numpy(zero_copy_only=False), return_index=True)
            keep = table.take(pa.array(np.sort(first)))
            return keep.drop_columns(
                [c for c in ("labelled_at", "labelled_by") if c in keep.column_names]
            )
    return None
