"""The model's outputs (score, prediction) in ``monitoring.columns`` and in the log.

A listed output column is judged for prediction drift and kept out of the dataset drift share;
a log without the output column gives a SKIPPED prediction-drift finding that says why.
Oracle: scipy's Wasserstein distance on each window's raw scores (Evidently's normed form).
"""

from dataclasses import replace
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from charter.evidence import Verdict
from charter.monitor.run import monitor
from charter.policy.loader import policy_from_dict
from charter.stats.profile import build_profile

from .conftest import POLICY, make_policy

FEATURES = ["income", "age", "region"]


def _finding(result, rule_id):
    return next(f for f in result.findings if f.rule_id == rule_id)


def _day(log: pd.DataFrame, start: str) -> pd.DataFrame:
    moment = datetime.fromisoformat(start).replace(tzinfo=None)
    return log[(log.ts >= moment) & (log.ts < moment + pd.Timedelta(days=1))]


@pytest.mark.parametrize("columns", [[*FEATURES, "score"], FEATURES], ids=["listed", "left-out"])
def test_the_score_is_judged_as_the_models_output_not_as_a_feature(
    log, reference, reference_frame, columns
) -> None:
    result = monitor("m", log, policy=make_policy(columns=columns), reference=reference)
    drift = _finding(result, "prediction-drift")
    assert drift.details["column"] == "score"
    assert drift.verdict is Verdict.FAIL  # the scores move up on the drift day
    scale = max(float(np.std(reference_frame["score"])), 0.001)
    for entry in drift.details["windows"]:
        rows = _day(log, entry["start"])
        expected = wasserstein_distance(reference_frame["score"], rows["score"]) / scale
        assert entry["method"] == "wasserstein"
        # within the grid's bound (docs/monitoring.md), as the Evidently comparison holds it
        assert entry["value"] == pytest.approx(expected, rel=0.02, abs=2e-3)
    for w in result.windows:  # the share counts the listed features only
        assert sorted(c.column for c in w.drift.columns) == sorted(FEATURES)


def test_a_listed_prediction_column_is_monitored_as_the_output(log, reference_frame) -> None:
    frame = reference_frame.assign(prediction=(reference_frame["score"] >= 0.5).astype(int))
    reference = replace(
        build_profile(frame), meta={"model_outputs": {"score": "score", "prediction": "prediction"}}
    )
    document = {**POLICY, "data": {k: v for k, v in POLICY["data"].items() if k != "score"}}
    document["monitoring"] = {**POLICY["monitoring"], "columns": ["income", "prediction"]}
    policy = policy_from_dict(document)
    production = log.assign(prediction=(log["score"] >= 0.5).astype(int))
    result = monitor("m", production, policy=policy, reference=reference)
    drift = _finding(result, "prediction-drift")
    assert drift.details["column"] == "prediction"  # listed, so preferred to the score
    assert drift.verdict is not Verdict.SKIPPED
    ref = np.bincount(frame["prediction"], minlength=2) / len(frame)
    for entry in drift.details["windows"]:
        rows = _day(production, entry["start"])
        cur = np.bincount(rows["prediction"], minlength=2) / len(rows)
        assert entry["method"] == "jensenshannon"
        assert entry["value"] == pytest.approx(jensenshannon(ref, cur), abs=1e-9)
    for w in result.windows:
        assert [c.column for c in w.drift.columns] == ["income"]


@pytest.mark.parametrize("columns", [[*FEATURES, "score"], None], ids=["listed", "default"])
def test_a_log_without_the_output_column_skips_prediction_drift_with_the_reason(
    log, reference, columns
) -> None:
    result = monitor(
        "m", log.drop(columns=["score"]), policy=make_policy(columns=columns), reference=reference
    )
    drift = _finding(result, "prediction-drift")
    assert drift.verdict is Verdict.SKIPPED
    assert drift.message == "prediction column 'score' is not in the log"
    assert "data.score" in drift.details["hint"]
    assert _finding(result, "log.missing-columns").details["missing"] == ["score"]
    assert _finding(result, "dataset-drift").verdict is Verdict.FAIL  # the rest still judged
