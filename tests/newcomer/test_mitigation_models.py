"""Items 1 and 3 of issue 11: mitigation of ordinary models fed strings from a CSV.

Oracles: fairlearn's own ExponentiatedGradient and ThresholdOptimizer, and LightGBM predicting
on the pandas categories it was fitted with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.artifacts import load_model, save_model
from charter.checks.categories import conform_categories, recorded_categories
from charter.errors import CharterError, DataError
from charter.gate import check
from charter.mitigate import mitigate
from tests.e2e.cli import run_charter
from tests.newcomer.conftest import CATEGORICAL, FEATURES, as_categories


class _OracleFrame(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Test-side adapter: fairlearn hands over integer-named columns; restore names, dtypes."""

    def __init__(self, estimator: Any = None, weight: str = "sample_weight") -> None:
        self.estimator = estimator
        self.weight = weight

    def _x(self, x: Any) -> pd.DataFrame:
        frame = pd.DataFrame(np.asarray(x, dtype=object), columns=FEATURES)
        frame = frame.astype({"income": float, "debt": float})
        return as_categories(frame) if isinstance(self.estimator, lgb.LGBMClassifier) else frame

    def fit(self, x: Any, y: Any, sample_weight: Any = None) -> _OracleFrame:
        self.model_ = clone(self.estimator).fit(self._x(x), y, **{self.weight: sample_weight})
        self.classes_ = self.model_.classes_
        return self

    def predict(self, x: Any) -> np.ndarray:
        return np.asarray(self.model_.predict(self._x(x)))


def _by_position() -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), [0, 1]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), [2, 3]),
        ]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression())])


def test_exponentiated_gradient_on_a_pipeline_equals_fairlearn(pipeline, train) -> None:
    """Item 1: the weights reach the pipeline's last step; the mixture equals fairlearn's."""
    ours = mitigate(pipeline, train, target="y", sensitive=["sex"], method="exponentiated_gradient")
    oracle = ExponentiatedGradient(
        _by_position(), constraints=DemographicParity(), sample_weight_name="clf__sample_weight"
    ).fit(train[FEATURES], train["y"], sensitive_features=train["sex"])
    np.testing.assert_allclose(
        ours.predict_proba(train)[:, 1], oracle._pmf_predict(train[FEATURES])[:, 1], atol=1e-9
    )
    assert all(isinstance(p, Pipeline) for p in ours.predictors_)  # saved bare, no adapter


def test_exponentiated_gradient_on_lightgbm_categories_equals_fairlearn(lightgbm, train) -> None:
    """Items 1 and 3: string columns are cast to the LightGBM model's categories to refit."""
    ours = mitigate(lightgbm, train, target="y", sensitive=["sex"], method="exponentiated_gradient")
    oracle = ExponentiatedGradient(
        _OracleFrame(clone(lightgbm)), constraints=DemographicParity()
    ).fit(train[FEATURES], train["y"], sensitive_features=train["sex"])
    np.testing.assert_allclose(
        ours.predict_proba(train)[:, 1], oracle._pmf_predict(train[FEATURES])[:, 1], atol=1e-9
    )


def test_threshold_optimizer_on_lightgbm_strings_equals_fairlearn(lightgbm, train) -> None:
    ours = mitigate(lightgbm, train, target="y", sensitive=["sex"], method="threshold_optimizer")
    oracle = ThresholdOptimizer(estimator=lightgbm, prefit=True, predict_method="predict_proba")
    oracle.fit(as_categories(train[FEATURES]), train["y"], sensitive_features=train["sex"])
    np.testing.assert_allclose(
        ours.predict_proba(train)[:, 1],
        oracle._pmf_predict(as_categories(train[FEATURES]), sensitive_features=train["sex"])[:, 1],
        atol=1e-12,
    )


def test_reweighing_lightgbm_on_strings_equals_lightgbm_on_categories(lightgbm, train) -> None:
    from charter.mitigate import reweighing_weights

    ours = mitigate(lightgbm, train, target="y", sensitive=["sex"], method="reweighing")
    weights = reweighing_weights(train, target="y", sensitive=["sex"])
    oracle = clone(lightgbm).fit(as_categories(train[FEATURES]), train["y"], sample_weight=weights)
    x = as_categories(train[FEATURES])
    np.testing.assert_allclose(ours.predict_proba(x), oracle.predict_proba(x), atol=1e-12)


def test_a_model_without_sample_weight_is_refused_with_the_method_that_works(train) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    model = Pipeline([("pre", _by_position()[0]), ("knn", KNeighborsClassifier())]).fit(
        train[FEATURES], train["y"]
    )
    with pytest.raises(
        CharterError, match=r"KNeighborsClassifier\.fit takes no sample_weight"
    ) as e:
        mitigate(model, train, target="y", sensitive=["sex"], method="exponentiated_gradient")
    assert "threshold_optimizer" in (e.value.hint or "")


def test_lightgbm_records_its_categories(lightgbm, train) -> None:
    wanted = recorded_categories(lightgbm)
    assert wanted == {c: sorted(train[c].unique()) for c in CATEGORICAL}
    cast = conform_categories(lightgbm, train[FEATURES])
    assert all(isinstance(cast[c].dtype, pd.CategoricalDtype) for c in CATEGORICAL)
    np.testing.assert_array_equal(
        lightgbm.predict_proba(cast), lightgbm.predict_proba(as_categories(train[FEATURES]))
    )


def test_numbers_read_from_a_csv_match_categories_recorded_as_text(train) -> None:
    """The class of cases: a CSV reads `1` where the model saw the category '1'."""
    frame = train[FEATURES].assign(region=train["region"].map({"north": 1, "south": 2, "east": 3}))
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(
        frame.astype({"region": str, "job": "category"}).astype({"region": "category"}),
        train["y"],
    )
    cast = conform_categories(model, frame)
    assert list(cast["region"].astype(str).unique()) == list(frame["region"].astype(str).unique())
    assert cast["region"].notna().all()


def test_a_column_with_none_of_the_categories_says_what_to_cast(lightgbm, train) -> None:
    frame = train[FEATURES].assign(region="atlantis")
    with pytest.raises(DataError) as caught:
        conform_categories(lightgbm, frame)
    assert "column 'region' holds none of the categories" in caught.value.message
    assert "'east', 'north', 'south'" in caught.value.message
    assert "pd.Categorical(frame['region'], categories=['east', 'north', 'south'])" in (
        caught.value.hint or ""
    )


def test_check_a_lightgbm_on_categories_from_a_csv(lightgbm, train, train_csv, policy_file):
    """Item 3: `check` predicts as LightGBM does on its own categories."""
    evidence = check(policy_file, train_csv, model=lightgbm)
    parity = next(f for f in evidence.findings if f.rule_id == "parity")
    from fairlearn.metrics import demographic_parity_difference

    expected = demographic_parity_difference(
        train["y"],
        lightgbm.predict(as_categories(train[FEATURES])),
        sensitive_features=train["sex"],
    )
    assert parity.value == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", ["reweighing", "exponentiated_gradient", "threshold_optimizer"])
@pytest.mark.parametrize("kind", ["pipeline", "lightgbm"])
def test_charter_mitigate_cli_on_ordinary_models(
    kind: str, method: str, request, train_csv: Path, policy_file: Path, tmp_path: Path
) -> None:
    """The commands a newcomer ran: all six end in a saved, re-checked model."""
    model = request.getfixturevalue(kind)
    source = save_model(model, tmp_path / f"{kind}.skops")
    out = tmp_path / "fair.skops"
    result = run_charter(
        "mitigate", "-m", str(source), "-d", str(train_csv), "-o", str(out),
        "--method", method, "-p", str(policy_file), "--check-data", str(train_csv),
        "--check-out", str(tmp_path / "checked"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "internal error" not in result.stdout + result.stderr
    assert load_model(out) is not None
