"""Confidence intervals of performance metrics: Charter's statistics vs resampling rows.

Workload: 1e6 rows (``--rows``), 50 groups, binary labels, predictions and continuous scores,
and a regression target. For each kind of metric, the extra time Charter spends on intervals
(overall and for every group) is compared with what resampling rows would cost:

* counts metrics (F1 with 1,000 count-bootstrap resamples) against a numpy row bootstrap
  floor (draw indices, one ``bincount`` of the resampled rows per resample), timed on a few
  resamples and scaled to 1,000;
* ROC AUC (DeLong from ``ScoreCounts``) against a reference fast DeLong (Sun & Xu 2014,
  midranks with ``scipy.stats.rankdata``, overall only) and a row bootstrap of scikit-learn's
  ``roc_auc_score`` (timed on a few resamples, scaled to 1,000); the standard errors are
  printed side by side;
* MAE / RMSE (moments) against a numpy row bootstrap floor of the MAE, scaled to 1,000.

Medians of 5 runs after a warm-up (peers: 3). Run:
``.venv/bin/python benchmarks/bench_intervals.py [--rows N | --quick]`` (about a minute).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from charter.stats.counts import GroupIndex, confusion_counts
from charter.stats.performance import evaluate
from charter.stats.regression import RegressionMoments
from charter.stats.scores import ScoreCounts

console = Console(width=150)


def median_time(fn: Callable[[], Any], repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fast_delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Sun & Xu's O(n log n) DeLong: AUC and standard error from midranks."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    tx, ty = rankdata(pos), rankdata(neg)
    v10 = (all_ranks[:m] - tx) / n
    v01 = 1.0 - (all_ranks[m:] - ty) / m
    auc = float(v10.mean())
    return auc, float(np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows (a smoke run)")
    args = parser.parse_args()
    rows = 100_000 if args.quick else args.rows
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 50, rows)
    y = rng.integers(0, 2, rows)
    score = 1 / (1 + np.exp(-(1.2 * (2 * y - 1) + rng.normal(0, 1.5, rows))))
    pred = (score > 0.5).astype(np.int64)
    target = rng.normal(0, 1, rows)
    estimate = target + rng.standard_t(5, rows)
    index = GroupIndex.build([groups], ["g"])
    counts = confusion_counts(y, pred, sensitive_features={"g": groups})
    scores = ScoreCounts.from_index(index, y, score)
    moments = RegressionMoments.from_index(index, target, estimate)
    scale = 1000
    table = Table(title=f"Performance intervals at {rows:,} rows, 50 groups (median seconds)")
    for column in (
        "metric", "interval", "value only", "with intervals", "extra", "row resampling peer",
        "peer time", "peer / extra",
    ):  # fmt: skip
        table.add_column(column, justify="right")

    # counts metrics: count bootstrap vs a numpy row bootstrap floor
    plain = median_time(lambda: evaluate("f1", counts))
    boot = median_time(lambda: evaluate("f1", counts, confidence_level=0.95, bootstrap=1000))
    key = groups * 4 + y * 2 + pred

    def numpy_rows(resamples: int) -> None:
        for _ in range(resamples):
            idx = rng.integers(0, rows, rows)
            np.bincount(key[idx], minlength=200)

    peer = median_time(lambda: numpy_rows(3), repeat=3) / 3 * scale
    table.add_row(
        "f1", "count bootstrap 1,000", f"{plain:.4f}", f"{boot:.4f}", f"{boot - plain:.4f}",
        "numpy row bootstrap (x1,000)", f"{peer:.1f}", f"{peer / (boot - plain):,.0f}x",
    )  # fmt: skip

    # ROC AUC: DeLong from score counts vs a reference DeLong and a row bootstrap of sklearn
    plain = median_time(lambda: evaluate("roc_auc", scores))
    delong = median_time(lambda: evaluate("roc_auc", scores, confidence_level=0.95))
    reference = median_time(lambda: fast_delong(y, score), repeat=3)

    def sklearn_rows(resamples: int) -> None:
        for _ in range(resamples):
            idx = rng.integers(0, rows, rows)
            roc_auc_score(y[idx], score[idx])

    boot_peer = median_time(lambda: sklearn_rows(2), repeat=3) / 2 * scale
    extra = delong - plain
    table.add_row(
        "roc_auc", "DeLong", f"{plain:.4f}", f"{delong:.4f}", f"{extra:.4f}",
        "fast DeLong (Sun & Xu, overall only)", f"{reference:.3f}", f"{reference / extra:,.1f}x",
    )  # fmt: skip
    table.add_row(
        "", "", "", "", "", "sklearn row bootstrap (x1,000)", f"{boot_peer:.1f}",
        f"{boot_peer / extra:,.0f}x",
    )  # fmt: skip

    # regression: moments vs a numpy row bootstrap floor of the MAE
    plain = median_time(lambda: (evaluate("mae", moments), evaluate("rmse", moments)))
    normal = median_time(
        lambda: (
            evaluate("mae", moments, confidence_level=0.95),
            evaluate("rmse", moments, confidence_level=0.95),
        )
    )
    residual = np.abs(target - estimate)

    def mae_rows(resamples: int) -> None:
        for _ in range(resamples):
            idx = rng.integers(0, rows, rows)
            np.bincount(groups[idx], weights=residual[idx], minlength=50)

    peer = median_time(lambda: mae_rows(3), repeat=3) / 3 * scale
    extra = normal - plain
    # below a millisecond the difference of two medians is timer noise: bound the ratio
    ratio = f"{peer / extra:,.0f}x" if extra >= 1e-3 else f"> {peer / 1e-3:,.0f}x"
    table.add_row(
        "mae + rmse", "normal (moments)", f"{plain:.4f}", f"{normal:.4f}", f"{extra:.4f}",
        "numpy row bootstrap of MAE (x1,000)", f"{peer:.1f}", ratio,
    )  # fmt: skip
    console.print(table)

    ours = evaluate("roc_auc", scores, confidence_level=0.95)
    auc, se = fast_delong(y, score)
    assert ours.ci is not None
    console.print(
        f"ROC AUC {ours.value:.6f} (reference {auc:.6f}); DeLong standard error: Charter"
        f" {(ours.ci[1] - ours.ci[0]) / (2 * 1.959964):.3e}, reference {se:.3e}"
    )


if __name__ == "__main__":
    main()
