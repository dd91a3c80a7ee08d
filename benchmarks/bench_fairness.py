"""Fairness metrics at scale: Charter vs fairlearn's MetricFrame vs a numpy bincount floor.

Workload: per-group selection rate, accuracy, TPR and FPR, and their between-group
differences, at 1e6 and 1e7 rows, over 2 groups (one column) and 50 intersectional groups (two
columns, 10 x 5). Sensitive columns are categoricals (pandas ``category``, polars ``Enum``).

* floor: numpy only, given the label, prediction and category-code arrays; one combined key,
  one ``bincount``, the rates and differences. Nothing can do the job with less work.
* Charter: end to end from the frame (pandas, then polars): column extraction, label
  validation, group index, counts, rates, the four differences with their group tables.
* Charter + bootstrap: the same with 1,000 bootstrap resamples for each difference, which
  includes the per-group intervals of each rate (``"<rate>_ci"`` in every group row); the
  per-group intervals alone (from the drawn resamples) are also timed.
* MetricFrame: fairlearn's ``MetricFrame`` with the four rates, then ``difference()``.

Targets (issue 2): Charter within 3x of the floor, >= 300x faster than MetricFrame, and the
bootstrap adding < 1 s at 1e7 rows. Medians of 5 runs after a warm-up (3 with bootstrap).
MetricFrame runs **once** per size and grouping, after a warm-up on 10,000 rows: fairlearn
0.15 builds per-row arrays in Python, so one run takes about a minute per million rows
(about ten minutes at 1e7) and repeating it would not change the picture. The whole script
takes about 25 minutes on 2 cores; ``--quick`` (1e5 rows) takes one.

Run: ``.venv/bin/python benchmarks/bench_fairness.py [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from rich.console import Console
from rich.table import Table

from charter.stats.counts import confusion_counts
from charter.stats.fairness import GroupMetrics

RATES = ("selection_rate", "accuracy", "true_positive_rate", "false_positive_rate")
console = Console(width=150)


def make_data(n: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 10, n).astype(np.int8)
    age = rng.integers(0, 5, n).astype(np.int8)
    sex = rng.integers(0, 2, n).astype(np.int8)
    y = rng.integers(0, 2, n)
    favour = np.where(sex == 1, 0.6, 0.45)
    p = (rng.random(n) < np.where(y == 1, favour + 0.2, favour - 0.2)).astype(np.int64)
    region_names = [f"region-{i}" for i in range(10)]
    age_names = ["<25", "25-34", "35-49", "50-64", "65+"]
    sex_names = ["F", "M"]
    pdf = pd.DataFrame(
        {
            "y": y,
            "p": p,
            "sex": pd.Categorical.from_codes(sex, sex_names),
            "region": pd.Categorical.from_codes(region, region_names),
            "age": pd.Categorical.from_codes(age, age_names),
        }
    )
    plf = pl.DataFrame(
        {
            "y": y,
            "p": p,
            "sex": pl.Series(np.array(sex_names)[sex]).cast(pl.Enum(sex_names)),
            "region": pl.Series(np.array(region_names)[region]).cast(pl.Enum(region_names)),
            "age": pl.Series(np.array(age_names)[age]).cast(pl.Enum(age_names)),
        }
    )
    codes = {"sex": sex, "region": region, "age": age}
    sizes = {"sex": 2, "region": 10, "age": 5}
    return {"pandas": pdf, "polars": plf, "y": y, "p": p, "codes": codes, "sizes": sizes}


def numpy_floor(data: dict[str, Any], columns: list[str]) -> dict[str, float]:
    """The least work: combined key, one bincount, rates, max - min."""
    key = data["codes"][columns[0]].astype(np.int64)
    size = data["sizes"][columns[0]]
    for column in columns[1:]:
        key = key * data["sizes"][column] + data["codes"][column]
        size *= data["sizes"][column]
    key = key * 4 + data["y"] * 2 + data["p"]
    c = np.bincount(key, minlength=size * 4).reshape(size, 2, 2).astype(np.float64)
    total = c.sum(axis=(1, 2))
    rates = {
        "selection_rate": (c[:, 0, 1] + c[:, 1, 1]) / total,
        "accuracy": (c[:, 0, 0] + c[:, 1, 1]) / total,
        "true_positive_rate": c[:, 1, 1] / (c[:, 1, 0] + c[:, 1, 1]),
        "false_positive_rate": c[:, 0, 1] / (c[:, 0, 0] + c[:, 0, 1]),
    }
    return {name: float(v.max() - v.min()) for name, v in rates.items()}


def charter(frame: Any, columns: list[str], bootstrap: int = 0) -> dict[str, float]:
    counts = confusion_counts("y", "p", sensitive_features=columns, data=frame)
    gm = GroupMetrics(counts, bootstrap=bootstrap, seed=0)
    return {rate: gm.difference(rate).value for rate in RATES}


def group_interval_cost(frame: Any, columns: list[str]) -> float:
    """Median seconds of the per-group intervals of the four rates, resamples already drawn."""
    counts = confusion_counts("y", "p", sensitive_features=columns, data=frame)
    gm = GroupMetrics(counts, bootstrap=1000, seed=0)
    resampled = gm.resamples()
    return timed(lambda: gm.group_intervals(RATES, resampled), 5)[0]


def metric_frame(data: dict[str, Any], columns: list[str]) -> dict[str, float]:
    import fairlearn.metrics as flm
    from sklearn.metrics import accuracy_score

    pdf = data["pandas"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = flm.MetricFrame(
            metrics={
                "selection_rate": flm.selection_rate,
                "accuracy": accuracy_score,
                "true_positive_rate": flm.true_positive_rate,
                "false_positive_rate": flm.false_positive_rate,
            },
            y_true=pdf["y"],
            y_pred=pdf["p"],
            sensitive_features=pdf[columns],
        )
        diff = mf.difference()
    return {name: float(diff[name]) for name in RATES}


def configs_of() -> dict[str, list[str]]:
    return {"2 groups": ["sex"], "50 groups": ["region", "age"]}


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` runs after one warm-up run (none when repeat == 1)."""
    result = fn() if repeat > 1 else None
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def agree(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(abs(a[k] - b[k]) < 1e-9 for k in RATES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e5 rows only (a smoke run)")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [1_000_000, 10_000_000]
    with console.status("warming up fairlearn on 10,000 rows"):
        warm = make_data(10_000)
        for columns in configs_of().values():
            metric_frame(warm, columns)
    configs = configs_of()
    table = Table(title="Fairness: 4 rates + differences (median seconds; ratios in the same run)")
    for column in (
        "rows", "groups", "numpy floor", "Charter pandas", "x floor", "Charter polars", "x floor",
        "MetricFrame", "MetricFrame / Charter", "bootstrap 1000 extra", "of which group CIs",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    measured: dict[tuple[int, str], dict[str, Any]] = {}
    datasets = {}
    # Phase 1: the fast contenders, on a quiet machine.
    for n in sizes:
        with console.status(f"generating {n:,} rows"):
            datasets[n] = data = make_data(n)
        for label, columns in configs.items():
            m: dict[str, Any] = {}
            with console.status(f"{n:,} rows, {label}: numpy floor"):
                m["floor"] = timed(lambda d=data, c=columns: numpy_floor(d, c), 5)
            with console.status(f"{n:,} rows, {label}: Charter (pandas)"):
                m["pandas"] = timed(lambda d=data, c=columns: charter(d["pandas"], c), 5)
            with console.status(f"{n:,} rows, {label}: Charter (polars)"):
                m["polars"] = timed(lambda d=data, c=columns: charter(d["polars"], c), 5)
            with console.status(f"{n:,} rows, {label}: Charter + 1,000 bootstrap resamples"):
                m["boot"] = timed(lambda d=data, c=columns: charter(d["pandas"], c, 1000), 3)
                m["group_ci"] = group_interval_cost(data["pandas"], columns)
            measured[(n, label)] = m
            console.print(
                f"{n:>12,} rows {label:>9}: floor {m['floor'][0]:.4f}s"
                f"  Charter pandas {m['pandas'][0]:.4f}s  polars {m['polars'][0]:.4f}s"
                f"  with bootstrap {m['boot'][0]:.4f}s"
            )
    # Phase 2: MetricFrame, once per size and grouping.
    for n in sizes:
        for label, columns in configs.items():
            with console.status(f"{n:,} rows, {label}: fairlearn MetricFrame (one run)"):
                measured[(n, label)]["mf"] = timed(
                    lambda d=datasets[n], c=columns: metric_frame(d, c), 1
                )
            console.print(
                f"{n:>12,} rows {label:>9}: MetricFrame {measured[(n, label)]['mf'][0]:.1f}s"
            )
    verdicts = []
    for (n, label), m in measured.items():
        (t_floor, floor), (t_pd, ours), (t_pl, ours_pl) = m["floor"], m["pandas"], m["polars"]
        (t_boot, _), (t_mf, theirs) = m["boot"], m["mf"]
        assert agree(ours, floor) and agree(ours_pl, floor) and agree(ours, theirs), (
            ours,
            floor,
            theirs,
        )
        table.add_row(
            f"{n:,}",
            label,
            f"{t_floor:.4f}",
            f"{t_pd:.4f}",
            f"{t_pd / t_floor:.1f}x",
            f"{t_pl:.4f}",
            f"{t_pl / t_floor:.1f}x",
            f"{t_mf:.1f}",
            f"{t_mf / t_pd:,.0f}x",
            f"{max(t_boot - t_pd, 0.0):.3f}",
            f"{m['group_ci']:.4f}",
        )
        verdicts.append((n, label, t_pd / t_floor, t_pl / t_floor, t_mf / t_pd, t_boot - t_pd))
    console.print(table)
    console.print("MetricFrame: one run per row (see the module docstring); others: medians.")
    for n, label, x_pd, x_pl, x_mf, boot in verdicts:
        ok = x_pd <= 3 and x_pl <= 3 and x_mf >= 300 and (n < 10_000_000 or boot < 1.0)
        console.print(
            f"{'[green]meets' if ok else '[red]misses'} targets[/]: {n:,} rows, {label}"
            f" (pandas {x_pd:.1f}x floor, polars {x_pl:.1f}x floor, MetricFrame {x_mf:,.0f}x"
            f" slower, bootstrap +{boot:.3f}s)"
        )


if __name__ == "__main__":
    main()
