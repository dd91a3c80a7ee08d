"""Which data columns a model really consumes, and how to split a pipeline for explanation.

A scikit-learn ``Pipeline`` whose first step is a ``ColumnTransformer`` may receive more columns
than it uses: a column listed under ``'drop'`` (or left out while ``remainder='drop'``) never
reaches the estimator, and ``remainder='passthrough'`` silently feeds every column not listed.
:func:`consumed_columns` reads the fitted transformer to tell which columns are used and by
which route, so the privacy check judges what the model sees rather than what it is handed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def split_pipeline(model: Any) -> tuple[Any | None, Any]:
    """``(preprocessor, final_estimator)`` of a scikit-learn Pipeline; ``(None, model)`` else.

    The preprocessor is the pipeline without its last step (itself a Pipeline), or ``None``
    when every earlier step is ``'passthrough'``/``None``.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return None, model
    final = model.steps[-1][1]
    active = [step for _, step in model.steps[:-1] if step not in (None, "passthrough")]
    if not active:
        return None, final
    return model[:-1], final


def consumed_columns(model: Any) -> dict[str, str] | None:
    """Input columns the fitted ``model`` consumes, each with the route it takes.

    Parameters
    ----------
    model
        A fitted estimator, Pipeline or ColumnTransformer.

    Returns
    -------
    dict of str to str, or None
        Column name → how it reaches the model (``"ColumnTransformer 'num' (StandardScaler)"``,
        ``"remainder='passthrough'"``, ``"model input"``), in input order; ``None`` when the
        model does not record the names of its inputs.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    first = model
    while isinstance(first, Pipeline):
        steps = [step for _, step in first.steps if step not in (None, "passthrough")]
        if not steps:
            break
        first = steps[0]
    if isinstance(first, ColumnTransformer) and hasattr(first, "transformers_"):
        names = getattr(first, "feature_names_in_", None)
        if names is None:
            return None
        return _column_transformer_routes(first, [str(n) for n in names])
    names = getattr(first, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return {str(n): "model input" for n in names}


def _column_transformer_routes(transformer: Any, names: list[str]) -> dict[str, str]:
    routes: dict[str, str] = {}
    for name, step, columns in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        if name == "remainder":
            remainder = transformer.remainder
            if isinstance(remainder, str) and remainder == "drop":
                continue
            route = (
                "remainder='passthrough'"
                if isinstance(remainder, str)
                else f"remainder ({type(remainder).__name__})"
            )
        elif isinstance(step, str):
            route = f"ColumnTransformer '{name}' ({step})"
        else:
            route = f"ColumnTransformer '{name}' ({type(step).__name__})"
        for column in resolve_columns(columns, names):
            routes.setdefault(column, route)
    order = {n: i for i, n in enumerate(names)}
    return dict(sorted(routes.items(), key=lambda kv: order.get(kv[0], len(order))))


def resolve_columns(columns: Any, names: Sequence[str]) -> list[str]:
    """Column names a ColumnTransformer column specification selects out of ``names``."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, int | np.integer):
        return [names[int(columns)]]
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            start = names.index(columns.start) if columns.start is not None else 0
            stop = names.index(columns.stop) + 1 if columns.stop is not None else len(names)
            return list(names[start:stop])
        return list(names[columns])
    values = list(columns)
    if not values:
        return []
    if all(isinstance(v, bool | np.bool_) for v in values):
        return [n for n, keep in zip(names, values, strict=True) if keep]
    if all(isinstance(v, int | np.integer) for v in values):
        return [names[int(v)] for v in values]
    return [str(v) for v in values]
