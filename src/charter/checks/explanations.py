"""SHAP explanations of a model on a sample of the evaluation data, per original column.

:func:`explain` picks the explainer that fits the model:

* ``tree`` — :class:`shap.TreeExplainer` in its ``tree_path_dependent`` form (exact, uses the
  trees' own cover statistics as background) for LightGBM, XGBoost and scikit-learn's forests,
  gradient boosting and decision trees. It explains the model's raw output: log-odds for
  gradient boosting, probability for forests and trees.
* ``linear`` — :class:`shap.LinearExplainer` with an independent background sample for
  scikit-learn's linear models; it explains the margin (log-odds for logistic regression).
* ``permutation`` — :class:`shap.PermutationExplainer` with an independent background sample
  for anything else; it explains the probability of the positive class (or the prediction),
  with ten antithetic permutations per row (at most 500 evaluations), exact in additivity.

**Pipelines.** For a scikit-learn ``Pipeline`` the final estimator is explained on the features
the preprocessing steps produce, and SHAP values are summed back to the original columns row by
row before taking means. Because SHAP values are additive, the value of a column is then the
sum of the values of the features derived from it (all one-hot columns of ``region``, the
scaled ``age``), and the additivity ``sum(values) + expected_value == model output`` still
holds. Which derived feature comes from which column is read from the feature names
(``cat__region_north`` → ``region``); features whose names do not say (e.g. polynomial terms)
are attributed by probing: each column is shifted in turn and the outputs that change depend
on it. A feature derived from several columns is split equally between them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from charter.checks.model_inputs import split_pipeline
from charter.errors import CheckError

if TYPE_CHECKING:
    from charter.checks.context import CheckContext

UNATTRIBUTED = "(unattributed)"

_TREE_CLASSES = {
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
}
#: Tree models whose raw output is a margin (log-odds), not a probability.
_MARGIN_TREES = ("GradientBoosting", "HistGradientBoosting", "LGBM", "XGB", "Booster")


class ExplainerKind(StrEnum):
    """Which SHAP explainer to use."""

    AUTO = "auto"
    TREE = "tree"
    LINEAR = "linear"
    PERMUTATION = "permutation"


@dataclass(frozen=True)
class Explanation:
    """SHAP values of a model on a sample, per original column.

    Attributes
    ----------
    explainer
        ``tree``, ``linear`` or ``permutation``.
    explainer_class
        The shap class used.
    model
        Class name of the explained estimator (the pipeline's final step).
    output
        What the values explain: ``log-odds``, ``probability`` or ``prediction``.
    features
        Original columns, in the model input's order (plus ``(unattributed)`` if needed).
    values
        ``(n, len(features))`` SHAP values per original column.
    expected_value
        The explainer's base value: ``values.sum(1) + expected_value`` is the model output.
    model_output
        The explained output on the sample, computed from the model itself.
    sample_rows
        Row positions of the sample in the data.
    background_size
        Rows of background data (0 for path-dependent tree SHAP, which needs none).
    transformed_features
        Names of the features the final estimator sees, for pipelines; else ``None``.
    transformed_values
        SHAP values per transformed feature, for pipelines; else ``None``.
    feature_map
        Original column → the transformed features attributed to it (pipelines only).
    encoded
        Non-numeric columns the permutation explainer saw as integer codes (the model saw the
        values: codes are decoded before each call).
    """

    explainer: str
    explainer_class: str
    model: str
    output: str
    features: list[str]
    values: np.ndarray
    expected_value: float
    model_output: np.ndarray
    sample_rows: np.ndarray
    background_size: int
    transformed_features: list[str] | None = None
    transformed_values: np.ndarray | None = None
    feature_map: dict[str, list[str]] = field(default_factory=dict)
    encoded: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        """How the values were computed, in words (the explainer and the view it saw)."""
        text = f"{self.explainer_class} on {self.model} ({self.output})"
        if self.encoded:
            text += (
                f", explained on integer codes of {', '.join(self.encoded)}"
                " (decoded exactly before each call of the model)"
            )
        if self.transformed_features is not None:
            text += ", summed back from the pipeline's transformed features"
        return text

    @property
    def importances(self) -> dict[str, float]:
        """Mean absolute SHAP value per original column, largest first."""
        means = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(0)
        pairs = sorted(zip(self.features, means.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)

    @property
    def shares(self) -> dict[str, float]:
        """Each column's share of the total mean absolute SHAP value (sums to 1)."""
        importances = self.importances
        total = sum(importances.values())
        return {k: (v / total if total > 0 else 0.0) for k, v in importances.items()}

    @property
    def additivity_error(self) -> float:
        """Largest ``|sum(values) + expected_value - model output|`` over the sample."""
        if not len(self.values):
            return 0.0
        total = self.values.sum(axis=1) + self.expected_value
        return float(np.max(np.abs(total - self.model_output)))

    @property
    def finite(self) -> bool:
        """Whether every value and the base value are finite numbers."""
        return bool(np.isfinite(self.values).all() and np.isfinite(self.expected_value))


def explain(
    ctx: CheckContext,
    *,
    kind: ExplainerKind = ExplainerKind.AUTO,
    sample_size: int | None = None,
    background_size: int | None = None,
    seed: int | None = None,
) -> Explanation:
    """SHAP explanation of ``ctx.model`` on a sample of ``ctx.data``, memoised on the context.

    Parameters
    ----------
    ctx
        The check context (its model, data, features and policy).
    kind
        Explainer to use; ``auto`` picks tree, linear or permutation by model type.
    sample_size, background_size, seed
        Default to the policy's ``explainability`` section.

    Raises
    ------
    CheckError
        When there is no model. Failures of SHAP itself propagate as they are.
    """
    settings = ctx.policy.explainability
    n_sample = sample_size or settings.sample_size
    n_background = background_size or settings.background_size
    rng_seed = settings.seed if seed is None else seed
    key = f"shap:{kind.value}:{n_sample}:{n_background}:{rng_seed}"
    return ctx.memo(key, lambda: _explain(ctx, kind, n_sample, n_background, rng_seed))


def _explain(
    ctx: CheckContext, kind: ExplainerKind, n_sample: int, n_background: int, seed: int
) -> Explanation:
    if ctx.model is None:
        raise CheckError(
            "explanations need a model, and none was given",
            hint="pass --model MODEL, or drop the explainability rules for prediction-only checks",
        )
    data = ctx.model_input()
    rows = len(data)
    if rows == 0:
        raise CheckError("the data has no rows to explain", hint="pass non-empty data")
    rng = np.random.default_rng(seed)
    sample_rows = np.sort(rng.choice(rows, size=min(n_sample, rows), replace=False))
    background_rows = rng.choice(rows, size=min(n_background, rows), replace=False)
    pre, estimator = split_pipeline(ctx.model)
    inputs = [str(c) for c in data.columns]
    x_sample = data.iloc[sample_rows]
    x_background = data.iloc[background_rows]
    names: list[str] | None = None
    weights: np.ndarray | None = None
    if pre is not None:
        names = _output_names(pre, x_sample)
        x_sample = _dense(pre.transform(x_sample), names, estimator)
        x_background = _dense(pre.transform(x_background), names, estimator)
        probe = data.iloc[np.concatenate([sample_rows, background_rows])]
        weights = _attribution(pre, names, inputs, probe)
    chosen = _choose(estimator) if kind is ExplainerKind.AUTO else kind
    encoded: list[str] = []
    positive = _positive_index(estimator, ctx.policy.data.positive_label)
    if chosen is ExplainerKind.TREE:
        values, expected, output, fn, cls = _tree(estimator, x_sample, positive)
        used_background = 0
    elif chosen is ExplainerKind.LINEAR:
        values, expected, output, fn, cls = _linear(estimator, x_sample, x_background, positive)
        used_background = len(background_rows)
    else:
        values, expected, output, fn, cls, encoded = _permutation(
            estimator, x_sample, x_background, positive, seed
        )
        used_background = len(background_rows)
    model_output = np.asarray(fn(x_sample), dtype=np.float64).ravel()
    transformed_values = None
    features = inputs
    feature_map: dict[str, list[str]] = {}
    if weights is not None and names is not None:
        transformed_values = values
        values = values @ weights
        features = list(inputs)
        if weights.shape[1] > len(inputs):
            features.append(UNATTRIBUTED)
        for j, column in enumerate(features):
            feature_map[column] = [names[k] for k in np.flatnonzero(weights[:, j] > 0)]
    return Explanation(
        explainer=chosen.value,
        explainer_class=cls,
        model=type(estimator).__name__,
        output=output,
        features=features,
        values=np.asarray(values, dtype=np.float64),
        expected_value=float(expected),
        model_output=model_output,
        sample_rows=sample_rows,
        background_size=used_background,
        transformed_features=names,
        transformed_values=transformed_values,
        feature_map=feature_map,
        encoded=encoded,
    )


# -- explainers ----------------------------------------------------------------------------------
Explained = tuple[np.ndarray, float, str, Callable[[Any], np.ndarray], str]


def _choose(estimator: Any) -> ExplainerKind:
    cls = type(estimator)
    module = cls.__module__
    if cls.__name__ in _TREE_CLASSES or module.startswith(("lightgbm", "xgboost", "catboost")):
        return ExplainerKind.TREE
    if hasattr(estimator, "coef_") and (
        module.startswith("sklearn.linear_model") or cls.__name__ in ("LinearSVC", "LinearSVR")
    ):
        return ExplainerKind.LINEAR
    return ExplainerKind.PERMUTATION


def _is_classifier(estimator: Any) -> bool:
    return hasattr(estimator, "classes_")


def _positive_index(estimator: Any, positive_label: Any) -> int:
    classes = list(getattr(estimator, "classes_", []))
    if not classes:
        return -1
    if len(classes) != 2:
        raise CheckError(
            f"explanations cover binary classifiers and regressors; the model has"
            f" {len(classes)} classes",
            hint="explain a binary model, or set model.task to regression",
        )
    return classes.index(positive_label) if positive_label in classes else 1


def _select_class(values: Any, expected: Any, positive: int) -> tuple[np.ndarray, float]:
    """Values and base value of the positive class from a binary explainer's output."""
    if isinstance(values, list):
        values = np.stack(values, axis=-1)
    arr = np.asarray(values, dtype=np.float64)
    base = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    if arr.ndim == 3:
        index = positive if positive >= 0 else arr.shape[2] - 1
        return arr[:, :, index], float(base[index if base.size > 1 else 0])
    sign = -1.0 if positive == 0 else 1.0  # a single output explains classes_[1]
    return sign * arr, sign * float(base[-1])


def _tree(estimator: Any, x: Any, positive: int) -> Explained:
    import shap

    explainer = shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
    with warnings.catch_warnings():
        # shap warns that LightGBM's binary output is now a list per class; handled below.
        warnings.filterwarnings(
            "ignore", message=".*output has changed to a list", category=UserWarning
        )
        raw = explainer.shap_values(x)
    values, expected = _select_class(raw, explainer.expected_value, positive)
    name = type(estimator).__name__
    margin = any(part in name for part in _MARGIN_TREES)
    if not _is_classifier(estimator):
        return values, expected, "prediction", lambda a: estimator.predict(a), "TreeExplainer"
    sign = -1.0 if positive == 0 else 1.0
    if margin:
        if hasattr(estimator, "decision_function"):

            def fn(a: Any) -> np.ndarray:
                return sign * np.asarray(estimator.decision_function(a))

        else:

            def fn(a: Any) -> np.ndarray:
                return sign * np.asarray(estimator.predict(a, raw_score=True))

        return values, expected, "log-odds", fn, "TreeExplainer"
    return (
        values,
        expected,
        "probability",
        lambda a: np.asarray(estimator.predict_proba(a))[:, positive],
        "TreeExplainer",
    )


def _linear(estimator: Any, x: Any, background: Any, positive: int) -> Explained:
    import shap

    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.LinearExplainer(estimator, masker)
    values, expected = _select_class(explainer.shap_values(x), explainer.expected_value, positive)
    if _is_classifier(estimator):
        sign = -1.0 if positive == 0 else 1.0
        return (
            values,
            expected,
            "log-odds" if hasattr(estimator, "predict_proba") else "margin",
            lambda a: sign * np.asarray(estimator.decision_function(a)),
            "LinearExplainer",
        )
    return values, expected, "prediction", lambda a: estimator.predict(a), "LinearExplainer"


def _permutation(
    estimator: Any, x: Any, background: Any, positive: int, seed: int
) -> tuple[np.ndarray, float, str, Callable[[Any], np.ndarray], str, list[str]]:
    import shap

    view = _EncodedView.build(x, background)
    if _is_classifier(estimator) and hasattr(estimator, "predict_proba"):

        def model_fn(a: Any) -> np.ndarray:
            return np.asarray(estimator.predict_proba(a))[:, positive]

        output = "probability"
    else:

        def model_fn(a: Any) -> np.ndarray:
            return np.asarray(estimator.predict(a), dtype=np.float64)

        output = "prediction"

    def fn(a: Any) -> np.ndarray:
        return model_fn(view.decode(a))

    masker = shap.maskers.Independent(view.encode(background), max_samples=len(background))
    explainer = shap.PermutationExplainer(fn, masker, seed=seed)
    n_features = x.shape[1]
    # Ten antithetic permutations (2 * n_features evaluations each), capped at shap's 500.
    max_evals = max(2 * n_features + 1, min(500, 20 * n_features))
    result = explainer(view.encode(x), max_evals=max_evals, silent=True)
    base = np.asarray(result.base_values, dtype=np.float64).ravel()
    return (
        np.asarray(result.values, dtype=np.float64),
        float(base[0]),
        output,
        lambda a: model_fn(a),
        "PermutationExplainer",
        view.encoded,
    )


@dataclass(frozen=True)
class _EncodedView:
    """Non-numeric columns as integer codes, so that shap's masker can handle them.

    shap's ``Independent`` masker does arithmetic on the data, which strings and categories
    refuse. The permutation explainer only ever replaces a feature's value by a background
    row's value, so explaining on codes and decoding them (exactly) before each call of the
    model gives the same SHAP values as explaining on the values themselves.
    """

    columns: list[str] | None
    levels: dict[int, Any]
    dtypes: dict[int, Any]

    @property
    def encoded(self) -> list[str]:
        if self.columns is None:
            return []
        return [self.columns[j] for j in sorted(self.levels)]

    @classmethod
    def build(cls, x: Any, background: Any) -> _EncodedView:
        import pandas as pd

        if not isinstance(x, pd.DataFrame):
            return cls(None, {}, {})
        both = pd.concat([x, background], ignore_index=True)
        levels: dict[int, Any] = {}
        dtypes: dict[int, Any] = {}
        for j, column in enumerate(both.columns):
            series = both[column]
            if pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
                series.dtype, pd.CategoricalDtype
            ):
                continue
            _, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
            levels[j] = np.asarray(uniques, dtype=object)
            dtypes[j] = x[column].dtype
        return cls([str(c) for c in x.columns], levels, dtypes)

    def encode(self, frame: Any) -> Any:
        if self.columns is None:
            return frame
        import pandas as pd

        out = np.empty(frame.shape, dtype=np.float64)
        for j, column in enumerate(frame.columns):
            if j in self.levels:
                codes = pd.Index(self.levels[j]).get_indexer(frame[column].astype(object))
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def decode(self, values: Any) -> Any:
        if self.columns is None:
            return values
        import pandas as pd

        arr = np.asarray(values, dtype=np.float64)
        data: dict[str, Any] = {}
        for j, column in enumerate(self.columns):
            if j in self.levels:
                codes = arr[:, j]
                known = ~np.isnan(codes)
                decoded = np.full(len(codes), None, dtype=object)
                decoded[known] = self.levels[j][codes[known].astype(np.int64)]
                data[column] = pd.Series(decoded).astype(self.dtypes[j])
            else:
                data[column] = arr[:, j]
        return pd.DataFrame(data)


# -- pipelines -----------------------------------------------------------------------------------
def _output_names(pre: Any, x: Any) -> list[str]:
    try:
        return [str(n) for n in pre.get_feature_names_out()]
    except Exception:
        width = np.asarray(_to_array(pre.transform(x.iloc[:1]))).shape[1]
        return [f"x{i}" for i in range(width)]


def _to_array(values: Any) -> np.ndarray:
    if hasattr(values, "toarray"):
        values = values.toarray()
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    return np.asarray(values, dtype=np.float64)


def _dense(values: Any, names: list[str], estimator: Any) -> Any:
    """Transformed features as the final estimator saw them (a frame if it was fitted on one)."""
    arr = _to_array(values)
    if getattr(estimator, "feature_names_in_", None) is not None:
        import pandas as pd

        return pd.DataFrame(arr, columns=list(estimator.feature_names_in_))
    return arr


def _attribution(pre: Any, names: list[str], inputs: list[str], probe: Any) -> np.ndarray:
    """``(len(names), len(inputs) [+1])`` weights attributing each derived feature to inputs.

    Each row sums to 1. A last column collects derived features attributable to no input.
    """
    deps: list[set[int]] = [_named_input(name, inputs) for name in names]
    unresolved = [k for k, d in enumerate(deps) if not d]
    if unresolved:
        for k, found in _probe(pre, inputs, probe, unresolved).items():
            deps[k] = found
    extra = any(not d for d in deps)
    weights = np.zeros((len(names), len(inputs) + int(extra)))
    for k, found in enumerate(deps):
        if found:
            weights[k, sorted(found)] = 1.0 / len(found)
        else:
            weights[k, -1] = 1.0
    return weights


def _named_input(name: str, inputs: Sequence[str]) -> set[int]:
    candidates = [name]
    if "__" in name:
        candidates.append(name.split("__", 1)[1])
    for candidate in candidates:
        if candidate in inputs:
            return {inputs.index(candidate)}
        prefixed = [i for i, col in enumerate(inputs) if candidate.startswith(col + "_")]
        if prefixed:
            return {max(prefixed, key=lambda i: len(inputs[i]))}
    return set()


def _probe(pre: Any, inputs: list[str], probe: Any, outputs: list[int]) -> dict[int, set[int]]:
    """Which inputs each of ``outputs`` changes with, shifting one input column at a time."""
    base = _to_array(pre.transform(probe))[:, outputs]
    found: dict[int, set[int]] = {k: set() for k in outputs}
    for j, column in enumerate(inputs):
        shifted = probe.copy()
        shifted[column] = np.roll(probe[column].to_numpy(), 1)
        changed = _to_array(pre.transform(shifted))[:, outputs]
        differs = ~np.isclose(changed, base, equal_nan=True).all(axis=0)
        for position in np.flatnonzero(differs):
            found[outputs[position]].add(j)
    return found
