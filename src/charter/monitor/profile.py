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

from charter.errors import DataError
from charter.monitor.logs import scan_lazy
from charter.stats.profile import (
    DEFAULT_BINS,
    MAX_ATOMS,
    ColumnKind,
    ColumnProfile,
    DataProfile,
    build_profile,
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
    relation = scan_lazy(path)
    return build_profile(relation, columns=columns, bins=bins, max_atoms=max_atoms, kinds=kinds)


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
