"""Predictions and their explanations, computed together, built once per loaded version.

:func:`build_explainer` picks the cheapest exact path for the model and returns an
:class:`Explainer` that turns validated input columns into :class:`Outputs` — prediction,
score, the model's raw output and, when asked, the SHAP contributions per *input* column with
their base value:

* ``lightgbm.pred_contrib`` — LightGBM's own TreeSHAP (the routine ``shap.TreeExplainer``
  calls for LightGBM in its path-dependent form). One ``Booster.predict(pred_contrib=True)``
  call gives the contributions, the base value and, by their sum, the raw output (log-odds of
  a binary classifier), so a prediction with its explanation costs one pass over the trees.
* ``shap.TreeExplainer`` — scikit-learn's trees, forests and gradient boosting (path-dependent
  TreeSHAP, no background). Probability space for forests and trees, log-odds for gradient
  boosting.
* ``linear`` — the exact formula of a linear model with independent features:
  ``phi_j = w_j (x_j - mu_j)`` and base ``w . mu + b``, ``mu`` the mean of the background sample
  (what ``shap.LinearExplainer`` computes with the same background). Log-odds for logistic
  regression.
* ``shap.PermutationExplainer`` — anything else: the bounded fallback. A fixed, seeded background
  of :data:`BACKGROUND_ROWS` rows and a budget of ``max(2k + 1, min(500, 20k))`` model
  evaluations per row (``k`` features) — ten antithetic permutations, exact in additivity.
  Both are recorded in :attr:`Explainer.budget`; it explains the positive-class probability.

Inside a scikit-learn ``Pipeline`` the preprocessing runs first and the final estimator is
explained on the features it produces; those contributions are summed back to the input
columns (a one-hot column's parts add up to its column; a feature derived from several columns
is split between them), as :mod:`charter.checks.explanations` does for the gate. Sums are
additive, so ``sum(phi) + base == raw output`` still holds to rounding (< 1e-6).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.checks.explanations import (  # the gate's mapping of derived features to inputs
    UNATTRIBUTED,
    _attribution,
    _output_names,
    _to_array,
)
from charter.checks.model_inputs import split_pipeline
from charter.errors import DataError, ModelLoadError

#: Rows of the fallback's and the linear path's background sample.
BACKGROUND_ROWS = 100
#: Requests of more rows than this use every core in LightGBM (fewer run on one thread).
PARALLEL_ROWS = 64

_SKLEARN_TREES = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
}
_MARGIN_TREES = ("GradientBoosting",)

Columns = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Outputs:
    """What a model says about a batch of rows.

    Attributes
    ----------
    predictions
        The prediction of each row (a class label, or a number for regressors).
    scores
        Probability of the positive class (binary classifiers), else ``None``.
    raw
        The explained output, in :attr:`Explainer.output_space`.
    contributions
        ``(rows, features)`` SHAP contributions per input column, or ``None`` without
        explanation.
    base
        The base value of each row's explanation, or ``None``.
    """

    predictions: list[Any]
    scores: np.ndarray | None
    raw: np.ndarray
    contributions: np.ndarray | None = None
    base: np.ndarray | None = None


@dataclass
class Explainer:
    """Predicts and explains one loaded model (subclasses choose how).

    Attributes
    ----------
    method
        How contributions are computed (``lightgbm.pred_contrib``, ``shap.TreeExplainer``,
        ``linear``, ``shap.PermutationExplainer``).
    output_space
        What the contributions add up to: ``log_odds``, ``probability`` or ``raw``.
    features
        The input columns the contributions are named by (plus ``(unattributed)`` if a
        derived feature comes from no input).
    budget
        The fallback's background rows and evaluations per row; empty for exact paths.
    """

    model: Any
    inputs: list[str]
    positive_label: Any = 1
    method: str = ""
    output_space: str = "raw"
    features: list[str] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pre, self.estimator = split_pipeline(self.model)
        self.classes = list(getattr(self.estimator, "classes_", []))
        if len(self.classes) > 2:
            self.positive = -1
        elif self.classes:
            self.positive = (
                self.classes.index(self.positive_label)
                if self.positive_label in self.classes
                else 1
            )
        else:
            self.positive = -1
        self.features = list(self.inputs)
        self.weights: np.ndarray | None = None
        self.names: list[str] | None = None

    # -- the shared parts -------------------------------------------------------------------
    @property
    def binary(self) -> bool:
        """Whether the model is a binary classifier."""
        return len(self.classes) == 2

    def frame(self, columns: Columns) -> Any:
        """The input columns as the pandas frame the model was fitted on."""
        import pandas as pd

        return pd.DataFrame({name: columns[name] for name in self.inputs})

    def transformed(self, columns: Columns) -> Any:
        """What the final estimator sees: the preprocessing's output, or the inputs."""
        x = self.frame(columns)
        if self.pre is None:
            return x
        values = _to_array(self.pre.transform(x))
        if getattr(self.estimator, "feature_names_in_", None) is not None:
            import pandas as pd

            return pd.DataFrame(values, columns=list(self.estimator.feature_names_in_))
        return values

    def map_to_inputs(self, values: np.ndarray) -> np.ndarray:
        """Contributions of derived features summed back to the input columns."""
        return values if self.weights is None else values @ self.weights

    def prepare_mapping(self, sample: Columns | None) -> None:
        """Learn which derived feature comes from which input (pipelines only)."""
        if self.pre is None:
            return
        probe = self.frame(sample) if sample is not None else None
        if probe is None:
            raise ModelLoadError(
                "explaining a pipeline needs a background sample of its inputs",
                hint="register the version with --train-data so its reference profile exists",
            )
        self.names = _output_names(self.pre, probe)
        self.weights = _attribution(self.pre, self.names, self.inputs, probe)
        if self.weights.shape[1] > len(self.inputs):
            self.features = [*self.inputs, UNATTRIBUTED]

    def labels_of(self, positive_scores: np.ndarray) -> list[Any]:
        """Class labels of binary scores (argmax of the two probabilities)."""
        other = 1 - self.positive
        picks = np.where(positive_scores > 0.5, self.positive, other)
        # argmax picks the first class on a tie at exactly 0.5
        ties = positive_scores == 0.5
        if ties.any():
            picks = np.where(ties, 0, picks)
        classes = self.classes
        return [_plain(classes[int(i)]) for i in picks]

    def outputs(self, columns: Columns, *, explain: bool) -> Outputs:
        """Predict, and explain when asked."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Method, output space and budget, as recorded with each explanation."""
        return {"method": self.method, "output_space": self.output_space, **self.budget}


class LightGBMExplainer(Explainer):
    """LightGBM's own TreeSHAP: one ``pred_contrib`` pass predicts and explains."""

    def __post_init__(self) -> None:
        super().__post_init__()
        booster = getattr(self.estimator, "booster_", None)
        if booster is None:
            raise ModelLoadError(
                f"{type(self.estimator).__name__} is not a fitted LightGBM model",
                hint="serve a fitted LGBMClassifier or LGBMRegressor",
            )
        self.booster = booster
        self.method = "lightgbm.pred_contrib"
        objective = str(booster.params.get("objective", "")) if booster.params else ""
        if self.classes and not self.binary:
            raise ModelLoadError(
                "the LightGBM path explains binary classifiers and regressors",
                hint="multi-class models are served through the fallback explainer",
            )
        self.output_space = "log_odds" if self.binary else "raw"
        self.sigmoid = float((booster.params or {}).get("sigmoid", 1.0))
        if self.binary and objective not in ("binary", "cross_entropy", "xentropy", ""):
            raise ModelLoadError(f"unexpected LightGBM objective {objective!r} for a classifier")
        self.feature_names = list(booster.feature_name())
        self.categories: dict[int, dict[Any, float]] = {}
        if self.pre is None:
            cat_columns = list((booster.params or {}).get("categorical_column", []) or [])
            for index, values in zip(cat_columns, booster.pandas_categorical or [], strict=False):
                self.categories[int(index)] = {v: float(code) for code, v in enumerate(values)}

    def matrix(self, columns: Columns) -> np.ndarray:
        """The rows as LightGBM's float matrix (pandas categories as their codes)."""
        if self.pre is not None:
            return np.asarray(_to_array(self.pre.transform(self.frame(columns))))
        n = len(next(iter(columns.values()))) if columns else 0
        out = np.empty((n, len(self.inputs)), dtype=np.float64)
        for j, name in enumerate(self.inputs):
            codes = self.categories.get(j)
            if codes is None:
                out[:, j] = columns[name]
            else:
                out[:, j] = [codes.get(v, math.nan) for v in columns[name]]
        return out

    def outputs(self, columns: Columns, *, explain: bool) -> Outputs:  # noqa: D102
        x = self.matrix(columns)
        contributions = base = None
        # one thread for a few rows (no thread start-up); every core for a batch
        threads = 1 if len(x) <= PARALLEL_ROWS else 0
        if explain:
            contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=threads))
            raw = contrib.sum(axis=1)
            base = contrib[:, -1].copy()
            contributions = self.map_to_inputs(contrib[:, :-1])
        else:
            raw = np.asarray(self.booster.predict(x, raw_score=True, num_threads=threads))
        if not self.binary:
            return Outputs([float(v) for v in raw], None, raw, contributions, base)
        p1 = 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        # contributions explain classes_[1]; the positive class may be classes_[0]
        if self.positive == 0:
            raw, p1 = -raw, 1.0 - p1
            if contributions is not None and base is not None:
                contributions, base = -contributions, -base
        return Outputs(self.labels_of(p1), p1, raw, contributions, base)


class TreeShapExplainer(Explainer):
    """scikit-learn trees and ensembles through ``shap.TreeExplainer`` (path-dependent)."""

    def __post_init__(self) -> None:
        import shap

        super().__post_init__()
        self.method = "shap.TreeExplainer"
        self.tree = shap.TreeExplainer(self.estimator, feature_perturbation="tree_path_dependent")
        margin = any(p in type(self.estimator).__name__ for p in _MARGIN_TREES)
        if not self.classes:
            self.output_space = "raw"
        else:
            self.output_space = "log_odds" if margin else "probability"

    def outputs(self, columns: Columns, *, explain: bool) -> Outputs:  # noqa: D102
        x = self.transformed(columns)
        if not self.classes:
            raw = np.asarray(self.estimator.predict(x), dtype=np.float64)
            predictions: list[Any] = [float(v) for v in raw]
            scores = None
        else:
            proba = np.asarray(self.estimator.predict_proba(x), dtype=np.float64)
            scores = proba[:, self.positive] if self.binary else None
            if self.output_space == "log_odds":
                sign = -1.0 if self.positive == 0 else 1.0
                raw = sign * np.asarray(self.estimator.decision_function(x), dtype=np.float64)
            else:
                raw = proba[:, self.positive] if self.binary else proba.max(axis=1)
            predictions = [_plain(self.classes[int(i)]) for i in proba.argmax(axis=1)]
        if not explain or (self.classes and not self.binary):
            return Outputs(predictions, scores, raw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            values = self.tree.shap_values(x, check_additivity=False)
        phi, expected = _positive_class(values, self.tree.expected_value, self.positive)
        contributions = self.map_to_inputs(phi)
        return Outputs(predictions, scores, raw, contributions, np.full(len(raw), expected))


class LinearExplainer(Explainer):
    """The exact formula of a linear model: ``phi_j = w_j (x_j - mu_j)``."""

    def prepare(self, background: Columns) -> None:
        """Fix the background mean ``mu`` the contributions are measured from."""
        x = self.transformed(background)
        self.mu = np.asarray(_to_array(x), dtype=np.float64).mean(axis=0)
        coef = np.asarray(self.estimator.coef_, dtype=np.float64)
        if coef.ndim == 2 and coef.shape[0] > 1:
            raise ModelLoadError(
                "the linear path explains binary classifiers and regressors",
                hint="multi-class models are served through the fallback explainer",
            )
        self.coef = coef.ravel()
        self.intercept = float(np.ravel(getattr(self.estimator, "intercept_", 0.0))[0])
        self.sign = -1.0 if self.binary and self.positive == 0 else 1.0
        self.method = "linear"
        self.output_space = "log_odds" if hasattr(self.estimator, "predict_proba") else "raw"
        if not self.classes:
            self.output_space = "raw"
        self.base_value = self.sign * (float(self.coef @ self.mu) + self.intercept)
        self.budget = {"background_rows": len(next(iter(background.values())))}

    def outputs(self, columns: Columns, *, explain: bool) -> Outputs:  # noqa: D102
        x = np.asarray(_to_array(self.transformed(columns)), dtype=np.float64)
        raw = self.sign * (x @ self.coef + self.intercept)
        if self.classes:
            frame = self.transformed(columns)
            if hasattr(self.estimator, "predict_proba"):
                proba = np.asarray(self.estimator.predict_proba(frame), dtype=np.float64)
                scores: np.ndarray | None = proba[:, self.positive]
                predictions = [_plain(self.classes[int(i)]) for i in proba.argmax(axis=1)]
            else:
                scores = None
                predictions = [_plain(v) for v in self.estimator.predict(frame)]
        else:
            scores, predictions = None, [float(v) for v in raw]
        if not explain:
            return Outputs(predictions, scores, raw)
        phi = self.sign * (x - self.mu) * self.coef
        return Outputs(
            predictions,
            scores,
            raw,
            self.map_to_inputs(phi),
            np.full(len(raw), self.base_value),
        )


class PermutationExplainer(Explainer):
    """The bounded fallback: ``shap.PermutationExplainer`` over a fixed background."""

    def prepare(self, background: Columns, seed: int = 0) -> None:
        """Build the explainer over the background sample, with its evaluation budget."""
        import shap

        self.method = "shap.PermutationExplainer"
        self.seed = seed
        bg = self.transformed(background)
        self.columns = list(bg.columns) if hasattr(bg, "columns") else None
        proba = self.binary and hasattr(self.estimator, "predict_proba")
        self.output_space = "probability" if proba else "raw"
        width = int(np.asarray(_to_array(bg)).shape[1])
        self.max_evals = max(2 * width + 1, min(500, 20 * width))
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        self.shap = shap.PermutationExplainer(self._f, masker, seed=seed)
        self.budget = {
            "background_rows": len(bg),
            "max_evals_per_row": self.max_evals,
            "seed": seed,
        }

    def _f(self, a: Any) -> np.ndarray:
        if self.columns is not None and not hasattr(a, "columns"):
            import pandas as pd

            a = pd.DataFrame(a, columns=self.columns)
        if self.output_space == "probability":
            return np.asarray(self.estimator.predict_proba(a))[:, self.positive]
        return np.asarray(self.estimator.predict(a), dtype=np.float64)

    def outputs(self, columns: Columns, *, explain: bool) -> Outputs:  # noqa: D102
        frame = self.frame(columns)
        x = self.transformed(columns)
        predictions = [_plain(v) for v in self.model.predict(frame)]
        scores = None
        if self.binary and hasattr(self.model, "predict_proba"):
            scores = np.asarray(self.model.predict_proba(frame), dtype=np.float64)[:, self.positive]
        raw = self._f(x)
        if not explain:
            return Outputs(predictions, scores, raw)
        result = self.shap(x, max_evals=self.max_evals, silent=True)
        values = np.asarray(result.values, dtype=np.float64)
        base = np.asarray(result.base_values, dtype=np.float64).ravel()
        return Outputs(predictions, scores, raw, self.map_to_inputs(values), base)


def build_explainer(
    model: Any,
    inputs: Sequence[str],
    *,
    background: Columns | None = None,
    positive_label: Any = 1,
    seed: int = 0,
) -> Explainer:
    """The explainer that fits ``model``, built once for a loaded version.

    Parameters
    ----------
    model
        The fitted estimator or Pipeline.
    inputs
        The input columns, in the order the model takes them.
    background
        A sample of input rows: the linear path's mean, the fallback's background, and the
        probe that maps a pipeline's derived features to its inputs.
    positive_label
        The positive class of a binary classifier (the policy's ``data.positive_label``).
    seed
        Seed of the fallback's permutations.
    """
    _, estimator = split_pipeline(model)
    names = list(inputs)
    module = type(estimator).__module__
    cls = type(estimator).__name__
    chosen: Explainer
    try:
        if module.startswith("lightgbm") and hasattr(estimator, "booster_"):
            chosen = LightGBMExplainer(model, names, positive_label)
        elif cls in _SKLEARN_TREES:
            chosen = TreeShapExplainer(model, names, positive_label)
        elif hasattr(estimator, "coef_") and module.startswith("sklearn.linear_model"):
            if background is None:
                raise ModelLoadError(
                    "the linear explanation needs a background sample",
                    hint="register the version with --train-data",
                )
            linear = LinearExplainer(model, names, positive_label)
            linear.prepare(background)
            chosen = linear
        else:
            raise _NoExactPathError()
    except (_NoExactPathError, ModelLoadError) as exc:
        if isinstance(exc, ModelLoadError) and "background" in exc.message:
            raise
        if background is None:
            raise ModelLoadError(
                f"a {cls} is explained by sampling, which needs a background sample",
                hint="register the version with --train-data so its reference profile exists",
            ) from None
        fallback = PermutationExplainer(model, names, positive_label)
        fallback.prepare(background, seed)
        chosen = fallback
    chosen.prepare_mapping(background)
    return chosen


class _NoExactPathError(Exception):
    """No exact path for this model."""


def _positive_class(values: Any, expected: Any, positive: int) -> tuple[np.ndarray, float]:
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    arr = np.asarray(values, dtype=np.float64)
    base = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    if arr.ndim == 3:
        index = positive if positive >= 0 else arr.shape[2] - 1
        return arr[:, :, index], float(base[index if base.size > 1 else 0])
    sign = -1.0 if positive == 0 else 1.0
    return sign * arr, sign * float(base[-1])


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON and Parquet take."""
    return value.item() if hasattr(value, "item") else value


def top_contributions_rows(
    features: Sequence[str], values: np.ndarray, top: int | None
) -> list[dict[str, float]]:
    """:func:`top_contributions` of every row of a ``(rows, features)`` matrix."""
    if top is not None and top <= 0:
        raise DataError(f"top={top} is not a positive number", hint="pass ?top=5, say")
    if values.size == 0:
        return [{} for _ in range(len(values))]
    order = np.argsort(-np.abs(values), axis=1, kind="stable")
    if top is not None:
        order = order[:, :top]
    picked = np.take_along_axis(values, order, axis=1).tolist()
    names = np.asarray(features, dtype=object)[order].tolist()
    return [dict(zip(n, v, strict=True)) for n, v in zip(names, picked, strict=True)]


def top_contributions(
    features: Sequence[str], values: np.ndarray, top: int | None
) -> dict[str, float]:
    """``{feature: contribution}``, the ``top`` largest by absolute value first (all if None)."""
    if top is None or top >= len(features):
        order = np.argsort(-np.abs(values), kind="stable")
    else:
        if top <= 0:
            raise DataError(f"top={top} is not a positive number", hint="pass ?top=5, say")
        order = np.argsort(-np.abs(values), kind="stable")[:top]
    return {features[int(i)]: float(values[int(i)]) for i in order}
