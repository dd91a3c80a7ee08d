"""The profile model: each column's summary (:class:`ColumnProfile`) in a :class:`DataProfile`.

Column kinds and their inference, the embedding sample, merging, and the JSON form the
registry stores (``charter.profile`` version 1) live here; :mod:`~charter.stats.profile.eager`
and :mod:`~charter.stats.profile.lazy` build profiles from frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import narwhals as nw
import numpy as np

from charter.errors import DataError
from charter.stats.histogram import (
    CategoryCounts,
    NumericHistogram,
)

PROFILE_FORMAT = "charter.profile"
PROFILE_VERSION = 1
#: Evidently 0.7 treats an integer column with at most this many distinct values as categorical.
INTEGER_CARDINALITY_LIMIT = 10
#: Evidently 0.7 treats a string column whose distinct values exceed this share of its non-null
#: rows as text (not compared by the categorical tests).
TEXT_UNIQUE_SHARE = 0.5
#: Distinct values up to which a numeric column is kept exactly (value by value).
MAX_ATOMS = 1000
DEFAULT_BINS = 100
EMBEDDING_SAMPLE = 1000

T = TypeVar("T")


class ColumnKind(StrEnum):
    """How a column is compared."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    TEXT = "text"
    """High-cardinality strings (ids, free text): profiled for nulls only, not drift-tested."""
    DATETIME = "datetime"
    EMBEDDING = "embedding"
    UNKNOWN = "unknown"


def infer_kind(
    dtype: Any,
    *,
    nunique: Callable[[], int],
    count: Callable[[], int],
    first_value: Callable[[], Any] | None = None,
) -> ColumnKind:
    """Column kind by Evidently 0.7's rule (``evidently.core.datasets.infer_column_type``).

    * float → numerical;
    * integer → categorical with at most 10 distinct non-null values, else numerical;
    * string → text when distinct values exceed half the non-null rows, else categorical;
    * boolean, categorical, enum → categorical; date and time → datetime;
    * list or array of numbers → embedding (Evidently: list, not drift-tested by default).

    Charter also applies the rule to nullable integer, float and boolean columns, which
    Evidently classes as unknown and leaves out.

    Parameters
    ----------
    dtype
        A narwhals dtype.
    nunique, count
        Callables giving the number of distinct non-null values and of non-null rows (only
        called when the dtype needs them).
    first_value
        Callable giving the first non-null value, for object columns.
    """
    if dtype.is_float() or dtype == nw.Decimal:
        return ColumnKind.NUMERICAL
    if dtype.is_integer():
        return (
            ColumnKind.CATEGORICAL
            if nunique() <= INTEGER_CARDINALITY_LIMIT
            else ColumnKind.NUMERICAL
        )
    if dtype == nw.String:
        return (
            ColumnKind.TEXT if nunique() > count() * TEXT_UNIQUE_SHARE else ColumnKind.CATEGORICAL
        )
    if dtype in (nw.Boolean, nw.Categorical) or isinstance(dtype, nw.Enum) or dtype == nw.Enum:
        return ColumnKind.CATEGORICAL
    if dtype in (nw.Datetime, nw.Date, nw.Duration) or isinstance(dtype, nw.Datetime | nw.Duration):
        return ColumnKind.DATETIME
    if isinstance(dtype, nw.List | nw.Array) or dtype in (nw.List, nw.Array):
        return ColumnKind.EMBEDDING
    if dtype == nw.Object and first_value is not None:
        value = first_value()
        if isinstance(value, str):
            return (
                ColumnKind.TEXT
                if nunique() > count() * TEXT_UNIQUE_SHARE
                else ColumnKind.CATEGORICAL
            )
        if isinstance(value, list | tuple | np.ndarray):
            return ColumnKind.EMBEDDING
    return ColumnKind.UNKNOWN


@dataclass(frozen=True, eq=False)
class EmbeddingSample:
    """A uniform sample of the vectors of an embedding column, with their count and mean.

    Attributes
    ----------
    vectors
        ``float32`` array ``(sample, dim)``.
    count
        Vectors seen (the sample is uniform over them).
    total
        ``float64`` sum of every vector seen (for the mean).
    """

    vectors: np.ndarray
    count: int
    total: np.ndarray

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def merge(self, other: EmbeddingSample, *, limit: int = EMBEDDING_SAMPLE) -> EmbeddingSample:
        """Combine two samples into a uniform sample of the union (seeded, reproducible)."""
        if self.count == 0:
            return other
        if other.count == 0:
            return self
        if self.dim != other.dim:
            raise ValueError(f"embedding dimensions differ: {self.dim} and {other.dim}")
        size = min(limit, len(self.vectors) + len(other.vectors))
        rng = np.random.default_rng(self.count * 1_000_003 + other.count)
        share = self.count / (self.count + other.count)
        take_self = min(len(self.vectors), int(rng.binomial(size, share)))
        take_other = min(len(other.vectors), size - take_self)
        take_self = min(len(self.vectors), size - take_other)
        a = self.vectors[rng.choice(len(self.vectors), take_self, replace=False)]
        b = other.vectors[rng.choice(len(other.vectors), take_other, replace=False)]
        return EmbeddingSample(
            np.concatenate([a, b]), self.count + other.count, self.total + other.total
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"vectors": self.vectors.tolist(), "count": self.count, "total": self.total.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbeddingSample:
        """Inverse of :meth:`to_dict`."""
        vectors = np.asarray(data["vectors"], dtype=np.float32)
        total = np.asarray(data["total"], dtype=np.float64)
        return cls(vectors.reshape(-1, total.size), int(data["count"]), total)


def embedding_sample(
    values: Any, *, limit: int = EMBEDDING_SAMPLE, seed: int = 0
) -> EmbeddingSample:
    """Sample the vectors of an embedding column (a list/array column or a 2-d array)."""
    matrix = _as_matrix(values)
    rng = np.random.default_rng(seed)
    rows = matrix.shape[0]
    pick = np.sort(rng.choice(rows, min(limit, rows), replace=False)) if rows > limit else None
    sample = matrix if pick is None else matrix[pick]
    return EmbeddingSample(sample.astype(np.float32), rows, matrix.sum(axis=0, dtype=np.float64))


def _as_matrix(values: Any) -> np.ndarray:
    if isinstance(values, nw.Series):
        native = values.to_native()
        to_arrow = getattr(native, "to_arrow", None)
        if callable(to_arrow):
            import pyarrow as pa

            arrow = to_arrow()
            if isinstance(arrow, pa.ChunkedArray):
                arrow = arrow.combine_chunks()
            if (
                pa.types.is_list(arrow.type)
                or pa.types.is_large_list(arrow.type)
                or pa.types.is_fixed_size_list(arrow.type)
            ):
                if arrow.null_count:
                    raise DataError(
                        f"embedding column '{values.name}' has {arrow.null_count} null vectors",
                        hint="drop the rows without an embedding before monitoring",
                    )
                flat = arrow.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
                return flat.reshape(len(arrow), -1) if len(arrow) else flat.reshape(0, 0)
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype == object:
        if any(v is None for v in arr):
            raise DataError(
                "an embedding column has null vectors",
                hint="drop the rows without an embedding before monitoring",
            )
        arr = np.stack([np.asarray(v, dtype=np.float64) for v in arr]) if arr.size else arr
    if arr.ndim != 2:
        raise DataError(
            "an embedding column must hold vectors of one length",
            hint="store each embedding as a fixed-length list or array of numbers",
        )
    return arr.astype(np.float64, copy=False)


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """What is kept of one column.

    Attributes
    ----------
    name, kind, dtype
        Column name, how it is compared, and its narwhals dtype.
    rows
        Rows seen (including nulls).
    nulls
        Null rows (plus NaN and infinite values of numeric columns).
    numeric, categories, embedding
        The summary for the column's kind (the others are ``None``).
    """

    name: str
    kind: ColumnKind
    dtype: str
    rows: int
    nulls: int
    numeric: NumericHistogram | None = None
    categories: CategoryCounts | None = None
    embedding: EmbeddingSample | None = None

    @property
    def count(self) -> int:
        """Non-null rows."""
        return self.rows - self.nulls

    @property
    def null_fraction(self) -> float:
        """Share of null rows (NaN for no rows)."""
        return self.nulls / self.rows if self.rows else math.nan

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """Add another profile of the same column (same kind and grid)."""
        if other.kind is not self.kind:
            raise ValueError(f"column '{self.name}' is {self.kind} here and {other.kind} there")
        return ColumnProfile(
            name=self.name,
            kind=self.kind,
            dtype=self.dtype,
            rows=self.rows + other.rows,
            nulls=self.nulls + other.nulls,
            numeric=_merge_opt(self.numeric, other.numeric, lambda a, b: a.merge(b)),
            categories=_merge_opt(self.categories, other.categories, lambda a, b: a.merge(b)),
            embedding=_merge_opt(self.embedding, other.embedding, lambda a, b: a.merge(b)),
        )

    def empty_like(self) -> ColumnProfile:
        """A profile of no rows over the same grid (for an empty window)."""
        return ColumnProfile(
            name=self.name,
            kind=self.kind,
            dtype=self.dtype,
            rows=0,
            nulls=0,
            numeric=NumericHistogram.empty(self.numeric.grid) if self.numeric else None,
            categories=CategoryCounts() if self.categories is not None else None,
            embedding=(
                EmbeddingSample(
                    np.zeros((0, self.embedding.dim), np.float32), 0, np.zeros(self.embedding.dim)
                )
                if self.embedding
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "dtype": self.dtype,
            "rows": self.rows,
            "nulls": self.nulls,
        }
        if self.numeric is not None:
            out["numeric"] = self.numeric.to_dict()
        if self.categories is not None:
            out["categories"] = self.categories.to_dict()
        if self.embedding is not None:
            out["embedding"] = self.embedding.to_dict()
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=name,
            kind=ColumnKind(data["kind"]),
            dtype=str(data["dtype"]),
            rows=int(data["rows"]),
            nulls=int(data["nulls"]),
            numeric=NumericHistogram.from_dict(data["numeric"]) if "numeric" in data else None,
            categories=CategoryCounts.from_dict(data["categories"])
            if "categories" in data
            else None,
            embedding=EmbeddingSample.from_dict(data["embedding"]) if "embedding" in data else None,
        )


def _merge_opt(a: T | None, b: T | None, merge: Callable[[T, T], T]) -> T | None:
    if a is None:
        return b
    if b is None:
        return a
    return merge(a, b)


@dataclass(frozen=True, eq=False)
class DataProfile:
    """Profiles of the columns of a frame: a reference, or new data over a reference's grids.

    Attributes
    ----------
    columns
        Column name to :class:`ColumnProfile`, in the frame's order.
    rows
        Rows profiled.
    bins
        Quantile bins of numeric grids (when built as a reference).
    max_atoms
        Distinct values up to which numeric columns were kept exactly.
    created_at
        When the profile was built (UTC).
    start, end
        The time window the rows fall in, for a windowed summary of new data.
    meta
        JSON-able facts about how the profile was made; the registry records here which
        columns hold the model's outputs (``model_outputs``: ``{"score": ..., "prediction":
        ...}``, the rows they were computed on), which monitoring reads.
    """

    columns: dict[str, ColumnProfile]
    rows: int
    bins: int = DEFAULT_BINS
    max_atoms: int = MAX_ATOMS
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    start: datetime | None = None
    end: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def schema(self) -> dict[str, str]:
        """Column name to kind."""
        return {n: c.kind.value for n, c in self.columns.items()}

    def merge(self, other: DataProfile) -> DataProfile:
        """Add the rows of another profile over the same grids (e.g. two windows).

        Columns present on one side only are kept as they are.
        """
        merged = dict(self.columns)
        for name, col in other.columns.items():
            merged[name] = merged[name].merge(col) if name in merged else col
        starts = [t for t in (self.start, other.start) if t is not None]
        ends = [t for t in (self.end, other.end) if t is not None]
        return replace(
            self,
            columns=merged,
            rows=self.rows + other.rows,
            start=min(starts) if starts else None,
            end=max(ends) if ends else None,
        )

    __add__ = merge

    def empty_like(
        self, *, start: datetime | None = None, end: datetime | None = None
    ) -> DataProfile:
        """No rows over the same grids."""
        return DataProfile(
            {n: c.empty_like() for n, c in self.columns.items()},
            0,
            self.bins,
            self.max_atoms,
            start=start,
            end=end,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what the registry stores for a model version)."""
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "rows": self.rows,
            "bins": self.bins,
            "max_atoms": self.max_atoms,
            "created_at": self.created_at.isoformat(),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "columns": {n: c.to_dict() for n, c in self.columns.items()},
            **({"meta": self.meta} if self.meta else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataProfile:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        DataError
            When ``data`` is not a Charter profile or of a newer format version.
        """
        if not isinstance(data, Mapping) or data.get("format") != PROFILE_FORMAT:
            raise DataError(
                "this is not a Charter data profile",
                hint="pass a profile written by build_profile(...).write(), or a data file",
            )
        if int(data.get("version", 0)) > PROFILE_VERSION:
            raise DataError(
                f"profile format version {data['version']} is newer than this Charter"
                f" understands ({PROFILE_VERSION})",
                hint="upgrade charter-governance",
            )
        return cls(
            columns={n: ColumnProfile.from_dict(n, c) for n, c in data["columns"].items()},
            rows=int(data["rows"]),
            bins=int(data.get("bins", DEFAULT_BINS)),
            max_atoms=int(data.get("max_atoms", MAX_ATOMS)),
            created_at=datetime.fromisoformat(data["created_at"]),
            start=datetime.fromisoformat(data["start"]) if data.get("start") else None,
            end=datetime.fromisoformat(data["end"]) if data.get("end") else None,
            meta=dict(data.get("meta") or {}),
        )

    def to_json(self) -> str:
        """Compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    def write(self, path: str | Path) -> Path:
        """Write the profile as JSON and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def read(cls, path: str | Path) -> DataProfile:
        """Read a profile written by :meth:`write`."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(
                f"profile file {source} does not exist", hint="check the path"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"profile file {source} is not valid JSON: {exc}",
                hint="pass a profile written by Charter, or a Parquet/CSV data file",
            ) from None
        return cls.from_dict(data)


# -- building a reference profile ---------------------------------------------------------------
