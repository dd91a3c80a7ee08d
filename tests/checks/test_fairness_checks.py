"""Fairness checks through a CheckContext with a loaded policy and a real scikit-learn model."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import fairlearn.metrics as flm
import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.checks import CheckContext, available_checks, get_check
from charter.errors import CheckError, DataError, PolicyError
from charter.evidence import Finding, Verdict
from charter.policy import Policy
from charter.policy.loader import policy_from_dict

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from aif360.sklearn import metrics as aif

FEATURES = ["income", "debt"]


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 6_000
    sex = rng.choice(["F", "M"], n, p=[0.45, 0.55])
    age = rng.choice(["<25", "25-60", ">60"], n, p=[0.2, 0.6, 0.2])
    income = rng.normal(50, 15, n) + np.where(sex == "M", 8, 0)
    debt = rng.normal(20, 8, n)
    logit = 0.08 * (income - 50) - 0.1 * (debt - 20) + np.where(sex == "M", 0.6, 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "sex": sex, "age": age, "approved": y})


@pytest.fixture(scope="module")
def model(credit: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(credit[FEATURES], credit["approved"])


def _policy(rules: list[dict[str, Any]], **fairness: Any) -> Policy:
    return policy_from_dict(
        {
            "model": {"name": "credit"},
            "data": {"target": "approved", "sensitive": ["sex"]},
            "fairness": {"privileged": {"sex": "M"}, "bootstrap": 200, **fairness, "rules": rules},
        }
    )


def _run(policy: Policy, data: Any, model: Any, rule_id: str) -> Finding:
    ctx = CheckContext(policy=policy, data=nw.from_native(data), model=model, features=FEATURES)
    rule = policy.rule(rule_id)
    spec = get_check(rule.check, section="fairness")
    out = spec.func(ctx, rule, spec.parse_params(rule.params))
    assert isinstance(out, Finding)
    json.dumps(out.details, allow_nan=False)  # details stay valid JSON
    return out


def test_every_fairness_check_is_registered_with_its_controls() -> None:
    checks = available_checks()
    ids = {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "equal_opportunity_ratio",
        "statistical_parity_difference",
        "disparate_impact",
        "average_odds_difference",
        "four_fifths_rule",
        "group_metric",
    }
    assert ids <= set(checks)
    for check_id in ids:
        assert checks[check_id].section == "fairness"
        assert "nist-ai-rmf:measure-2.11" in checks[check_id].controls


@pytest.mark.parametrize(
    ("check", "params", "oracle"),
    [
        ("demographic_parity_difference", {}, flm.demographic_parity_difference),
        ("demographic_parity_ratio", {"method": "to_overall"}, flm.demographic_parity_ratio),
        ("equalized_odds_difference", {"agg": "mean"}, flm.equalized_odds_difference),
        ("equalized_odds_ratio", {}, flm.equalized_odds_ratio),
        ("equal_opportunity_difference", {}, flm.equal_opportunity_difference),
    ],
)
def test_fairlearn_checks_report_fairlearns_value_on_the_models_predictions(
    credit: pd.DataFrame, model: LogisticRegression, check: str, params: dict[str, Any], oracle: Any
) -> None:
    policy = _policy([{"id": "r", "check": check, "params": params}])
    finding = _run(policy, credit, model, "r")
    pred = model.predict(credit[FEATURES])
    expected = oracle(credit["approved"], pred, sensitive_features=credit["sex"], **params)
    assert finding.value == pytest.approx(expected, abs=1e-12)
    assert finding.verdict is Verdict.PASS  # no bounds: recorded
    details = finding.details
    assert details["sensitive"] == ["sex"]
    assert [g["group"] for g in details["groups"]] == ["sex=F", "sex=M"]
    assert {"group", "key", "count", "selection_rate", "true_positive_rate"} <= set(
        details["groups"][0]
    )
    assert details["groups"][0]["key"] == {"sex": "F"}
    low, high = details["ci"]
    assert low <= finding.value <= high or check.endswith("ratio")
    assert details["bootstrap"]["resamples"] == 200
    assert set(finding.controls) >= {"eu-ai-act:art-10.2.f", "nist-ai-rmf:measure-2.11", "oecd:1.2"}


@pytest.mark.parametrize(
    ("check", "oracle"),
    [
        ("statistical_parity_difference", aif.statistical_parity_difference),
        ("disparate_impact", aif.disparate_impact_ratio),
        ("average_odds_difference", aif.average_odds_difference),
    ],
)
def test_aif360_checks_compare_with_the_policys_privileged_group(
    credit: pd.DataFrame, model: LogisticRegression, check: str, oracle: Any
) -> None:
    policy = _policy([{"id": "r", "check": check}])
    finding = _run(policy, credit, model, "r")
    pred = model.predict(credit[FEATURES])
    expected = oracle(credit["approved"], pred, prot_attr=credit["sex"].to_numpy(), priv_group="M")
    assert finding.value == pytest.approx(expected, abs=1e-12)
    assert finding.details["privileged"] == {"sex": "M"}
    assert [g["privileged"] for g in finding.details["groups"]] == [False, True]


def test_biased_model_fails_a_blocking_bound_and_says_where(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy([{"id": "dp", "check": "demographic_parity_difference", "max": 0.05}])
    finding = _run(policy, credit, model, "dp")
    assert finding.value is not None and finding.value > 0.05
    assert finding.verdict is Verdict.FAIL and finding.blocking
    assert "must be <= 0.05" in finding.message and "over sex" in finding.message


def test_equal_opportunity_in_aif360_convention_is_signed(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy(
        [{"id": "eo", "check": "equal_opportunity_difference", "params": {"convention": "aif360"}}]
    )
    finding = _run(policy, credit, model, "eo")
    pred = model.predict(credit[FEATURES])
    expected = aif.equal_opportunity_difference(
        credit["approved"], pred, prot_attr=credit["sex"].to_numpy(), priv_group="M"
    )
    assert expected < 0 and finding.value == pytest.approx(expected, abs=1e-12)


def test_intersectional_groups_from_two_sensitive_columns(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy(
        [{"id": "x", "check": "equalized_odds_difference", "params": {"sensitive": ["sex", "age"]}}]
    )
    finding = _run(policy, credit, model, "x")
    pred = model.predict(credit[FEATURES])
    expected = flm.equalized_odds_difference(
        credit["approved"], pred, sensitive_features=credit[["sex", "age"]]
    )
    assert finding.value == pytest.approx(expected, abs=1e-12)
    assert len(finding.details["groups"]) == 6
    assert "over sex × age" in finding.message


def test_the_same_check_on_polars_data_gives_the_same_finding(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy([{"id": "r", "check": "disparate_impact", "min": 0.8}])
    on_pandas = _run(policy, credit, model, "r")
    on_polars = _run(policy, pl.from_pandas(credit), model, "r")
    assert on_polars.value == pytest.approx(on_pandas.value, abs=1e-12)
    assert on_polars.details["ci"] == on_pandas.details["ci"]


def test_four_fifths_rule_defaults_to_a_minimum_of_0_8(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy([{"id": "ff", "check": "four_fifths_rule"}])
    finding = _run(policy, credit, model, "ff")
    assert finding.threshold is not None and finding.threshold.min == 0.8
    pred = model.predict(credit[FEATURES])
    rates = pd.Series(pred).groupby(credit["sex"]).mean()
    assert finding.value == pytest.approx(rates.min() / rates.max())
    assert finding.verdict is (Verdict.PASS if finding.value >= 0.8 else Verdict.FAIL)
    assert finding.details["most_favoured"] == ["sex=M"]
    assert finding.details["groups"][0]["impact_ratio"] == pytest.approx(finding.value)


def test_group_metric_aggregates_any_rate(credit: pd.DataFrame, model: LogisticRegression) -> None:
    policy = _policy(
        [
            {
                "id": "prec",
                "check": "group_metric",
                "max": 0.9,
                "params": {"metric": "ppv", "aggregation": "ratio", "method": "to_overall"},
            }
        ]
    )
    finding = _run(policy, credit, model, "prec")
    pred = model.predict(credit[FEATURES])
    frame = flm.MetricFrame(
        metrics=lambda y, p: ((p == 1) & (y == 1)).sum() / (p == 1).sum(),
        y_true=credit["approved"],
        y_pred=pred,
        sensitive_features=credit["sex"],
    )
    assert finding.value == pytest.approx(frame.ratio(method="to_overall"), abs=1e-12)
    assert finding.metric == "precision_ratio"


def test_unknown_rate_in_group_metric_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="did you mean 'selection_rate'"):
        _policy([{"id": "bad", "check": "group_metric", "params": {"metric": "selction_rate"}}])


def test_undefined_metric_is_an_error_finding_with_the_reason(credit: pd.DataFrame) -> None:
    data = credit.copy()
    data.loc[data["age"] == ">60", "approved"] = 0  # no positives in one group
    data["pred"] = np.where(data["income"] > 50, 1, 0)
    policy = policy_from_dict(
        {
            "model": {"name": "credit"},
            "data": {"target": "approved", "prediction": "pred", "sensitive": ["age"]},
            "fairness": {
                "bootstrap": 0,
                "rules": [{"id": "eo", "check": "equal_opportunity_difference", "max": 0.1}],
            },
        }
    )
    finding = _run(policy, data, None, "eo")
    assert finding.verdict is Verdict.ERROR and finding.blocking
    assert finding.value is not None and math.isnan(finding.value)
    assert "age=>60: no positive labels" in finding.details["reason"]
    assert "undefined" in finding.message
    assert "ci" not in finding.details


def test_small_groups_fail_exclude_or_report_as_the_policy_says(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    data = pd.concat([credit, credit.head(12).assign(sex="X")], ignore_index=True)
    rule = {"id": "dp", "check": "demographic_parity_difference", "max": 0.5}
    fail = _run(_policy([rule], small_groups="fail"), data, model, "dp")
    assert fail.verdict is Verdict.FAIL
    assert "too small to judge: sex=X" in fail.message
    excluded = _run(_policy([rule], small_groups="exclude"), data, model, "dp")
    assert excluded.details["excluded_groups"] == ["sex=X"]
    assert excluded.value == pytest.approx(_run(_policy([rule]), credit, model, "dp").value)
    reported = _run(_policy([rule]), data, model, "dp")
    assert reported.details["small_groups"] == ["sex=X"]
    x_row = next(g for g in reported.details["groups"] if g["group"] == "sex=X")
    assert x_row["small"] is True and x_row["count"] == 12


def test_rule_params_override_the_policy_settings(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    data = pd.concat([credit, credit.head(12).assign(sex="X")], ignore_index=True)
    rule = {
        "id": "dp",
        "check": "demographic_parity_difference",
        "params": {"min_group_size": 5, "bootstrap": 0},
    }
    finding = _run(_policy([rule], small_groups="fail"), data, model, "dp")
    assert finding.verdict is Verdict.PASS
    assert "ci" not in finding.details


def test_missing_privileged_group_and_missing_sensitive_columns_are_check_errors(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = policy_from_dict(
        {
            "model": {"name": "credit"},
            "data": {"target": "approved"},
            "fairness": {"rules": [{"id": "di", "check": "disparate_impact"}]},
        }
    )
    with pytest.raises(CheckError, match="sensitive columns"):
        _run(policy, credit, model, "di")
    no_privileged = _policy([{"id": "di", "check": "disparate_impact"}], privileged={})
    with pytest.raises(CheckError, match="privileged group"):
        _run(no_privileged, credit, model, "di")


def test_group_rows_carry_intervals_of_the_rates_the_metric_uses(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    policy = _policy([{"id": "eo", "check": "equalized_odds_difference"}])
    details = _run(policy, credit, model, "eo").details
    for row in details["groups"]:
        for rate in ("true_positive_rate", "false_positive_rate"):
            low, high = row[f"{rate}_ci"]
            assert low < row[rate] < high
        assert "selection_rate_ci" not in row
    assert details["bootstrap"]["group_intervals"] == ["true_positive_rate", "false_positive_rate"]


def _unlabelled_policy(rules: list[dict[str, Any]]) -> Policy:
    return policy_from_dict(
        {
            "model": {"name": "credit"},
            "data": {"sensitive": ["sex"]},
            "fairness": {"privileged": {"sex": "M"}, "bootstrap": 200, "rules": rules},
        }
    )


@pytest.mark.parametrize(
    ("check", "params"),
    [
        ("demographic_parity_difference", {}),
        ("demographic_parity_ratio", {"sensitive": ["sex", "age"]}),
        ("statistical_parity_difference", {}),
        ("disparate_impact", {}),
        ("four_fifths_rule", {}),
        ("group_metric", {"metric": "selection_rate", "aggregation": "ratio"}),
    ],
)
def test_prediction_only_checks_run_without_a_target(
    credit: pd.DataFrame, model: LogisticRegression, check: str, params: dict[str, Any]
) -> None:
    production = credit.drop(columns=["approved"])
    policy = _unlabelled_policy([{"id": "r", "check": check, "params": params}])
    finding = _run(policy, production, model, "r")
    pred = model.predict(credit[FEATURES])
    ignored = np.zeros(len(pred))  # the oracles read only the predictions
    groups = credit["sex"] if "sensitive" not in params else credit[["sex", "age"]]
    expected = {
        "demographic_parity_difference": lambda: flm.demographic_parity_difference(
            ignored, pred, sensitive_features=groups
        ),
        "demographic_parity_ratio": lambda: flm.demographic_parity_ratio(
            ignored, pred, sensitive_features=groups
        ),
        "statistical_parity_difference": lambda: aif.statistical_parity_difference(
            pd.Series(ignored), pred, prot_attr=credit["sex"].to_numpy(), priv_group="M"
        ),
        "disparate_impact": lambda: aif.disparate_impact_ratio(
            pd.Series(ignored), pred, prot_attr=credit["sex"].to_numpy(), priv_group="M"
        ),
        "four_fifths_rule": lambda: flm.demographic_parity_ratio(
            ignored, pred, sensitive_features=groups
        ),
        "group_metric": lambda: flm.demographic_parity_ratio(
            ignored, pred, sensitive_features=groups
        ),
    }[check]()
    assert finding.value == pytest.approx(expected, abs=1e-12)
    assert finding.verdict is not Verdict.ERROR
    for row in finding.details["groups"]:
        assert set(row) & {"accuracy", "true_positive_rate", "precision"} == set()
        assert row["selection_rate_ci"][0] <= row["selection_rate"] <= row["selection_rate_ci"][1]


@pytest.mark.parametrize(
    ("check", "params"),
    [
        ("equalized_odds_difference", {}),
        ("average_odds_difference", {}),
        ("group_metric", {"metric": "true_positive_rate"}),
    ],
)
def test_checks_that_need_labels_say_so_without_a_target(
    credit: pd.DataFrame, model: LogisticRegression, check: str, params: dict[str, Any]
) -> None:
    policy = _unlabelled_policy([{"id": "needs-y", "check": check, "params": params}])
    with pytest.raises(DataError) as info:
        _run(policy, credit.drop(columns=["approved"]), model, "needs-y")
    assert "rule 'needs-y'" in info.value.message and "needs true labels" in info.value.message
    assert "--target" in (info.value.hint or "")


def test_the_gate_checks_unlabelled_data_and_refuses_label_rules_before_running(
    credit: pd.DataFrame, model: LogisticRegression
) -> None:
    import charter

    production = credit.drop(columns=["approved"]).assign(pred=model.predict(credit[FEATURES]))
    rules = [{"id": "dp", "check": "demographic_parity_difference", "max": 0.5}]
    evidence = charter.check(_unlabelled_policy(rules), production, predictions="pred")
    assert evidence.passed and evidence.findings[0].details["value"] is not None
    rules.append({"id": "eo", "check": "equalized_odds_difference", "max": 0.5})
    with pytest.raises(DataError, match="needs true labels"):
        charter.check(_unlabelled_policy(rules), production, predictions="pred")
