"""Reference profiles for monitoring: built at registration, compared against in production.

This is the interface the registry uses: when a model version is registered with its
training or validation data, :func:`build_profile` summarises that data into a compact,
mergeable :class:`DataProfile`, whose :meth:`~DataProfile.to_dict` the registry stores and
:meth:`DataProfile.from_dict` restores. Monitoring then never needs the raw reference again.

:func:`profile_file` profiles a Parquet or CSV file (or a directory of Parquet files) that
may be larger than memory, through DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from charter.errors import DataError
from charter.stats.profile import (
    DEFAULT_BINS,
    EMBEDDING_SAMPLE,
    MAX_ATOMS,
    ColumnKind,
    ColumnProfile,
    DataProfile,
)
from charter.stats.profile import build_profile as _build_profile


def build_profile(
    frame: Any,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_atoms: int = MAX_ATOMS,
    kinds: Mapping[str, ColumnKind | str] | None = None,
    embedding_sample_size: int = EMBEDDING_SAMPLE,
    seed: int = 0,
    workers: int | None = None,
) -> DataProfile:
    """Profile reference data (training or validation) for later drift monitoring.

    Parameters
    ----------
    frame
        pandas, polars (eager or lazy), pyarrow, DuckDB relation, Spark DataFrame or narwhals.
    columns
        Columns to keep (default: all). Include the prediction column to monitor prediction
        drift, and embedding columns to monitor embedding drift.
    bins
        Quantile bins of numeric columns with more than ``max_atoms`` distinct values.
    max_atoms
        Numeric columns with at most this many distinct values (every column of a reference
        of at most this many rows) are kept value by value, which the exact tests on small
        references need.
    kinds
        Override inferred column kinds (``numerical``, ``categorical``, ``embedding``, ...).
    embedding_sample_size
        Vectors kept per embedding column.
    seed
        Seed of the embedding sample.
    workers
        Threads used for the columns of an eager frame.

    Returns
    -------
    DataProfile
        ``profile.to_dict()`` is JSON-able; ``DataProfile.from_dict(d)`` restores it.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [25, 31, 47, 31], "city": ["a", "b", "a", "a"]})
    >>> profile = build_profile(frame)
    >>> sorted(profile.schema.items())
    [('age', 'categorical'), ('city', 'categorical')]
    """
    return _build_profile(
        frame,
        columns=columns,
        bins=bins,
        max_atoms=max_atoms,
        kinds=kinds,
        embedding_sample_size=embedding_sample_size,
        seed=seed,
        workers=workers,
    )


def profile_file(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_atoms: int = MAX_ATOMS,
    kinds: Mapping[str, ColumnKind | str] | None = None,
) -> DataProfile:
    """Profile a Parquet/CSV file, a directory or a glob of Parquet files, out of core.

    The file is scanned by DuckDB; only aggregates come back, so the file may be larger than
    memory.
    """
    from charter.monitor.logs import scan_lazy

    relation = scan_lazy(path)
    return _build_profile(relation, columns=columns, bins=bins, max_atoms=max_atoms, kinds=kinds)


def read_profile(path: str | Path) -> DataProfile:
    """Read a profile written by :meth:`DataProfile.write` (a ``.json`` file)."""
    source = Path(path)
    if source.suffix.lower() != ".json":
        raise DataError(
            f"{source} is not a profile (.json)",
            hint="profile data files with build_profile or profile_file first",
        )
    return DataProfile.read(source)


__all__ = [
    "ColumnKind",
    "ColumnProfile",
    "DataProfile",
    "build_profile",
    "profile_file",
    "read_profile",
]
