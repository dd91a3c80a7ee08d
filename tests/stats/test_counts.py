import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from fairlearn.metrics import MetricFrame, count, false_positive_rate, true_positive_rate

from charter.errors import DataError
from charter.stats.counts import ConfusionCounts, confusion_counts


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 2_000
    return pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice(["<25", "25-60", ">60", None], n),
            "w": rng.random(n) * 3,
        }
    )


def _tpr_fpr(c: ConfusionCounts) -> tuple[np.ndarray, np.ndarray]:
    w = c.weighted
    return w[:, 1, 1] / w[:, 1, :].sum(axis=1), w[:, 0, 1] / w[:, 0, :].sum(axis=1)


def test_counts_match_fairlearn_per_intersectional_group(frame: pd.DataFrame) -> None:
    framed = frame.fillna({"age": "missing"})
    counts = confusion_counts("y", "p", sensitive_features=["sex", "age"], data=framed)
    mf = MetricFrame(
        metrics={"tpr": true_positive_rate, "fpr": false_positive_rate, "n": count},
        y_true=framed["y"],
        y_pred=framed["p"],
        sensitive_features=framed[["sex", "age"]],
    )
    tpr, fpr = _tpr_fpr(counts)
    for i, key in enumerate(counts.keys):
        expected = mf.by_group.loc[key]
        assert counts.group_rows[i] == expected["n"]
        assert tpr[i] == pytest.approx(expected["tpr"])
        assert fpr[i] == pytest.approx(expected["fpr"])


def test_weighted_counts_match_fairlearn_weights(frame: pd.DataFrame) -> None:
    counts = confusion_counts("y", "p", sensitive_features="sex", data=frame, sample_weight="w")
    mf = MetricFrame(
        metrics=true_positive_rate,
        y_true=frame["y"],
        y_pred=frame["p"],
        sensitive_features=frame["sex"],
        sample_params={"sample_weight": frame["w"].to_numpy()},
    )
    tpr, _ = _tpr_fpr(counts)
    assert tpr == pytest.approx(mf.by_group.loc[["F", "M"]].to_numpy())


@pytest.mark.parametrize("backend", ["polars", "pyarrow", "duckdb", "polars_lazy", "numpy"])
def test_every_backend_gives_the_same_counts(frame: pd.DataFrame, backend: str) -> None:
    expected = confusion_counts(
        "y", "p", sensitive_features=["sex", "age"], data=frame, sample_weight="w"
    )
    if backend == "numpy":
        got = confusion_counts(
            frame["y"].to_numpy(),
            frame["p"].to_numpy(),
            sensitive_features={"sex": frame["sex"].to_numpy(), "age": frame["age"].to_numpy()},
            sample_weight=frame["w"].to_numpy(),
        )
    else:
        native = {
            "polars": lambda: pl.from_pandas(frame),
            "pyarrow": lambda: pa.Table.from_pandas(frame),
            "duckdb": lambda: duckdb.from_arrow(pa.Table.from_pandas(frame)),
            "polars_lazy": lambda: pl.from_pandas(frame).lazy(),
        }[backend]()
        got = confusion_counts(
            "y", "p", sensitive_features=["sex", "age"], data=native, sample_weight="w"
        )
    assert got.keys == expected.keys
    assert (got.rows == expected.rows).all()
    np.testing.assert_allclose(got.weighted, expected.weighted)
    assert ("F", None) in got.keys  # null is a group of its own, never dropped


def test_counts_merge_by_addition_to_the_whole(frame: pd.DataFrame) -> None:
    whole = confusion_counts("y", "p", sensitive_features="age", data=frame)
    first = confusion_counts("y", "p", sensitive_features="age", data=frame.iloc[:700])
    rest = confusion_counts("y", "p", sensitive_features="age", data=frame.iloc[700:])
    merged = first + rest
    assert merged.keys == whole.keys
    assert (merged.rows == whole.rows).all()
    assert merged.overall().rows.sum() == len(frame)


def test_nan_labels_are_refused_with_a_count(frame: pd.DataFrame) -> None:
    broken = frame.astype({"y": float})
    broken.loc[[3, 9], "y"] = np.nan
    with pytest.raises(DataError, match="2 missing"):
        confusion_counts("y", "p", sensitive_features="sex", data=broken)


def test_non_binary_labels_are_refused(frame: pd.DataFrame) -> None:
    broken = frame.copy()
    broken.loc[0, "y"] = 2
    with pytest.raises(DataError, match="3 distinct values"):
        confusion_counts("y", "p", data=broken)


def test_string_labels_need_their_positive_label() -> None:
    y = np.array(["good", "bad", "good"])
    with pytest.raises(DataError, match="positive_label"):
        confusion_counts(y, y)
    counts = confusion_counts(y, y, pos_label="good")
    assert counts.rows[0, 1, 1] == 2 and counts.rows[0, 0, 0] == 1


def test_missing_column_suggests_the_closest(frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="did you mean 'sex'"):
        confusion_counts("y", "p", sensitive_features="sx", data=frame)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(DataError, match="lengths differ"):
        confusion_counts(np.array([0, 1, 1]), np.array([0, 1]))
