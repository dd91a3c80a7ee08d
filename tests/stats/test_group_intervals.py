"""Per-group confidence intervals of the rates a fairness metric uses.

Oracles: a real row bootstrap (numpy, rows drawn with replacement, counted with its own
bincount) for the distribution, and scipy's Wilson and Clopper-Pearson intervals of a
binomial proportion as a sanity bound for unweighted data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binomtest

from charter.stats.bootstrap import bootstrap_interval, percentile_interval, percentile_intervals
from charter.stats.counts import confusion_counts
from charter.stats.fairness import GroupMetrics
from charter.stats.rates import RATES

GROUPS = np.array(["a", "b", "c"])


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(23)
    n = 3_000
    g = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < np.array([0.5, 0.4, 0.3])[g]).astype(np.int64)
    p = np.where(rng.random(n) < np.array([0.85, 0.75, 0.7])[g], y, 1 - y)
    return y, p, g


def _row_bootstrap_rates(
    y: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    w: np.ndarray | None,
    resamples: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Per-group selection rate, TPR and FPR of each row resample: ``(resamples, groups)``."""
    rng = np.random.default_rng(seed)
    n = len(y)
    out: dict[str, list[np.ndarray]] = {"selection_rate": [], "tpr": [], "fpr": []}
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        key = g[idx] * 4 + y[idx] * 2 + p[idx]
        c = np.bincount(key, weights=None if w is None else w[idx], minlength=12).reshape(3, 2, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["selection_rate"].append(c[:, :, 1].sum(axis=1) / c.sum(axis=(1, 2)))
            out["tpr"].append(c[:, 1, 1] / c[:, 1, :].sum(axis=1))
            out["fpr"].append(c[:, 0, 1] / c[:, 0, :].sum(axis=1))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weights-per-cell"])
def test_group_intervals_match_the_percentiles_of_a_row_bootstrap(
    sample: tuple[np.ndarray, np.ndarray, np.ndarray], weighted: bool
) -> None:
    y, p, g = sample
    # Weights constant within each (group, y_true) cell: the count bootstrap is then exactly
    # the row bootstrap in distribution, weights included.
    w = (1.0 + g + 0.5 * y).astype(np.float64) if weighted else None
    counts = confusion_counts(y, p, sensitive_features=GROUPS[g], sample_weight=w)
    level = 0.9
    gm = GroupMetrics(counts, bootstrap=4_000, confidence_level=level, seed=3)
    eo = gm.equalized_odds_difference().to_details()["groups"]
    dp = gm.demographic_parity_difference().to_details()["groups"]
    rows = _row_bootstrap_rates(y, p, g, w, 2_000, seed=4)
    alpha = (1 - level) / 2
    for column, rate, records in (
        ("selection_rate", "selection_rate", dp),
        ("tpr", "true_positive_rate", eo),
        ("fpr", "false_positive_rate", eo),
    ):
        expected = np.quantile(rows[column], [alpha, 1 - alpha], axis=0)
        spread = rows[column].std(axis=0)
        for i, record in enumerate(records):
            low, high = record[f"{rate}_ci"]
            assert low < record[rate] < high
            assert low == pytest.approx(expected[0, i], abs=0.3 * spread[i])
            assert high == pytest.approx(expected[1, i], abs=0.3 * spread[i])


def test_selection_rate_intervals_agree_with_wilson_and_sit_within_clopper_pearson(
    sample: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, p, g = sample
    counts = confusion_counts(y, p, sensitive_features=GROUPS[g])
    result = GroupMetrics(counts, bootstrap=4_000, seed=1).demographic_parity_ratio()
    for record in result.to_details()["groups"]:
        n = record["count"]
        k = round(record["selection_rate"] * n)
        test = binomtest(k, n)
        wilson = test.proportion_ci(0.95, method="wilson")
        exact = test.proportion_ci(0.95, method="exact")
        low, high = record["selection_rate_ci"]
        width = wilson.high - wilson.low
        assert (high - low) == pytest.approx(width, rel=0.12)
        assert low == pytest.approx(wilson.low, abs=0.12 * width)
        assert high == pytest.approx(wilson.high, abs=0.12 * width)
        # Clopper-Pearson is conservative: the bootstrap interval is not wider than it.
        assert exact.low - 0.05 * width <= low and high <= exact.high + 0.05 * width


def test_the_metric_interval_is_unchanged_by_drawing_group_intervals_from_its_resamples(
    sample: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    y, p, g = sample
    counts = confusion_counts(y, p, sensitive_features=GROUPS[g])
    gm = GroupMetrics(counts, bootstrap=500, seed=9)
    result = gm.demographic_parity_difference()

    def gap(w: np.ndarray) -> np.ndarray:
        rates = RATES["selection_rate"](w)
        return rates.max(axis=-1) - rates.min(axis=-1)

    alone = bootstrap_interval(counts, gap, n_resamples=500, seed=9)
    assert result.ci == (alone.low, alone.high)
    # the next metric of the same table reuses the same resamples
    again = gm.demographic_parity_difference()
    assert again.to_details()["groups"] == result.to_details()["groups"]


def test_only_the_rates_the_metric_uses_get_intervals_and_details_stay_json() -> None:
    rng = np.random.default_rng(0)
    n = 2_000
    g = rng.choice(["x", "y"], n)
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    gm = GroupMetrics(confusion_counts(y, p, sensitive_features=g), bootstrap=200)
    details = gm.equal_opportunity_difference().to_details()
    json.dumps(details, allow_nan=False)
    record = details["groups"][0]
    assert "true_positive_rate_ci" in record and "selection_rate_ci" not in record
    assert details["bootstrap"]["group_intervals"] == ["true_positive_rate"]
    four = gm.four_fifths_rule().to_details()
    for row in four["groups"]:
        assert set(row) >= {"selection_rate_ci", "impact_ratio_ci"}
        assert row["impact_ratio_ci"][1] <= 1.0
    none = GroupMetrics(confusion_counts(y, p, sensitive_features=g)).four_fifths_rule()
    assert not any(k.endswith("_ci") for k in none.to_details()["groups"][0])
    assert "ci" not in none.to_details()


def test_a_group_rate_undefined_in_some_resamples_counts_them() -> None:
    # group b has a single positive: about e^-1 of the resamples draw none
    y = np.array([1] * 50 + [0] * 50 + [1] + [0] * 20)
    p = np.array([1] * 40 + [0] * 10 + [0] * 50 + [1] + [0] * 20)
    g = np.array(["a"] * 100 + ["b"] * 21)
    result = GroupMetrics(
        confusion_counts(y, p, sensitive_features=g), bootstrap=400
    ).equal_opportunity_difference()
    a, b = result.to_details()["groups"]
    assert "undefined_resamples" not in a
    assert 100 < b["undefined_resamples"]["true_positive_rate"] < 200
    assert b["true_positive_rate_ci"] == [1.0, 1.0]  # whenever drawn, the positive is found


def test_percentile_intervals_equal_numpys_quantiles_column_by_column() -> None:
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(999, 40))
    samples[rng.random(samples.shape) < 0.2] = np.nan
    samples[:, 0] = np.nan
    samples[:-1, 1] = np.nan
    samples[:, 2] = 0.3
    intervals = percentile_intervals(samples, 0.8)
    for i in range(samples.shape[1]):
        one = percentile_interval(samples[:, i], 0.8)
        assert intervals.undefined[i] == one.undefined
        np.testing.assert_array_equal(intervals.pair(i), (one.low, one.high))
