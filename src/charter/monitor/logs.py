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

from charter.errors import DataError

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".tsv")


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
            relation = con.read_csv(names, union_by_name=True)  # type: ignore[arg-type]
    except Exception as exc:  # duckdb raises its own error types
        raise DataError(
            f"cannot read the log at {path}: {exc}", hint="check that the files are valid"
        ) from exc
    return nw.from_native(relation)


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
    """The log's rows in eager batches of at most ``batch_rows`` (pyarrow datasets).

    Parameters
    ----------
    path
        File, directory or glob (see :func:`log_files`).
    columns
        Columns to read (others are never decoded).
    batch_rows
        Rows per batch; memory stays around one batch.
    timestamp, since, until
        Keep rows with ``since <= timestamp < until`` (pushed down into the scan).
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    files = log_files(path)
    fmt = "parquet" if files[0].suffix.lower() in PARQUET else "csv"
    file_format: Any = fmt
    if fmt == "parquet":
        # No pre-buffering of whole row groups: memory stays about one batch.
        options = ds.ParquetFragmentScanOptions(pre_buffer=False)
        file_format = ds.ParquetFileFormat(default_fragment_scan_options=options)
    try:
        dataset = ds.dataset([str(f) for f in files], format=file_format)
    except Exception as exc:
        raise DataError(f"cannot read the log at {path}: {exc}", hint="check the files") from exc
    names = dataset.schema.names
    wanted = [c for c in (columns or names) if c in names]
    condition = None
    if timestamp is not None and (since is not None or until is not None):
        field = ds.field(timestamp)
        ts_type = dataset.schema.field(timestamp).type
        if since is not None:
            condition = field >= _arrow_scalar(since, ts_type)
        if until is not None:
            upper = field < _arrow_scalar(until, ts_type)
            condition = upper if condition is None else condition & upper
    # Little read-ahead: memory stays about two batches, whatever the log's size.
    scanner = dataset.scanner(
        columns=wanted,
        filter=condition,
        batch_size=batch_rows,
        batch_readahead=0,
        fragment_readahead=0,
    )
    for batch in scanner.to_batches():
        if batch.num_rows:
            yield nw.from_native(pa.Table.from_batches([batch]), eager_only=True)


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
