"""``charter audit verify`` over 1,000,000 entries against hashing the same bytes with hashlib.

A SQLite registry is filled with ``--entries`` audit entries (bodies built by Charter's own
``entry_body``, chained, bulk-inserted; the database derives its filter columns from each
body). Then, in the same process and interleaved, each measured ``--repeat`` times after a
warm-up, median reported:

* floor: ``hashlib.sha256(body).hexdigest()`` over the same canonical bytes, already in memory;
* Charter: ``verify_chain`` — stream the rows from the database in batches, recompute every
  hash, check every link and sequence number, compare with the recorded head.

The target: Charter within 3x of the floor.

    python benchmarks/bench_audit.py --entries 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from charter.audit.chain import entry_body, utc_timestamp
from charter.audit.verify import verify_chain
from charter.registry import Registry

console = Console()
ACTIONS = (
    "version.register",
    "promotion.requested",
    "promotion.approved",
    "promotion.completed",
    "monitoring.record",
    "access.denied",
)


def fill(registry: Registry, entries: int) -> list[bytes]:
    """Append ``entries`` chained entries after the registry's own; return every body's bytes."""
    engine = registry.engine
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT body, hash FROM charter_audit_entries ORDER BY seq"
        ).all()
    bodies = [str(b).encode() for b, _ in rows]
    seq, prev = len(rows), str(rows[-1][1])
    at = utc_timestamp()
    batch: list[tuple[str, str]] = []
    raw = engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("writing entries", total=entries)
        for i in range(entries):
            seq += 1
            number = i % 500 + 1
            body = entry_body(
                seq=seq,
                at=at,
                actor=("eli", "ann", "arno", "mo")[i % 4],
                action=ACTIONS[i % len(ACTIONS)],
                subject=f"model:credit-risk/{number}",
                model="credit-risk",
                details={
                    "version": number,
                    "evidence_digest": prev[:32],
                    "approvals": i % 3,
                    "to": "production",
                },
                alg="sha256",
                prev_hash=prev,
            )
            encoded = body.encode()
            prev = hashlib.sha256(encoded).hexdigest()
            bodies.append(encoded)
            batch.append((body, prev))
            if len(batch) == 50_000:
                cursor.executemany(
                    "INSERT INTO charter_audit_entries (body, hash) VALUES (?, ?)", batch
                )
                progress.advance(task, len(batch))
                batch.clear()
        if batch:
            cursor.executemany(
                "INSERT INTO charter_audit_entries (body, hash) VALUES (?, ?)", batch
            )
        cursor.execute("UPDATE charter_audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    cursor.execute("COMMIT")
    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return bodies


def floor(bodies: list[bytes]) -> tuple[float, float]:
    """Wall and CPU seconds of hashing every body with hashlib."""
    wall, cpu = time.perf_counter(), time.process_time()
    sha256 = hashlib.sha256
    for body in bodies:
        sha256(body).hexdigest()
    return time.perf_counter() - wall, time.process_time() - cpu


def charter_verify(registry: Registry, expected: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``verify_chain`` over the registry."""
    wall, cpu = time.perf_counter(), time.process_time()
    report = verify_chain(registry.engine)
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    assert report.ok and report.checked == expected, report
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 entries")
    args = parser.parse_args(argv)
    entries = 100_000 if args.quick else args.entries
    with tempfile.TemporaryDirectory() as tmp:
        registry, _ = Registry.initialize(f"sqlite:///{Path(tmp) / 'registry.db'}")
        started = time.perf_counter()
        bodies = fill(registry, entries)
        size = (Path(tmp) / "registry.db").stat().st_size
        console.print(
            f"{len(bodies):,} entries written in {time.perf_counter() - started:.1f} s "
            f"({size / 1e6:.0f} MB, mean body {sum(map(len, bodies)) / len(bodies):.0f} bytes)"
        )
        floor(bodies[:10_000])  # warm-up
        charter_verify(registry, len(bodies))
        floors, verifies = [], []
        for _ in range(args.repeat):
            floors.append(floor(bodies))
            verifies.append(charter_verify(registry, len(bodies)))
        f, v = (statistics.median(x[0] for x in floors), statistics.median(x[0] for x in verifies))
        fc, vc = (
            statistics.median(x[1] for x in floors),
            statistics.median(x[1] for x in verifies),
        )
        n = len(bodies)
        console.print(f"hashlib floor   wall {f:7.3f} s  cpu {fc:7.3f} s  ({n / f / 1e6:.2f} M/s)")
        console.print(f"charter verify  wall {v:7.3f} s  cpu {vc:7.3f} s  ({n / v / 1e6:.2f} M/s)")
        ratio = v / f
        verdict = "[green]within 3x[/]" if ratio <= 3 else "[red]over 3x[/]"
        console.print(
            f"ratio verify/floor {ratio:.2f}x wall — {verdict}; {vc / fc:.2f}x CPU time "
            f"(medians of {args.repeat}; CPU time is the fairer figure on a shared machine)"
        )
        registry.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
