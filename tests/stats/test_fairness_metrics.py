"""Charter's fairness metrics against fairlearn and AIF360 on the same random data.

Where an oracle returns 0 for an undefined rate (a group with no positives, no negatives, no
predicted positives), Charter must return NaN with a reason; everywhere else it must agree.
"""

from __future__ import annotations

import math
import warnings

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score

from charter.errors import CheckError, DataError
from charter.stats import fairness as cf
from charter.stats.counts import confusion_counts
from charter.stats.fairness import GroupMetrics
from tests.stats.strategies import Sample, samples

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from aif360.sklearn import metrics as aif

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FAIRLEARN_RATES = {
    "selection_rate": flm.selection_rate,
    "accuracy": accuracy_score,
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
    "true_negative_rate": flm.true_negative_rate,
    "false_negative_rate": flm.false_negative_rate,
    "precision": lambda y, p, sample_weight=None: precision_score(
        y, p, sample_weight=sample_weight, zero_division=0
    ),
}

#: fairlearn metric -> the rates whose undefinedness makes it undefined.
FAIRLEARN_METRICS = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "equalized_odds_ratio": ("true_positive_rate", "false_positive_rate"),
    "equal_opportunity_difference": ("true_positive_rate",),
    "equal_opportunity_ratio": ("true_positive_rate",),
}


def _quiet(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _frame(s: Sample) -> flm.MetricFrame:
    sample_params = (
        {k: {"sample_weight": s.w} for k in FAIRLEARN_RATES} if s.w is not None else None
    )
    return _quiet(
        flm.MetricFrame,
        metrics=FAIRLEARN_RATES,
        y_true=s.y,
        y_pred=s.p,
        sensitive_features=s.groups,
        sample_params=sample_params,
    )


@PROPERTY
@given(samples())
@example(
    Sample(
        np.array([0, 0, 1]),
        np.array([0, 1, 1]),
        np.array(["a", "a", "b"]),
        None,
        np.array(["u"] * 3),
    )
)
def test_group_rates_match_fairlearn_and_are_nan_with_reason_where_it_says_zero(s: Sample) -> None:
    gm = GroupMetrics(confusion_counts(s.y, s.p, sensitive_features=s.groups, sample_weight=s.w))
    by_group = _frame(s).by_group
    table = {row.label: row for row in gm.table()}
    for g, key in enumerate(gm.keys):
        label = f"sensitive={key[0]}"
        for name in FAIRLEARN_RATES:
            ours = gm.rate(name)[g]
            theirs = float(by_group.loc[key[0], name])
            if math.isnan(ours):
                assert theirs == 0.0, (name, key)
                assert name in table[label].reasons and table[label].reasons[name]
            else:
                assert ours == pytest.approx(theirs, abs=1e-12), (name, key)
                assert name not in table[label].reasons
        assert table[label].count == int((s.groups == key[0]).sum())


def _undefined(gm: GroupMetrics, rates: tuple[str, ...], method: str) -> bool:
    for name in rates:
        if np.isnan(gm.rate(name)).any():
            return True
        if method == "to_overall" and math.isnan(gm.overall_rate(name)):
            return True
    return False


def _component_nan(s: Sample, name: str, method: str) -> bool:
    if name != "equalized_odds_ratio":
        return False
    frame = _quiet(
        flm.MetricFrame,
        metrics={"tpr": flm.true_positive_rate, "fpr": flm.false_positive_rate},
        y_true=s.y,
        y_pred=s.p,
        sensitive_features=s.groups,
        sample_params=None
        if s.w is None
        else {"tpr": {"sample_weight": s.w}, "fpr": {"sample_weight": s.w}},
    )
    return bool(frame.ratio(method=method).isna().any())


@settings(PROPERTY, max_examples=20)
@given(
    samples(),
    st.sampled_from(["between_groups", "to_overall"]),
    st.sampled_from(["worst_case", "mean"]),
)
def test_named_metrics_match_fairlearn_or_are_nan_with_reason(
    s: Sample, method: str, agg: str
) -> None:
    for name, rates in FAIRLEARN_METRICS.items():
        extra = {"agg": agg} if "odds" in name else {}
        ours = getattr(cf, name)(
            s.y, s.p, sensitive_features=s.groups, sample_weight=s.w, method=method, **extra
        )
        theirs = float(
            _quiet(
                getattr(flm, name),
                s.y,
                s.p,
                sensitive_features=s.groups,
                sample_weight=s.w,
                method=method,
                **extra,
            )
        )
        gm = GroupMetrics(
            confusion_counts(s.y, s.p, sensitive_features=s.groups, sample_weight=s.w)
        )
        if _undefined(gm, rates, method):
            assert math.isnan(ours.value), name
            assert ours.reason and "undefined" in ours.reason, name
        elif math.isnan(theirs) or _component_nan(s, name, method):
            # A ratio whose largest (or overall) rate is 0 is 0/0: fairlearn says NaN, except
            # that equalized_odds_ratio's Python min() drops a NaN FPR part after a TPR part.
            assert math.isnan(ours.value) and ours.reason, name
            assert "0/0" in ours.reason
        else:
            assert ours.value == pytest.approx(theirs, abs=1e-12), name
            assert ours.reason is None


@PROPERTY
@given(samples(max_groups=3))
def test_skip_mode_equals_fairlearn_on_the_groups_with_defined_rates(s: Sample) -> None:
    counts = confusion_counts(s.y, s.p, sensitive_features=s.groups, sample_weight=s.w)
    gm = GroupMetrics(counts, undefined="skip")
    result = gm.equal_opportunity_difference()
    tpr = gm.rate("true_positive_rate")
    keep_groups = [k[0] for k, v in zip(gm.keys, tpr, strict=True) if not math.isnan(v)]
    if not keep_groups:
        assert math.isnan(result.value) and result.reason
        return
    rows = np.isin(s.groups, keep_groups)
    theirs = _quiet(
        flm.equal_opportunity_difference,
        s.y[rows],
        s.p[rows],
        sensitive_features=pd.Series(s.groups[rows]),
        sample_weight=None if s.w is None else s.w[rows],
    )
    assert result.value == pytest.approx(theirs, abs=1e-12)
    skipped = sorted(
        f"sensitive={k[0]}" for k, v in zip(gm.keys, tpr, strict=True) if math.isnan(v)
    )
    assert result.details.get("skipped_groups", []) == skipped


# -- AIF360 --------------------------------------------------------------------------------
AIF360 = {
    "statistical_parity_difference": (aif.statistical_parity_difference, ("selection_rate",)),
    "disparate_impact": (aif.disparate_impact_ratio, ("selection_rate",)),
    "equal_opportunity_difference": (aif.equal_opportunity_difference, ("true_positive_rate",)),
    "average_odds_difference": (
        aif.average_odds_difference,
        ("true_positive_rate", "false_positive_rate"),
    ),
}


def _pooled_undefined(s: Sample, privileged: np.ndarray, rates: tuple[str, ...]) -> bool:
    for mask in (privileged, ~privileged):
        counts = confusion_counts(
            s.y[mask], s.p[mask], sample_weight=None if s.w is None else s.w[mask]
        )
        gm = GroupMetrics(counts)
        for name in rates:
            if math.isnan(gm.overall_rate(name)):
                return True
    return False


@PROPERTY
@given(samples(min_rows=2), st.integers(0, 2))
def test_aif360_metrics_match_signed_against_the_privileged_group(s: Sample, pick: int) -> None:
    present = sorted(set(s.groups.tolist()))
    priv_value = present[pick % len(present)]
    privileged = s.groups == priv_value
    for name, (oracle, rates) in AIF360.items():
        kwargs = {"privileged": {"sensitive": priv_value}}
        if name == "equal_opportunity_difference":
            ours = cf.equal_opportunity_difference(
                s.y, s.p, sensitive_features=s.groups, sample_weight=s.w, **kwargs
            )
        else:
            ours = getattr(cf, name)(
                s.y, s.p, sensitive_features=s.groups, sample_weight=s.w, **kwargs
            )
        if privileged.all():
            assert math.isnan(ours.value) and "every row belongs" in (ours.reason or "")
            continue
        theirs = float(
            _quiet(
                oracle,
                pd.Series(s.y),
                s.p,
                prot_attr=s.groups,
                priv_group=priv_value,
                sample_weight=s.w,
            )
        )
        if _pooled_undefined(s, privileged, rates):
            assert math.isnan(ours.value), name
            assert "privileged rows is undefined" in (ours.reason or ""), name
            assert not math.isnan(theirs), name  # AIF360 silently puts 0 for the missing rate
        elif name == "disparate_impact" and math.isnan(ours.value):
            assert theirs == 0.0  # zero_division='warn' acts as 0
            assert "privileged selection rate is 0" in (ours.reason or "")
        else:
            assert ours.value == pytest.approx(theirs, abs=1e-12), name
        groups = ours.groups
        assert [g.privileged for g in groups] == [g.key["sensitive"] == priv_value for g in groups]


@settings(max_examples=25, deadline=None)
@given(samples(min_rows=4, max_rows=60))
def test_intersectional_privileged_group_matches_aif360_multiindex(s: Sample) -> None:
    priv = (str(s.groups[0]), str(s.second[0]))
    ours = cf.statistical_parity_difference(
        s.y,
        s.p,
        sensitive_features={"g": s.groups, "h": s.second},
        privileged={"g": priv[0], "h": priv[1]},
        sample_weight=s.w,
    )
    mask = (s.groups == priv[0]) & (s.second == priv[1])
    if mask.all():
        assert math.isnan(ours.value)
        return
    index = pd.MultiIndex.from_arrays([s.groups, s.second], names=["g", "h"])
    theirs = _quiet(
        aif.statistical_parity_difference,
        pd.Series(s.y, index=index),
        s.p,
        prot_attr=["g", "h"],
        priv_group=priv,
        sample_weight=s.w,
    )
    assert ours.value == pytest.approx(theirs, abs=1e-12)


def test_privileged_value_given_as_text_matches_integer_groups() -> None:
    groups = np.array([0, 0, 1, 1, 1, 0])
    y = np.array([1, 0, 1, 1, 0, 1])
    result = cf.statistical_parity_difference(
        y, y, sensitive_features={"sex": groups}, privileged={"sex": "1"}
    )
    assert result.value == pytest.approx(2 / 3 - 2 / 3)
    assert result.details["privileged_groups"] == ["sex=1"]


def test_privileged_value_absent_is_nan_naming_the_values_present() -> None:
    result = cf.disparate_impact(
        [1, 0, 1], [1, 0, 1], sensitive_features={"sex": ["F", "M", "F"]}, privileged={"sex": "X"}
    )
    assert math.isnan(result.value)
    assert "sex=X" in (result.reason or "") and "['F', 'M']" in (result.reason or "")


def test_privileged_naming_no_sensitive_column_is_an_error_with_a_hint() -> None:
    with pytest.raises(DataError, match="names none of the sensitive columns"):
        cf.disparate_impact(
            [1, 0], [1, 0], sensitive_features={"sex": ["F", "M"]}, privileged={"race": "w"}
        )


# -- four-fifths rule ----------------------------------------------------------------------
@PROPERTY
@given(samples(max_groups=4))
def test_four_fifths_impact_ratios_are_selection_rates_over_the_highest(s: Sample) -> None:
    result = cf.four_fifths_rule(s.y, s.p, sensitive_features=s.groups, sample_weight=s.w)
    frame = _frame(s).by_group["selection_rate"]
    best = frame.max()
    if best == 0:
        assert math.isnan(result.value) and "0/0" in (result.reason or "")
        return
    expected = frame / best
    for row in result.groups:
        assert row.values["impact_ratio"] == pytest.approx(
            expected[row.key["sensitive"]], abs=1e-12
        )
    assert result.value == pytest.approx(expected.min(), abs=1e-12)
    theirs = _quiet(
        flm.demographic_parity_ratio, s.y, s.p, sensitive_features=s.groups, sample_weight=s.w
    )
    assert result.value == pytest.approx(theirs, abs=1e-12)
    failing = sorted(f"sensitive={g}" for g, v in expected.items() if v < 0.8)
    assert sorted(result.details["failing_groups"]) == failing
    assert result.details["most_favoured"] == [
        f"sensitive={g}" for g, v in frame.items() if v == best
    ]


# -- small groups, edge cases --------------------------------------------------------------
@pytest.fixture
def uneven() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    sizes = {"big": 400, "mid": 200, "tiny": 7}
    groups = np.concatenate([[g] * n for g, n in sizes.items()])
    y = rng.integers(0, 2, groups.size)
    p = np.where(rng.random(groups.size) < 0.8, y, 1 - y)
    return pd.DataFrame({"g": groups, "y": y, "p": p})


def test_exclude_leaves_small_groups_out_but_keeps_every_row_in_the_overall(
    uneven: pd.DataFrame,
) -> None:
    counts = confusion_counts("y", "p", sensitive_features="g", data=uneven)
    result = GroupMetrics(
        counts, min_group_size=30, small_groups="exclude"
    ).demographic_parity_difference("to_overall")
    kept = uneven[uneven.g != "tiny"]
    overall = uneven.p.mean()
    expected = max(abs(kept[kept.g == g].p.mean() - overall) for g in ("big", "mid"))
    assert result.value == pytest.approx(expected)
    assert result.excluded_groups == ["g=tiny"] and result.small_groups == ["g=tiny"]
    between = GroupMetrics(
        counts, min_group_size=30, small_groups="exclude"
    ).demographic_parity_difference()
    assert between.value == pytest.approx(
        flm.demographic_parity_difference(kept.y, kept.p, sensitive_features=kept.g)
    )


def test_report_keeps_small_groups_in_the_metric_and_flags_them(uneven: pd.DataFrame) -> None:
    counts = confusion_counts("y", "p", sensitive_features="g", data=uneven)
    result = GroupMetrics(counts, min_group_size=30).demographic_parity_difference()
    assert result.value == pytest.approx(
        flm.demographic_parity_difference(uneven.y, uneven.p, sensitive_features=uneven.g)
    )
    assert result.small_groups == ["g=tiny"] and result.excluded_groups == []
    assert "small_group_failure" not in result.details


def test_fail_policy_marks_the_result(uneven: pd.DataFrame) -> None:
    counts = confusion_counts("y", "p", sensitive_features="g", data=uneven)
    result = GroupMetrics(counts, min_group_size=30, small_groups="fail").demographic_parity_ratio()
    assert result.details["small_group_failure"] is True
    assert result.details["small_groups"] == ["g=tiny"]


def test_every_group_excluded_is_nan_with_the_reason(uneven: pd.DataFrame) -> None:
    counts = confusion_counts("y", "p", sensitive_features="g", data=uneven)
    result = GroupMetrics(
        counts, min_group_size=10_000, small_groups="exclude"
    ).equalized_odds_difference()
    assert math.isnan(result.value)
    assert "fewer than 10000 rows" in (result.reason or "")


def test_group_without_positives_makes_equal_opportunity_nan_where_fairlearn_says_0() -> None:
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    p = np.array([1, 0, 0, 1, 0, 1, 0, 0])
    g = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    ours = cf.equal_opportunity_difference(y, p, sensitive_features=g)
    assert flm.equal_opportunity_difference(y, p, sensitive_features=g) == pytest.approx(2 / 3)
    assert math.isnan(ours.value)
    assert ours.reason == (
        "true_positive_rate is undefined for 1 group(s) (sensitive=b: no positive labels"
        " (y_true = pos_label))"
    )
    detail = ours.to_details()
    b = next(row for row in detail["groups"] if row["group"] == "sensitive=b")
    assert (
        b["true_positive_rate"] is None
        and "no positive labels" in b["undefined"]["true_positive_rate"]
    )


def test_single_group_has_zero_difference_and_unit_ratio() -> None:
    y, p = np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])
    g = np.array(["only"] * 4)
    assert cf.equalized_odds_difference(y, p, sensitive_features=g).value == 0.0
    assert cf.demographic_parity_ratio(y, p, sensitive_features=g).value == 1.0


def test_constant_predictions_give_zero_parity_gap_and_undefined_ratio() -> None:
    y, g = np.array([1, 0, 1, 0, 1, 1]), np.array(list("aabbcc"))
    p = np.zeros(6, dtype=int)
    assert cf.demographic_parity_difference(y, p, sensitive_features=g).value == 0.0
    ratio = cf.demographic_parity_ratio(y, p, sensitive_features=g)
    assert math.isnan(ratio.value) and "0/0" in (ratio.reason or "")


def test_generic_aggregates_accept_aliases_and_reject_unknown_rates() -> None:
    counts = confusion_counts([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=list("aabb"))
    gm = GroupMetrics(counts)
    assert gm.difference("fpr").metric == "false_positive_rate_difference"
    with pytest.raises(CheckError, match="did you mean 'selection_rate'"):
        gm.ratio("selection_rat")
    with pytest.raises(CheckError, match="method"):
        gm.difference("tpr", method="pairwise")  # type: ignore[arg-type]


def test_details_are_json_without_nan() -> None:
    import json

    result = cf.equalized_odds_ratio(
        [1, 1, 0, 0], [1, 0, 0, 0], sensitive_features=list("aabb"), bootstrap=50
    )
    text = json.dumps(result.to_details(), allow_nan=False)
    assert '"groups"' in text and '"ci"' in text
