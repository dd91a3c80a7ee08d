"""The inference log writer: flushed by size and by time, one file per writer, nothing lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from charter.monitor.logs import log_files
from charter.serving.log import InferenceLog, LogColumns, ServedRows


def _rows(n: int, request_id: str, version: int = 1) -> ServedRows:
    return ServedRows(
        model="scorer",
        version=version,
        sha256="ab" * 32,
        request_id=request_id,
        caller="ivy",
        at=datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
        inputs={"f0": np.arange(n, dtype=np.float64), "region": ["north"] * n},
        predictions=[1] * n,
        scores=np.full(n, 0.7),
        explanations=['{"base_value":0}'] * n,
        latency_ms=0.5,
        names=LogColumns(timestamp="ts"),
    )


def _wait(predicate: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_full_buffer_is_written_at_once_and_a_quiet_one_after_the_interval(
    tmp_path: Path,
) -> None:
    by_size = InferenceLog(tmp_path / "a", flush_interval=60, flush_rows=10).start()
    for k in range(4):
        by_size.append(_rows(3, f"r{k}"))
    assert _wait(lambda: by_size.stats.written == 12)
    by_size.stop()
    by_time = InferenceLog(tmp_path / "b", flush_interval=0.2, flush_rows=1_000).start()
    by_time.append(_rows(2, "q"))
    started = time.monotonic()
    assert _wait(lambda: by_time.stats.written == 2)
    assert time.monotonic() - started < 1.5
    by_time.stop()


def test_two_writers_never_share_a_file_and_stop_writes_everything(tmp_path: Path) -> None:
    first = InferenceLog(tmp_path, flush_interval=60).start()
    second = InferenceLog(tmp_path, flush_interval=60).start()
    for k in range(50):
        (first if k % 2 else second).append(_rows(2, f"r{k}", version=1 + k % 3))
    assert first.stop().written + second.stop().written == 100
    files = log_files(tmp_path / "scorer")
    assert len(files) == 6 and len({f.name for f in files}) == 6
    assert {f.parent.parent.name for f in files} == {"1", "2", "3"}
    assert {f.parent.name for f in files} == {"2026-12-03"}
    table = ds.dataset([str(f) for f in files], format="parquet").to_table()
    assert table.num_rows == 100
    assert set(table.column_names) >= {
        "ts",
        "request_id",
        "row",
        "model",
        "version",
        "sha256",
        "f0",
        "region",
        "prediction",
        "score",
        "explanation",
        "latency_ms",
        "caller",
    }
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"


def test_failed_writes_keep_records_and_drop_only_beyond_the_buffer_cap(tmp_path: Path) -> None:
    blocker = tmp_path / "scorer"
    blocker.write_text("a file where the model's folder should be")
    log = InferenceLog(tmp_path, flush_interval=60, max_buffer_rows=7)
    log.append(_rows(3, "a"))
    assert log.flush() == 0 and log.stats.failures == 1 and log.stats.buffered == 3
    log.append(_rows(3, "b"))
    log.append(_rows(3, "c"))  # 9 rows > 7: the oldest request is dropped, and counted
    assert log.stats.dropped == 3 and log.stats.buffered == 6
    blocker.unlink()
    assert log.flush() == 6 and log.stats.buffered == 0
    files = log_files(tmp_path / "scorer")
    ids = pq.read_table(files[0])["request_id"].to_pylist()
    assert sorted(set(ids)) == ["b", "c"]


def test_any_fsspec_url_takes_the_log(tmp_path: Path) -> None:
    import fsspec

    log = InferenceLog("memory://charter-log-test", flush_interval=60)
    log.append(_rows(4, "m"))
    log.stop()
    fs = fsspec.filesystem("memory")
    files = fs.glob("/charter-log-test/scorer/1/2026-12-03/*.parquet")
    assert len(files) == 1
    with fs.open(files[0], "rb") as handle:
        assert pq.read_table(handle).num_rows == 4
