"""The frames, group keys and random draws of the mitigated models in :mod:`charter.mitigate`.

The fairlearn wrappers keep their groups as one string key per row (the sensitive values
joined with ``" | "``), look rows up among the groups seen when fitting, and draw randomised
decisions with a fixed seed exactly as fairlearn's ``predict(..., random_state=seed)`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
from sklearn.utils.validation import check_is_fitted

from charter.errors import DataError
from charter.stats.frames import require_columns, to_frame

#: Joins the sensitive values of a row into its group key.
KEY_SEPARATOR = " | "


def draw_decisions(positive: np.ndarray, seed: int) -> np.ndarray:
    """Draw decisions as fairlearn does: ``1`` where ``p >= U(0, 1)``, with a fixed seed."""
    uniform = np.random.RandomState(seed).rand(len(positive))
    return (positive >= uniform).astype(np.int64)


def soft_scores(estimator: Any, x: Any, method: str) -> np.ndarray:
    """The estimator's scores for the positive class by ``method`` (proba, decision, predict)."""
    if method == "predict_proba":
        return np.asarray(estimator.predict_proba(x))[:, 1]
    if method == "decision_function":
        return np.asarray(estimator.decision_function(x))
    return np.asarray(estimator.predict(x), dtype=np.float64)


def group_keys(frame: Any, sensitive: Sequence[str]) -> np.ndarray:
    """One string key per row: the sensitive values joined with ``" | "``."""
    parts = [frame[c].astype(str).to_numpy() for c in sensitive]
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=object)
    joined = parts[0].astype(object)
    for part in parts[1:]:
        joined = joined + KEY_SEPARATOR + part.astype(object)
    return np.asarray(joined, dtype=object)


def group_positions(keys: np.ndarray, known: Sequence[str]) -> np.ndarray:
    """The index of each row's key among the groups ``known`` at fit time (unknown: DataError)."""
    position = {k: i for i, k in enumerate(known)}
    unknown = sorted({k for k in keys.tolist() if k not in position})
    if unknown:
        raise DataError(
            f"group(s) {unknown[:5]} were not seen when the thresholds were fitted",
            hint=f"the model knows the groups {list(known)}; refit it on data that holds every"
            " group",
        )
    return np.fromiter((position[k] for k in keys.tolist()), dtype=np.int64, count=len(keys))


def wrapper_features(frame: Any, features: Sequence[str] | None, sensitive: list[str]) -> list[str]:
    """The wrapped model's features: ``features``, else every column but the sensitive ones."""
    if features is not None:
        return list(features)
    return [str(c) for c in frame.columns if c not in sensitive]


def eager_frame(data: Any) -> nw.DataFrame[Any]:
    """``data`` as an eager narwhals frame (a lazy one is collected)."""
    frame = to_frame(data)
    if isinstance(frame, nw.LazyFrame):
        return frame.collect()
    return frame


def pandas_frame(x: Any) -> Any:
    """``x`` as a pandas DataFrame (unchanged when it is one)."""
    import pandas as pd

    if isinstance(x, pd.DataFrame):
        return x
    frame = eager_frame(x)
    return frame.to_pandas()


def model_features(
    model: Any,
    frame: nw.DataFrame[Any],
    target: str,
    sensitive: list[str],
    features: Sequence[str] | None,
) -> list[str]:
    """The model's input columns: ``features``, its ``feature_names_in_``, or the rest."""
    if features is not None:
        chosen = list(features)
    elif getattr(model, "feature_names_in_", None) is not None:
        chosen = [str(c) for c in model.feature_names_in_]
    else:
        chosen = [c for c in frame.columns if c != target and c not in sensitive]
    require_columns(frame, chosen, role="model feature")
    return chosen


def fitted(model: Any) -> bool:
    """Whether scikit-learn considers ``model`` fitted."""
    try:
        check_is_fitted(model)
    except Exception:
        return False
    return True
