"""The gate over real data, a real model and checks registered through the public decorator.

The checks defined here are registered with ``@charter.checks.check`` exactly as a plugin would
register its own, so these tests double as the plugin test.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from fairlearn.metrics import demographic_parity_difference
from pydantic import BaseModel, ConfigDict
from sklearn.linear_model import LogisticRegression

import charter
from charter.artifacts import save_model
from charter.checks import CheckContext, NoParams, check
from charter.errors import CheckError, DataError, GateFailedError, ModelLoadError, PolicyError
from charter.evidence import Evidence, Verdict
from charter.policy import policy_from_dict
from charter.stats.counts import group_label


class _GapParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sensitive: list[str] | None = None


@check(
    "test_gate_selection_rate_gap",
    section="fairness",
    params=_GapParams,
    metric="selection_rate_difference",
    needs=("y_true", "y_pred", "sensitive"),
    controls=("eu-ai-act:art-10",),
)
def _selection_rate_gap(ctx: CheckContext, rule: Any, params: _GapParams) -> Any:
    """Largest difference in selection rate between groups (a plugin-style check)."""
    columns = params.sensitive or ctx.policy.sensitive_features
    counts = ctx.confusion_counts(columns)
    predicted_positive = counts.weighted[:, :, 1].sum(axis=1)
    totals = counts.weighted.sum(axis=(1, 2))
    rates = predicted_positive / totals
    groups = [
        {"group": group_label(counts.names, k), "count": int(t), "selection_rate": float(r)}
        for k, t, r in zip(counts.keys, totals, rates, strict=True)
    ]
    gap = float(rates.max() - rates.min())
    return ctx.finding(rule, value=gap, message=f"gap {gap:.3f}", details={"groups": groups})


@check("test_gate_refuses", section="performance", needs=("baseline",))
def _refuses(ctx: CheckContext, rule: Any, params: NoParams) -> Any:
    """A check that cannot run on this context."""
    raise CheckError("no baseline model was given", hint="pass --baseline MODEL")


@check("test_gate_crashes", section="explainability")
def _crashes(ctx: CheckContext, rule: Any, params: NoParams) -> Any:
    """A check whose library call blows up."""
    raise ZeroDivisionError("explainer exploded")


@check("test_gate_bad_data", section="data")
def _bad_data(ctx: CheckContext, rule: Any, params: NoParams) -> Any:
    """A check that finds the data unusable."""
    raise DataError("column 'x' is all null", hint="fill it")


@check("test_gate_returns_junk", section="data")
def _junk(ctx: CheckContext, rule: Any, params: NoParams) -> Any:
    """A check that returns something other than findings."""
    return 42


def _policy(**sections: Any) -> charter.Policy:
    raw: dict[str, Any] = {"model": {"name": "credit", "owner": "risk"}, **sections}
    return policy_from_dict(raw, source="inline.yaml")


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, LogisticRegression]:
    rng = np.random.default_rng(11)
    n = 2_000
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    income = rng.normal(50, 12, n) + np.where(sex == "M", 6, 0)
    debt = rng.normal(12, 4, n)
    y = ((income - 2 * debt + rng.normal(0, 8, n)) > 22).astype(int)
    frame = pd.DataFrame({"income": income, "debt": debt, "sex": sex, "repaid": y})
    model = LogisticRegression(max_iter=500).fit(frame[["income", "debt"]], y)
    return frame, model


FAIRNESS = {
    "sensitive": ["sex"],
    "rules": [{"id": "gap", "check": "test_gate_selection_rate_gap", "max": 0.5}],
}


def test_plugin_fairness_check_matches_fairlearn_and_fingerprints_inputs(
    tmp_path: Path, credit
) -> None:
    frame, model = credit
    data_path = tmp_path / "holdout.parquet"
    frame.to_parquet(data_path)
    model_path = save_model(model, tmp_path / "model.skops")
    policy = _policy(data={"target": "repaid"}, fairness=FAIRNESS)
    before = datetime.now(UTC)
    evidence = charter.check(policy, data_path, model=model_path)

    (finding,) = evidence.findings
    expected = demographic_parity_difference(
        frame["repaid"], model.predict(frame[["income", "debt"]]), sensitive_features=frame["sex"]
    )
    assert finding.value == pytest.approx(expected, abs=1e-12)
    assert finding.verdict is Verdict.PASS and evidence.passed
    assert finding.controls == ("eu-ai-act:art-10",)
    assert [g["group"] for g in finding.details["groups"]] == ["sex=F", "sex=M"]

    assert evidence.inputs["data"].sha256 == hashlib.sha256(data_path.read_bytes()).hexdigest()
    assert evidence.inputs["data"].rows == len(frame)
    assert evidence.inputs["model"].sha256 == hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert evidence.policy.sha256 == policy.sha256 and evidence.policy.path == "inline.yaml"
    assert evidence.environment["packages"]["scikit-learn"] != "unknown"
    assert before - timedelta(seconds=1) <= evidence.created_at <= datetime.now(UTC)
    assert evidence.extras["models"]["model"]["type"].endswith("LogisticRegression")
    assert evidence.extras["run"]["features"] == ["income", "debt"]


def test_failing_blocking_rule_fails_the_gate_and_raises(credit) -> None:
    frame, model = credit
    fairness = {**FAIRNESS, "rules": [{**FAIRNESS["rules"][0], "max": 0.01}]}
    evidence = charter.check(
        _policy(data={"target": "repaid"}, fairness=fairness), frame, model=model
    )
    assert not evidence.passed and evidence.status == "failed"
    with pytest.raises(GateFailedError, match="gap") as info:
        evidence.raise_for_failure()
    assert info.value.exit_code == 1


def test_failing_warn_rule_passes_with_warnings(credit) -> None:
    frame, model = credit
    rule = {**FAIRNESS["rules"][0], "max": 0.01, "severity": "warn"}
    evidence = charter.check(
        _policy(data={"target": "repaid"}, fairness={**FAIRNESS, "rules": [rule]}),
        frame,
        model=model,
    )
    assert evidence.passed and evidence.status == "passed_with_warnings"
    evidence.raise_for_failure()


def test_rule_specific_problems_become_error_findings_and_the_gate_goes_on(credit) -> None:
    frame, model = credit
    policy = _policy(
        data={"target": "repaid", "rules": [{"id": "rows", "check": "min_rows", "min": 10}]},
        performance={"rules": [{"id": "vs-prod", "check": "test_gate_refuses"}]},
        explainability={
            "rules": [{"id": "shap", "check": "test_gate_crashes", "severity": "warn"}]
        },
        fairness=FAIRNESS,
    )
    evidence = charter.check(policy, frame, model=model)
    by_id = {f.rule_id: f for f in evidence.findings}
    assert list(by_id) == ["rows", "vs-prod", "gap", "shap"]  # policy section order
    assert by_id["rows"].verdict is Verdict.PASS and by_id["gap"].verdict is Verdict.PASS
    refused = by_id["vs-prod"]
    assert refused.verdict is Verdict.ERROR and refused.blocking
    assert refused.details["error"]["hint"] == "pass --baseline MODEL"
    crashed = by_id["shap"]
    assert crashed.verdict is Verdict.ERROR and crashed.warning
    assert crashed.details["error"]["type"] == "ZeroDivisionError"
    assert "explainer exploded" in crashed.message
    assert not evidence.passed  # the blocking error stops the gate


def test_check_returning_non_findings_is_an_error_finding(credit) -> None:
    frame, _ = credit
    policy = _policy(data={"rules": [{"id": "junk", "check": "test_gate_returns_junk"}]})
    (finding,) = charter.check(policy, frame).findings
    assert finding.verdict is Verdict.ERROR and "int" in finding.message


def test_data_error_raised_by_a_check_stops_the_gate(credit) -> None:
    frame, _ = credit
    policy = _policy(data={"rules": [{"id": "bad", "check": "test_gate_bad_data"}]})
    with pytest.raises(DataError, match="all null"):
        charter.check(policy, frame)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["repaid"]), "target 'repaid' not found"),
        (
            lambda f: f.assign(repaid=np.where(np.arange(len(f)) % 7 == 0, np.nan, f["repaid"])),
            "missing",
        ),
        (lambda f: f.assign(repaid=np.arange(len(f)) % 3), "must be binary"),
        (lambda f: f.drop(columns=["sex"]), "sensitive column 'sex' not found"),
        (lambda f: f.assign(sex="F"), "single group"),
        (lambda f: f.iloc[:0], "no rows"),
        (lambda f: f.drop(columns=["debt"]), "model failed to predict"),
    ],
    ids=["no-target", "nan-labels", "non-binary", "no-sensitive", "one-group", "empty", "features"],
)
def test_inputs_that_make_the_gate_meaningless_raise(credit, mutate, message) -> None:
    frame, model = credit
    policy = _policy(data={"target": "repaid"}, fairness=FAIRNESS)
    with pytest.raises(DataError, match=message) as info:
        charter.check(policy, mutate(frame.copy()), model=model)
    assert info.value.exit_code == 2 and info.value.hint


def test_privileged_group_absent_from_the_data_raises(credit) -> None:
    frame, model = credit
    fairness = {**FAIRNESS, "privileged": {"sex": "X"}}
    with pytest.raises(DataError, match=r"privileged group sex='X' has no rows"):
        charter.check(_policy(data={"target": "repaid"}, fairness=fairness), frame, model=model)


def test_predictions_without_a_model_from_a_column_or_an_array(credit) -> None:
    frame, model = credit
    policy = _policy(data={"target": "repaid"}, fairness=FAIRNESS)
    preds = model.predict(frame[["income", "debt"]])
    by_column = charter.check(policy, frame.assign(pred=preds), predictions="pred")
    by_array = charter.check(policy, pl.from_pandas(frame), predictions=preds)
    with_model = charter.check(policy, frame, model=model)
    assert by_column.findings[0].value == by_array.findings[0].value == with_model.findings[0].value
    assert "model" not in by_array.inputs
    with pytest.raises(DataError, match="have 5 values but the data has 2000 rows"):
        charter.check(policy, frame, predictions=preds[:5])


def test_stage_selects_the_rules_that_gate_it(credit) -> None:
    frame, _model = credit
    rules = [
        {"id": "rows-any", "check": "min_rows", "min": 1},
        {"id": "rows-prod", "check": "min_rows", "min": 10**9, "stages": ["production"]},
    ]
    policy = _policy(data={"rules": rules})
    assert [f.rule_id for f in charter.check(policy, frame, stage="staging").findings] == [
        "rows-any"
    ]
    production = charter.check(policy, frame, stage="production")
    assert [f.rule_id for f in production.findings] == ["rows-any", "rows-prod"]
    assert production.stage == "production" and not production.passed
    with pytest.raises(charter.CharterError, match="unknown stage"):
        charter.check(policy, frame, stage="prod")


def test_out_writes_evidence_report_and_summary(tmp_path: Path, credit) -> None:
    frame, _model = credit
    frame = frame.copy()
    frame.loc[:99, "debt"] = np.nan
    policy = _policy(
        data={
            "target": "repaid",
            "rules": [{"id": "nulls", "check": "null_fraction", "max": 0.01}],
        },
        fairness=FAIRNESS,
    )
    model2 = LogisticRegression().fit(frame[["income"]], frame["repaid"])
    evidence = charter.check(policy, frame, model=model2, out=tmp_path / "out")
    written = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert written["status"] == "failed" and written["summary"]["failed"] == 1
    assert Evidence.read(tmp_path / "out").digest == evidence.digest
    summary = evidence.extras["data_summary"]
    nulls = {c["name"]: c["null_fraction"] for c in summary["columns"]}
    assert nulls == pytest.approx(frame.isna().mean().to_dict())
    assert summary["rows"] == len(frame)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "credit" in html and "nulls" in html and "<svg" in html
    assert "| `nulls` | data |" in (tmp_path / "out" / "summary.md").read_text()


def test_policy_and_data_by_path_and_csv(tmp_path: Path, credit) -> None:
    frame, model = credit
    (tmp_path / "policy.yaml").write_text(
        "model: {name: credit}\n"
        "data: {target: repaid}\n"
        "fairness:\n  sensitive: [sex]\n  rules:\n"
        "    - {id: gap, check: test_gate_selection_rate_gap, max: 0.5}\n"
    )
    frame.to_csv(tmp_path / "holdout.csv", index=False)
    model_path = save_model(model, tmp_path / "m.skops")
    evidence = charter.check(tmp_path / "policy.yaml", tmp_path / "holdout.csv", model=model_path)
    assert evidence.passed and evidence.inputs["data"].format == "csv"
    assert evidence.policy.path == str(tmp_path / "policy.yaml")


def test_unknown_params_and_bad_model_are_input_errors(tmp_path: Path, credit) -> None:
    frame, _ = credit
    rule = {"id": "cols", "check": "required_columns", "params": {"colums": ["a"]}}
    unchecked = policy_from_dict(
        {"model": {"name": "m"}, "data": {"rules": [rule]}}, check_ids=False
    )
    with pytest.raises(PolicyError, match="colums"):
        charter.check(unchecked, frame)
    with pytest.raises(ModelLoadError, match="does not exist"):
        charter.check(_policy(), frame, model=tmp_path / "missing.skops")
    with pytest.raises(charter.CharterError, match="no predict method"):
        charter.check(_policy(), frame, model={"not": "a model"})


def test_duckdb_relation_and_a_policy_built_in_code(credit) -> None:
    import duckdb

    frame, model = credit
    scored = frame.assign(pred=model.predict(frame[["income", "debt"]]))
    relation = duckdb.sql("select * from scored")
    policy = charter.Policy(
        model={"name": "in-code"},
        data={"target": "repaid", "prediction": "pred"},
        fairness={"sensitive": ["sex"], "rules": [FAIRNESS["rules"][0]]},
    )
    evidence = charter.check(policy, relation)
    expected = demographic_parity_difference(
        scored["repaid"], scored["pred"], sensitive_features=scored["sex"]
    )
    assert evidence.findings[0].value == pytest.approx(expected, abs=1e-12)
    assert evidence.inputs["data"].rows == len(frame)
    assert len(evidence.policy.sha256) == 64
    again = charter.check(policy, relation)
    assert again.inputs["data"].sha256 == evidence.inputs["data"].sha256


def test_unlabelled_data_runs_selection_rate_fairness_and_names_rules_that_need_labels(
    credit,
) -> None:
    frame, model = credit
    unlabelled = frame.drop(columns=["repaid"])
    parity = {
        "sensitive": ["sex"],
        "rules": [
            {"id": "dp", "check": "demographic_parity_difference", "max": 0.5},
            {"id": "fifths", "check": "four_fifths_rule", "min": 0.0},
        ],
    }
    evidence = charter.check(_policy(fairness=parity), unlabelled, model=model)
    preds = model.predict(frame[["income", "debt"]])
    expected = demographic_parity_difference(
        frame["repaid"], preds, sensitive_features=frame["sex"]
    )
    assert evidence.findings[0].value == pytest.approx(expected)
    needs_labels = {
        "sensitive": ["sex"],
        "rules": [
            {"id": "dp", "check": "demographic_parity_difference", "max": 0.5},
            {"id": "eo", "check": "equalized_odds_difference", "max": 0.5},
        ],
    }
    with pytest.raises(DataError, match="equalized_odds_difference needs true labels") as info:
        charter.check(_policy(fairness=needs_labels), unlabelled, model=model)
    assert "--target" in (info.value.hint or "")
