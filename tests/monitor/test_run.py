import warnings
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn.metrics import accuracy_score

from charter.errors import DataError
from charter.evidence import Verdict
from charter.monitor.run import monitor
from charter.monitor.summary import summarize_log
from charter.stats.profile import DataProfile, build_profile

from .conftest import DRIFT_DAY, make_policy


def _finding(result, rule_id):
    return next(f for f in result.findings if f.rule_id == rule_id)


@pytest.fixture(scope="module")
def result(log, policy, reference):
    return monitor("credit-risk", log, policy=policy, reference=reference, version="3")


def test_drift_fairness_and_the_verdict_start_on_the_drift_day(result) -> None:
    drift = _finding(result, "dataset-drift")
    parity = _finding(result, "parity.window")
    assert not result.passed
    assert drift.verdict is Verdict.FAIL and parity.verdict is Verdict.FAIL
    first = f"2024-03-{DRIFT_DAY:02d}T00:00:00+00:00"
    assert drift.details["first_failing_window"] == first
    assert parity.details["first_failing_window"] == first
    drifted_days = [w.start.day for w in result.windows if w.drift and w.drift.drifted]
    assert drifted_days == [4, 5, 6]
    assert _finding(result, "accuracy.window").verdict is Verdict.PASS


def test_column_verdicts_per_window_equal_evidentlys_tests(result, log, reference_frame) -> None:
    from evidently.legacy.calculations.stattests.registry import _get_default_stattest
    from evidently.legacy.core import ColumnType

    kinds = {"income": "num", "age": "num", "region": "cat", "sex": "cat"}
    for w in result.windows:
        rows = log[(log.ts >= w.start.replace(tzinfo=None)) & (log.ts < w.end.replace(tzinfo=None))]
        for column, kind in kinds.items():
            ref, cur = reference_frame[column], rows[column]
            feature = ColumnType.Numerical if kind == "num" else ColumnType.Categorical
            test = _get_default_stattest(ref, cur, feature)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = test(ref, cur, feature, None)
            ours = w.drift[column]
            assert ours.method.value == test.name
            assert ours.drifted == bool(expected.drifted), (w.start, column)
            assert ours.score == pytest.approx(float(expected.drift_score), rel=0.02, abs=2e-3)


def test_fairness_per_window_equals_fairlearn(result, log) -> None:
    windows = _finding(result, "parity.window").details["windows"]
    for entry in windows:
        start = datetime.fromisoformat(entry["start"]).replace(tzinfo=None)
        rows = log[(log.ts >= start) & (log.ts < start + pd.Timedelta(days=1))]
        expected = demographic_parity_difference(
            rows["default"], (rows["score"] >= 0.5).astype(int), sensitive_features=rows["sex"]
        )
        assert entry["value"] == pytest.approx(expected, abs=1e-12)
        low, high = entry["ci"]
        assert low <= entry["value"] <= high


def test_accuracy_per_window_equals_scikit_learn(result, log) -> None:
    for entry in _finding(result, "accuracy.window").details["windows"]:
        start = datetime.fromisoformat(entry["start"]).replace(tzinfo=None)
        rows = log[(log.ts >= start) & (log.ts < start + pd.Timedelta(days=1))]
        expected = accuracy_score(rows["default"], (rows["score"] >= 0.5).astype(int))
        assert entry["value"] == pytest.approx(expected, abs=1e-12)
        assert entry["ci"][0] < expected < entry["ci"][1]


def test_daily_windows_merge_into_the_weekly_window(log, reference) -> None:
    daily = summarize_log(log, reference, window="1d", timestamp="ts")
    weekly = summarize_log(log, reference, window="1w", timestamp="ts")
    merged = daily.coarsen("1w")
    assert list(merged.windows) == list(weekly.windows)
    for start, summary in weekly.windows.items():
        other = merged.windows[start].profile
        assert (other["income"].numeric.counts == summary.profile["income"].numeric.counts).all()
        assert (
            other["region"].categories.as_dict() == summary.profile["region"].categories.as_dict()
        )


def test_evidence_records_the_version_windows_and_inputs(result) -> None:
    evidence = result.evidence
    assert evidence.stage == "monitoring" and evidence.extras["model_version"] == "3"
    assert len(evidence.extras["monitoring"]["windows"]) == 6
    assert set(evidence.inputs) == {"log", "reference_profile"}
    record = result.record()
    assert record["status"] == "failed" and record["windows"][3]["drifted_columns"]


# -- bad input ----------------------------------------------------------------------------------


def test_a_missing_column_is_a_finding_and_the_rest_is_computed(log, policy, reference) -> None:
    result = monitor("m", log.drop(columns=["age"]), policy=policy, reference=reference)
    missing = _finding(result, "log.missing-columns")
    assert missing.details["missing"] == ["age"]
    assert "age" not in result.windows[0].drift.computed[0].column
    assert {c.column for c in result.windows[0].drift.columns} == {"income", "region", "sex"}


def test_a_new_category_is_drift_and_named(log, policy, reference) -> None:
    changed = log.copy()
    changed.loc[changed.index[:50], "region"] = "atlantis"
    result = monitor("m", changed, policy=policy, reference=reference)
    finding = _finding(result, "new-categories")
    assert finding.verdict is Verdict.FAIL and "atlantis" in finding.message
    assert result.windows[0].drift["region"].details["new_categories"] == ["atlantis"]


def test_an_all_null_column_is_reported_not_scored(log, policy, reference) -> None:
    changed = log.copy()
    changed["income"] = np.nan
    result = monitor("m", changed, policy=policy, reference=reference)
    income = result.windows[0].drift["income"]
    assert not income.computed and income.reason == "every current value is null"
    assert income.details["current_null_fraction"] == 1.0
    assert result.windows[0].drift.computed  # the other columns still are


def test_an_empty_window_is_a_finding_not_a_verdict(log, policy, reference) -> None:
    gap = log[log.ts.dt.day != 2]
    result = monitor("m", gap, policy=policy, reference=reference)
    empty = _finding(result, "log.empty-windows")
    assert empty.details["windows"] == ["2024-03-02T00:00:00+00:00"]
    day2 = result.windows[1]
    assert day2.rows == 0 and day2.reason == "no rows in this window" and day2.drift is None


def test_timestamps_out_of_order_are_reported_and_change_nothing(log, policy, reference) -> None:
    shuffled = log.sample(frac=1.0, random_state=0)
    result = monitor("m", shuffled, policy=policy, reference=reference)
    assert _finding(result, "log.timestamp-order").details["out_of_order"] > 0
    ordered = monitor("m", log, policy=policy, reference=reference)
    for a, b in zip(result.windows, ordered.windows, strict=True):
        assert a.drift.share == b.drift.share


def test_a_reference_of_another_schema_cannot_be_used(log, policy) -> None:
    other = build_profile(pd.DataFrame({"temperature": [1.0, 2.0, 3.0]}))
    with pytest.raises(DataError, match="none of the reference's columns is in the log"):
        monitor("m", log, policy=policy, reference=other)


def test_a_log_without_the_timestamp_column_cannot_be_monitored(log, policy, reference) -> None:
    with pytest.raises(DataError, match="timestamp column 'ts' is not in the log"):
        monitor("m", log.drop(columns=["ts"]), policy=policy, reference=reference)
    with pytest.raises(DataError, match="not a date or datetime"):
        monitor("m", log.assign(ts="yesterday"), policy=policy, reference=reference)


def test_since_and_until_select_the_windows(log, policy, reference) -> None:
    result = monitor(
        "m",
        log,
        policy=policy,
        reference=reference,
        since=datetime(2024, 3, 2, tzinfo=UTC),
        until=datetime(2024, 3, 4, tzinfo=UTC),
    )
    assert [w.start.day for w in result.windows] == [2, 3]
    assert result.passed


def test_profile_restored_from_json_gives_the_same_run(log, policy, reference) -> None:
    restored = DataProfile.from_dict(reference.to_dict())
    a = monitor("m", log, policy=policy, reference=reference)
    b = monitor("m", log, policy=policy, reference=restored)
    assert [w.drift.share for w in a.windows] == [w.drift.share for w in b.windows]


def test_explicit_rules_methods_and_per_column_thresholds(log, reference) -> None:
    policy = make_policy(
        per_column={"income": {"method": "psi", "threshold": 0.2}},
        rules=[
            {"id": "income", "check": "column_drift", "params": {"columns": ["income"]}},
            {"id": "pred", "check": "prediction_drift", "params": {"method": "ks"}},
        ],
    )
    result = monitor("m", log, policy=policy, reference=reference)
    assert [f.rule_id for f in result.findings][:2] == ["income", "pred"]
    assert result.windows[0].drift["income"].method.value == "psi"
    assert result.windows[0].drift["income"].threshold == 0.2
    pred = _finding(result, "pred")
    assert pred.details["windows"][0]["method"] == "ks"


def test_monitoring_rules_validate_with_the_policy(tmp_path) -> None:
    import yaml

    from charter.errors import PolicyError
    from charter.policy import load_policy

    from .conftest import POLICY

    document = {
        **POLICY,
        "monitoring": {
            "window": "6h",
            "rules": [
                {"id": "drift", "check": "dataset_drift", "max": 0.3},
                {"id": "dpd", "check": "window_fairness", "params": {"metric": "disparate_impact"}},
            ],
        },
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    assert [r.check for r in load_policy(path).monitoring.rules] == [
        "dataset_drift",
        "window_fairness",
    ]
    document["monitoring"]["rules"][1]["params"] = {"metrics": "oops"}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(PolicyError, match=r"monitoring\.rules"):
        load_policy(path)
    document["monitoring"]["rules"] = [{"id": "x", "check": "demographic_parity_difference"}]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(PolicyError, match="belongs in the 'fairness' section"):
        load_policy(path)
