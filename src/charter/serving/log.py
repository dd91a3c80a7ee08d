"""The inference log: one Parquet record per row predicted, the log the monitor reads.

Every served row becomes one record: the time, the request id and the row's position in the
request, the model's name, version and artifact sha256, the inputs (one column each, named as
the model names them, plus any other column the caller sent, such as a sensitive attribute for
fairness monitoring), the prediction and the score (under the policy's names, ``prediction``
and ``score`` by default), the explanation as JSON (base value, output space, method and the
contributions kept), the latency of the model call in milliseconds and the caller.

Layout (``root`` is a folder, or any fsspec URL such as ``s3://bucket/charter/inference``)::

    root/<model>/<version>/<YYYY-MM-DD>/<host>-<pid>-<writer>-<sequence>.parquet

Each writer (a worker process, a replica) names its files by host, process id, a random
writer id and a sequence number, so several never write the same file. A file is written
whole and then renamed into place (on object stores, a PUT is atomic): a reader never sees a
partial file. ``charter monitor NAME --log root/<model>/<version>`` reads the folder as it is.

Records are buffered in memory and written by a background thread when ``flush_rows`` are
waiting or ``flush_interval`` seconds have passed since the last write (default 1 s), whichever
comes first. :meth:`InferenceLog.stop` (the server's graceful shutdown, SIGTERM) writes
everything still buffered. **What a crash can lose** (SIGKILL, power cut): the records buffered
since the last write — at most ``flush_interval`` seconds of traffic, and never more than
``flush_rows`` rows beyond the write in progress. When writing fails (a full disk, an
unreachable bucket), records stay buffered and are retried at every flush; only when more
than ``max_buffer_rows`` are waiting are the oldest dropped, and :attr:`LogStats.dropped`
counts them (the server exports it to Prometheus; it must stay 0).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

logger = logging.getLogger("charter.serving.log")

#: Folder (beside the models' folders) of requests refused for their input.
REJECTED_DIR = "_rejected"
#: Default seconds between writes.
FLUSH_INTERVAL = 1.0
#: Default rows that trigger a write before the interval is up.
FLUSH_ROWS = 20_000
#: Default most rows buffered (while writing fails) before the oldest are dropped.
MAX_BUFFER_ROWS = 2_000_000


@dataclass(frozen=True)
class LogColumns:
    """Names of the columns the policy gives meaning to (timestamp, prediction, score)."""

    timestamp: str = "timestamp"
    prediction: str = "prediction"
    score: str = "score"


@dataclass
class LogStats:
    """Counters of the writer: rows written and dropped, files written, failed writes."""

    written: int = 0
    dropped: int = 0
    files: int = 0
    failures: int = 0
    buffered: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class ServedRows:
    """The rows of one request, as served: what :meth:`InferenceLog.append` takes."""

    model: str
    version: int
    sha256: str
    request_id: str
    caller: str
    at: datetime
    inputs: Mapping[str, Sequence[Any]]
    predictions: Sequence[Any]
    scores: Sequence[float] | np.ndarray | None
    explanations: Sequence[str | None] | None
    latency_ms: float
    names: LogColumns = LogColumns()

    @property
    def rows(self) -> int:
        """Rows in the request."""
        return len(self.predictions)


class InferenceLog:
    """Buffered, partitioned Parquet writer of served rows (one per process or replica).

    Parameters
    ----------
    root
        Folder or fsspec URL of the log.
    flush_interval
        Most seconds a record waits in memory.
    flush_rows
        Buffered rows that trigger a write at once.
    max_buffer_rows
        Most rows kept while writes fail; beyond, the oldest are dropped and counted.
    sink
        Called with each written batch of requests (the optional CloudEvents sink).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        flush_interval: float = FLUSH_INTERVAL,
        flush_rows: int = FLUSH_ROWS,
        max_buffer_rows: int = MAX_BUFFER_ROWS,
        sink: Callable[[list[ServedRows]], None] | None = None,
    ) -> None:
        import fsspec.core

        self.root = str(root)
        self.fs, self.base = fsspec.core.url_to_fs(self.root)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        self.flush_interval = flush_interval
        self.flush_rows = flush_rows
        self.max_buffer_rows = max_buffer_rows
        self.sink = sink
        self.writer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stats = LogStats()
        self._pending: deque[ServedRows] = deque()
        self._rejected: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> InferenceLog:
        """Start the background writer (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="charter-inference-log", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> LogStats:
        """Stop the writer and write everything buffered; returns the final counters."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()
        return self.stats

    def __enter__(self) -> InferenceLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- writing ------------------------------------------------------------------------------
    def append(self, served: ServedRows) -> None:
        """Buffer the rows of one request (cheap: the conversion happens when writing)."""
        with self._lock:
            self._pending.append(served)
            self.stats.buffered += served.rows
            over = self.stats.buffered - self.max_buffer_rows
            while over > 0 and len(self._pending) > 1:
                oldest = self._pending.popleft()
                self.stats.buffered -= oldest.rows
                self.stats.dropped += oldest.rows
                over -= oldest.rows
            full = self.stats.buffered >= self.flush_rows
        if full:
            self._wake.set()

    def reject(self, loaded: Any, request_id: str, caller: str, error: Any) -> None:
        """Record a request refused for its input (HTTP 422) under ``root/_rejected``."""
        with self._lock:
            self._rejected.append(
                {
                    "timestamp": now(),
                    "request_id": request_id,
                    "model": loaded.name,
                    "version": loaded.number,
                    "sha256": loaded.sha256,
                    "field": getattr(error, "field", None),
                    "row": getattr(error, "row", None),
                    "error": getattr(error, "message", str(error)),
                    "caller": caller,
                }
            )
            self.stats.rejected += 1

    def flush(self) -> int:
        """Write every buffered record now; returns the rows written."""
        with self._write_lock:
            with self._lock:
                batch = list(self._pending)
                self._pending.clear()
                rejected, self._rejected = self._rejected, []
            if rejected:
                self._write_rejected(rejected)
            if not batch:
                return 0
            try:
                written = self._write(batch)
            except Exception:
                logger.exception("writing the inference log to %s failed; will retry", self.root)
                with self._lock:
                    self._pending.extendleft(reversed(batch))
                    self.stats.failures += 1
                return 0
            with self._lock:
                self.stats.buffered -= written
                self.stats.written += written
            if self.sink is not None:
                self.sink(batch)  # after the write: the Parquet log is the record
            return written

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.flush()

    def _write_rejected(self, rejected: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pa.Table.from_pylist(rejected)
            self._sequence += 1
            folder = f"{self.base.rstrip('/')}/{REJECTED_DIR}"
            self.fs.makedirs(folder, exist_ok=True)
            name = f"{folder}/{self.writer_id}-{self._sequence:06d}.parquet"
            with self.fs.open(name, "wb") as handle:
                pq.write_table(table, handle)
        except Exception:
            logger.exception("writing rejected requests to %s failed", self.root)

    def _write(self, batch: list[ServedRows]) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        groups: dict[tuple[str, int, str], list[ServedRows]] = {}
        for served in batch:
            day = served.at.astimezone(UTC).strftime("%Y-%m-%d")
            groups.setdefault((served.model, served.version, day), []).append(served)
        rows = 0
        for (model, version, day), parts in groups.items():
            table = pa.Table.from_pydict(_columns(parts))
            self._sequence += 1
            name = f"{self.writer_id}-{self._sequence:06d}.parquet"
            folder = f"{self.base.rstrip('/')}/{model}/{version}/{day}"
            self.fs.makedirs(folder, exist_ok=True)
            target = f"{folder}/{name}"
            partial = f"{folder}/.{name}.partial" if self.local else target
            with self.fs.open(partial, "wb") as handle:
                pq.write_table(table, handle, compression="zstd")
            if partial != target:
                self.fs.mv(partial, target)
            rows += table.num_rows
            self.stats.files += 1
        return rows


def _columns(parts: list[ServedRows]) -> dict[str, Any]:
    """The Arrow columns of a group of requests (one model, version and day)."""
    import pyarrow as pa

    names = parts[0].names
    n = sum(p.rows for p in parts)
    out: dict[str, Any] = {
        names.timestamp: pa.array(
            [p.at for p in parts for _ in range(p.rows)], type=pa.timestamp("us", tz="UTC")
        ),
        "request_id": pa.array([p.request_id for p in parts for _ in range(p.rows)], pa.string()),
        "row": pa.array([i for p in parts for i in range(p.rows)], pa.int32()),
        "model": pa.array([parts[0].model] * n, pa.string()),
        "version": pa.array([parts[0].version] * n, pa.int32()),
        "sha256": pa.array([p.sha256 for p in parts for _ in range(p.rows)], pa.string()),
    }
    inputs: dict[str, None] = {}
    for p in parts:
        for column in p.inputs:
            inputs.setdefault(column, None)
    for column in inputs:
        if column in out:
            continue
        values: list[Any] = []
        arrays: list[np.ndarray] = []
        for p in parts:
            got = p.inputs.get(column)
            if got is None:
                values.extend([None] * p.rows)
            elif isinstance(got, np.ndarray) and got.dtype.kind == "f":
                arrays.append(got)
                values.extend(got.tolist())
            else:
                values.extend(got.tolist() if isinstance(got, np.ndarray) else got)
        if arrays and len(arrays) == len(parts):
            out[column] = pa.array(np.concatenate(arrays), pa.float64())
        else:
            out[column] = pa.array(values)
    out[names.prediction] = pa.array([v for p in parts for v in p.predictions])
    if any(p.scores is not None for p in parts):
        scores: list[float | None] = []
        for p in parts:
            scores.extend([None] * p.rows if p.scores is None else [float(v) for v in p.scores])
        out[names.score] = pa.array(scores, pa.float64())
    out["explanation"] = pa.array(
        [
            e
            for p in parts
            for e in (p.explanations if p.explanations is not None else [None] * p.rows)
        ],
        pa.string(),
    )
    out["latency_ms"] = pa.array([p.latency_ms for p in parts for _ in range(p.rows)], pa.float64())
    out["caller"] = pa.array([p.caller for p in parts for _ in range(p.rows)], pa.string())
    return out


def explanation_json(
    base: float, output_space: str, method: str, contributions: Mapping[str, float]
) -> str:
    """The explanation of one row as stored in the log's ``explanation`` column."""
    return json.dumps(
        {
            "base_value": base,
            "output_space": output_space,
            "method": method,
            "contributions": contributions,
        },
        separators=(",", ":"),
    )


def now() -> datetime:
    """The current time, timezone-aware UTC (the log's timestamps)."""
    return datetime.fromtimestamp(time.time(), UTC)
