"""Speed of the data, privacy and explainability checks against their direct peers.

Run: ``.venv/bin/python benchmarks/bench_checks.py [--rows 1000000]``. Prints medians of
repeated runs (after a warm-up) and the ratio Charter / peer measured in the same process.

* data: six data rules through Charter (value_range, allowed_categories, null_fraction,
  quantile_bounds, mean_bounds, duplicate_rows) on pandas, polars and DuckDB, against the same
  statistics computed directly in pandas.
* PII: the vectorised value scan against a Python ``re`` loop over the same values.
* Luhn: the vectorised checksum against a per-string Python loop.
* SHAP: ``shap_explanations`` (1,000-row sample, LightGBM) against shap's TreeExplainer called
  directly on the same rows.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
from lightgbm import LGBMClassifier

from charter.checks import CheckContext, get_check
from charter.checks.pii import luhn_valid, match_patterns
from charter.policy import policy_from_dict
from charter.policy.schema import Rule
from charter.stats.frames import to_frame


def median_time(fn: Callable[[], Any], repeat: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


RULES = [
    ("value_range", {"columns": {"age": {"min": 18, "max": 90}, "income": {"min": 0}}}),
    ("allowed_categories", {"columns": {"region": ["north", "south", "east"]}}),
    ("null_fraction", {"columns": ["age", "income", "region"]}),
    ("quantile_bounds", {"columns": {"income": [{"q": 0.05, "min": 0}, {"q": 0.95, "max": 1e9}]}}),
    ("mean_bounds", {"columns": {"age": {"min": 0, "max": 100}}}),
    ("duplicate_rows", {}),
]


def run_rules(ctx: CheckContext) -> None:
    for check, params in RULES:
        spec = get_check(check)
        rule = Rule(id=check, check=check, params=params)
        spec.func(ctx, rule, spec.parse_params(params))


def pandas_peer(df: pd.DataFrame) -> None:
    age, income = df["age"], df["income"]
    ((age < 18) | (age > 90)).sum(), age.min(), age.max(), (income < 0).sum()
    region = df["region"]
    (~region.isin(["north", "south", "east"]) & region.notna()).sum()
    df[["age", "income", "region"]].isna().mean()
    income.quantile([0.05, 0.95])
    age.mean()
    df.duplicated().sum()


def bench_data(rows: int) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "age": rng.integers(10, 95, rows).astype(float),
            "income": rng.lognormal(8, 0.5, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "sex": rng.choice(["F", "M"], rows),
        }
    )
    policy = policy_from_dict({"model": {"name": "bench"}})
    peer = median_time(lambda: pandas_peer(df))
    print(f"data checks, {rows:,} rows, 6 rules; peer: the same statistics in pandas directly")
    print(f"  pandas direct        {peer * 1e3:8.1f} ms")
    polars_df = pl.from_pandas(df)
    arrow = polars_df.to_arrow()
    natives: dict[str, Callable[[], Any]] = {
        "pandas": lambda: df,
        "polars": lambda: polars_df,
        "polars lazy": lambda: polars_df.lazy(),
        "duckdb": lambda: duckdb.from_arrow(arrow),
    }
    for name, native in natives.items():
        t = median_time(lambda n=native: run_rules(CheckContext(policy, to_frame(n()))))
        print(f"  charter on {name:<11}{t * 1e3:8.1f} ms   ratio to pandas direct {t / peer:5.2f}")


def bench_pii(rows: int) -> None:
    rng = np.random.default_rng(1)
    # Mostly distinct values, so deduplication inside the scan does not flatter it.
    x = rng.integers(0, 10**9, rows)
    makers = [
        lambda v: f"user{v}@example.com",
        lambda v: f"+33 6 {v % 100:02d} {v // 100 % 100:02d} {v // 10**4 % 100:02d} 78",
        lambda v: f"{v % 600 + 1:03d}-{v // 1000 % 90 + 10:02d}-{v // 10**5 % 9000 + 1000:04d}",
        lambda v: f"free text {v}",
        lambda v: f"4111 1111 {v % 10**4:04d} {v // 10**4 % 10**4:04d}",
    ]
    values = [makers[i % 5](int(v)) for i, v in enumerate(x)]
    patterns = {
        "email": re.compile(
            r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
        ),
        "ssn": re.compile(r"^\d{3}[- ]\d{2}[- ]\d{4}$"),
        "ipv4": re.compile(
            r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
        ),
        "phone": re.compile(
            r"^(\+\d{1,3}[ .\-]?)?(\(\d{1,5}\)[ .\-]?)?\d{1,5}([ .\-]\d{1,5}){1,5}$"
        ),
        "card": re.compile(r"^\d{4}([ -]?\d{2,7}){2,4}$"),
    }

    def python_loop() -> None:
        for p in patterns.values():
            sum(1 for v in values if p.match(v.strip()))

    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values)
    peer = median_time(python_loop, repeat=3)
    ours = median_time(lambda: match_patterns(arr), repeat=3)
    print(f"PII value scan, {rows:,} values; peer: Python re loop over 5 of our 9 patterns")
    print(f"  python re loop       {peer * 1e3:8.1f} ms")
    print(f"  charter (9 patterns) {ours * 1e3:8.1f} ms   speed-up {peer / ours:5.1f}x")

    email = patterns["email"]
    peer = median_time(lambda: sum(1 for v in values if email.match(v)), repeat=3)
    ours = median_time(lambda: pc.match_substring_regex(arr, email.pattern), repeat=3)
    print(
        f"  one pattern (e-mail): python {peer * 1e3:.1f} ms, Arrow RE2 {ours * 1e3:.1f} ms,"
        f" speed-up {peer / ours:.1f}x"
    )

    numbers = [str(x) for x in rng.integers(10**15, 10**16, rows)]
    arr_numbers = pa.array(numbers)

    def luhn_loop() -> None:
        for s in numbers:
            total = 0
            for i, ch in enumerate(reversed(s)):
                d = int(ch)
                if i % 2:
                    d = d * 2 - 9 if d > 4 else d * 2
                total += d
            _ = total % 10 == 0

    peer = median_time(luhn_loop, repeat=3)
    ours = median_time(lambda: luhn_valid(arr_numbers), repeat=3)
    print(f"Luhn, {rows:,} 16-digit numbers")
    print(f"  python loop          {peer * 1e3:8.1f} ms")
    print(f"  charter vectorised   {ours * 1e3:8.1f} ms   speed-up {peer / ours:5.1f}x")


def bench_shap(rows: int) -> None:
    import shap

    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"f{i}" for i in range(10)])
    y = (x["f0"] + x["f1"] * x["f2"] + rng.normal(size=rows) > 0).astype(int)
    model = LGBMClassifier(n_estimators=100, verbose=-1).fit(x, y)
    policy = policy_from_dict(
        {"model": {"name": "bench"}, "explainability": {"sample_size": 1000, "seed": 0}}
    )
    spec = get_check("shap_explanations")
    rule = Rule(id="shap", check="shap_explanations")
    frame = to_frame(x)

    def ours() -> None:
        ctx = CheckContext(policy, frame, model=model)
        spec.func(ctx, rule, spec.parse_params({}))

    sample = x.iloc[np.sort(np.random.default_rng(0).choice(rows, 1000, replace=False))]

    def direct() -> None:
        shap.TreeExplainer(model).shap_values(sample)

    peer = median_time(direct, repeat=3)
    t = median_time(ours, repeat=3)
    print(f"SHAP, LightGBM 100 trees, 10 features, 1,000-row sample of {rows:,} rows")
    print(f"  shap TreeExplainer   {peer * 1e3:8.1f} ms")
    print(f"  shap_explanations    {t * 1e3:8.1f} ms   ratio {t / peer:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_data(args.rows)
    bench_pii(min(args.rows, 200_000))
    bench_shap(min(args.rows, 100_000))


if __name__ == "__main__":
    main()
