"""Drift of a column and of a dataset from two profiles, with Evidently's choice of test."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from charter.stats.drift.model import (
    BINARY_VALUES,
    FEW_VALUES,
    METHODS,
    SMALL_REFERENCE_ROWS,
    ColumnDrift,
    DatasetDrift,
    DriftMethod,
)
from charter.stats.drift.statistics import _categorical_score, _nonzero, _numeric_score
from charter.stats.histogram import NumericHistogram
from charter.stats.profile import ColumnKind, ColumnProfile, DataProfile

# -- distinct values and the selection rule --------------------------------------------------


def distinct_values(reference: ColumnProfile, current: ColumnProfile) -> int:
    """Distinct non-null values of reference and current together (as ``pd.concat.nunique``).

    Numeric columns on a quantile grid have more than 1,000 distinct reference values; that is
    returned as ``reference.max_atoms + 1`` would be, i.e. "many".
    """
    if reference.kind is ColumnKind.CATEGORICAL:
        assert reference.categories is not None and current.categories is not None
        keys = {v for v, n in zip(*_nonzero(reference.categories), strict=True)}
        keys |= {v for v, n in zip(*_nonzero(current.categories), strict=True)}
        return len(keys)
    ref, cur = _numeric(reference), _numeric(current)
    if not ref.grid.atomic:
        return 10**9
    present = (ref.point_counts() > 0) | (cur.point_counts() > 0)
    extra = cur.distinct_new if not cur.new_values_overflow else 10**9
    if cur.interval_counts().any() and extra == 0:
        extra = 1
    return int(present.sum()) + extra


def select_method(reference: ColumnProfile, current: ColumnProfile) -> DriftMethod:
    """Evidently 0.7's default test for a column (see the module notes).

    Raises
    ------
    ValueError
        For kinds Evidently does not test this way (text, datetime, embeddings).
    """
    if reference.kind not in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL):
        raise ValueError(f"no default drift test for {reference.kind} columns")
    n_values = distinct_values(reference, current)
    if reference.count <= SMALL_REFERENCE_ROWS:
        if reference.kind is ColumnKind.NUMERICAL and n_values > FEW_VALUES:
            return DriftMethod.KS
        return DriftMethod.CHISQUARE if n_values > BINARY_VALUES else DriftMethod.Z
    if reference.kind is ColumnKind.NUMERICAL and n_values > FEW_VALUES:
        return DriftMethod.WASSERSTEIN
    return DriftMethod.JENSENSHANNON


# -- the column drift -------------------------------------------------------------------------


def column_drift(
    reference: ColumnProfile,
    current: ColumnProfile,
    *,
    method: DriftMethod | str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of one column.

    Parameters
    ----------
    reference, current
        Profiles of the column; ``current`` summarised over ``reference``'s grid.
    method
        A :class:`DriftMethod` name, or ``None``/``"auto"`` for Evidently's selection.
    threshold
        Override the method's default threshold.

    Returns
    -------
    ColumnDrift
        With ``reason`` set (and no verdict) when the column cannot be compared: empty
        current data, all-null columns, text/datetime columns, a method that does not apply.
    """
    name, kind = reference.name, reference.kind
    details = _describe(reference, current)

    def skipped(reason: str, chosen: DriftMethod | None = None) -> ColumnDrift:
        spec = METHODS.get(chosen) if chosen else None
        return ColumnDrift(
            name,
            kind,
            chosen,
            math.nan,
            threshold if threshold is not None else (spec.default_threshold if spec else math.nan),
            False,
            False,
            reference.count,
            current.count,
            reason=reason,
            details=details,
        )

    if kind not in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL):
        return skipped(f"{kind.value} columns are not drift-tested by value")
    if current.kind is not kind:
        return skipped(f"the column is {current.kind.value} now and {kind.value} in the reference")
    if reference.count == 0:
        return skipped("the reference column has no non-null values")
    if current.count == 0:
        reason = "no rows" if current.rows == 0 else "every current value is null"
        return skipped(reason)
    if method is None or method == "auto":
        chosen = select_method(reference, current)
    else:
        chosen = DriftMethod(method)
    spec = METHODS[chosen]
    if kind not in spec.kinds:
        return skipped(f"{chosen.value} applies to numerical columns only", chosen)
    limit = spec.default_threshold if threshold is None else threshold
    if kind is ColumnKind.CATEGORICAL:
        assert reference.categories is not None and current.categories is not None
        score, exact = _categorical_score(chosen, reference.categories, current.categories)
    else:
        score, exact = _numeric_score(chosen, _numeric(reference), _numeric(current))
    return ColumnDrift(
        name,
        kind,
        chosen,
        float(score),
        float(limit),
        spec.drifted(float(score), float(limit)),
        exact,
        reference.count,
        current.count,
        details=details,
    )


def dataset_drift(
    reference: DataProfile,
    current: DataProfile,
    *,
    columns: Sequence[str] | None = None,
    method: DriftMethod | str | None = None,
    threshold: float | None = None,
    per_column: Mapping[str, tuple[DriftMethod | str | None, float | None]] | None = None,
    drift_share: float = 0.5,
) -> DatasetDrift:
    """Drift of every column present in both profiles, and Evidently's dataset drift.

    Parameters
    ----------
    reference, current
        The reference profile and current data summarised over its grids.
    columns
        Columns to compare (default: the reference's numerical and categorical columns).
    method, threshold
        For every column (default: Evidently's selection and thresholds).
    per_column
        Column to ``(method, threshold)`` overrides.
    drift_share
        Share of drifted columns at which the dataset counts as drifted.
    """
    overrides = per_column or {}
    names = (
        list(columns)
        if columns is not None
        else [
            n
            for n, c in reference.columns.items()
            if c.kind in (ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL)
        ]
    )
    results = []
    for name in names:
        ref = reference.columns[name]
        cur = current.columns.get(name)
        if cur is None:
            results.append(
                ColumnDrift(
                    name,
                    ref.kind,
                    None,
                    math.nan,
                    math.nan,
                    False,
                    False,
                    ref.count,
                    0,
                    reason="the column is missing from the current data",
                )
            )
            continue
        col_method, col_threshold = overrides.get(name, (method, threshold))
        results.append(
            column_drift(
                ref,
                cur,
                method=col_method if col_method is not None else method,
                threshold=col_threshold if col_threshold is not None else threshold,
            )
        )
    return DatasetDrift(tuple(results), drift_share)


def _numeric(profile: ColumnProfile) -> NumericHistogram:
    if profile.numeric is None:
        raise ValueError(f"column '{profile.name}' has no numeric histogram")
    return profile.numeric


def _describe(reference: ColumnProfile, current: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference_null_fraction": _round(reference.null_fraction),
        "current_null_fraction": _round(current.null_fraction),
    }
    if reference.categories is not None and current.categories is not None:
        known = set(reference.categories.values)
        new = [v for v in _nonzero(current.categories)[0] if v not in known]
        if new:
            out["new_categories"] = [_jsonable(v) for v in new[:20]]
            counts = current.categories.as_dict()
            out["new_category_rows"] = int(sum(counts[v] for v in new))
        gone = [
            v
            for v in _nonzero(reference.categories)[0]
            if current.categories.as_dict().get(v, 0) == 0
        ]
        if gone and current.count:
            out["missing_categories"] = [_jsonable(v) for v in gone[:20]]
    if reference.numeric is not None and current.numeric is not None:
        out["reference_mean"] = _round(reference.numeric.mean)
        out["current_mean"] = _round(current.numeric.mean)
        out["reference_std"] = _round(reference.numeric.std)
        out["current_std"] = _round(current.numeric.std)
        discrete = reference.numeric.point_counts().size * 2 <= reference.count
        if reference.numeric.grid.atomic and discrete and current.numeric.new_values:
            out["new_values"] = list(current.numeric.new_values)
    return out


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
