"""Item 2 of issue 11: SHAP on fairlearn-mitigated models whose data has string columns.

The permutation explainer runs on integer codes of the string columns, decoded before each
call of the model. Oracle: shap's own PermutationExplainer on scikit-learn's OrdinalEncoder
view of the same rows (other codes, same values), and the additivity against the model's
``predict_proba`` on the raw strings.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.preprocessing import OrdinalEncoder

from charter.checks.context import CheckContext
from charter.checks.explanations import explain
from charter.gate import check
from charter.mitigate import mitigate
from charter.policy import load_policy

CATS = ["region", "job"]


def _oracle(model: Any, x: pd.DataFrame, rows: np.ndarray, background: np.ndarray) -> np.ndarray:
    strings = [c for c in x.columns if x[c].dtype == object]
    encoder = OrdinalEncoder().fit(x[strings])

    def encode(frame: pd.DataFrame) -> np.ndarray:
        out = frame.copy()
        out[strings] = encoder.transform(frame[strings])
        return out.to_numpy(dtype=float)

    def fn(values: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(values, columns=x.columns)
        frame[strings] = encoder.inverse_transform(frame[strings].to_numpy())
        frame = frame.astype({c: float for c in x.columns if c not in strings})
        return model.predict_proba(frame)[:, 1]

    bg = encode(x.iloc[background])
    explainer = shap.PermutationExplainer(
        fn, shap.maskers.Independent(bg, max_samples=len(bg)), seed=0
    )
    n = x.shape[1]
    return explainer(
        encode(x.iloc[rows]), max_evals=max(2 * n + 1, min(500, 20 * n)), silent=True
    ).values


@pytest.mark.parametrize("method", ["threshold_optimizer", "exponentiated_gradient"])
@pytest.mark.parametrize("kind", ["pipeline", "lightgbm"])
def test_shap_on_mitigated_models_equals_shap_on_an_ordinal_view(
    kind: str, method: str, request, train: pd.DataFrame, policy_file
) -> None:
    model = mitigate(
        request.getfixturevalue(kind), train, target="y", sensitive=["sex"], method=method
    )
    policy = load_policy(policy_file)
    ctx = CheckContext(policy=policy, data=nw.from_native(train, eager_only=True), model=model)
    explanation = explain(ctx)
    x = ctx.model_input()
    strings = [c for c in ("region", "job", "sex") if c in x.columns]
    x = x.astype({c: object for c in strings})
    rng = np.random.default_rng(policy.explainability.seed)
    rows = np.sort(rng.choice(len(x), size=policy.explainability.sample_size, replace=False))
    background = rng.choice(len(x), size=policy.explainability.background_size, replace=False)
    np.testing.assert_array_equal(explanation.sample_rows, rows)
    np.testing.assert_allclose(explanation.values, _oracle(model, x, rows, background), atol=1e-10)
    # Additive against the model's own output on the raw strings.
    output = model.predict_proba(train.iloc[rows])[:, 1]
    np.testing.assert_allclose(
        explanation.values.sum(axis=1) + explanation.expected_value, output, atol=1e-9
    )
    # The threshold optimiser reads `sex` to decide; the reduction's mixture does not.
    assert strings == (["region", "job", "sex"] if method == "threshold_optimizer" else CATS)
    assert explanation.encoded == strings
    assert f"integer codes of {', '.join(strings)}" in explanation.method


def test_a_mitigated_model_can_pass_an_explainability_rule(pipeline, train, train_csv, policy_file):
    """The rule passes and the evidence says which method explained the model."""
    model = mitigate(pipeline, train, target="y", sensitive=["sex"], method="threshold_optimizer")
    evidence = check(policy_file, train_csv, model=model)
    finding = next(f for f in evidence.findings if f.rule_id == "explanations")
    assert finding.verdict.value == "pass", finding.message
    assert finding.details["method"].startswith("PermutationExplainer on GroupThresholdClassifier")
    assert finding.details["encoded"] == ["region", "job", "sex"]
