"""Fairness of predictions alone: counts without true labels (unlabelled, production-like data).

Oracles: fairlearn's demographic parity and selection rate and AIF360's statistical parity
difference and disparate impact, which read only the predictions (they are handed labels that
carry no information here).
"""

from __future__ import annotations

import json
import warnings

import duckdb
import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import polars as pl
import pytest

from charter.errors import DataError
from charter.stats import fairness as cf
from charter.stats.counts import ConfusionCounts, confusion_counts
from charter.stats.fairness import GroupMetrics
from charter.stats.performance import evaluate

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from aif360.sklearn import metrics as aif


@pytest.fixture(scope="module")
def unlabelled() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    n = 4_000
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    region = rng.choice(["n", "s", "e"], n)
    pred = (rng.random(n) < np.where(sex == "M", 0.55, 0.4)).astype(int)
    return pd.DataFrame({"sex": sex, "region": region, "pred": pred, "w": rng.random(n) + 0.5})


def test_counts_without_labels_give_fairlearns_and_aif360s_values(
    unlabelled: pd.DataFrame,
) -> None:
    p, sex, w = unlabelled["pred"], unlabelled["sex"], unlabelled["w"].to_numpy()
    noise = np.random.default_rng(0).integers(0, 2, len(p))  # oracles ignore it
    dpd = cf.demographic_parity_difference(None, p, sensitive_features=sex, sample_weight=w)
    assert dpd.value == pytest.approx(
        flm.demographic_parity_difference(noise, p, sensitive_features=sex, sample_weight=w),
        abs=1e-12,
    )
    dpr = cf.demographic_parity_ratio(
        None, "pred", sensitive_features=["sex", "region"], data=unlabelled
    )
    assert dpr.value == pytest.approx(
        flm.demographic_parity_ratio(noise, p, sensitive_features=unlabelled[["sex", "region"]]),
        abs=1e-12,
    )
    for name, oracle in (
        ("statistical_parity_difference", aif.statistical_parity_difference),
        ("disparate_impact", aif.disparate_impact_ratio),
    ):
        ours = getattr(cf, name)(None, p, sensitive_features=sex, privileged={"sex": "M"})
        theirs = oracle(pd.Series(noise), p.to_numpy(), prot_attr=sex.to_numpy(), priv_group="M")
        assert ours.value == pytest.approx(float(theirs), abs=1e-12), name
    four = cf.four_fifths_rule(None, p, sensitive_features=sex)
    rates = flm.MetricFrame(
        metrics=flm.selection_rate, y_true=noise, y_pred=p, sensitive_features=sex
    ).by_group
    assert four.value == pytest.approx(rates.min() / rates.max(), abs=1e-12)


def test_group_table_without_labels_shows_only_the_selection_rate(
    unlabelled: pd.DataFrame,
) -> None:
    gm = GroupMetrics(
        confusion_counts(None, "pred", sensitive_features="sex", data=unlabelled), bootstrap=100
    )
    details = gm.demographic_parity_difference().to_details()
    json.dumps(details, allow_nan=False)
    assert set(details["overall"]) == {"selection_rate"}
    for row in details["groups"]:
        assert "accuracy" not in row and "true_positive_rate" not in row
        assert row["selection_rate_ci"][0] < row["selection_rate"] < row["selection_rate_ci"][1]
    assert [r.values.keys() for r in gm.table()] == [{"selection_rate": 0}.keys()] * 2


@pytest.mark.parametrize(
    "call",
    [
        lambda gm: gm.equalized_odds_difference(),
        lambda gm: gm.equal_opportunity_difference(privileged={"sex": "M"}),
        lambda gm: gm.average_odds_difference({"sex": "M"}),
        lambda gm: gm.ratio("precision"),
        lambda gm: gm.rate("accuracy"),
    ],
    ids=["equalized_odds", "aif360_eod", "average_odds", "precision_ratio", "accuracy"],
)
def test_metrics_that_need_labels_refuse_counts_without_them(
    unlabelled: pd.DataFrame, call: object
) -> None:
    counts = confusion_counts(None, "pred", sensitive_features="sex", data=unlabelled)
    with pytest.raises(DataError) as info:
        call(GroupMetrics(counts))  # type: ignore[operator]
    assert "needs true labels" in info.value.message
    assert "demographic_parity_difference" in (info.value.hint or "")


def test_performance_metrics_refuse_counts_without_labels(unlabelled: pd.DataFrame) -> None:
    counts = confusion_counts(None, "pred", data=unlabelled)
    with pytest.raises(DataError, match="needs true labels"):
        evaluate("accuracy", counts)


def test_label_free_counts_from_lazy_engines_equal_the_eager_ones(
    unlabelled: pd.DataFrame,
) -> None:
    eager = confusion_counts(
        None, "pred", sensitive_features=["sex", "region"], data=unlabelled, sample_weight="w"
    )
    frame = pl.from_pandas(unlabelled)
    con = duckdb.connect()
    for lazy in (frame.lazy(), con.from_arrow(frame.to_arrow())):
        other = confusion_counts(
            None, "pred", sensitive_features=["sex", "region"], data=lazy, sample_weight="w"
        )
        assert not other.labelled and other.keys == eager.keys
        np.testing.assert_array_equal(other.rows, eager.rows)
        np.testing.assert_allclose(other.weighted, eager.weighted, rtol=1e-12)


def test_labelled_flag_survives_json_and_merging_with_labelled_counts_drops_it(
    unlabelled: pd.DataFrame,
) -> None:
    bare = confusion_counts(None, "pred", sensitive_features="sex", data=unlabelled)
    labelled = confusion_counts("pred", "pred", sensitive_features="sex", data=unlabelled)
    assert not ConfusionCounts.from_dict(json.loads(json.dumps(bare.to_dict()))).labelled
    assert ConfusionCounts.from_dict(labelled.to_dict()).labelled
    merged = labelled + bare
    assert not merged.labelled and not merged.overall().labelled
    assert (labelled + labelled).labelled
    # selection rates of the merge are still right
    rates = GroupMetrics(merged).rate("selection_rate")
    np.testing.assert_allclose(rates, GroupMetrics(bare).rate("selection_rate"))
