"""The check context: one prediction pass, derived predictions confirmed against predict."""

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from charter.checks import CheckContext
from charter.policy import policy_from_dict

POLICY = policy_from_dict({"model": {"name": "m"}, "data": {"target": "y"}})


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 5_000
    x = rng.normal(size=(n, 3))
    y = (x @ [1.0, -0.5, 0.2] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y})


class CountingModel(ClassifierMixin, BaseEstimator):
    """Wraps a classifier and counts the rows it is asked to predict."""

    def __init__(self, inner, threshold: float = 0.5) -> None:
        self.inner = inner
        self.threshold = threshold

    def fit(self, X, y):
        self.inner.fit(X, y)
        self.classes_ = self.inner.classes_
        self.feature_names_in_ = self.inner.feature_names_in_
        self.predicted_rows = 0
        self.proba_rows = 0
        return self

    def predict_proba(self, X):
        self.proba_rows += len(X)
        return self.inner.predict_proba(X)

    def predict(self, X):
        self.predicted_rows += len(X)
        return (self.inner.predict_proba(X)[:, 1] > self.threshold).astype(int)


@pytest.mark.parametrize(
    "inner", [LogisticRegression(), LGBMClassifier(n_estimators=20, verbose=-1)]
)
def test_argmax_classifiers_are_predicted_in_one_pass(frame: pd.DataFrame, inner) -> None:
    features = frame[["a", "b", "c"]]
    model = CountingModel(inner).fit(features, frame["y"])
    ctx = CheckContext(policy=POLICY, data=nw.from_native(frame), model=model)
    predictions = ctx.y_pred()
    scores = ctx.scores()
    assert np.array_equal(predictions, inner.predict(features))
    np.testing.assert_allclose(scores, inner.predict_proba(features)[:, 1])
    assert model.proba_rows == len(frame)  # one full pass, shared by predictions and scores
    assert model.predicted_rows == 2048  # only the probe that confirms the derivation


def test_a_model_whose_predict_is_not_argmax_is_called_for_every_row(frame: pd.DataFrame) -> None:
    features = frame[["a", "b", "c"]]
    model = CountingModel(LogisticRegression(), threshold=0.3).fit(features, frame["y"])
    ctx = CheckContext(policy=POLICY, data=nw.from_native(frame), model=model)
    expected = (model.inner.predict_proba(features)[:, 1] > 0.3).astype(int)
    assert np.array_equal(ctx.y_pred(), expected)
    assert model.predicted_rows == 2048 + len(frame)


def test_randomised_models_opt_out_of_the_derivation(frame: pd.DataFrame) -> None:
    features = frame[["a", "b", "c"]]
    model = CountingModel(LogisticRegression()).fit(features, frame["y"])
    model.charter_predict_is_argmax = False
    ctx = CheckContext(policy=POLICY, data=nw.from_native(frame), model=model)
    ctx.y_pred()
    assert model.predicted_rows == len(frame) and model.proba_rows == 0
