"""Fairness per window when labels arrive late or never.

The selection-rate metrics (demographic parity, statistical parity, disparate impact, the
four-fifths rule) read predictions only, so each window computes them over all its rows; the
metrics that need labels (equalized odds...) use the labelled rows only. Oracles: fairlearn
on the window's raw rows.
"""

from datetime import datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)

from charter.evidence import Verdict
from charter.monitor.run import monitor
from charter.policy.loader import policy_from_dict

from .conftest import POLICY

FAIRNESS = {
    "bootstrap": 200,
    "rules": [
        {"id": "parity", "check": "demographic_parity_difference", "max": 0.1},
        {"id": "odds", "check": "equalized_odds_difference", "max": 0.2},
        {"id": "fifths", "check": "four_fifths_rule", "min": 0.8},
    ],
}


@pytest.fixture(scope="module")
def policy():
    return policy_from_dict({**POLICY, "fairness": FAIRNESS})


@pytest.fixture(scope="module")
def sparse_log(log) -> pd.DataFrame:
    """The production log with labels for one row in ten, and none at all on day 5."""
    rng = np.random.default_rng(7)
    out = log.copy()
    labelled = (rng.random(len(out)) < 0.1) & (out.ts.dt.day != 5)
    out["default"] = out["default"].where(labelled, np.nan)
    return out


def _finding(result, rule_id):
    return next(f for f in result.findings if f.rule_id == rule_id)


def _day(log: pd.DataFrame, entry: dict) -> pd.DataFrame:
    start = datetime.fromisoformat(entry["start"]).replace(tzinfo=None)
    return log[(log.ts >= start) & (log.ts < start + pd.Timedelta(days=1))]


@pytest.fixture(scope="module")
def result(sparse_log, policy, reference):
    return monitor("credit-risk", sparse_log, policy=policy, reference=reference)


def test_demographic_parity_per_window_reads_every_row_not_only_the_labelled(
    result, sparse_log
) -> None:
    windows = _finding(result, "parity.window").details["windows"]
    assert len(windows) == 6
    gaps = []
    for entry in windows:
        rows = _day(sparse_log, entry)
        y_pred = (rows["score"] >= 0.5).astype(int)
        expected = demographic_parity_difference(
            rows["default"].fillna(0), y_pred, sensitive_features=rows["sex"]
        )
        assert entry["value"] == pytest.approx(expected, abs=1e-12)
        assert entry["rows_used"] == len(rows) == entry["rows"]
        assert entry["ci"][0] <= entry["value"] <= entry["ci"][1]
        known = rows["default"].notna()
        if known.any():
            labelled_only = demographic_parity_difference(
                rows.loc[known, "default"], y_pred[known], sensitive_features=rows.loc[known, "sex"]
            )
            gaps.append(abs(labelled_only - expected))
    assert max(gaps) > 0.01  # on labelled rows alone the values would differ


def test_the_day_without_labels_is_judged_for_parity_and_the_four_fifths_rule(
    result, sparse_log
) -> None:
    day5 = [
        e for e in _finding(result, "fifths.window").details["windows"] if e["start"][8:10] == "05"
    ]
    [entry] = day5
    rows = _day(sparse_log, entry)
    assert rows["default"].isna().all()
    rates = MetricFrame(
        metrics=selection_rate,
        y_true=np.zeros(len(rows)),
        y_pred=(rows["score"] >= 0.5).astype(int),
        sensitive_features=rows["sex"],
    ).by_group
    assert entry["value"] == pytest.approx(rates.min() / rates.max(), abs=1e-12)
    assert entry.get("judged", True)


def test_equalized_odds_uses_the_labelled_rows_and_says_when_there_are_none(
    result, sparse_log
) -> None:
    finding = _finding(result, "odds.window")
    assert finding.verdict is not Verdict.SKIPPED
    for entry in finding.details["windows"]:
        rows = _day(sparse_log, entry)
        known = rows[rows["default"].notna()]
        if known.empty:
            assert entry["judged"] is False and entry["reason"] == "no labelled rows"
            assert "value" not in entry
            continue
        expected = equalized_odds_difference(
            known["default"].astype(int),
            (known["score"] >= 0.5).astype(int),
            sensitive_features=known["sex"],
        )
        assert entry["value"] == pytest.approx(expected, abs=1e-12)
        assert entry["rows_used"] == entry["labelled_rows"] == len(known)


def test_a_log_without_any_label_still_judges_parity(log, policy, reference) -> None:
    unlabelled = log.drop(columns=["default"])
    result = monitor("credit-risk", unlabelled, policy=policy, reference=reference)
    parity = _finding(result, "parity.window")
    assert parity.verdict is Verdict.FAIL  # the log turns unfair on the drift day
    assert parity.details["first_failing_window"].startswith("2024-03-04")
    odds = _finding(result, "odds.window")
    assert odds.verdict is Verdict.SKIPPED
    assert {e["reason"] for e in odds.details["windows"]} == {"no labelled rows"}


def test_lazy_engines_give_the_same_label_free_values(sparse_log, policy, reference) -> None:
    eager = monitor("credit-risk", sparse_log, policy=policy, reference=reference)
    lazy = monitor(
        "credit-risk", pl.from_pandas(sparse_log).lazy(), policy=policy, reference=reference
    )
    for rule in ("parity.window", "fifths.window", "odds.window"):
        a = _finding(eager, rule).details["windows"]
        b = _finding(lazy, rule).details["windows"]
        assert [e.get("value") for e in a] == pytest.approx([e.get("value") for e in b], abs=1e-12)
        assert [e.get("rows_used") for e in a] == [e.get("rows_used") for e in b]


def test_a_log_without_the_sensitive_column_says_so_per_window(log, policy, reference) -> None:
    result = monitor(
        "credit-risk", log.drop(columns=["default", "sex"]), policy=policy, reference=reference
    )
    parity = _finding(result, "parity.window")
    assert parity.verdict is Verdict.SKIPPED
    assert {e["reason"] for e in parity.details["windows"]} == {
        "sensitive column(s) sex not in the log"
    }
