import json

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from evidently.core.datasets import infer_column_type

from charter.errors import DataError
from charter.monitor.profile import build_profile
from charter.stats.histogram import CategoryCounts, Grid, numeric_histogram
from charter.stats.profile import (
    ColumnKind,
    DataProfile,
    RowGroups,
    profile_against,
    profile_against_lazy,
)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10, 1, n),
            "age": rng.integers(18, 90, n),
            "children": rng.integers(0, 4, n),
            "city": rng.choice(["paris", "lyon", "nice", None], n),
            "owner": rng.random(n) < 0.3,
            "score": rng.random(n),
            "request_id": [f"r{i}" for i in range(n)],
        }
    )
    frame.loc[::50, "income"] = np.nan
    frame.loc[7, "score"] = np.inf
    return frame


def test_kinds_follow_evidently_column_type_inference(reference: pd.DataFrame) -> None:
    profile = build_profile(reference)
    names = {"num": "numerical", "cat": "categorical", "text": "text"}
    expected = {c: names[infer_column_type(reference[c]).value] for c in reference.columns}
    assert profile.schema == expected


def test_histogram_counts_sums_and_moments_match_numpy(reference: pd.DataFrame) -> None:
    profile = build_profile(reference, bins=50)
    hist = profile["income"].numeric
    assert hist is not None and not hist.grid.atomic
    finite = reference["income"].dropna().to_numpy()
    assert hist.count == finite.size and hist.nulls == reference["income"].isna().sum()
    assert hist.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert hist.std == pytest.approx(finite.std(), rel=1e-10)
    assert (hist.minimum, hist.maximum) == (finite.min(), finite.max())
    edges = hist.grid.edges
    # every reference value is counted in the cell numpy's digitize puts it in
    cells = 2 * np.searchsorted(edges, finite, side="left") + np.isin(finite, edges)
    assert (np.bincount(cells, minlength=hist.grid.cells) == hist.counts).all()
    assert np.bincount(cells, weights=finite, minlength=hist.grid.cells) == pytest.approx(
        hist.sums, rel=1e-9
    )
    assert profile["score"].nulls == 1  # infinity counts as missing, as in Evidently


def test_small_reference_keeps_every_raw_value() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=800)
    profile = build_profile(pd.DataFrame({"x": values}))
    hist = profile["x"].numeric
    assert hist is not None and hist.grid.atomic
    restored = np.repeat(hist.grid.edges, hist.point_counts())
    assert (restored == np.sort(values)).all()


def test_profile_round_trips_through_json_and_merges_by_addition(reference: pd.DataFrame) -> None:
    profile = build_profile(reference)
    again = DataProfile.from_dict(json.loads(profile.to_json()))
    assert again.schema == profile.schema
    assert (again["income"].numeric.counts == profile["income"].numeric.counts).all()
    assert again["city"].categories.as_dict() == profile["city"].categories.as_dict()
    halves = profile_against(reference, profile, groups=RowGroups(np.arange(len(reference)) % 2, 2))
    merged = halves[0].merge(halves[1])
    assert (merged["income"].numeric.counts == profile["income"].numeric.counts).all()
    assert merged["income"].numeric.m2 == pytest.approx(profile["income"].numeric.m2, rel=1e-9)
    assert merged["city"].categories.as_dict() == profile["city"].categories.as_dict()
    assert merged["city"].nulls == profile["city"].nulls


def test_polars_and_duckdb_give_the_pandas_numbers(reference: pd.DataFrame) -> None:
    frame = reference.drop(columns=["request_id"])
    profile = build_profile(frame)
    [eager] = profile_against(pl.from_pandas(frame), profile)
    relation = duckdb.connect().from_df(frame)
    lazy = profile_against_lazy(relation, profile)[None]
    for name in ("income", "age", "score"):
        for other in (eager, lazy):
            assert (other[name].numeric.counts == profile[name].numeric.counts).all()
            assert other[name].numeric.sums == pytest.approx(profile[name].numeric.sums)
            assert other[name].nulls == profile[name].nulls
    for name in ("city", "owner", "children"):
        for other in (eager, lazy):
            assert other[name].categories.as_dict() == profile[name].categories.as_dict()
            assert other[name].nulls == profile[name].nulls


def test_lazy_reference_profile_agrees_with_eager(reference: pd.DataFrame) -> None:
    frame = reference.drop(columns=["request_id"])
    eager = build_profile(frame)
    lazy = build_profile(duckdb.connect().from_df(frame))
    assert lazy.schema == eager.schema
    assert lazy["income"].numeric.mean == pytest.approx(eager["income"].numeric.mean)
    assert lazy["income"].numeric.count == eager["income"].numeric.count
    assert (lazy["age"].numeric.grid.edges == eager["age"].numeric.grid.edges).all()
    assert (lazy["age"].numeric.counts == eager["age"].numeric.counts).all()


def test_new_values_of_a_discrete_column_are_remembered() -> None:
    grid = Grid(np.array([1.0, 2.0, 3.0]), atomic=True)
    hist = numeric_histogram(np.array([1.0, 2.0, 2.5, 7.0, np.nan]), grid)
    assert hist.new_values == (2.5, 7.0) and hist.nulls == 1
    assert hist.point_counts().tolist() == [1, 1, 0]


def test_category_counts_merge_aligns_values() -> None:
    a = CategoryCounts.from_pairs([("x", 2), ("y", 1), (None, 4)])
    b = CategoryCounts.from_pairs([("y", 5), ("z", 1)])
    merged = a + b
    assert merged.as_dict() == {"x": 2, "y": 6, "z": 1} and merged.nulls == 4


def test_kind_override_and_unknown_profile_format() -> None:
    profile = build_profile(pd.DataFrame({"code": [1, 2, 3] * 10}), kinds={"code": "numerical"})
    assert profile["code"].kind is ColumnKind.NUMERICAL
    with pytest.raises(DataError, match="not a Charter data profile"):
        DataProfile.from_dict({"columns": {}})
