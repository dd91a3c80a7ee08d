from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.checks import CheckContext, get_check
from charter.checks.explanations import explain
from charter.errors import CheckError
from charter.evidence import Finding, Verdict
from charter.policy import policy_from_dict
from charter.policy.schema import Rule
from charter.stats.frames import to_frame

N = 300


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, N),
            "income": rng.normal(3, 1, N),
            "sex": rng.choice(["F", "M"], N),
            "region": rng.choice(["north", "south", "east"], N),
        }
    )
    signal = frame["age"] / 10 + frame["income"] + 2.5 * (frame["sex"] == "M")
    frame["label"] = (signal + rng.normal(0, 1, N) > 8).astype(int)
    frame["male"] = (frame["sex"] == "M").astype(int)
    return frame


NUMERIC = ["age", "income", "male"]


def _ctx(credit: pd.DataFrame, estimator: Any, features: list[str], **policy: Any) -> CheckContext:
    raw = {
        "model": {"name": "credit"},
        "data": {"target": "label"},
        "explainability": {"sample_size": N, "background_size": N},  # every row: no sampling
        **policy,
    }
    return CheckContext(
        policy=policy_from_dict(raw), data=to_frame(credit), model=estimator, features=features
    )


def _run(ctx: CheckContext, params: dict[str, Any] | None = None, **bounds: Any) -> Finding:
    rule = Rule(id="shap", check="shap_explanations", params=params or {}, **bounds)
    spec = get_check("shap_explanations", section="explainability")
    result = spec.func(ctx, rule, spec.parse_params(rule.params))
    assert isinstance(result, Finding)
    result.model_dump_json()  # details stay JSON-able
    return result


def _mean_abs(values: np.ndarray, names: list[str]) -> dict[str, float]:
    return dict(zip(names, np.abs(values).mean(axis=0).tolist(), strict=True))


TREE_MODELS = {
    "random_forest": (
        lambda: RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0),
        lambda m, x: m.predict_proba(x)[:, 1],
        "probability",
    ),
    "hist_gradient_boosting": (
        lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
        lambda m, x: m.decision_function(x),
        "log-odds",
    ),
    "lightgbm": (
        lambda: LGBMClassifier(n_estimators=30, verbose=-1, random_state=0),
        lambda m, x: m.predict(x, raw_score=True),
        "log-odds",
    ),
}


@pytest.mark.parametrize("name", list(TREE_MODELS))
def test_tree_models_get_tree_shap_that_adds_up_to_the_model_output(
    credit: pd.DataFrame, name: str
) -> None:
    build, output, space = TREE_MODELS[name]
    x = credit[NUMERIC]
    model = build().fit(x, credit["label"])
    ctx = _ctx(credit, model, NUMERIC)
    finding = _run(ctx)
    assert finding.verdict is Verdict.PASS
    assert finding.details["explainer"] == "tree"
    assert finding.details["output"] == space
    assert finding.details["sample_size"] == N
    assert "eu-ai-act:art-13" in finding.controls

    explanation = explain(ctx)
    total = explanation.values.sum(axis=1) + explanation.expected_value
    np.testing.assert_allclose(total, output(model, x), atol=1e-6)

    direct = np.asarray(shap.TreeExplainer(model).shap_values(x))
    if direct.ndim == 3:
        direct = direct[:, :, 1]
    expected = _mean_abs(direct, NUMERIC)
    assert finding.details["importances"] == pytest.approx(expected, rel=1e-6)
    assert sum(finding.details["shares"].values()) == pytest.approx(1.0)
    assert next(iter(finding.details["importances"])) == max(expected, key=lambda k: expected[k])


def test_logistic_regression_shap_equals_coefficient_times_centred_input(
    credit: pd.DataFrame,
) -> None:
    x = credit[NUMERIC]
    model = LogisticRegression(max_iter=1000).fit(x, credit["label"])
    ctx = _ctx(credit, model, NUMERIC)
    finding = _run(ctx)
    assert finding.details["explainer"] == "linear"
    assert finding.details["output"] == "log-odds"
    # Independent closed form: phi_j = coef_j * (x_j - mean_j) over the background (all rows).
    closed = model.coef_[0] * (x.to_numpy() - x.to_numpy().mean(axis=0))
    assert finding.details["importances"] == pytest.approx(_mean_abs(closed, NUMERIC), rel=1e-6)
    explanation = explain(ctx)
    np.testing.assert_allclose(
        explanation.values.sum(axis=1) + explanation.expected_value,
        model.decision_function(x),
        atol=1e-8,
    )


def _pipeline(final: Any) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(), ["sex", "region"]),
            ("num", StandardScaler(), ["age", "income"]),
        ]
    )
    return Pipeline([("pre", pre), ("model", final)])


RAW = ["age", "income", "sex", "region"]


def _grouped(values: np.ndarray, pipe: Pipeline) -> dict[str, np.ndarray]:
    """Sum transformed-feature SHAP per original column, from the encoder's own categories."""
    encoder = pipe.named_steps["pre"].named_transformers_["cat"]
    sizes = [len(c) for c in encoder.categories_]
    groups = {"sex": slice(0, sizes[0]), "region": slice(sizes[0], sizes[0] + sizes[1])}
    start = sizes[0] + sizes[1]
    groups |= {"age": slice(start, start + 1), "income": slice(start + 1, start + 2)}
    return {k: values[:, s].sum(axis=1) for k, s in groups.items()}


def test_pipeline_importances_sum_one_hot_columns_back_to_their_column(
    credit: pd.DataFrame,
) -> None:
    pipe = _pipeline(LogisticRegression(max_iter=1000)).fit(credit[RAW], credit["label"])
    ctx = _ctx(credit, pipe, RAW)
    finding = _run(ctx)
    assert finding.details["explainer"] == "linear"
    assert finding.details["transformed_features"] == 7
    assert finding.details["feature_map"]["region"] == [
        "cat__region_east",
        "cat__region_north",
        "cat__region_south",
    ]
    transformed = pipe.named_steps["pre"].transform(credit[RAW])
    coef = pipe.named_steps["model"].coef_[0]
    closed = coef * (transformed - transformed.mean(axis=0))
    expected = {k: float(np.abs(v).mean()) for k, v in _grouped(closed, pipe).items()}
    assert finding.details["importances"] == pytest.approx(expected, rel=1e-6)
    explanation = explain(ctx)
    np.testing.assert_allclose(
        explanation.values.sum(axis=1) + explanation.expected_value,
        pipe.decision_function(credit[RAW]),
        atol=1e-8,
    )


def test_pipeline_with_a_forest_matches_shap_on_the_transformed_features(
    credit: pd.DataFrame,
) -> None:
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0)
    pipe = _pipeline(forest).fit(credit[RAW], credit["label"])
    finding = _run(_ctx(credit, pipe, RAW))
    assert finding.details["explainer"] == "tree"
    transformed = pipe.named_steps["pre"].transform(credit[RAW])
    direct = np.asarray(shap.TreeExplainer(pipe.named_steps["model"]).shap_values(transformed))
    grouped = _grouped(direct[:, :, 1], pipe)
    expected = {k: float(np.abs(v).mean()) for k, v in grouped.items()}
    assert finding.details["importances"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_other_models_get_the_permutation_explainer_which_adds_up(credit: pd.DataFrame) -> None:
    x = credit[NUMERIC]
    model = GaussianNB().fit(x, credit["label"])
    ctx = _ctx(credit, model, NUMERIC, explainability={"sample_size": 30, "background_size": 15})
    finding = _run(ctx)
    assert finding.details["explainer"] == "permutation"
    assert finding.details["output"] == "probability"
    assert finding.details["background_size"] == 15
    explanation = explain(ctx)
    assert len(explanation.sample_rows) == 30
    np.testing.assert_allclose(
        explanation.values.sum(axis=1) + explanation.expected_value,
        model.predict_proba(x.iloc[explanation.sample_rows])[:, 1],
        atol=1e-8,
    )
    assert max(finding.details["shares"], key=finding.details["shares"].get) == "male"


def test_protected_share_above_the_bound_fails(credit: pd.DataFrame) -> None:
    model = LGBMClassifier(n_estimators=30, verbose=-1).fit(credit[NUMERIC], credit["label"])
    ctx = _ctx(credit, model, NUMERIC, privacy={"protected_attributes": ["male"]})
    strict = _run(ctx, {"max_protected_share": 0.1})
    share = strict.details["shares"]["male"]
    assert strict.value == pytest.approx(share)
    assert strict.metric == "protected_importance_share"
    assert share > 0.1
    assert strict.verdict is Verdict.FAIL
    lenient = _run(ctx, {"max_protected_share": 0.9})
    assert lenient.verdict is Verdict.PASS
    with_proxy = _run(ctx, {"proxies": ["income"]}, max=0.99)
    assert with_proxy.value == pytest.approx(share + strict.details["shares"]["income"])
    assert with_proxy.details["protected"] == ["male", "income"]


def test_rules_share_one_memoised_shap_computation(credit: pd.DataFrame) -> None:
    model = LGBMClassifier(n_estimators=10, verbose=-1).fit(credit[NUMERIC], credit["label"])
    ctx = _ctx(credit, model, NUMERIC)
    _run(ctx)
    first = explain(ctx)
    _run(ctx, {"max_protected_share": 0.5, "attributes": ["male"]})
    assert explain(ctx) is first
    assert len([k for k in ctx._cache if k.startswith("shap:")]) == 1


def test_model_that_cannot_be_explained_is_an_error_finding(credit: pd.DataFrame) -> None:
    model = LogisticRegression(max_iter=1000).fit(credit[NUMERIC], credit["label"])
    ctx = _ctx(credit, model, ["age", "income"])  # the model needs three columns
    finding = _run(ctx)
    assert finding.verdict is Verdict.ERROR
    assert "could not be computed" in finding.message
    assert finding.details["reason"]


def test_non_finite_explanations_are_an_error_finding(credit: pd.DataFrame) -> None:
    model = LinearRegression().fit(credit[NUMERIC], credit["income"])
    model.coef_ = model.coef_.copy()
    model.coef_[0] = np.inf
    ctx = _ctx(credit, model, NUMERIC, model={"name": "m", "task": "regression"})
    finding = _run(ctx)
    assert finding.verdict is Verdict.ERROR
    assert "finite" in finding.message


def test_bound_without_protected_attributes_is_a_configuration_error(
    credit: pd.DataFrame,
) -> None:
    model = LogisticRegression(max_iter=1000).fit(credit[NUMERIC], credit["label"])
    with pytest.raises(CheckError, match="no protected attribute"):
        _run(_ctx(credit, model, NUMERIC), {"max_protected_share": 0.2})


def test_without_a_model_the_check_says_what_to_pass(credit: pd.DataFrame) -> None:
    with pytest.raises(CheckError) as err:
        _run(_ctx(credit, None, NUMERIC))
    assert err.value.hint and "--model" in err.value.hint
