"""Run every ``benchmarks/bench_*.py`` in turn (``make bench``).

Each benchmark is a script that measures Charter against its peers in the same run and prints
ratios; this runner starts each one in a fresh interpreter (so one's memory and caches do not
colour the next), streams its output, and ends with a summary of which ran and how long they
took. Extra arguments are passed to every benchmark (e.g. ``--quick``); ``-k WORD`` runs only
the benchmarks whose file name contains WORD.

Exit code: 0 when every benchmark exited 0, else 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def discover(pattern: str | None = None) -> list[Path]:
    """The benchmark scripts, in name order."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if pattern:
        scripts = [s for s in scripts if pattern in s.name]
    return scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmarks/bench_*.py in turn.")
    parser.add_argument("-k", dest="pattern", help="only benchmarks whose file name has this")
    args, passthrough = parser.parse_known_args(argv)
    console = Console()
    scripts = discover(args.pattern)
    if not scripts:
        console.print(f"[red]no benchmarks match[/] {args.pattern!r} in {HERE}")
        return 1
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        console.rule(f"[bold]{script.name}")
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *passthrough], cwd=HERE.parent)
        results.append((script.name, code, time.perf_counter() - start))
    table = Table(title="Benchmarks")
    table.add_column("benchmark")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    for name, code, seconds in results:
        table.add_row(
            name, "[green]ok[/]" if code == 0 else f"[red]exit {code}[/]", f"{seconds:.0f}"
        )
    console.print(table)
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
