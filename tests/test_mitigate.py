from __future__ import annotations

import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from fairlearn.metrics import demographic_parity_difference
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from charter.artifacts import load_model, save_model
from charter.errors import CharterError, DataError
from charter.mitigate import (
    GroupThresholdClassifier,
    RandomizedEnsembleClassifier,
    mitigate,
    reweighing_weights,
)

FEATURES = ["income", "debt", "tenure"]


@pytest.fixture(scope="module")
def biased() -> pd.DataFrame:
    """Labels and a feature both favour group M: a model learns the bias through `income`."""
    rng = np.random.default_rng(5)
    n = 1_500
    sex = rng.choice(["F", "M"], n, p=[0.45, 0.55])
    region = rng.choice(["north", "south"], n)
    income = rng.normal(0, 1, n) + np.where(sex == "M", 0.8, 0.0)
    debt = rng.normal(0, 1, n)
    tenure = rng.normal(0, 1, n)
    logit = 1.2 * income - 0.8 * debt + 0.3 * tenure + np.where(sex == "M", 0.6, -0.2)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"income": income, "debt": debt, "tenure": tenure, "sex": sex, "region": region, "y": y}
    )


def _aif360_weights(frame: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from aif360.algorithms.preprocessing import Reweighing
        from aif360.datasets import BinaryLabelDataset

    df = pd.DataFrame({"sex": (frame["sex"] == "M").astype(int), "y": frame["y"]})
    dataset = BinaryLabelDataset(
        df=df,
        label_names=["y"],
        protected_attribute_names=["sex"],
        favorable_label=1,
        unfavorable_label=0,
        instance_weights_name=None,
    )
    if weights is not None:
        dataset.instance_weights = weights.copy()
    out = Reweighing(unprivileged_groups=[{"sex": 0}], privileged_groups=[{"sex": 1}])
    return out.fit_transform(dataset).instance_weights


def test_reweighing_weights_equal_aif360(biased: pd.DataFrame) -> None:
    ours = reweighing_weights(biased, target="y", sensitive=["sex"])
    np.testing.assert_allclose(ours, _aif360_weights(biased), rtol=1e-12)
    assert len(np.unique(np.round(ours, 12))) == 4  # one weight per (group, label) cell


def test_reweighing_multiplies_existing_instance_weights_like_aif360(biased) -> None:
    base = np.random.default_rng(1).uniform(0.5, 2.0, len(biased))
    ours = reweighing_weights(
        biased.assign(w=base), target="y", sensitive=["sex"], sample_weight="w"
    )
    np.testing.assert_allclose(ours, _aif360_weights(biased, base), rtol=1e-12)


def test_reweighing_makes_labels_independent_of_intersectional_groups(biased) -> None:
    weights = reweighing_weights(pl.from_pandas(biased), target="y", sensitive=["sex", "region"])
    frame = biased.assign(w=weights)
    by_group = frame.groupby(["sex", "region"]).apply(
        lambda g: np.average(g["y"], weights=g["w"]), include_groups=False
    )
    # weighted favourable rate is the overall rate in every group: P_w(Y|A) = P(Y)
    np.testing.assert_allclose(by_group.to_numpy(), biased["y"].mean(), rtol=1e-12)
    # and the total weight of each group is unchanged
    totals = frame.groupby(["sex", "region"])["w"].sum()
    np.testing.assert_allclose(totals, frame.groupby(["sex", "region"]).size(), rtol=1e-12)


def test_reweighing_refits_lightgbm_and_pipelines_with_weights(biased) -> None:
    for estimator in (
        lgb.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1, random_state=0),
        make_pipeline(StandardScaler(), LogisticRegression()),
    ):
        original = estimator.fit(biased[FEATURES], biased["y"])
        before = demographic_parity_difference(
            biased["y"], original.predict(biased[FEATURES]), sensitive_features=biased["sex"]
        )
        fair = mitigate(original, biased, target="y", sensitive=["sex"], method="reweighing")
        assert type(fair) is type(original) and fair is not original
        after = demographic_parity_difference(
            biased["y"], fair.predict(biased[FEATURES]), sensitive_features=biased["sex"]
        )
        assert after < before


def test_threshold_optimizer_wrapper_equals_fairlearn(biased) -> None:
    base = LogisticRegression().fit(biased[FEATURES], biased["y"])
    x = biased[[*FEATURES, "sex"]]
    for constraint in ("demographic_parity", "equalized_odds"):
        ours = GroupThresholdClassifier(
            base, sensitive=["sex"], constraint=constraint, prefit=True, random_state=3
        ).fit(x, biased["y"])
        theirs = ThresholdOptimizer(
            estimator=base, constraints=constraint, predict_method="predict_proba", prefit=True
        ).fit(biased[FEATURES], biased["y"], sensitive_features=biased["sex"])
        expected = theirs._pmf_predict(biased[FEATURES], sensitive_features=biased["sex"])
        np.testing.assert_allclose(ours.predict_proba(x), expected, atol=1e-12)
        np.testing.assert_array_equal(
            ours.predict(x),
            theirs.predict(biased[FEATURES], sensitive_features=biased["sex"], random_state=3),
        )
    assert list(ours.feature_names_in_) == [*FEATURES, "sex"]


def test_exponentiated_gradient_wrapper_equals_fairlearn(biased) -> None:
    small = biased.iloc[:400]
    ours = RandomizedEnsembleClassifier(
        LogisticRegression(solver="liblinear"),
        sensitive=["sex"],
        features=FEATURES,
        max_iter=8,
        random_state=2,
    ).fit(small, small["y"])
    theirs = ExponentiatedGradient(
        LogisticRegression(solver="liblinear"), constraints=DemographicParity(), max_iter=8
    ).fit(small[FEATURES], small["y"], sensitive_features=small["sex"])
    np.testing.assert_allclose(
        ours.predict_proba(small), theirs._pmf_predict(small[FEATURES]), atol=1e-12
    )
    np.testing.assert_array_equal(
        ours.predict(small), theirs.predict(small[FEATURES], random_state=2)
    )
    assert list(ours.feature_names_in_) == FEATURES  # no sensitive column needed to predict
    assert ours.weights_.sum() == pytest.approx(1.0)


def test_wrappers_save_through_skops_and_load_with_default_trust(tmp_path: Path, biased) -> None:
    base = lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(
        biased[FEATURES], biased["y"]
    )
    small = biased.iloc[:300]
    models = [
        mitigate(base, biased, target="y", sensitive=["sex"], method="threshold_optimizer"),
        mitigate(
            LogisticRegression(solver="liblinear"),
            small,
            target="y",
            sensitive=["sex"],
            method="exponentiated_gradient",
            features=FEATURES,
            max_iter=5,
        ),
    ]
    for model in models:
        loaded = load_model(save_model(model, tmp_path / f"{type(model).__name__}.skops"))
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict_proba(biased), model.predict_proba(biased))
        np.testing.assert_array_equal(loaded.predict(biased), model.predict(biased))


def test_threshold_optimizer_needs_known_groups_and_the_sensitive_column(biased) -> None:
    base = LogisticRegression().fit(biased[FEATURES], biased["y"])
    model = mitigate(base, biased, target="y", sensitive=["sex"], method="threshold_optimizer")
    with pytest.raises(DataError, match="not seen"):
        model.predict(biased.assign(sex="X"))
    with pytest.raises(DataError, match="needs column"):
        model.predict(biased.drop(columns=["sex"]))


def test_unknown_method_or_constraint_is_refused_with_a_suggestion(biased) -> None:
    with pytest.raises(CharterError) as info:
        mitigate(LogisticRegression(), biased, target="y", sensitive=["sex"], method="reweigh")
    assert info.value.hint == "did you mean 'reweighing'?"
    with pytest.raises(CharterError, match="does not support"):
        mitigate(
            LogisticRegression(),
            biased,
            target="y",
            sensitive=["sex"],
            method="exponentiated_gradient",
            constraint="demographic_parit",
        )
    with pytest.raises(DataError, match="not found"):
        mitigate(LogisticRegression(), biased, target="y", sensitive=["gender"])
