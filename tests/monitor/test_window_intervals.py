"""Intervals of performance per window come from the statistics engine, as in the gate.

The count bootstrap of a window is checked against an independent numpy rendering of the same
resampling (same seed: same bounds) and against a row bootstrap with scikit-learn; ROC AUC's
interval (DeLong) against the gate's function on the window's raw rows and a row bootstrap.
"""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from charter.monitor.run import monitor
from charter.policy.loader import policy_from_dict
from charter.stats import performance

from .conftest import POLICY

METRICS = {"accuracy": accuracy_score, "f1": f1_score}


def _policy(**performance_settings):
    rules = [{"id": m, "check": m, "min": 0.1} for m in (*METRICS, "roc_auc")]
    rules.append(
        {"id": "worst", "check": "accuracy", "min": 0.5, "params": {"aggregate": "worst_group"}}
    )
    return policy_from_dict({**POLICY, "performance": {"rules": rules, **performance_settings}})


@pytest.fixture(scope="module")
def result(log, reference):
    return monitor("credit-risk", log, policy=_policy(), reference=reference)


def _windows(result, rule_id):
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    return finding.details["windows"]


def _day(log: pd.DataFrame, entry: dict) -> pd.DataFrame:
    start = datetime.fromisoformat(entry["start"]).replace(tzinfo=None)
    return log[(log.ts >= start) & (log.ts < start + pd.Timedelta(days=1))]


def _count_bootstrap(y_true, y_pred, metric, *, resamples: int, seed: int) -> tuple[float, float]:
    """The count bootstrap written out: multinomial draws over the 2x2 cells, then quantiles."""
    cells = np.bincount(2 * y_true + y_pred, minlength=4).astype(float)
    draws = np.random.default_rng(seed).multinomial(
        int(cells.sum()), cells / cells.sum(), resamples
    )
    tn, fp, fn, tp = draws.T.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "accuracy": (tp + tn) / (tn + fp + fn + tp),
            "f1": 2 * tp / (2 * tp + fp + fn),
        }[metric]
    values = values[~np.isnan(values)]
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


@pytest.mark.parametrize("metric", list(METRICS))
def test_count_metric_intervals_are_the_count_bootstrap_with_the_policys_seed(
    result, log, metric
) -> None:
    rng = np.random.default_rng(3)
    for entry in _windows(result, f"{metric}.window"):
        rows = _day(log, entry)
        y_true = rows["default"].to_numpy()
        y_pred = (rows["score"] >= 0.5).astype(int).to_numpy()
        assert entry["value"] == pytest.approx(METRICS[metric](y_true, y_pred), abs=1e-12)
        # fairness.bootstrap (200) and seed (0) of the policy, as performance defaults to them
        expected = _count_bootstrap(y_true, y_pred, metric, resamples=200, seed=0)
        assert entry["ci"] == pytest.approx(list(expected), abs=1e-12)
        # and a row bootstrap with scikit-learn agrees to within bootstrap noise
        picks = rng.integers(0, len(rows), size=(400, len(rows)))
        by_rows = [METRICS[metric](y_true[p], y_pred[p]) for p in picks]
        assert entry["ci"] == pytest.approx(list(np.quantile(by_rows, [0.025, 0.975])), abs=0.012)


def test_roc_auc_per_window_has_the_gates_delong_interval(result, log) -> None:
    rng = np.random.default_rng(5)
    for entry in _windows(result, "roc_auc.window"):
        rows = _day(log, entry)
        y_true, score = rows["default"].to_numpy(), rows["score"].to_numpy()
        gate = performance.roc_auc(y_true, score, confidence_level=0.95)
        assert entry["value"] == pytest.approx(roc_auc_score(y_true, score), abs=1e-12)
        assert entry["ci"] == pytest.approx(list(gate.ci), abs=1e-12)
        picks = rng.integers(0, len(rows), size=(300, len(rows)))
        by_rows = [roc_auc_score(y_true[p], score[p]) for p in picks]
        assert entry["ci"] == pytest.approx(list(np.quantile(by_rows, [0.025, 0.975])), abs=0.006)


def test_worst_group_carries_that_groups_value_and_interval(result, log) -> None:
    for entry in _windows(result, "worst.window"):
        rows = _day(log, entry)
        by_sex = {
            sex: accuracy_score(part["default"], (part["score"] >= 0.5).astype(int))
            for sex, part in rows.groupby("sex")
        }
        worst = min(by_sex, key=by_sex.__getitem__)
        assert entry["worst_group"] == f"sex={worst}"
        assert entry["value"] == pytest.approx(by_sex[worst], abs=1e-12)
        part = rows[rows["sex"] == worst]
        alone = _count_bootstrap(
            part["default"].to_numpy(),
            (part["score"] >= 0.5).astype(int).to_numpy(),
            "accuracy",
            resamples=200,
            seed=0,
        )
        low, high = entry["ci"]
        assert low <= entry["value"] <= high
        # resampled jointly with the other group, so close to (not equal to) the group alone
        assert (low, high) == pytest.approx(alone, abs=0.015)


def test_performance_settings_override_and_bootstrap_zero_turns_intervals_off(
    log, reference
) -> None:
    quiet = log[log.ts.dt.day < 3]
    wider = monitor(
        "m",
        quiet,
        policy=_policy(confidence_level=0.99, bootstrap=300, seed=11),
        reference=reference,
    )
    entry = _windows(wider, "accuracy.window")[0]
    rows = _day(quiet, entry)
    y_true, y_pred = rows["default"].to_numpy(), (rows["score"] >= 0.5).astype(int).to_numpy()
    cells = np.bincount(2 * y_true + y_pred, minlength=4).astype(float)
    draws = np.random.default_rng(11).multinomial(int(cells.sum()), cells / cells.sum(), 300)
    values = (draws[:, 0] + draws[:, 3]) / cells.sum()
    assert entry["ci"] == pytest.approx(list(np.quantile(values, [0.005, 0.995])), abs=1e-12)
    off = monitor("m", quiet, policy=_policy(bootstrap=0), reference=reference)
    for rule_id in ("accuracy.window", "roc_auc.window", "worst.window"):
        assert all("ci" not in e for e in _windows(off, rule_id))


def test_a_rules_own_interval_settings_carry_to_its_window_rule(log, reference) -> None:
    quiet = log[log.ts.dt.day < 3]
    rules = [
        {
            "id": "accuracy",
            "check": "accuracy",
            "min": 0.1,
            "params": {"bootstrap": 300, "confidence_level": 0.9, "seed": 7},
        },
        {"id": "plain", "check": "accuracy", "min": 0.1, "params": {"bootstrap": 0}},
    ]
    policy = policy_from_dict({**POLICY, "performance": {"rules": rules}})
    result = monitor("m", quiet, policy=policy, reference=reference)
    entry = _windows(result, "accuracy.window")[0]
    rows = _day(quiet, entry)
    y_true, y_pred = rows["default"].to_numpy(), (rows["score"] >= 0.5).astype(int).to_numpy()
    cells = np.bincount(2 * y_true + y_pred, minlength=4).astype(float)
    draws = np.random.default_rng(7).multinomial(int(cells.sum()), cells / cells.sum(), 300)
    values = (draws[:, 0] + draws[:, 3]) / cells.sum()
    assert entry["ci"] == pytest.approx(list(np.quantile(values, [0.05, 0.95])), abs=1e-12)
    # the section's settings (fairness.bootstrap: 200) would give intervals: the rule's 0 wins
    assert all("ci" not in e for e in _windows(result, "plain.window"))
