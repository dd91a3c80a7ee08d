"""Drift on 1e6 rows x 25 columns: Charter against Evidently 0.7's DataDriftPreset.

Both compare a reference and a current frame of ``--rows`` rows each, 20 numeric and 5
categorical columns, 6 of which drift. Evidently runs its default tests (``Report([
DataDriftPreset()])``); Charter runs the same automatic selection from profiles:
``build_profile(reference)`` (done once per model version, at registration) and
``profile_against(current)`` + ``dataset_drift``. Both are warmed up on a small frame first.
Charter is timed as the median of ``--repeat`` runs, Evidently once (it takes minutes).

The per-column verdicts must be identical; the script prints every disagreement, the largest
score difference per method, and the speed ratios.

    python benchmarks/bench_drift.py            # 1e6 rows (Evidently takes ~2-4 minutes)
    python benchmarks/bench_drift.py --quick    # 1e5 rows
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from charter.stats.drift import DriftMethod, dataset_drift
from charter.stats.profile import build_profile, profile_against

EVIDENTLY_METHODS = {
    "Wasserstein distance (normed)": DriftMethod.WASSERSTEIN,
    "Jensen-Shannon distance": DriftMethod.JENSENSHANNON,
    "K-S p_value": DriftMethod.KS,
    "chi-square p_value": DriftMethod.CHISQUARE,
    "Z-test p_value": DriftMethod.Z,
    "PSI": DriftMethod.PSI,
    "Hellinger distance": DriftMethod.HELLINGER,
}


def make_frame(rows: int, *, seed: int, drift: bool) -> pd.DataFrame:
    """20 numeric columns of varied shapes and 5 categorical; ``drift`` moves 6 of them."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i in range(20):
        shift = 0.25 if drift and i < 5 else 0.0
        kind = i % 4
        if kind == 0:
            data[f"num_{i:02d}"] = rng.normal(shift, 1.0, rows)
        elif kind == 1:
            data[f"num_{i:02d}"] = rng.lognormal(3.0 + shift, 0.7, rows)
        elif kind == 2:
            data[f"num_{i:02d}"] = rng.exponential(1.0 + shift, rows)
        else:
            data[f"num_{i:02d}"] = rng.gamma(2.0, 2.0 + shift, rows)
    labels = [f"cat{j}" for j in range(8)]
    base = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03])
    for i in range(5):
        p = base.copy()
        if drift and i == 0:
            p = p[::-1].copy()
        data[f"cat_{i}"] = rng.choice(labels[: 4 + i], rows, p=p[: 4 + i] / p[: 4 + i].sum())
    return pd.DataFrame(data)


def charter_run(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict, float, float]:
    start = time.perf_counter()
    profile = build_profile(reference)
    built = time.perf_counter()
    [summary] = profile_against(current, profile)
    result = dataset_drift(profile, summary)
    done = time.perf_counter()
    verdicts = {c.column: (c.method, c.score, c.threshold, c.drifted) for c in result.columns}
    return verdicts, built - start, done - built


def evidently_run(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict, float]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(current, reference)
        elapsed = time.perf_counter() - start
    verdicts = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        method = EVIDENTLY_METHODS[config["method"]]
        score, threshold = float(metric["value"]), float(config["threshold"])
        if method is DriftMethod.KS:
            drifted = score <= threshold
        elif method in (DriftMethod.CHISQUARE, DriftMethod.Z):
            drifted = score < threshold
        else:
            drifted = score >= threshold
        verdicts[config["column"]] = (method, score, threshold, drifted)
    return verdicts, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1e5 rows")
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else args.rows
    console = Console()
    console.print(f"drift on {rows:,} rows x 25 columns (20 numeric, 5 categorical), 6 drifting")
    reference = make_frame(rows, seed=1, drift=False)
    current = make_frame(rows, seed=2, drift=True)
    small_ref, small_cur = reference.head(5_000), current.head(5_000)
    charter_run(small_ref, small_cur)  # warm-up (imports, caches)
    builds, checks = [], []
    for _ in range(args.repeat):
        ours, build_s, check_s = charter_run(reference, current)
        builds.append(build_s)
        checks.append(check_s)
    build, check = statistics.median(builds), statistics.median(checks)
    table = Table("tool", "seconds (median)", "vs Evidently")
    if args.skip_evidently:
        table.add_row("Charter build_profile(reference)", f"{build:.3f}", "-")
        table.add_row("Charter monitoring current", f"{check:.3f}", "-")
        console.print(table)
        return 0
    evidently_run(small_ref, small_cur)  # warm-up
    theirs, evidently_s = evidently_run(reference, current)
    table.add_row("Evidently DataDriftPreset", f"{evidently_s:.2f}", "1x")
    table.add_row(
        "Charter profile + monitoring",
        f"{build + check:.3f}",
        f"{evidently_s / (build + check):.0f}x",
    )
    table.add_row(
        "Charter monitoring (profile stored)", f"{check:.3f}", f"{evidently_s / check:.0f}x"
    )
    console.print(table)
    disagreements = []
    worst: dict[str, list[float]] = {}
    margin = np.inf
    for column, (method, score, threshold, drifted) in theirs.items():
        o_method, o_score, o_threshold, o_drifted = ours[column]
        if (o_method, o_threshold, o_drifted) != (method, threshold, drifted):
            disagreements.append((column, method, score, o_method, o_score))
        diff = abs(o_score - score)
        rel = diff / abs(score) if score > 0.01 else 0.0
        slot = worst.setdefault(method.value, [0.0, 0.0])
        slot[0], slot[1] = max(slot[0], diff), max(slot[1], rel)
        margin = min(margin, abs(score - threshold))
    same = len(theirs) - len(disagreements)
    console.print(f"per-column verdicts equal to Evidently's: {same}/{len(theirs)}")
    for column, method, score, o_method, o_score in disagreements:
        console.print(
            f"  [red]differs[/] {column}: Evidently {method} {score:.6g},"
            f" Charter {o_method} {o_score:.6g}"
        )
    for method, (diff, rel) in sorted(worst.items()):
        console.print(
            f"  {method}: largest absolute score difference {diff:.2e}, relative {rel:.2e}"
            " (scores above 0.01)"
        )
    console.print(f"  closest Evidently score to its threshold: {margin:.3g} away")
    drifted = sorted(c for c, v in theirs.items() if v[3])
    console.print(f"drifted columns (both): {', '.join(drifted)}")
    return 0 if not disagreements else 1


if __name__ == "__main__":
    raise SystemExit(main())
