import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from charter.stats.drift import DriftMethod, column_drift, dataset_drift, select_method
from charter.stats.profile import ColumnKind, build_profile, profile_against


def _profiles(ref, cur, kind=None):
    reference = build_profile(pd.DataFrame({"x": ref}), kinds={"x": kind} if kind else None)
    [current] = profile_against(pd.DataFrame({"x": cur}), reference)
    return reference["x"], current["x"]


def _evidently(method, ref, cur, kind):
    from evidently.legacy.calculations.stattests import registry
    from evidently.legacy.core import ColumnType

    test = next(iter(registry._registered_stat_tests[method].values()))
    feature = ColumnType.Numerical if kind == "numerical" else ColumnType.Categorical
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return test(pd.Series(ref).dropna(), pd.Series(cur).dropna(), feature, None)


RNG = np.random.default_rng(11)


def test_ks_on_a_small_reference_equals_scipy_exactly() -> None:
    ref, cur = RNG.normal(size=700), RNG.normal(0.15, 1, 5_000)
    r, c = _profiles(ref, cur)
    drift = column_drift(r, c, method="ks")
    expected = stats.ks_2samp(ref, cur)
    assert drift.exact
    assert drift.score == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


def test_ks_uses_scipys_exact_distribution_for_small_samples() -> None:
    ref, cur = RNG.normal(size=300), RNG.normal(0.3, 1, 400)
    r, c = _profiles(ref, cur)
    assert column_drift(r, c, method="ks").score == pytest.approx(
        stats.ks_2samp(ref, cur).pvalue, rel=1e-9
    )


def test_chisquare_and_jensenshannon_of_categories_equal_scipy() -> None:
    ref = RNG.choice(["a", "b", "c", "d"], 3_000, p=[0.4, 0.3, 0.2, 0.1])
    cur = RNG.choice(["a", "b", "c", "d"], 2_000, p=[0.3, 0.3, 0.2, 0.2])
    r, c = _profiles(ref, cur)
    keys = ["a", "b", "c", "d"]
    rc = np.array([(ref == k).sum() for k in keys], float)
    cc = np.array([(cur == k).sum() for k in keys], float)
    chi = column_drift(r, c, method="chisquare")
    assert chi.score == pytest.approx(stats.chisquare(cc, rc * cc.sum() / rc.sum()).pvalue)
    js = column_drift(r, c, method="jensenshannon")
    assert js.score == pytest.approx(distance.jensenshannon(rc / rc.sum(), cc / cc.sum()))


def test_wasserstein_from_cells_is_close_to_scipy_on_continuous_data() -> None:
    ref, cur = RNG.lognormal(3, 0.8, 50_000), RNG.lognormal(3.1, 0.8, 40_000)
    r, c = _profiles(ref, cur)
    drift = column_drift(r, c, method="wasserstein")
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert drift.score == pytest.approx(expected, rel=2e-3)


def test_wasserstein_is_exact_on_discrete_columns() -> None:
    ref, cur = RNG.integers(0, 50, 20_000).astype(float), RNG.integers(3, 50, 9_000).astype(float)
    r, c = _profiles(ref, cur)
    drift = column_drift(r, c, method="wasserstein")
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert drift.score == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("ref", "cur", "kind", "methods"),
    [
        (
            RNG.integers(0, 4, 800).astype(float),
            RNG.integers(0, 5, 2_000).astype(float),
            "numerical",
            ["chisquare", "z", "jensenshannon", "psi", "ks", "wasserstein"],
        ),
        (
            RNG.integers(0, 2, 800).astype(float),
            RNG.integers(0, 2, 900).astype(float),
            "numerical",
            ["z", "jensenshannon", "psi", "hellinger"],
        ),
        (
            RNG.integers(0, 300, 8_000).astype(float),
            RNG.integers(0, 300, 2_000).astype(float),
            "numerical",
            ["jensenshannon", "psi", "ks", "hellinger", "wasserstein"],
        ),
        (
            RNG.choice(list("abcd"), 800),
            RNG.choice(list("abcde"), 2_000),
            "categorical",
            ["chisquare", "jensenshannon", "psi", "hellinger"],
        ),
        (
            RNG.choice(list("ab"), 800),
            RNG.choice(list("ab"), 2_000, p=[0.6, 0.4]),
            "categorical",
            ["z", "chisquare", "jensenshannon"],
        ),
    ],
    ids=["few-values", "binary", "discrete-300", "categories-new-value", "binary-categories"],
)
def test_discrete_columns_give_evidentlys_exact_scores(ref, cur, kind, methods) -> None:
    r, c = _profiles(ref, cur, kind)
    for method in methods:
        ours = column_drift(r, c, method=method)
        theirs = _evidently(method, ref, cur, kind)
        assert ours.score == pytest.approx(float(theirs.drift_score), rel=1e-9, abs=1e-12), method
        assert ours.drifted == bool(theirs.drifted), method


@pytest.mark.parametrize(
    ("ref", "cur", "kind"),
    [
        (RNG.normal(size=900), RNG.normal(size=3_000), None),
        (RNG.normal(size=5_000), RNG.normal(size=3_000), None),
        (RNG.integers(0, 5, 900).astype(float), RNG.integers(0, 5, 300).astype(float), None),
        (RNG.integers(0, 3, 5_000).astype(float), RNG.integers(0, 3, 300).astype(float), None),
        (RNG.integers(0, 2, 500).astype(float), RNG.integers(0, 2, 300).astype(float), None),
        (RNG.choice(list("abc"), 500), RNG.choice(list("abc"), 300), None),
        (RNG.choice(list("ab"), 500), RNG.choice(list("ab"), 300), None),
        (RNG.choice(list("abc"), 5_000), RNG.choice(list("abc"), 300), None),
    ],
)
def test_automatic_selection_matches_evidently(ref, cur, kind) -> None:
    from evidently.legacy.calculations.stattests.registry import _get_default_stattest
    from evidently.legacy.core import ColumnType

    r, c = _profiles(ref, cur, kind)
    feature = ColumnType.Numerical if r.kind is ColumnKind.NUMERICAL else ColumnType.Categorical
    expected = _get_default_stattest(pd.Series(ref), pd.Series(cur), feature).name
    assert select_method(r, c).value == expected


def test_empty_and_all_null_windows_are_reported_not_scored() -> None:
    r, c = _profiles(RNG.normal(size=2_000), np.full(50, np.nan))
    drift = column_drift(r, c)
    assert not drift.computed and drift.reason == "every current value is null"
    assert math.isnan(drift.score) and not drift.drifted


def test_a_new_category_is_drift_and_named() -> None:
    r, c = _profiles(RNG.choice(["a", "b"], 500), np.array(["a", "b", "zz"] * 100))
    drift = column_drift(r, c)
    assert drift.method is DriftMethod.CHISQUARE and drift.drifted
    assert drift.details["new_categories"] == ["zz"]


def test_ks_on_a_categorical_column_is_refused_with_a_reason() -> None:
    r, c = _profiles(RNG.choice(["a", "b"], 500), RNG.choice(["a", "b"], 500))
    drift = column_drift(r, c, method="ks")
    assert drift.reason == "ks applies to numerical columns only"


def test_dataset_drift_share_follows_evidentlys_rule() -> None:
    n = 3_000
    ref = pd.DataFrame({f"x{i}": RNG.normal(size=n) for i in range(4)})
    cur = ref.copy()
    cur["x0"] += 1.0
    cur["x1"] += 1.0
    reference = build_profile(ref)
    [current] = profile_against(cur, reference)
    result = dataset_drift(reference, current, drift_share=0.5)
    assert result.drifted_columns == ["x0", "x1"]
    assert result.share == 0.5 and result.drifted
    assert not dataset_drift(reference, current, drift_share=0.6).drifted


def test_embedding_drift_equals_evidentlys_model_and_mmd_methods() -> None:
    from evidently.legacy.metrics.data_drift.embedding_drift_methods import (
        MMDDriftMethod,
        ModelDriftMethod,
    )

    from charter.stats.drift import embedding_drift

    ref = RNG.normal(size=(600, 6))
    cur = RNG.normal(0.25, 1.0, size=(500, 6))
    reference = build_profile(pd.DataFrame({"e": list(ref)}))
    [current] = profile_against(pd.DataFrame({"e": list(cur)}), reference)
    assert reference["e"].kind is ColumnKind.EMBEDDING
    # the profiles keep every vector here (<= 1,000), in their original order
    assert np.allclose(reference["e"].embedding.vectors, ref.astype(np.float32))
    ref_f, cur_f = ref.astype(np.float32).astype(float), cur.astype(np.float32).astype(float)
    for method, peer in (("model", ModelDriftMethod()), ("mmd", MMDDriftMethod())):
        ours = embedding_drift(reference["e"], current["e"], method=method)
        score, drifted, _ = peer(pd.DataFrame(cur_f), pd.DataFrame(ref_f))
        assert ours.score == pytest.approx(score, rel=1e-9), method
        assert ours.drifted == drifted
