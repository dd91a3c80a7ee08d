"""Numeric conventions shared by the statistics: undefined is NaN, weights are checked once.

* :func:`finite_or_none`: a number for JSON and reports, ``None`` when NaN or infinite.
* :func:`safe_ratio`: ``num / den`` where ``den > 0``, NaN elsewhere (an undefined rate is NaN,
  never 0, and never a division warning).
* :func:`validate_weights`: sample weights as a float array, one finite non-negative value per
  row, or a :class:`~charter.errors.DataError` saying what to fix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from charter.errors import DataError


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def safe_ratio(num: Any, den: Any) -> np.ndarray:
    """``num / den`` (broadcast) where ``den > 0``; NaN where ``den`` is 0, negative or NaN."""
    top, bottom = np.broadcast_arrays(
        np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    )
    out = np.full(top.shape, np.nan)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def validate_weights(values: Any, n: int) -> np.ndarray:
    """Sample weights as a float array of ``n`` finite, non-negative values.

    Raises
    ------
    DataError
        When the number of weights differs from ``n``, or a weight is NaN, infinite or
        negative.
    """
    w = np.asarray(values, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise DataError(
            f"sample_weight has {w.shape[0]} values for {n} rows", hint="pass one weight per row"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError(
            "sample_weight must be finite and non-negative",
            hint="drop or fix rows with NaN, infinite or negative weights",
        )
    return w
