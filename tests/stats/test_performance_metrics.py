"""Performance metrics from counts, score counts and regression moments, against scikit-learn."""

from __future__ import annotations

import math
import warnings

import duckdb
import numpy as np
import polars as pl
import pytest
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from charter.errors import DataError
from charter.stats import performance as perf
from charter.stats.regression import RegressionMoments, regression_moments
from charter.stats.scores import ScoreCounts, score_counts
from tests.stats.strategies import Sample, samples

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SKLEARN_COUNTS = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
}


def _quiet(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _sklearn(fn, y, p, w):  # type: ignore[no-untyped-def]
    try:
        return float(_quiet(fn, y, p, sample_weight=w))
    except ValueError:
        return math.nan


@PROPERTY
@given(samples())
def test_count_metrics_match_sklearn_overall_and_per_group(s: Sample) -> None:
    for name, fn in SKLEARN_COUNTS.items():
        result = getattr(perf, name)(s.y, s.p, sensitive_features=s.groups, sample_weight=s.w)
        cases = [(result.value, result.reason, np.ones(len(s.y), bool))]
        for row in result.groups:
            mask = s.groups == row.key["sensitive"]
            cases.append((row.values[name], row.reasons.get(name), mask))
        for ours, reason, mask in cases:
            y, p = s.y[mask], s.p[mask]
            w = None if s.w is None else s.w[mask]
            theirs = _sklearn(fn, y, p, w)
            one_class = len(set(y.tolist())) < 2
            if math.isnan(ours):
                assert reason, name
                # sklearn's silent substitutes: 0 for zero_division, one-class balanced accuracy
                assert theirs == 0.0 or (name == "balanced_accuracy" and one_class), name
            else:
                assert ours == pytest.approx(theirs, abs=1e-12), name


@st.composite
def scored(draw: st.DrawFn) -> tuple[Sample, np.ndarray]:
    s = draw(samples(max_rows=50))
    decimals = draw(st.sampled_from([1, 2, 6]))  # coarse scores give many ties
    raw = draw(arrays(np.float64, len(s.y), elements=st.floats(0.0, 1.0)))
    return s, np.round(raw, decimals)


@PROPERTY
@given(scored())
def test_score_metrics_match_sklearn_with_ties_weights_and_clipping(
    case: tuple[Sample, np.ndarray],
) -> None:
    s, scores = case
    oracles = {
        "roc_auc": skm.roc_auc_score,
        "log_loss": lambda y, p, sample_weight: skm.log_loss(
            y, p, sample_weight=sample_weight, labels=[0, 1]
        ),
        "brier": skm.brier_score_loss,
    }
    for name, fn in oracles.items():
        result = getattr(perf, name)(s.y, scores, sensitive_features=s.groups, sample_weight=s.w)
        checks = [(result.value, result.reason, np.ones(len(s.y), bool))]
        checks += [
            (row.values[name], row.reasons.get(name), s.groups == row.key["sensitive"])
            for row in result.groups
        ]
        for ours, reason, mask in checks:
            w = None if s.w is None else s.w[mask]
            theirs = _sklearn(fn, s.y[mask], scores[mask], w)
            if name == "roc_auc" and len(set(s.y[mask].tolist())) < 2:
                assert math.isnan(ours) and reason and "needs both classes" in reason
                assert math.isnan(theirs)  # sklearn raises
            else:
                assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-12), name


@st.composite
def regression_samples(draw: st.DrawFn) -> tuple[Sample, np.ndarray, np.ndarray]:
    s = draw(samples(max_rows=50))
    values = st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 3))
    y = draw(arrays(np.float64, len(s.y), elements=values))
    noise = draw(arrays(np.float64, len(s.y), elements=st.floats(-5, 5).map(lambda v: round(v, 2))))
    return s, y, y + noise


@PROPERTY
@given(regression_samples())
def test_regression_metrics_match_sklearn_and_r2_is_nan_for_a_constant_target(
    case: tuple[Sample, np.ndarray, np.ndarray],
) -> None:
    s, y, p = case
    oracles = {
        "mae": skm.mean_absolute_error,
        "rmse": skm.root_mean_squared_error,
        "r2": skm.r2_score,
    }
    for name, fn in oracles.items():
        result = getattr(perf, name)(y, p, sensitive_features=s.groups, sample_weight=s.w)
        checks = [(result.value, result.reason, np.ones(len(y), bool))]
        checks += [
            (row.values[name], row.reasons.get(name), s.groups == row.key["sensitive"])
            for row in result.groups
        ]
        for ours, reason, mask in checks:
            w = None if s.w is None else s.w[mask]
            theirs = _sklearn(fn, y[mask], p[mask], w)
            if name == "r2" and np.ptp(y[mask]) == 0:
                assert math.isnan(ours) and "constant" in (reason or "")
                assert theirs in (0.0, 1.0) or len(y[mask]) < 2  # sklearn: 1.0/0.0, or NaN
            else:
                assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9), name


@pytest.fixture
def frame() -> pl.DataFrame:
    rng = np.random.default_rng(4)
    n = 5_000
    y = rng.integers(0, 2, n)
    score = np.clip(np.round(0.3 * y + rng.random(n) * 0.7, 3), 0, 1)
    target = rng.normal(10, 3, n)
    return pl.DataFrame(
        {
            "y": y,
            "score": score,
            "g": rng.choice(["a", "b", None], n),
            "h": rng.choice([1, 2], n),
            "w": rng.random(n) * 2,
            "target": target,
            "pred": target + rng.normal(0, 1, n),
        }
    )


def test_score_counts_merge_to_the_whole_and_survive_json(frame: pl.DataFrame) -> None:
    whole = score_counts("y", "score", sensitive_features=["g", "h"], sample_weight="w", data=frame)
    parts = [
        score_counts(
            "y", "score", sensitive_features=["g", "h"], sample_weight="w", data=frame[a:b]
        )
        for a, b in ((0, 1_000), (1_000, 3_500), (3_500, 5_000))
    ]
    merged = parts[0] + parts[1] + parts[2]
    assert merged.keys == whole.keys
    np.testing.assert_allclose(merged.roc_auc(), whole.roc_auc(), rtol=1e-12)
    np.testing.assert_allclose(merged.log_loss(), whole.log_loss(), rtol=1e-12)
    restored = ScoreCounts.from_dict(whole.to_dict())
    np.testing.assert_array_equal(restored.brier(), whole.brier())
    assert (None, 1) in whole.keys  # missing group values form a group of their own


def test_regression_moments_merge_by_chan_to_the_whole(frame: pl.DataFrame) -> None:
    whole = regression_moments(
        "target", "pred", sensitive_features="g", sample_weight="w", data=frame
    )
    a = regression_moments(
        "target", "pred", sensitive_features="g", sample_weight="w", data=frame[:1_700]
    )
    b = regression_moments(
        "target", "pred", sensitive_features="g", sample_weight="w", data=frame[1_700:]
    )
    merged = a + b
    np.testing.assert_allclose(merged.r2(), whole.r2(), rtol=1e-10)
    np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-10)
    np.testing.assert_allclose(merged.overall().r2(), whole.overall().r2(), rtol=1e-10)
    restored = RegressionMoments.from_dict(whole.to_dict())
    np.testing.assert_array_equal(restored.mae(), whole.mae())


@pytest.mark.parametrize("backend", ["polars_lazy", "duckdb", "pandas"])
def test_every_backend_gives_the_same_score_and_regression_statistics(
    frame: pl.DataFrame, backend: str
) -> None:
    native = {
        "polars_lazy": lambda: frame.lazy(),
        "duckdb": lambda: duckdb.from_arrow(frame.to_arrow()),
        "pandas": lambda: frame.to_pandas(),
    }[backend]()
    eager = score_counts("y", "score", sensitive_features="g", sample_weight="w", data=frame)
    other = score_counts("y", "score", sensitive_features="g", sample_weight="w", data=native)
    assert other.keys == eager.keys
    np.testing.assert_allclose(other.roc_auc(), eager.roc_auc(), rtol=1e-12)
    np.testing.assert_allclose(other.log_loss(), eager.log_loss(), rtol=1e-12)
    m_eager = regression_moments(
        "target", "pred", sensitive_features="g", sample_weight="w", data=frame
    )
    m_other = regression_moments(
        "target", "pred", sensitive_features="g", sample_weight="w", data=native
    )
    np.testing.assert_allclose(m_other.r2(), m_eager.r2(), rtol=1e-9)
    np.testing.assert_allclose(m_other.rmse(), m_eager.rmse(), rtol=1e-12)


def test_auc_at_scale_matches_sklearn_tightly() -> None:
    rng = np.random.default_rng(9)
    n = 200_000
    y = rng.integers(0, 2, n)
    scores = 1 / (1 + np.exp(-(y * 0.8 + rng.normal(size=n))))
    w = rng.random(n)
    ours = perf.roc_auc(y, scores, sample_weight=w).value
    assert ours == pytest.approx(skm.roc_auc_score(y, scores, sample_weight=w), abs=1e-12)


def test_worst_group_is_the_lowest_score_and_the_highest_loss(frame: pl.DataFrame) -> None:
    auc = perf.roc_auc("y", "score", sensitive_features="h", data=frame)
    loss = perf.log_loss("y", "score", sensitive_features="h", data=frame)
    assert auc.details["worst_group"]["value"] == min(auc.by_group().values())
    assert loss.details["worst_group"]["value"] == max(loss.by_group().values())


def test_probability_metrics_refuse_scores_outside_the_unit_interval() -> None:
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\]"):
        perf.log_loss([0, 1, 1], [-0.5, 0.2, 2.0])
    assert perf.roc_auc([0, 1, 1], [-0.5, 0.2, 2.0]).value == 1.0  # decision scores are fine


def test_nan_scores_are_refused_with_a_count() -> None:
    with pytest.raises(DataError, match="1 missing"):
        perf.brier([0, 1], [0.2, float("nan")])
