"""The input schema of a served version, and the check of every request against it.

:meth:`InputSchema.for_version` reads what the registry recorded at registration: the model's
own input names (``feature_names_in_``) and, from the reference profile of the training data,
each column's type and categories. The model adds what it cannot take: the categories of a
LightGBM categorical feature or of a ``OneHotEncoder``/``OrdinalEncoder`` with
``handle_unknown='error'`` are closed sets; NaN is accepted only by models that handle it
(LightGBM, scikit-learn's histogram gradient boosting, a pipeline that imputes the column).

:meth:`InputSchema.validate` turns a :class:`~charter.serving.payload.Batch` into the model's
columns or raises :class:`InvalidInputError` (HTTP 422) naming the field and the row: a missing
column, a wrong type, a NaN or null the model cannot take, an unseen category the model cannot
handle. Columns the model does not use (an id, a sensitive attribute for fairness monitoring)
are passed through to the inference log, not to the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from charter.checks.model_inputs import split_pipeline
from charter.errors import DataError, ModelLoadError
from charter.serving.payload import MISSING, Batch

Kind = Literal["number", "boolean", "category"]
_NAN_MODELS = ("LGBM", "HistGradientBoosting", "XGB", "CatBoost")


class InvalidInputError(DataError):
    """A request whose rows do not fit the served version's input schema (HTTP 422).

    Attributes
    ----------
    field, row
        The offending column and the row's position in the request (``None`` when the whole
        column is missing).
    """

    code = "input_invalid"
    title = "Input does not fit the model"
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, field=field)
        self.row = row

    def extra(self) -> dict[str, Any]:
        """``field`` and ``row``."""
        out = super().extra()
        if self.row is not None:
            out["row"] = self.row
        return out


@dataclass(frozen=True)
class FieldSpec:
    """One input column: its kind, its closed set of categories, whether NaN is allowed."""

    name: str
    kind: Kind = "number"
    categories: frozenset[Any] | None = None
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (as shown by the API)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = sorted(self.categories, key=str)
        return out


@dataclass(frozen=True)
class InputSchema:
    """The columns a version takes, in the model's order."""

    fields: tuple[FieldSpec, ...]
    passthrough: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Input column names in the model's order."""
        return [f.name for f in self.fields]

    @classmethod
    def for_version(cls, model: Any, profile: Mapping[str, Any] | None) -> InputSchema:
        """The schema of a loaded model and its registry reference profile (may be ``None``).

        Raises
        ------
        ModelLoadError
            When neither the model nor the profile names the inputs.
        """
        names = _input_names(model)
        columns: Mapping[str, Any] = (profile or {}).get("columns", {}) or {}
        if names is None:
            raise ModelLoadError(
                f"the {type(model).__name__} does not record the names of its inputs",
                hint="fit the model on a pandas DataFrame so it keeps feature_names_in_",
            )
        closed = _closed_categories(model, names)
        nan_ok = _nan_columns(model, names)
        fields = []
        for name in names:
            kind: Kind = "number"
            prof = columns.get(name) or {}
            dtype = str(prof.get("dtype", "")).lower()
            if name in closed or (prof.get("kind") == "categorical" and "int" not in dtype):
                kind = "category"
            if "bool" in dtype:
                kind = "boolean"
            if kind == "category" and name not in closed and "float" in dtype:
                kind = "number"
            fields.append(
                FieldSpec(name, kind, closed.get(name), nullable=name in nan_ok),
            )
        return cls(tuple(fields))

    def validate(self, batch: Batch) -> tuple[dict[str, np.ndarray], dict[str, list[Any]]]:
        """The model's columns (numbers as float64, categories as objects) and the others.

        Raises
        ------
        InvalidInputError
            The first problem found, naming the field and the row.
        """
        model_columns: dict[str, np.ndarray] = {}
        for spec in self.fields:
            values = batch.columns.get(spec.name)
            if values is None:
                raise InvalidInputError(
                    f"the input has no column '{spec.name}', which the model needs",
                    field=spec.name,
                    row=None,
                    hint=f"send every input column: {', '.join(self.names)}",
                )
            model_columns[spec.name] = _check_column(spec, values)
        extra = {k: list(v) for k, v in batch.columns.items() if k not in model_columns}
        for name, values in extra.items():
            extra[name] = [None if v is MISSING else v for v in values]
        return model_columns, extra

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-able form."""
        return [f.to_dict() for f in self.fields]


def _check_column(spec: FieldSpec, values: Sequence[Any]) -> np.ndarray:
    for i, v in enumerate(values):
        if v is MISSING:
            raise InvalidInputError(
                f"row {i} has no '{spec.name}', which the model needs",
                field=spec.name,
                row=i,
                hint=f"send '{spec.name}' in every row (null where it is unknown, if the"
                " model takes missing values)",
            )
    if spec.kind == "category":
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            if v is None or v is MISSING or (isinstance(v, float) and math.isnan(v)):
                if not spec.nullable:
                    raise _null(spec, i, v)
                out[i] = None
                continue
            if isinstance(v, list | dict):
                raise _wrong(spec, i, v, "a category")
            if spec.categories is not None and v not in spec.categories:
                known = ", ".join(sorted(map(str, spec.categories))[:12])
                raise InvalidInputError(
                    f"row {i}: '{spec.name}' is {v!r}, a category the model never saw and"
                    " cannot handle",
                    field=spec.name,
                    row=i,
                    hint=f"send one of: {known}",
                )
            out[i] = v
        return out
    kinds = set(map(type, values))
    if kinds <= {int, float}:  # the common case, checked at C speed
        out_fast = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(out_fast)
        if finite.all() or (spec.nullable and not np.isinf(out_fast).any()):
            return out_fast
    out_f = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v is None or v is MISSING:
            if not spec.nullable:
                raise _null(spec, i, v)
            out_f[i] = math.nan
            continue
        if isinstance(v, bool):
            if spec.kind != "boolean":
                raise _wrong(spec, i, v, "a number")
            out_f[i] = float(v)
            continue
        if not isinstance(v, int | float):
            raise _wrong(spec, i, v, "a boolean" if spec.kind == "boolean" else "a number")
        if isinstance(v, float) and not math.isfinite(v):
            if math.isnan(v) and spec.nullable:
                out_f[i] = v
                continue
            raise _null(spec, i, v)
        out_f[i] = v
    return out_f


def _wrong(spec: FieldSpec, row: int, value: Any, expected: str) -> InvalidInputError:
    return InvalidInputError(
        f"row {row}: '{spec.name}' is {value!r} ({type(value).__name__}), not {expected}",
        field=spec.name,
        row=row,
        hint=f"send {expected} for '{spec.name}'",
    )


def _null(spec: FieldSpec, row: int, value: Any) -> InvalidInputError:
    what = "missing" if value is MISSING else f"{value!r}"
    return InvalidInputError(
        f"row {row}: '{spec.name}' is {what}, and the model cannot take a missing value there",
        field=spec.name,
        row=row,
        hint=f"send a value for '{spec.name}' (impute it before calling, or serve a model"
        " that handles missing values)",
    )


def _input_names(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_name_", None)
    return [str(n) for n in names] if names is not None else None


def _closed_categories(model: Any, names: list[str]) -> dict[str, frozenset[Any]]:
    """Columns whose categories the model cannot extend (unseen ones are refused)."""
    pre, estimator = split_pipeline(model)
    out: dict[str, frozenset[Any]] = {}
    booster = getattr(estimator, "booster_", None) if pre is None else None
    if booster is not None:
        indexes = list((booster.params or {}).get("categorical_column", []) or [])
        for index, values in zip(indexes, booster.pandas_categorical or [], strict=False):
            out[names[int(index)]] = frozenset(values)
        return out
    for transformer, columns in _column_steps(pre):
        encoder = _encoder(transformer)
        if encoder is None or getattr(encoder, "handle_unknown", "error") != "error":
            continue
        for column, categories in zip(columns, encoder.categories_, strict=False):
            out[str(column)] = frozenset(_plain_list(categories))
    return out


def _nan_columns(model: Any, names: list[str]) -> set[str]:
    """Columns where the model accepts NaN or null."""
    pre, estimator = split_pipeline(model)
    if any(tag in type(estimator).__name__ for tag in _NAN_MODELS):
        return set(names)
    out: set[str] = set()
    for transformer, columns in _column_steps(pre):
        if _imputes(transformer):
            out.update(str(c) for c in columns)
    return out


def _column_steps(pre: Any) -> list[tuple[Any, list[Any]]]:
    """``(transformer, its columns)`` of the pipeline's ColumnTransformer, if any."""
    if pre is None:
        return []
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = pre.steps if isinstance(pre, Pipeline) else [("", pre)]
    for _, step in steps:
        if isinstance(step, ColumnTransformer):
            return [
                (t, list(c) if isinstance(c, list | tuple | np.ndarray) else [c])
                for _, t, c in step.transformers_
                if t not in ("drop",)
            ]
    return [(step, []) for _, step in steps]


def _encoder(transformer: Any) -> Any:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    parts = (
        [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    )
    for part in parts:
        if isinstance(part, OneHotEncoder | OrdinalEncoder):
            return part
    return None


def _imputes(transformer: Any) -> bool:
    from sklearn.pipeline import Pipeline

    parts = (
        [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    )
    return any("Imputer" in type(p).__name__ for p in parts)


def _plain_list(values: Any) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in values]
