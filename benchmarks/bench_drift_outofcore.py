"""Monitoring a 1e8-row Parquet log x 20 columns out of core, with peak memory under 2 GiB.

Writes an inference log of ``--rows`` rows (16 float64 features, 3 categorical, a timestamp
over 30 days; 4 features drift from day 21) in row groups of 1M rows, after checking that the
disk has room; profiles a 1M-row reference; then monitors the log in a child process per engine
(``batches``: pyarrow dataset batches through numpy; ``duckdb``: binning inside DuckDB) and
reports each child's peak RSS and throughput. The log is deleted at the end (``--keep`` keeps
it).

    python benchmarks/bench_drift_outofcore.py           # 1e8 rows, ~13 GB on disk
    python benchmarks/bench_drift_outofcore.py --quick   # 5e6 rows
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = 2 << 30
DAYS = 30
DRIFT_DAY = 21
BYTES_PER_ROW = 16 * 8 + 3 * 1 + 8


def batch(rows: int, start_row: int, total: int, seed: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    positions = np.arange(start_row, start_row + rows)
    seconds = positions * (DAYS * 86400 / total)
    ts = np.datetime64("2024-03-01T00:00:00", "us") + (seconds * 1e6).astype("timedelta64[us]")
    drifting = seconds >= (DRIFT_DAY - 1) * 86400
    columns = {}
    for i in range(16):
        values = rng.standard_normal(rows)
        if i < 4:
            values = values + np.where(drifting, 0.3, 0.0)
        if i % 4 == 1:
            values = np.exp(0.5 * values + 2.0)
        columns[f"f{i:02d}"] = pa.array(values)
    for i in range(3):
        k = 4 + i
        codes = rng.integers(0, k, rows).astype(np.int8)
        columns[f"c{i}"] = pa.DictionaryArray.from_arrays(
            pa.array(codes), pa.array([f"v{j}" for j in range(k)])
        )
    columns["ts"] = pa.array(ts)
    return pa.table(columns)


def write_log(path: Path, rows: int) -> float:
    import pyarrow.parquet as pq

    start = time.perf_counter()
    step = 1 << 20
    first = batch(min(step, rows), 0, rows, seed=0)
    with pq.ParquetWriter(path, first.schema, compression="snappy") as writer:
        writer.write_table(first, row_group_size=step)
        for i, offset in enumerate(range(step, rows, step)):
            writer.write_table(
                batch(min(step, rows - offset), offset, rows, seed=i + 1), row_group_size=step
            )
    return time.perf_counter() - start


def child(log: str, reference: str, engine: str) -> None:
    import resource

    from charter.monitor.profile import read_profile
    from charter.monitor.run import monitor
    from charter.policy.loader import policy_from_dict

    policy = policy_from_dict(
        {
            "model": {"name": "bench"},
            "data": {"timestamp_column": "ts"},
            "monitoring": {"window": "1d", "drift_share": 0.2},
        }
    )
    profile = read_profile(reference)
    start = time.perf_counter()
    result = monitor("bench", log, policy=policy, reference=profile, engine=engine)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    drifted_days = [w.start.day for w in result.windows if w.drift is not None and w.drift.drifted]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_rss": peak,
                "rows": result.run.summary.rows,
                "windows": len(result.windows),
                "first_drift_day": drifted_days[0] if drifted_days else None,
                "status": result.evidence.status,
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--quick", action="store_true", help="5e6 rows")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the log")
    parser.add_argument("--engines", default="batches,duckdb")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    rows = 5_000_000 if args.quick else args.rows
    folder = Path(tempfile.mkdtemp(prefix="charter-bench-", dir=args.dir))
    need = rows * BYTES_PER_ROW * 1.2
    free = shutil.disk_usage(folder).free
    if free < need * 1.5:
        print(f"not enough disk at {folder}: {free / 1e9:.1f} GB free, {need / 1e9:.1f} GB needed")
        return 1
    log = folder / "inference_log.parquet"
    reference = folder / "reference.json"
    code = 0
    try:
        print(f"writing {rows:,} rows x 20 columns to {log} ...", flush=True)
        seconds = write_log(log, rows)
        size = log.stat().st_size
        print(f"  {size / 1e9:.1f} GB in {seconds:.0f} s")
        from charter.monitor.profile import build_profile

        ref = batch(1_000_000, 0, 10**12, seed=10_000).to_pandas().drop(columns=["ts"])
        build_profile(ref).write(reference)
        del ref
        for engine in args.engines.split(","):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(log), str(reference), engine],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                print(f"  {engine}: failed\n{done.stderr[-2000:]}")
                code = 1
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            ok = r["peak_rss"] < LIMIT
            code |= 0 if ok else 1
            rate = r["rows"] / r["seconds"] / 1e6
            peak = r["peak_rss"] / (1 << 30)
            print(
                f"  {engine:8s} {r['seconds']:7.1f} s  {rate:6.2f} M rows/s"
                f"  peak RSS {peak:.2f} GiB ({'under' if ok else 'OVER'} 2 GiB)"
                f"  {r['windows']} windows, drift from day {r['first_drift_day']}, {r['status']}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
            print(f"deleted {folder}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
