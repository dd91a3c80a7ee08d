"""Every engine gives the numbers of the in-memory pandas path."""

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from charter.monitor.run import monitor
from charter.monitor.summary import LabelSpec, summarize_log

SPEC = LabelSpec(target="default", score="score", sensitive=("sex",))


def _same(a, b) -> None:
    assert list(a.windows) == list(b.windows)
    for start, left in a.windows.items():
        right = b.windows[start]
        assert left.rows == right.rows
        for name in ("income", "age", "score"):
            l_hist, r_hist = left.profile[name].numeric, right.profile[name].numeric
            assert (l_hist.counts == r_hist.counts).all(), (start, name)
            assert l_hist.sums == pytest.approx(r_hist.sums, rel=1e-12)
            assert l_hist.m2 == pytest.approx(r_hist.m2, rel=1e-9)
            assert (l_hist.minimum, l_hist.maximum) == (r_hist.minimum, r_hist.maximum)
        for name in ("region", "sex"):
            assert (
                left.profile[name].categories.as_dict() == right.profile[name].categories.as_dict()
            )
        assert (left.counts.rows == right.counts.rows).all()
        assert left.counts.keys == right.counts.keys
        # label-free counts over every row with a score, labelled or not
        assert not left.selection.labelled and not right.selection.labelled
        assert left.selection.keys == right.selection.keys
        assert (left.selection.rows == right.selection.rows).all()
        assert int(left.selection.rows.sum()) == left.rows
        assert left.scores.roc_auc() == pytest.approx(right.scores.roc_auc(), rel=1e-12)


@pytest.fixture(scope="module")
def in_memory(log, reference):
    return summarize_log(log, reference, window="1d", timestamp="ts", labels=SPEC)


@pytest.fixture(scope="module")
def parquet_log(log, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("log")
    for day, part in log.groupby(log.ts.dt.day):
        part.to_parquet(folder / f"day={day:02d}.parquet")
    return folder


def test_polars_and_arrow_frames(log, reference, in_memory) -> None:
    _same(
        in_memory,
        summarize_log(pl.from_pandas(log), reference, window="1d", timestamp="ts", labels=SPEC),
    )
    table = pa.Table.from_pandas(log, preserve_index=False)
    _same(in_memory, summarize_log(table, reference, window="1d", timestamp="ts", labels=SPEC))


def test_polars_lazy_and_duckdb_bin_inside_the_engine(log, reference, in_memory) -> None:
    lazy = pl.from_pandas(log).lazy()
    _same(in_memory, summarize_log(lazy, reference, window="1d", timestamp="ts", labels=SPEC))
    relation = duckdb.connect().from_df(log)
    _same(in_memory, summarize_log(relation, reference, window="1d", timestamp="ts", labels=SPEC))


def test_parquet_files_in_small_batches_and_through_duckdb(
    parquet_log, reference, in_memory
) -> None:
    batches = summarize_log(
        parquet_log, reference, window="1d", timestamp="ts", labels=SPEC, batch_rows=777
    )
    _same(in_memory, batches)
    _same(
        in_memory,
        summarize_log(
            parquet_log, reference, window="1d", timestamp="ts", labels=SPEC, engine="duckdb"
        ),
    )


def test_monitoring_a_directory_of_parquet_files(parquet_log, log, policy, reference) -> None:
    from_files = monitor("credit-risk", str(parquet_log), policy=policy, reference=reference)
    from_frame = monitor("credit-risk", log, policy=policy, reference=reference)
    assert [f.verdict for f in from_files.findings if f.check != "log_quality"] == [
        f.verdict for f in from_frame.findings if f.check != "log_quality"
    ]
    assert from_files.evidence.inputs["log"].format == "file-listing"


@pytest.mark.spark
@pytest.mark.slow
def test_spark_dataframe_gives_the_in_memory_numbers(spark, log, reference, policy) -> None:
    small = log[log.ts.dt.day.isin([3, 4])].reset_index(drop=True)
    a = monitor("credit-risk", small, policy=policy, reference=reference)
    b = monitor("credit-risk", spark.createDataFrame(small), policy=policy, reference=reference)
    _same(a.run.summary, b.run.summary)
    left = [f for f in a.findings if f.check != "log_quality"]
    right = [f for f in b.findings if f.check != "log_quality"]
    assert [(f.rule_id, f.verdict) for f in left] == [(f.rule_id, f.verdict) for f in right]
    for x, y in zip(left, right, strict=True):
        assert x.value == pytest.approx(y.value, rel=1e-9)


def test_since_and_until_on_parquet_skip_row_groups_and_agree(parquet_log, log, reference) -> None:
    from datetime import UTC, datetime

    since, until = datetime(2024, 3, 2, 12, tzinfo=UTC), datetime(2024, 3, 4, tzinfo=UTC)
    files = summarize_log(
        parquet_log,
        reference,
        window="1d",
        timestamp="ts",
        since=since,
        until=until,
        batch_rows=500,
    )
    frame = summarize_log(log, reference, window="1d", timestamp="ts", since=since, until=until)
    assert (
        files.rows
        == frame.rows
        == int(((log.ts >= "2024-03-02 12:00") & (log.ts < "2024-03-04")).sum())
    )
    assert list(files.windows) == list(frame.windows)
