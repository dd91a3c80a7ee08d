"""What the model's outputs add to the registry's reference profile of the training data.

`charter register --train-data` profiles the training data and, since the registry keeps the
model's outputs for prediction drift, the model's score and prediction on the training rows
(a seeded sample of at most 1,000,000 rows). This measures, in the same process, medians after
a warm-up, :func:`charter.lineage.reference_profile` of a ``--rows``-row Parquet file without
and with a model — a logistic regression and a 200-tree LightGBM — and prints the ratio.

    python benchmarks/bench_reference_outputs.py [--rows 2000000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from charter.lineage import reference_profile
from charter.policy import load_policy

FEATURES = ["income", "debt", "part_time"]


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "applicant_id": np.arange(rows),
            "income": rng.normal(50, 12, rows),
            "debt": rng.normal(10, 3, rows),
            "part_time": rng.integers(0, 2, rows),
            "sex": rng.choice(["F", "M"], rows),
        }
    )
    frame["repaid"] = (frame.income - 2 * frame.debt + rng.normal(0, 6, rows) > 22).astype(int)
    return frame


def _median(func: Any, repeat: int) -> float:
    func()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    args = parser.parse_args()
    rows = 200_000 if args.quick else args.rows
    frame = _frame(rows)
    fit = frame.iloc[:50_000]
    models = {
        "logistic regression": LogisticRegression(max_iter=300),
        "LightGBM, 200 trees": lgb.LGBMClassifier(n_estimators=200, num_leaves=15, verbose=-1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train = folder / "train.parquet"
        frame.to_parquet(train)
        policy_path = folder / "policy.yaml"
        document = {"version": 1, "model": {"name": "bench", "risk_tier": "minimal"}}
        policy_path.write_text(yaml.safe_dump(document), encoding="utf-8")
        policy = load_policy(policy_path)
        data_only = _median(lambda: reference_profile(train), args.repeat)
        print(f"{rows:,} training rows; model outputs on at most 1,000,000 of them")
        print(f"profile of the data alone                {data_only:7.2f} s")
        for name, model in models.items():
            model.fit(fit[FEATURES], fit["repaid"])
            with_outputs = _median(
                lambda m=model: reference_profile(train, model=m, policy=policy), args.repeat
            )
            print(
                f"with the outputs of a {name:<19}{with_outputs:7.2f} s"
                f"  ({with_outputs / data_only:.1f}x, +{with_outputs - data_only:.2f} s)"
            )


if __name__ == "__main__":
    main()
