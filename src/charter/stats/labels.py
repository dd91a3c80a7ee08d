"""True and predicted labels as 0/1: the validation every labelled statistic starts from.

:func:`binary_labels` maps a column of labels (numbers, booleans or strings) to 0/1 with the
favourable label as 1, and says what is wrong when it cannot (missing values, more than two
classes, a favourable label that never occurs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from charter.errors import DataError
from charter.stats.frames import (
    factorize,
)


def binary_labels(values: np.ndarray, *, pos_label: Any = 1, role: str = "y_true") -> np.ndarray:
    """Validate binary labels and return them as 0/1 ``int64``.

    Parameters
    ----------
    values
        Labels: bool, integers, floats or strings.
    pos_label
        The value that counts as positive. The other value present counts as negative.
    role
        Name used in error messages.

    Raises
    ------
    DataError
        On missing values, more than two distinct values, or a string label set that does not
        contain ``pos_label``.
    """
    arr = np.asarray(values)
    if arr.dtype == np.bool_:
        return arr.view(np.uint8).astype(np.int64)
    if arr.dtype.kind in "iu":
        if arr.size and pos_label in (0, 1):
            lo, hi = int(arr.min()), int(arr.max())
            if lo >= 0 and hi <= 1:
                return arr.astype(np.int64, copy=False) if pos_label == 1 else 1 - arr
        return _binary_general(arr, pos_label, role)
    if arr.dtype.kind == "f":
        nan = int(np.isnan(arr).sum())
        if nan:
            raise DataError(
                f"{role} has {nan} missing (NaN) values out of {arr.size}",
                hint=f"drop the rows without {role} or fill them before running the check",
            )
        if arr.size and pos_label in (0, 1):
            flo, fhi = float(arr.min()), float(arr.max())
            if flo >= 0.0 and fhi <= 1.0 and bool(((arr == 0.0) | (arr == 1.0)).all()):
                out = (arr == 1.0).astype(np.int64)
                return out if pos_label == 1 else 1 - out
        return _binary_general(arr, pos_label, role)
    return _binary_general(arr, pos_label, role)


def _binary_general(arr: np.ndarray, pos_label: Any, role: str) -> np.ndarray:
    codes, uniques = factorize(arr)
    if None in uniques:
        missing = int((codes == uniques.index(None)).sum())
        raise DataError(
            f"{role} has {missing} missing values out of {arr.size}",
            hint=f"drop the rows without {role} or fill them before running the check",
        )
    if len(uniques) > 2:
        shown = ", ".join(repr(u) for u in sorted(uniques, key=str)[:6])
        message = (
            f"{role} must be binary for this metric but has {len(uniques)} distinct values"
            f" ({shown}{' ...' if len(uniques) > 6 else ''})"
        )
        if role in ("prediction", "y_pred", "predictions") and _look_like_scores(uniques):
            raise DataError(
                message + "; they look like scores (numbers between 0 and 1)",
                hint="pass scores with --scores COLUMN (the policy's data.score) and set"
                " performance.threshold (default 0.5) to turn them into decisions;"
                " --predictions takes the decisions themselves (0/1)",
            )
        raise DataError(
            message,
            hint=f"binarise the {role} before the check (e.g. a column y >= threshold); then set"
            " data.positive_label in the policy to the favourable value (positive_label= in"
            " Python)",
        )
    if pos_label not in uniques:
        if len(uniques) == 2 or not all(isinstance(u, int | float) for u in uniques):
            values = sorted(uniques, key=str)
            raise DataError(
                f"{role} values {values} do not include the positive label {pos_label!r}",
                hint="set data.positive_label in the policy to the value that means the"
                f" favourable outcome, one of {', '.join(repr(v) for v in values)}"
                " (positive_label= in Python)",
            )
        return np.zeros(arr.size, dtype=np.int64)
    positive = uniques.index(pos_label)
    return (codes == positive).astype(np.int64)


def _look_like_scores(uniques: list[Any]) -> bool:
    numbers = [u for u in uniques if isinstance(u, int | float | np.number)]
    return len(numbers) == len(uniques) and all(0.0 <= float(u) <= 1.0 for u in numbers)


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value


def _label_map(values: set[Any], pos_label: Any, role: str) -> dict[Any, int]:
    """Map the distinct label values an engine returned to 0/1, validating as the eager path."""
    arr = np.array(sorted(values, key=lambda v: (v is None, str(v))), dtype=object)
    if any(v is None or (isinstance(v, float) and v != v) for v in values):
        raise DataError(
            f"{role} has missing values",
            hint=f"drop the rows without {role} or fill them before running the check",
        )
    mapped = binary_labels(arr, pos_label=pos_label, role=role)
    return {v: int(m) for v, m in zip(arr.tolist(), mapped.tolist(), strict=True)}
