"""Confidence intervals of performance metrics, overall and per group, without the rows.

Oracles: a row bootstrap of scikit-learn's metrics (counts metrics), a textbook pairwise DeLong
written here (ROC AUC) and its coverage on simulated data, and per-row terms computed directly
with numpy and scipy (log loss, Brier, MAE, RMSE).
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
import sklearn.metrics as skm
from scipy import stats as st

from charter.stats.performance import evaluate, f1, log_loss, mae, r2, rmse, roc_auc
from charter.stats.regression import RegressionMoments, regression_moments
from charter.stats.scores import score_counts

Z95 = float(st.norm.ppf(0.975))


def _delong(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Pairwise DeLong (1988): AUC and its standard error; weights as importance per row."""
    w = np.ones(len(y)) if w is None else w
    pos, neg = s[y == 1], s[y == 0]
    wp, wn = w[y == 1], w[y == 0]
    greater = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10 = greater @ wn / wn.sum()  # each positive: weighted share of negatives below it
    v01 = wp @ greater / wp.sum()  # each negative: weighted share of positives above it
    auc = float(v10 @ wp / wp.sum())
    m, n = len(pos), len(neg)
    s10 = (wp * (v10 - auc) ** 2).sum() / wp.sum() * m / (m - 1)
    s01 = (wn * (v01 - auc) ** 2).sum() / wn.sum() * n / (n - 1)
    return auc, float(np.sqrt(s10 / m + s01 / n))


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    rng = np.random.default_rng(31)
    n = 1_500
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = rng.integers(0, 2, n)
    lift = np.where(g == "a", 1.5, np.where(g == "b", 0.8, 0.3))
    s = 1 / (1 + np.exp(-(lift * (2 * y - 1) + rng.normal(0, 1, n))))
    return pd.DataFrame(
        {
            "g": g,
            "y": y,
            "s": np.round(s, 2),  # ties within and across classes
            "p": (s > 0.5).astype(int),
            "w": rng.choice([0.5, 1.0, 2.0], n),
        }
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_standard_error_is_delongs_overall_and_per_group(
    scored: pd.DataFrame, weighted: bool
) -> None:
    w = scored["w"].to_numpy() if weighted else None
    result = roc_auc(
        "y",
        "s",
        sensitive_features="g",
        data=scored,
        sample_weight="w" if weighted else None,
        confidence_level=0.95,
    )
    y, s = scored["y"].to_numpy(), scored["s"].to_numpy()
    auc, se = _delong(y, s, w)
    assert result.value == pytest.approx(auc, abs=1e-12)
    assert result.ci == pytest.approx((auc - Z95 * se, auc + Z95 * se), abs=1e-9)
    assert result.details["interval"]["method"].startswith("DeLong")
    for row in result.groups:
        mask = (scored["g"] == row.key["g"]).to_numpy()
        auc_g, se_g = _delong(y[mask], s[mask], None if w is None else w[mask])
        low, high = row.intervals["roc_auc"]
        assert low == pytest.approx(max(auc_g - Z95 * se_g, 0.0), abs=1e-9)
        assert high == pytest.approx(min(auc_g + Z95 * se_g, 1.0), abs=1e-9)


def test_delong_interval_covers_the_true_auc_about_95_percent_of_the_time() -> None:
    # binormal model: AUC = Phi(d / sqrt(2)) exactly
    rng = np.random.default_rng(7)
    d, true_auc, hits, trials = 1.0, float(st.norm.cdf(1.0 / np.sqrt(2))), 0, 300
    for _ in range(trials):
        y = rng.integers(0, 2, 200)
        s = rng.normal(d * y, 1.0)
        low, high = roc_auc(y, s, confidence_level=0.95).ci or (np.nan, np.nan)
        hits += low <= true_auc <= high
    assert 0.91 <= hits / trials <= 0.985


def test_auc_standard_error_agrees_with_a_row_bootstrap_of_sklearn(scored: pd.DataFrame) -> None:
    y, s = scored["y"].to_numpy(), scored["s"].to_numpy()
    rng = np.random.default_rng(2)
    boot = []
    for _ in range(400):
        idx = rng.integers(0, len(y), len(y))
        boot.append(skm.roc_auc_score(y[idx], s[idx]))
    low, high = roc_auc(y, s, confidence_level=0.95).ci or (np.nan, np.nan)
    assert (high - low) / (2 * Z95) == pytest.approx(np.std(boot), rel=0.12)


def _f1_of_rows(y: np.ndarray, p: np.ndarray) -> float:
    tp, fp, fn = np.sum(y & p), np.sum(~y & p), np.sum(y & ~p)
    return float(2 * tp / (2 * tp + fp + fn))


def test_count_metric_intervals_match_a_row_bootstrap(scored: pd.DataFrame) -> None:
    y, p = scored["y"].to_numpy().astype(bool), scored["p"].to_numpy().astype(bool)
    g = scored["g"].to_numpy()
    assert _f1_of_rows(y, p) == pytest.approx(skm.f1_score(y, p), abs=1e-12)
    result = f1(y, p, sensitive_features=g, confidence_level=0.9, bootstrap=3_000, seed=1)
    rng = np.random.default_rng(3)
    overall: list[float] = []
    per_group: dict[str, list[float]] = {k: [] for k in ("a", "b", "c")}
    for _ in range(1_500):
        idx = rng.integers(0, len(y), len(y))
        yi, pi, gi = y[idx], p[idx], g[idx]
        overall.append(_f1_of_rows(yi, pi))
        for k, values in per_group.items():
            values.append(_f1_of_rows(yi[gi == k], pi[gi == k]))
    expected = np.quantile(overall, [0.05, 0.95])
    assert result.ci == pytest.approx(tuple(expected), abs=0.3 * np.std(overall))
    assert result.details["interval"]["resamples"] == 3_000
    for row in result.groups:
        samples = np.array(per_group[row.key["sensitive"]])
        low, high = row.intervals["f1"]
        assert low == pytest.approx(np.quantile(samples, 0.05), abs=0.3 * samples.std())
        assert high == pytest.approx(np.quantile(samples, 0.95), abs=0.3 * samples.std())
    worst = result.details["worst_group"]
    assert worst["ci"] == list(
        next(r.intervals["f1"] for r in result.groups if r.label == worst["group"])
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_loss_intervals_are_normal_intervals_of_the_per_row_terms(
    scored: pd.DataFrame, weighted: bool
) -> None:
    y, s = scored["y"].to_numpy(), scored["s"].to_numpy()
    w = scored["w"].to_numpy() if weighted else np.ones(len(y))
    clipped = np.clip(s, np.finfo(float).eps, 1 - np.finfo(float).eps)  # as scikit-learn
    terms = {
        "log_loss": -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)),
        "brier": (s - y) ** 2,
    }
    stats = score_counts(y, s, sample_weight=w if weighted else None)
    for name, term in terms.items():
        mean = np.average(term, weights=w)
        sd = np.sqrt(np.average((term - mean) ** 2, weights=w) * len(y) / (len(y) - 1))
        se = sd / np.sqrt(len(y))
        if not weighted:
            assert se == pytest.approx(st.sem(term), rel=1e-9)
        result = evaluate(name, stats, confidence_level=0.95)
        assert result.ci == pytest.approx((mean - Z95 * se, mean + Z95 * se), rel=1e-9)
    assert log_loss(y, s, confidence_level=0.95).details["interval"]["method"].startswith("normal")


def test_mae_and_rmse_intervals_come_from_the_moments_and_r2_has_none() -> None:
    rng = np.random.default_rng(4)
    n = 5_000
    g = rng.choice(["u", "v"], n)
    y = rng.normal(10, 3, n)
    pred = y + rng.standard_t(5, n) * np.where(g == "u", 1.0, 2.0)
    r = y - pred
    for metric in (mae, rmse):
        result = metric(y, pred, sensitive_features=g, confidence_level=0.9)
        z = float(st.norm.ppf(0.95))
        for key, mask in (("overall", np.ones(n, bool)), ("u", g == "u"), ("v", g == "v")):
            if metric is mae:
                mean, se = np.abs(r[mask]).mean(), st.sem(np.abs(r[mask]))
                expected = (mean - z * se, mean + z * se)
            else:
                mse, se = (r[mask] ** 2).mean(), st.sem(r[mask] ** 2)
                expected = (np.sqrt(mse - z * se), np.sqrt(mse + z * se))
            got = (
                result.ci
                if key == "overall"
                else next(
                    row.intervals[result.metric]
                    for row in result.groups
                    if row.key["sensitive"] == key
                )
            )
            assert got == pytest.approx(expected, rel=1e-9)
    plain = r2(y, pred, sensitive_features=g, confidence_level=0.95)
    assert plain.ci is None and not plain.groups[0].intervals
    assert plain.details["interval"]["method"] is None
    assert "joint moments" in plain.details["interval"]["reason"]
    json.dumps(plain.to_details(), allow_nan=False)


def test_fourth_moment_merges_and_comes_from_lazy_engines_too() -> None:
    rng = np.random.default_rng(6)
    n = 4_000
    frame = pl.DataFrame(
        {"g": rng.choice(["a", "b"], n), "y": rng.normal(0, 1, n), "w": rng.random(n) + 0.5}
    ).with_columns(p=pl.col("y") + pl.Series(rng.normal(0, 0.5, n)))
    whole = regression_moments("y", "p", sensitive_features="g", sample_weight="w", data=frame)
    halves = [
        regression_moments("y", "p", sensitive_features="g", sample_weight="w", data=part)
        for part in (frame[: n // 3], frame[n // 3 :])
    ]
    merged = halves[0].merge(halves[1])
    lazy = regression_moments(
        "y", "p", sensitive_features="g", sample_weight="w", data=frame.lazy()
    )
    con = duckdb.connect()
    in_duckdb = regression_moments(
        "y", "p", sensitive_features="g", sample_weight="w", data=con.from_arrow(frame.to_arrow())
    )
    r = (frame["y"] - frame["p"]).to_numpy()
    w = frame["w"].to_numpy()
    expected = [float((w * r**4)[frame["g"].to_numpy() == k].sum()) for k in ("a", "b")]
    for moments in (whole, merged, lazy, in_duckdb):
        assert moments.s4 == pytest.approx(expected, rel=1e-9)
        assert moments.mse_standard_error() == pytest.approx(whole.mse_standard_error(), rel=1e-9)
    restored = RegressionMoments.from_dict(json.loads(json.dumps(whole.to_dict())))
    assert restored.s4 == pytest.approx(expected, rel=1e-12)
    assert whole.overall().s4 == pytest.approx([sum(expected)], rel=1e-12)
    # moments from a producer that keeps no fourth moment still give MAE, just no RMSE interval
    older = {k: v for k, v in whole.to_dict().items() if k != "s4"}
    legacy = evaluate("rmse", RegressionMoments.from_dict(older), confidence_level=0.95)
    assert legacy.ci is not None and np.isnan(legacy.ci[0])
    assert evaluate("mae", RegressionMoments.from_dict(older), confidence_level=0.95).ci
