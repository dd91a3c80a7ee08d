"""The contract every registered check keeps, gate and monitoring alike (after scikit-learn's
``parametrize_with_checks``): run through the rule runner,

* with a parameter it does not have, it yields one ``error`` finding that says what is wrong,
  never an exception;
* on a small valid context, it yields findings with a real verdict (pass, fail or skipped),
  never an error.

A check added to the registry without a case below fails ``test_every_check_has_a_case``.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from charter.checks import CheckContext, NoParams, available_checks
from charter.checks.registry import CheckSpec
from charter.checks.runner import PreparedRule, run_prepared, run_rule
from charter.errors import CheckError
from charter.evidence import Finding, Verdict
from charter.monitor.profile import build_profile
from charter.monitor.run import monitor
from charter.policy import Policy, Rule
from charter.policy.loader import policy_from_dict
from charter.stats.performance import PERFORMANCE_METRICS

FEATURES = ["income", "debt"]

#: Parameters that make each check runnable on the contexts below (default: none).
VALID_PARAMS: dict[str, dict[str, Any]] = {
    "allowed_categories": {"columns": {"region": ["north", "south"]}},
    "dtypes": {"columns": {"income": "numeric"}},
    "mean_bounds": {"columns": {"income": {"min": 0}}},
    "quantile_bounds": {"columns": {"income": {"q": 0.5, "min": 0}}},
    "unique": {"columns": ["id"]},
    "value_range": {"columns": {"debt": {"min": -100, "max": 100}}},
    "group_metric": {"metric": "selection_rate"},
    "protected_attributes_not_features": {"attributes": ["sex"]},
    "required_columns": {"columns": ["income"]},
    "column_drift": {"columns": ["income"]},
    "window_fairness": {"metric": "demographic_parity_difference"},
    "window_performance": {"metric": "accuracy"},
}
REAL = {Verdict.PASS, Verdict.FAIL, Verdict.SKIPPED}


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    debt = rng.normal(20, 8, n)
    sex = rng.choice(["F", "M"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.08 * (income - 50) - 0.1 * (debt - 20))))).astype(int)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "income": income,
            "debt": debt,
            "sex": sex,
            "region": rng.choice(["north", "south"], n),
            "y": y,
        }
    )


def _policy(task: str = "binary_classification", **data: Any) -> Policy:
    return policy_from_dict(
        {
            "model": {"name": "contract", "task": task},
            "data": {"target": "y", "sensitive": ["sex"], **data},
            "fairness": {"privileged": {"sex": "M"}, "bootstrap": 50},
            "monitoring": {"timestamp_column": "ts", "window": "1d"},
        }
    )


@pytest.fixture(scope="module")
def gate_context() -> CheckContext:
    frame = _frame()
    model = LogisticRegression().fit(frame[FEATURES], frame["y"])
    return CheckContext(
        policy=_policy(), data=nw.from_native(frame), model=model, features=FEATURES
    )


@pytest.fixture(scope="module")
def regression_context() -> CheckContext:
    frame = _frame()
    noise = np.random.default_rng(3).normal(0, 5, len(frame))
    frame["y"] = frame["income"] * 0.5 + frame["debt"] + noise
    model = LinearRegression().fit(frame[FEATURES], frame["y"])
    return CheckContext(
        policy=_policy("regression"), data=nw.from_native(frame), model=model, features=FEATURES
    )


@pytest.fixture(scope="module")
def monitor_state() -> Any:
    reference = _frame(seed=1)
    model = LogisticRegression().fit(reference[FEATURES], reference["y"])
    log = _frame(n=1_200, seed=2)
    log["prediction"] = model.predict(log[FEATURES])
    log["ts"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(len(log)) * 120, unit="s")
    reference["prediction"] = model.predict(reference[FEATURES])
    policy = _policy(prediction="prediction")
    result = monitor("contract", log, policy=policy, reference=build_profile(reference))
    return result.run.state


def _context(spec: CheckSpec, request: pytest.FixtureRequest) -> Any:
    if spec.section == "monitoring":
        return request.getfixturevalue("monitor_state")
    metric = PERFORMANCE_METRICS.get(spec.id)
    if metric is not None and metric.kind == "regression":
        return request.getfixturevalue("regression_context")
    return request.getfixturevalue("gate_context")


CHECKS = sorted(available_checks())


def test_every_check_has_a_case() -> None:
    # the cases below are every registered check; a check that needs parameters has them here
    for spec in available_checks().values():
        required = [n for n, f in spec.params.model_fields.items() if f.is_required()]
        assert not required or spec.id in VALID_PARAMS, f"add {spec.id} to VALID_PARAMS"


@pytest.mark.parametrize("check_id", CHECKS)
def test_a_bad_parameter_is_an_error_finding_not_a_crash(
    check_id: str, request: pytest.FixtureRequest
) -> None:
    spec = available_checks()[check_id]
    rule = Rule(id=f"{check_id}-bad", check=check_id, params={"no_such_param": 1})
    findings = run_rule(_context(spec, request), spec.section, rule)
    assert len(findings) == 1
    [finding] = findings
    assert finding.verdict is Verdict.ERROR and finding.rule_id == rule.id
    assert "no_such_param" in finding.message
    assert finding.details["error"]["hint"]
    assert finding.section == spec.section and finding.controls[: len(spec.controls)] == (
        spec.controls
    )


@pytest.mark.parametrize("check_id", CHECKS)
def test_on_a_valid_context_the_finding_has_a_real_verdict(
    check_id: str, request: pytest.FixtureRequest
) -> None:
    spec = available_checks()[check_id]
    rule = Rule(id=f"{check_id}-ok", check=check_id, params=VALID_PARAMS.get(check_id, {}))
    findings = run_rule(_context(spec, request), spec.section, rule)
    assert findings and all(isinstance(f, Finding) for f in findings)
    for finding in findings:
        assert finding.verdict in REAL, f"{check_id}: {finding.message}"
        assert finding.rule_id == rule.id and finding.message


def _prepared(func: Any) -> PreparedRule:
    spec = CheckSpec(id="contract_probe", section="monitoring", func=func)
    rule = Rule(id="probe", check="contract_probe")
    return PreparedRule("monitoring", rule, spec, NoParams())


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
        (CheckError("no baseline model", hint="pass --baseline"), "no baseline model"),
    ],
)
def test_a_crashing_check_is_an_error_finding(
    raised: Exception, expected: str, monitor_state: Any
) -> None:
    def crash(ctx: Any, rule: Rule, params: Any) -> Finding:
        raise raised

    [finding] = run_prepared(monitor_state, _prepared(crash))
    assert finding.verdict is Verdict.ERROR
    assert finding.message == f"could not evaluate: {expected}"
    assert finding.details["error"]["type"] == type(raised).__name__


def test_a_check_returning_no_findings_is_an_error_finding(monitor_state: Any) -> None:
    [finding] = run_prepared(monitor_state, _prepared(lambda ctx, rule, params: None))
    assert finding.verdict is Verdict.ERROR and "not findings" in finding.message
