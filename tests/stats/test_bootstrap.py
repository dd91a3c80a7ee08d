"""Bootstrap by resampling counts: same distribution as resampling rows, far cheaper."""

from __future__ import annotations

import numpy as np
import pytest

from charter.stats.bootstrap import bootstrap_interval, percentile_interval, resample_counts
from charter.stats.counts import confusion_counts
from charter.stats.fairness import GroupMetrics
from charter.stats.rates import RATES


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 3_000
    g = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < np.where(g == "a", 0.85, 0.7), y, 1 - y)
    return y, p, g


def _dp_gap(w: np.ndarray) -> np.ndarray:
    sel = RATES["selection_rate"](w)
    return sel.max(axis=-1) - sel.min(axis=-1)


def test_count_resampling_has_the_distribution_of_row_resampling(sample) -> None:  # type: ignore[no-untyped-def]
    y, p, g = sample
    counts = confusion_counts(y, p, sensitive_features=g)
    by_counts = _dp_gap(resample_counts(counts, 4_000, seed=1))
    rng = np.random.default_rng(2)
    by_rows = []
    for _ in range(1_000):
        idx = rng.integers(0, len(y), len(y))
        by_rows.append(
            _dp_gap(confusion_counts(y[idx], p[idx], sensitive_features=g[idx]).weighted)
        )
    rows = np.array(by_rows)
    assert by_counts.mean() == pytest.approx(rows.mean(), rel=0.03)
    assert by_counts.std() == pytest.approx(rows.std(), rel=0.1)
    assert np.quantile(by_counts, 0.975) == pytest.approx(np.quantile(rows, 0.975), rel=0.06)


def test_each_resample_keeps_the_row_total_and_scales_cell_mean_weights() -> None:
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    weights = np.array([2.0, 3.0, 3.0, 2.0, 3.0, 2.0, 2.0, 3.0])  # constant within each cell
    counts = confusion_counts(y, y, sensitive_features=list("aabbaabb"), sample_weight=weights)
    resampled = resample_counts(counts, 500, seed=0)
    assert resampled.shape == (500, 2, 2, 2)
    rows = resampled.copy()
    rows[:, :, 1, 1] /= 3.0
    rows[:, :, 0, 0] /= 2.0
    assert np.allclose(rows.sum(axis=(1, 2, 3)), len(y))
    assert np.allclose(rows, np.round(rows))


def test_intervals_are_reproducible_by_seed_and_cover_the_estimate(sample) -> None:  # type: ignore[no-untyped-def]
    y, p, g = sample
    counts = confusion_counts(y, p, sensitive_features=g)
    first = GroupMetrics(counts, bootstrap=300, seed=5).equalized_odds_difference()
    again = GroupMetrics(counts, bootstrap=300, seed=5).equalized_odds_difference()
    other = GroupMetrics(counts, bootstrap=300, seed=6).equalized_odds_difference()
    assert first.ci == again.ci and first.ci != other.ci
    assert first.ci is not None and first.ci[0] < first.value < first.ci[1]
    narrow = GroupMetrics(
        counts, bootstrap=300, seed=5, confidence_level=0.5
    ).equalized_odds_difference()
    assert narrow.ci is not None and first.ci[0] < narrow.ci[0] < narrow.ci[1] < first.ci[1]
    assert first.details["bootstrap"]["resamples"] == 300


def test_undefined_resamples_are_counted_and_left_out() -> None:
    # group b has a single positive: many resamples draw none, so its TPR is undefined there
    y = np.array([1] * 50 + [0] * 50 + [1] + [0] * 20)
    p = np.array([1] * 40 + [0] * 10 + [0] * 50 + [1] + [0] * 20)
    g = np.array(["a"] * 100 + ["b"] * 21)
    counts = confusion_counts(y, p, sensitive_features=g)
    result = GroupMetrics(counts, bootstrap=400).equal_opportunity_difference()
    info = result.details["bootstrap"]
    assert 50 < info["undefined_resamples"] < 350
    assert result.ci is not None and not np.isnan(result.ci[0])


def test_percentile_interval_of_all_undefined_samples_is_nan() -> None:
    interval = percentile_interval(np.full(10, np.nan), 0.9)
    assert np.isnan(interval.low) and interval.undefined == 10


def test_bootstrap_of_an_empty_table_is_nan() -> None:
    counts = confusion_counts(np.zeros(0, int), np.zeros(0, int))
    interval = bootstrap_interval(
        counts, lambda w: RATES["accuracy"](w.sum(axis=-3)), n_resamples=10
    )
    assert np.isnan(interval.low) and interval.undefined == 10
