"""How data comes into the statistics engine.

Every input goes through narwhals: pandas, polars (eager or lazy), pyarrow tables, DuckDB
relations and PySpark DataFrames are wrapped, never converted wholesale to pandas. Eager frames
hand single columns to numpy (zero-copy where the backend allows) for the fast aggregation
path; lazy frames keep the work inside their own engine (see :mod:`charter.stats.counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from charter.errors import DataError, did_you_mean
from charter.evidence import Fingerprint, sha256_bytes, sha256_file

AnyFrame: TypeAlias = nw.DataFrame[Any] | nw.LazyFrame[Any]
#: A column given either by its name in the data or as values of its own.
ColumnLike: TypeAlias = str | Sequence[Any] | np.ndarray | pd.Series | Any

SUPPORTED_DATA_FILES = (".parquet", ".pq", ".csv", ".tsv", ".arrow", ".feather", ".ipc")


def to_frame(data: Any) -> AnyFrame:
    """Wrap any supported frame (or a mapping of column name to values) in narwhals.

    Parameters
    ----------
    data
        A pandas, polars or pyarrow table, a polars LazyFrame, a DuckDB relation, a PySpark
        DataFrame, an existing narwhals frame, or a mapping of column names to arrays.

    Returns
    -------
    narwhals.DataFrame or narwhals.LazyFrame
        Eager for in-memory frames, lazy for engines that evaluate lazily.
    """
    if isinstance(data, nw.DataFrame | nw.LazyFrame):
        return data
    if isinstance(data, Mapping):
        columns = {str(k): _as_numpy(v, str(k)) for k, v in data.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}={len(v)}" for k, v in columns.items())
            raise DataError(
                f"columns have different lengths ({sizes})",
                hint="pass columns of equal length, one value per row",
            )
        return nw.from_native(pa.table(columns), eager_only=True)
    try:
        return nw.from_native(data)
    except TypeError as exc:
        raise DataError(
            f"cannot use an object of type {type(data).__name__} as data",
            hint="pass a pandas, polars or pyarrow table, a DuckDB relation, a Spark DataFrame,"
            " or a dict of column name to array",
        ) from exc


def is_lazy(frame: AnyFrame) -> bool:
    """Whether the frame evaluates lazily (DuckDB, Spark, polars LazyFrame)."""
    return isinstance(frame, nw.LazyFrame)


def column_names(frame: AnyFrame) -> list[str]:
    """The frame's column names, without evaluating a lazy frame."""
    return list(frame.collect_schema().names())


def require_columns(frame: AnyFrame, columns: Sequence[str], *, role: str = "column") -> None:
    """Raise :class:`DataError` naming each missing column, with a "did you mean".

    Parameters
    ----------
    frame
        The data.
    columns
        Names that must be present.
    role
        What the columns are for, used in the message (``"target"``, ``"sensitive feature"``).
    """
    present = column_names(frame)
    missing = [c for c in columns if c not in present]
    if not missing:
        return
    parts = []
    for name in missing:
        guess = did_you_mean(name, present)
        parts.append(f"'{name}'" + (f" ({guess})" if guess else ""))
    shown = ", ".join(present[:20]) + (" ..." if len(present) > 20 else "")
    raise DataError(
        f"{role} {', '.join(parts)} not found in the data",
        hint=f"the data has columns: {shown}",
    )


def num_rows(frame: AnyFrame) -> int:
    """Row count, computed inside the engine for lazy frames."""
    if isinstance(frame, nw.DataFrame):
        return int(frame.shape[0])
    counted = frame.select(nw.len()).collect()
    return int(counted.item(0, 0))


def column_to_numpy(frame: nw.DataFrame[Any], name: str) -> np.ndarray:
    """One column of an eager frame as a numpy array (zero-copy where the backend allows)."""
    return frame.get_column(name).to_numpy()


def _as_numpy(values: Any, role: str) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, nw.Series):
        return values.to_numpy()
    try:
        series = nw.from_native(values, series_only=True)
        return series.to_numpy()
    except TypeError:
        pass
    try:
        return np.asarray(values)
    except Exception as exc:  # pragma: no cover - numpy accepts nearly everything
        raise DataError(f"cannot read {role} as an array: {exc}") from exc


def resolve_column(data: AnyFrame | None, column: ColumnLike, *, role: str) -> np.ndarray:
    """Values of a column given by name (looked up in ``data``) or by value.

    Parameters
    ----------
    data
        The eager frame names refer to, or ``None`` when all columns come as values.
    column
        A column name or array-like values.
    role
        What the column is, used in error messages (``"y_true"``).

    Returns
    -------
    numpy.ndarray
    """
    if isinstance(column, str):
        if data is None:
            raise DataError(
                f"{role} was given as the column name '{column}' but no data frame was given",
                hint="pass data=frame, or pass the values themselves",
            )
        if is_lazy(data):
            raise DataError(f"{role}: lazy frames are aggregated in their engine, not here")
        require_columns(data, [column], role=role)
        assert isinstance(data, nw.DataFrame)
        return column_to_numpy(data, column)
    return _as_numpy(column, role)


def factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Integer codes and the distinct values they stand for, nulls kept as a value ``None``.

    Uses the backend's own hash encoding: pandas categoricals give their codes for free,
    pandas/numpy values go through ``pandas.factorize``, polars and pyarrow through Arrow's
    ``dictionary_encode``.

    Parameters
    ----------
    values
        A numpy array, pandas/polars series, pyarrow (chunked) array or narwhals series.

    Returns
    -------
    codes : numpy.ndarray of int64
        Code per row, ``0 <= code < len(uniques)``.
    uniques : list
        Python scalars; ``None`` stands for missing values.
    """
    native = values.to_native() if isinstance(values, nw.Series) else values
    if isinstance(native, pd.Series) and isinstance(native.dtype, pd.CategoricalDtype):
        cat_codes = native.cat.codes.to_numpy().astype(np.int64, copy=False)
        uniques: list[Any] = [_py(v) for v in native.cat.categories]
        if (cat_codes < 0).any():
            cat_codes = np.where(cat_codes < 0, len(uniques), cat_codes)
            uniques.append(None)
        return cat_codes, uniques
    if not isinstance(native, np.ndarray | pd.Series | pd.Index):
        arrow = _to_arrow(native)
        if arrow is not None:
            return _factorize_arrow(arrow)
    codes, uniq = pd.factorize(
        np.asarray(native) if not isinstance(native, pd.Series) else native, use_na_sentinel=True
    )
    codes = codes.astype(np.int64, copy=False)
    uniques = [_py(v) for v in uniq]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        uniques.append(None)
    return codes, uniques


def _to_arrow(native: Any) -> pa.Array | pa.ChunkedArray | None:
    if isinstance(native, pa.Array | pa.ChunkedArray):
        return native
    to_arrow = getattr(native, "to_arrow", None)
    if callable(to_arrow):
        result = to_arrow()
        if isinstance(result, pa.Array | pa.ChunkedArray):
            return result
    return None


def _factorize_arrow(arrow: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    if pa.types.is_dictionary(arrow.type):
        arrow = arrow.cast(arrow.type.value_type)
    encoded = pc.dictionary_encode(arrow, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    uniques = [_py(v) for v in encoded.dictionary.to_pylist()]
    return codes, uniques


def _py(value: Any) -> Any:
    """Normalise a scalar to a plain Python value (``None`` for every kind of missing)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def read_data_file(path: str | Path) -> nw.DataFrame[Any]:
    """Read a Parquet, CSV/TSV or Arrow IPC file into an eager (polars-backed) narwhals frame.

    Raises
    ------
    DataError
        When the file is missing, of an unsupported format, or unreadable.
    """
    import polars as pl

    source = Path(path)
    if not source.exists():
        raise DataError(f"data file {source} does not exist", hint="check the path")
    suffix = source.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            native = pl.read_parquet(source)
        elif suffix in (".csv", ".tsv"):
            native = pl.read_csv(
                source, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=10_000
            )
        elif suffix in (".arrow", ".feather", ".ipc"):
            native = pl.read_ipc(source)
        else:
            raise DataError(
                f"data file {source} has an unsupported format '{suffix}'",
                hint=f"use one of {', '.join(SUPPORTED_DATA_FILES)}",
            )
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"cannot read data file {source}: {exc}",
            hint="check that the file is a valid " + suffix.lstrip(".") + " file",
        ) from exc
    return nw.from_native(native, eager_only=True)


def schema_of(frame: AnyFrame) -> dict[str, str]:
    """Column name to narwhals dtype name."""
    return {name: str(dtype) for name, dtype in frame.collect_schema().items()}


def fingerprint_frame(
    frame: AnyFrame, *, kind: str = "data", path: str | Path | None = None
) -> Fingerprint:
    """Fingerprint data: the file's bytes when it came from a file, else its Arrow IPC bytes.

    Parameters
    ----------
    frame
        The data.
    kind
        What the data is for (``"data"``, ``"baseline_data"``, ``"train_data"``).
    path
        The file the frame was read from, if any.
    """
    schema = schema_of(frame)
    if path is not None:
        source = Path(path)
        return Fingerprint(
            kind=kind,
            sha256=sha256_file(source),
            path=str(source),
            size_bytes=source.stat().st_size,
            rows=num_rows(frame),
            columns=schema,
            format=source.suffix.lstrip(".").lower() or None,
        )
    if is_lazy(frame):
        raise DataError(
            "cannot fingerprint a lazy frame without its source path",
            hint="pass the file path the data was read from",
        )
    assert isinstance(frame, nw.DataFrame)
    table = frame.to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    buffer = sink.getvalue()
    return Fingerprint(
        kind=kind,
        sha256=sha256_bytes(buffer.to_pybytes()),
        rows=table.num_rows,
        columns=schema,
        size_bytes=buffer.size,
        format="arrow-ipc",
    )


def finite_floats(values: Any, role: str) -> np.ndarray:
    """Values as a 1-d ``float64`` array, refusing non-numeric, missing and infinite values.

    Parameters
    ----------
    values
        Array-like of numbers.
    role
        What the values are (``"target"``, ``"score"``), used in the error message.

    Raises
    ------
    DataError
        Naming how many values are missing or infinite, with what to do.
    """
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{role} must be numeric: {exc}", hint=f"convert the {role} values to numbers"
        ) from exc
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise DataError(
            f"{role} has {bad} missing or infinite values out of {arr.size}",
            hint=f"drop or fill the rows without a finite {role}",
        )
    return arr
