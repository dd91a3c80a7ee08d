"""Performance checks through a CheckContext with a loaded policy and real scikit-learn models."""

from __future__ import annotations

import json
import math
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from charter.checks import CheckContext, available_checks, get_check
from charter.errors import CheckError
from charter.evidence import Finding, Verdict
from charter.policy import Policy
from charter.policy.loader import policy_from_dict

FEATURES = ["x1", "x2", "x3"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 4_000
    x = rng.normal(size=(n, 3))
    group = rng.choice(["north", "south"], n)
    logit = 1.2 * x[:, 0] - 0.8 * x[:, 1] + np.where(group == "south", 0.7 * x[:, 2], 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    amount = 3 * x[:, 0] + x[:, 1] + rng.normal(0, 1, n)
    return pd.DataFrame(
        {"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "region": group, "y": y, "amount": amount}
    )


@pytest.fixture(scope="module")
def good(data: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(data[FEATURES], data["y"])


@pytest.fixture(scope="module")
def weak(data: pd.DataFrame) -> LogisticRegression:
    noisy = np.random.default_rng(0).permutation(data["y"].to_numpy())  # learns next to nothing
    return LogisticRegression().fit(data[FEATURES], noisy)


def _policy(rules: list[dict[str, Any]], task: str = "binary_classification") -> Policy:
    return policy_from_dict(
        {
            "model": {"name": "m", "task": task},
            "data": {"target": "amount" if task == "regression" else "y", "sensitive": ["region"]},
            "performance": {"rules": rules},
        }
    )


def _run(
    policy: Policy, data: pd.DataFrame, model: Any, rule_id: str, baseline: Any = None
) -> Finding:
    ctx = CheckContext(
        policy=policy, data=nw.from_native(data), model=model, baseline=baseline, features=FEATURES
    )
    rule = policy.rule(rule_id)
    spec = get_check(rule.check, section="performance")
    out = spec.func(ctx, rule, spec.parse_params(rule.params))
    assert isinstance(out, Finding)
    json.dumps(out.details, allow_nan=False)
    return out


def test_every_performance_check_is_registered_with_its_controls() -> None:
    checks = available_checks()
    for check_id in (
        "accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
        "brier", "mae", "rmse", "r2",
    ):  # fmt: skip
        assert checks[check_id].section == "performance"
        assert checks[check_id].controls == ("eu-ai-act:art-15.3", "nist-ai-rmf:measure-2.3")


@pytest.mark.parametrize(
    ("check", "oracle", "uses_scores"),
    [
        ("accuracy", skm.accuracy_score, False),
        ("balanced_accuracy", skm.balanced_accuracy_score, False),
        ("precision", skm.precision_score, False),
        ("recall", skm.recall_score, False),
        ("f1", skm.f1_score, False),
        ("roc_auc", skm.roc_auc_score, True),
        ("log_loss", skm.log_loss, True),
        ("brier", skm.brier_score_loss, True),
    ],
)
def test_classification_checks_match_sklearn_overall_and_per_group(
    data: pd.DataFrame, good: LogisticRegression, check: str, oracle: Any, uses_scores: bool
) -> None:
    policy = _policy([{"id": "r", "check": check, "params": {"per_group": True}}])
    finding = _run(policy, data, good, "r")
    output = (
        good.predict_proba(data[FEATURES])[:, 1] if uses_scores else good.predict(data[FEATURES])
    )
    assert finding.value == pytest.approx(oracle(data["y"], output), abs=1e-12)
    for row in finding.details["groups"]:
        mask = (data["region"] == row["key"]["region"]).to_numpy()
        assert row[check] == pytest.approx(oracle(data["y"][mask], output[mask]), abs=1e-12)
        assert row["count"] == int(mask.sum())


def test_thresholds_decide_the_verdict(data: pd.DataFrame, good: LogisticRegression) -> None:
    policy = _policy(
        [
            {"id": "auc_ok", "check": "roc_auc", "min": 0.7},
            {"id": "auc_high", "check": "roc_auc", "min": 0.99},
            {"id": "ll", "check": "log_loss", "max": 0.1, "severity": "warn"},
        ]
    )
    assert _run(policy, data, good, "auc_ok").verdict is Verdict.PASS
    high = _run(policy, data, good, "auc_high")
    assert high.verdict is Verdict.FAIL and high.blocking and "must be >= 0.99" in high.message
    loss = _run(policy, data, good, "ll")
    assert loss.verdict is Verdict.FAIL and loss.warning and not loss.blocking


def test_worst_group_is_held_to_the_bound(data: pd.DataFrame, good: LogisticRegression) -> None:
    policy = _policy(
        [{"id": "acc", "check": "accuracy", "min": 0.0, "params": {"aggregate": "worst_group"}}]
    )
    finding = _run(policy, data, good, "acc")
    pred = good.predict(data[FEATURES])
    per_group = [
        skm.accuracy_score(data["y"][data["region"] == g], pred[(data["region"] == g).to_numpy()])
        for g in ("north", "south")
    ]
    assert finding.value == pytest.approx(min(per_group))
    assert finding.details["worst_group"]["value"] == pytest.approx(min(per_group))


def test_max_drop_fails_when_the_candidate_is_worse_than_production(
    data: pd.DataFrame, good: LogisticRegression, weak: LogisticRegression
) -> None:
    policy = _policy(
        [
            {"id": "auc", "check": "roc_auc", "params": {"max_drop": 0.02}},
            {"id": "ll", "check": "log_loss", "params": {"max_drop": 0.0}},
        ]
    )

    def auc(m: LogisticRegression) -> float:
        return float(skm.roc_auc_score(data["y"], m.predict_proba(data[FEATURES])[:, 1]))

    assert auc(good) - auc(weak) > 0.1
    improved = _run(policy, data, good, "auc", baseline=weak)
    assert improved.verdict is Verdict.PASS
    assert improved.details["drop"] == pytest.approx(auc(weak) - auc(good), abs=1e-12)
    assert "gain" in improved.message
    worse = _run(policy, data, weak, "auc", baseline=good)
    assert worse.verdict is Verdict.FAIL and worse.blocking
    assert worse.details["baseline_value"] == pytest.approx(auc(good), abs=1e-12)
    assert worse.details["drop"] == pytest.approx(auc(good) - auc(weak), abs=1e-12)
    loss = _run(policy, data, weak, "ll", baseline=good)
    assert loss.verdict is Verdict.FAIL and loss.details["drop"] > 0
    assert _run(policy, data, good, "ll", baseline=good).verdict is Verdict.PASS


def test_max_drop_without_a_baseline_is_skipped_with_the_reason(
    data: pd.DataFrame, good: LogisticRegression
) -> None:
    policy = _policy([{"id": "f1", "check": "f1", "min": 0.5, "params": {"max_drop": 0.01}}])
    finding = _run(policy, data, good, "f1")
    assert finding.verdict is Verdict.SKIPPED and not finding.blocking
    assert "baseline" in finding.details["reason"]


def test_score_metrics_without_probabilities_are_an_error_finding(data: pd.DataFrame) -> None:
    svm = LinearSVC().fit(data[FEATURES], data["y"])
    policy = _policy([{"id": "auc", "check": "roc_auc", "min": 0.7}])
    finding = _run(policy, data, svm, "auc")
    assert finding.verdict is Verdict.ERROR and "predict_proba" in finding.details["reason"]
    assert finding.value is not None and math.isnan(finding.value)


def test_regression_checks_match_sklearn_per_group(data: pd.DataFrame) -> None:
    reg = LinearRegression().fit(data[FEATURES], data["amount"])
    pred = reg.predict(data[FEATURES])
    oracles = {
        "mae": skm.mean_absolute_error,
        "rmse": skm.root_mean_squared_error,
        "r2": skm.r2_score,
    }
    policy = _policy(
        [{"id": k, "check": k, "params": {"sensitive": ["region"]}} for k in oracles],
        task="regression",
    )
    for name, oracle in oracles.items():
        finding = _run(policy, data, reg, name)
        assert finding.value == pytest.approx(oracle(data["amount"], pred), rel=1e-10)
        south = next(g for g in finding.details["groups"] if g["key"] == {"region": "south"})
        mask = (data["region"] == "south").to_numpy()
        assert south[name] == pytest.approx(oracle(data["amount"][mask], pred[mask]), rel=1e-10)


def test_metric_of_the_wrong_task_is_a_check_error(
    data: pd.DataFrame, good: LogisticRegression
) -> None:
    policy = _policy([{"id": "mae", "check": "mae", "max": 1.0}])
    with pytest.raises(CheckError, match="regression metric"):
        _run(policy, data, good, "mae")


def test_predictions_column_without_a_model(data: pd.DataFrame, good: LogisticRegression) -> None:
    frame = data.assign(
        pred=good.predict(data[FEATURES]), score=good.predict_proba(data[FEATURES])[:, 1]
    )
    policy = policy_from_dict(
        {
            "model": {"name": "m"},
            "data": {"target": "y", "prediction": "pred", "score": "score"},
            "performance": {
                "rules": [{"id": "auc", "check": "roc_auc"}, {"id": "acc", "check": "accuracy"}]
            },
        }
    )
    assert _run(policy, frame, None, "auc").value == pytest.approx(
        skm.roc_auc_score(frame.y, frame.score)
    )
    assert _run(policy, frame, None, "acc").value == pytest.approx(
        skm.accuracy_score(frame.y, frame.pred)
    )


def test_findings_carry_intervals_overall_per_group_and_for_the_worst_group(
    data: pd.DataFrame, good: LogisticRegression
) -> None:
    policy = _policy(
        [
            {"id": "acc", "check": "accuracy", "params": {"per_group": True}},
            {"id": "auc", "check": "roc_auc", "min": 0.5, "params": {"aggregate": "worst_group"}},
        ]
    )
    acc = _run(policy, data, good, "acc")
    low, high = acc.details["ci"]
    assert low < acc.value < high and "95% CI" in acc.message
    assert acc.details["interval"]["method"] == "percentile bootstrap over resampled counts"
    assert acc.details["interval"]["resamples"] == 1000  # the fairness section's default
    for row in acc.details["groups"]:
        assert row["accuracy_ci"][0] < row["accuracy"] < row["accuracy_ci"][1]
    auc = _run(policy, data, good, "auc")
    scores = good.predict_proba(data[FEATURES])[:, 1]
    y = data["y"].to_numpy()
    worst = auc.details["worst_group"]
    mask = (data["region"] == worst["group"].split("=")[1]).to_numpy()
    # DeLong's standard error, computed pairwise here
    pos, neg = scores[mask & (y == 1)], scores[mask & (y == 0)]
    v10 = (pos[:, None] > neg[None, :]).mean(axis=1)
    v01 = (pos[:, None] > neg[None, :]).mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    assert worst["ci"] == pytest.approx([v10.mean() - 1.96 * se, v10.mean() + 1.96 * se], abs=1e-3)
    assert f"CI {worst['ci'][0]:.4g} to {worst['ci'][1]:.4g}" in auc.message


def test_interval_settings_come_from_the_rule_then_performance_then_fairness(
    data: pd.DataFrame, good: LogisticRegression
) -> None:
    def policy(performance: dict[str, Any], params: dict[str, Any]) -> Policy:
        return policy_from_dict(
            {
                "model": {"name": "m"},
                "data": {"target": "y", "sensitive": ["region"]},
                "fairness": {"bootstrap": 300, "confidence_level": 0.9},
                "performance": {
                    **performance,
                    "rules": [{"id": "f1", "check": "f1", "params": params}],
                },
            }
        )

    inherited = _run(policy({}, {}), data, good, "f1").details["interval"]
    assert (inherited["resamples"], inherited["confidence_level"]) == (300, 0.9)
    own = _run(policy({"bootstrap": 200, "seed": 4}, {}), data, good, "f1").details["interval"]
    assert (own["resamples"], own["seed"], own["confidence_level"]) == (200, 4, 0.9)
    rule = _run(policy({"bootstrap": 200}, {"confidence_level": 0.5}), data, good, "f1")
    assert rule.details["interval"]["confidence_level"] == 0.5
    off = _run(policy({"bootstrap": 0}, {}), data, good, "f1")
    assert "ci" not in off.details and "interval" not in off.details and "CI" not in off.message


def test_regression_findings_have_moment_intervals_except_r2(data: pd.DataFrame) -> None:
    reg = LinearRegression().fit(data[FEATURES], data["amount"])
    policy = _policy(
        [{"id": k, "check": k, "params": {"per_group": True}} for k in ("mae", "rmse", "r2")],
        task="regression",
    )
    residual = np.abs(data["amount"].to_numpy() - reg.predict(data[FEATURES]))
    mae = _run(policy, data, reg, "mae")
    half = 1.959963984540054 * residual.std(ddof=1) / np.sqrt(len(residual))
    assert mae.details["ci"] == pytest.approx([residual.mean() - half, residual.mean() + half])
    rmse = _run(policy, data, reg, "rmse")
    assert rmse.details["ci"][0] < rmse.value < rmse.details["ci"][1]
    assert all("rmse_ci" in row for row in rmse.details["groups"])
    r2 = _run(policy, data, reg, "r2")
    assert "ci" not in r2.details and "joint moments" in r2.details["interval"]["reason"]
