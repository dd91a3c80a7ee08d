"""The categories a model recorded when it was fitted, and string data cast back onto them.

A LightGBM model fitted on pandas ``category`` columns keeps each column's categories and maps
codes to them; handed the same column as strings (any CSV, any Parquet file written without
pandas' dtypes) it refuses to predict (``pandas dtypes must be int, float or bool``, or ``train
and valid dataset categorical_feature do not match``), and refitting a clone on it fails the
same way. :func:`conform_categories` casts such columns to the recorded categories, which is
what LightGBM itself does with a ``category`` column whose categories differ: a value outside
the recorded categories becomes missing. Values are matched as they are, else by their text
(a CSV read ``1`` where the model saw ``"1"``). When not one value of a column matches, the
cast is not safe and :class:`~charter.errors.DataError` names the column and its categories.

scikit-learn's encoders (``OneHotEncoder``, ``OrdinalEncoder``, the gradient boosting's
``categorical_features="from_dtype"``) accept strings and need nothing.
"""

from __future__ import annotations

from typing import Any

from charter.errors import DataError

_MAX_SHOWN = 8


def recorded_categories(model: Any) -> dict[str, list[Any]]:
    """Column → the categories ``model`` was fitted with, for columns it treats as categorical.

    Parameters
    ----------
    model
        A fitted model: LightGBM's ``LGBMModel`` or ``Booster``, or a scikit-learn
        ``Pipeline`` whose steps before the LightGBM model are all ``passthrough``. Charter's
        mitigation wrappers are looked through.

    Returns
    -------
    dict of str to list
        Empty when the model records no pandas categories.
    """
    booster = _booster(model)
    if booster is None:
        return {}
    recorded = getattr(booster, "pandas_categorical", None)
    if not recorded:
        return {}
    try:
        infos = booster.dump_model(num_iteration=1).get("feature_infos", {})
    except Exception:
        return {}
    categorical = [name for name, info in infos.items() if info.get("values")]
    if len(categorical) != len(recorded):
        return {}
    return {str(name): list(cats) for name, cats in zip(categorical, recorded, strict=True)}


def conform_categories(model: Any, frame: Any) -> Any:
    """``frame`` (pandas) with the model's categorical columns cast to its recorded categories.

    Parameters
    ----------
    model
        The fitted model (see :func:`recorded_categories`).
    frame
        The pandas frame the model is about to see.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself when nothing needs casting, else a copy with the columns cast.

    Raises
    ------
    DataError
        When not one value of a column is among the model's categories for it.
    """
    import pandas as pd

    wanted = recorded_categories(model)
    cast: dict[str, Any] = {}
    for column, categories in wanted.items():
        if column not in frame.columns:
            continue
        series = frame[column]
        dtype = pd.CategoricalDtype(categories)
        if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype == dtype:
            continue
        cast[column] = _cast(column, series, categories, dtype)
    if not cast:
        return frame
    return frame.assign(**cast)


def _cast(column: str, series: Any, categories: list[Any], dtype: Any) -> Any:
    import pandas as pd

    values = series.astype(object)
    present = values.notna()
    direct = values.isin(categories)
    if not bool((direct | ~present).all()):
        by_text = {str(c): c for c in categories}
        values = values.map(lambda v: v if v in categories else by_text.get(str(v), v))
    result = pd.Series(pd.Categorical(values, dtype=dtype), index=series.index, name=column)
    if bool(present.any()) and not bool(result[present].notna().any()):
        shown = ", ".join(repr(c) for c in categories[:_MAX_SHOWN])
        more = f", … ({len(categories)} in all)" if len(categories) > _MAX_SHOWN else ""
        seen = ", ".join(repr(v) for v in values[present].unique()[:3].tolist())
        raise DataError(
            f"column '{column}' holds none of the categories the model was fitted with"
            f" (it holds {seen}, …; the model knows {shown}{more})",
            hint=f"recode '{column}' to those values, or cast it before passing it:"
            f" frame['{column}'] = pd.Categorical(frame['{column}'], categories=[{shown}])",
        )
    return result


def _booster(model: Any) -> Any:
    from sklearn.pipeline import Pipeline

    while True:
        if isinstance(model, Pipeline):
            earlier = [step for _, step in model.steps[:-1] if step not in (None, "passthrough")]
            if earlier:
                return None
            model = model.steps[-1][1]
            continue
        if type(model).__module__ == "charter.mitigate":
            inner = getattr(model, "estimator_", None)
            if inner is None:
                inner = (getattr(model, "predictors_", None) or [None])[0]
            if inner is None:
                return None
            model = inner
            continue
        break
    module = type(model).__module__
    if not module.startswith("lightgbm"):
        return None
    if hasattr(model, "booster_"):
        try:
            return model.booster_
        except Exception:
            return None
    return model if hasattr(model, "dump_model") else None
