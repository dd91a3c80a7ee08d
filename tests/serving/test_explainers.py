"""Explanations against shap itself and the linear formula, on the same rows."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap
from serving_support import inputs_of, tabular
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.serving.explainers import build_explainer, top_contributions


def _columns(frame: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for name in names:
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object:
            out[name] = series.astype(str).to_numpy(dtype=object)
        else:
            out[name] = series.to_numpy(dtype=np.float64)
    return out


def _shap_values(explainer: shap.TreeExplainer, x: object) -> np.ndarray:
    values = np.asarray(explainer.shap_values(x))
    return values[:, :, 1] if values.ndim == 3 else values


def test_lightgbm_contributions_equal_tree_explainer_and_add_up_to_log_odds() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(3_000, 20)), columns=[f"x{i}" for i in range(20)])
    y = (x["x0"] + x["x1"] * x["x2"] - x["x3"] + rng.normal(size=3_000) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1).fit(x, y)
    rows = x.sample(200, random_state=1)
    explainer = build_explainer(model, list(x.columns))
    out = explainer.outputs(_columns(rows, list(x.columns)), explain=True)
    assert out.contributions is not None and out.base is not None
    oracle = shap.TreeExplainer(model)
    np.testing.assert_allclose(out.contributions, _shap_values(oracle, rows), rtol=0, atol=1e-9)
    raw = model.predict(rows, raw_score=True)
    assert np.max(np.abs(out.contributions.sum(axis=1) + out.base - raw)) < 1e-6
    np.testing.assert_allclose(out.raw, raw, atol=1e-9)
    np.testing.assert_allclose(out.scores, model.predict_proba(rows)[:, 1], atol=1e-12)
    assert out.predictions == model.predict(rows).tolist()
    assert explainer.output_space == "log_odds"
    assert explainer.method == "lightgbm.pred_contrib"


def test_lightgbm_with_pandas_categories_maps_codes_like_lightgbm() -> None:
    train = tabular(seed=3)
    names = inputs_of(train)
    model = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(train[names], train["label"])
    rows = train[names].head(100)
    out = build_explainer(model, names).outputs(_columns(rows, names), explain=True)
    assert out.contributions is not None
    oracle = shap.TreeExplainer(model)
    np.testing.assert_allclose(out.contributions, _shap_values(oracle, rows), atol=1e-9)
    np.testing.assert_allclose(out.scores, model.predict_proba(rows)[:, 1], atol=1e-12)


def _pipeline(final: object) -> Pipeline:
    numeric = [f"f{i}" for i in range(6)]
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["region"]),
        ]
    )
    return Pipeline([("pre", pre), ("model", final)])


@pytest.mark.parametrize(
    ("final", "space"),
    [
        (RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0), "probability"),
        (GradientBoostingClassifier(n_estimators=40, random_state=0), "log_odds"),
    ],
    ids=["random-forest", "gradient-boosting"],
)
def test_sklearn_trees_in_a_pipeline_sum_one_hot_parts_back_to_their_column(
    final: object, space: str
) -> None:
    train = tabular(seed=5)
    names = inputs_of(train)
    pipe = _pipeline(final).fit(train[names], train["label"])
    rows = train[names].iloc[:150]
    background = _columns(train[names].iloc[500:700], names)
    explainer = build_explainer(pipe, names, background=background)
    out = explainer.outputs(_columns(rows, names), explain=True)
    assert out.contributions is not None and out.base is not None
    transformed = pd.DataFrame(pipe[:-1].transform(rows))
    derived = _shap_values(shap.TreeExplainer(pipe[-1]), transformed.to_numpy())
    # six scaled columns map one to one; the three one-hot parts of region add up to it
    expected = np.column_stack([derived[:, :6], derived[:, 6:].sum(axis=1)])
    np.testing.assert_allclose(out.contributions, expected, atol=1e-9)
    assert explainer.features == names
    assert explainer.output_space == space
    assert np.max(np.abs(out.contributions.sum(axis=1) + out.base - out.raw)) < 1e-6
    np.testing.assert_allclose(out.scores, pipe.predict_proba(rows)[:, 1], atol=1e-12)


def test_logistic_regression_matches_the_exact_linear_formula_and_shap() -> None:
    train = tabular(seed=7)
    names = inputs_of(train)
    pipe = _pipeline(LogisticRegression(max_iter=500)).fit(train[names], train["label"])
    rows = train[names].iloc[:100]
    background = _columns(train[names].iloc[1_000:1_100], names)
    explainer = build_explainer(pipe, names, background=background)
    out = explainer.outputs(_columns(rows, names), explain=True)
    assert out.contributions is not None and out.base is not None
    x = pipe[:-1].transform(rows)
    mu = pipe[:-1].transform(pd.DataFrame(background)).mean(axis=0)
    w, b = pipe[-1].coef_.ravel(), pipe[-1].intercept_[0]
    phi = (x - mu) * w
    formula = np.column_stack([phi[:, :6], phi[:, 6:].sum(axis=1)])
    np.testing.assert_allclose(out.contributions, formula, atol=1e-12)
    np.testing.assert_allclose(out.base, w @ mu + b, atol=1e-12)
    np.testing.assert_allclose(out.raw, pipe.decision_function(rows), atol=1e-12)
    assert np.max(np.abs(out.contributions.sum(axis=1) + out.base - out.raw)) < 1e-9
    bg = pipe[:-1].transform(pd.DataFrame(background))
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    oracle = shap.LinearExplainer(pipe[-1], masker).shap_values(x)
    np.testing.assert_allclose(
        formula, np.column_stack([oracle[:, :6], oracle[:, 6:].sum(axis=1)]), atol=1e-9
    )
    assert explainer.output_space == "log_odds"


def test_other_models_use_the_bounded_permutation_fallback_and_record_its_budget() -> None:
    train = tabular(seed=9, categorical=False)
    names = inputs_of(train)
    model = KNeighborsClassifier(n_neighbors=15).fit(train[names], train["label"])
    background = _columns(train[names].iloc[:100], names)
    explainer = build_explainer(model, names, background=background)
    rows = train[names].iloc[200:205]
    out = explainer.outputs(_columns(rows, names), explain=True)
    assert out.contributions is not None and out.base is not None
    assert explainer.method == "shap.PermutationExplainer"
    assert explainer.describe() == {
        "method": "shap.PermutationExplainer",
        "output_space": "probability",
        "background_rows": 100,
        "max_evals_per_row": 120,
        "seed": 0,
    }
    np.testing.assert_allclose(out.raw, model.predict_proba(rows)[:, 1])
    assert np.max(np.abs(out.contributions.sum(axis=1) + out.base - out.raw)) < 1e-6


def test_top_k_keeps_the_largest_contributions_by_absolute_value() -> None:
    got = top_contributions(["a", "b", "c", "d"], np.array([0.1, -0.5, 0.3, 0.0]), 2)
    assert got == {"b": -0.5, "c": 0.3}
    assert list(top_contributions(["a", "b"], np.array([0.1, -0.5]), None)) == ["b", "a"]
