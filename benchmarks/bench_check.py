"""The whole ``charter check`` on 1e6 rows beside the sum of its parts, measured in one run.

The gate runs data, performance and fairness rules (bootstrap CIs included) and SHAP on a
1,000-row sample, on the demo's synthetic credit data scaled to ``--rows`` rows, with a
LightGBM model. The parts are measured separately in the same process: reading the policy,
reading and fingerprinting the data, loading the model, the model's predictions and scores,
each rule alone (on a context where predictions are already computed), the data summary and
writing the evidence and report. Each timing is the median of ``--repeat`` runs after a warm-up.

    python benchmarks/bench_check.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "credit_risk"))

from dataset import FEATURES, TARGET, make_credit_data  # noqa: E402

import charter  # noqa: E402
from charter.artifacts import load_model  # noqa: E402
from charter.checks.context import CheckContext  # noqa: E402
from charter.checks.runner import prepare_rule  # noqa: E402
from charter.evidence import sha256_file  # noqa: E402
from charter.gate import data_summary  # noqa: E402
from charter.policy import load_policy  # noqa: E402
from charter.report import write_outputs  # noqa: E402
from charter.stats.frames import read_data_file  # noqa: E402
from gate_policy import POLICY  # noqa: E402


def median_time(func: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up call."""
    func()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time the CLI in a subprocess")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    print(f"preparing {args.rows:,} rows in {work} ...", flush=True)
    frame = make_credit_data(args.rows, seed=11)
    data_path = work / "holdout.parquet"
    frame.to_parquet(data_path)
    train = make_credit_data(50_000, seed=12)
    model = lgb.LGBMClassifier(n_estimators=100, num_leaves=15, verbose=-1, random_state=0)
    model.fit(train[FEATURES], train[TARGET])
    model_path = charter.save_model(model, work / "model.skops")
    policy_path = work / "policy.yaml"
    policy_path.write_text(POLICY)
    del frame, train

    def whole() -> None:
        charter.check(policy_path, data_path, model=model_path, out=work / "out")

    whole_s = median_time(whole, args.repeat)

    # -- the parts, each on its own ----------------------------------------------------------
    parts: dict[str, float] = {}
    parts["read policy"] = median_time(lambda: load_policy(policy_path), args.repeat)
    parts["read data"] = median_time(lambda: read_data_file(data_path), args.repeat)
    parts["fingerprint data (sha256)"] = median_time(lambda: sha256_file(data_path), args.repeat)
    parts["load model (skops)"] = median_time(lambda: load_model(model_path), args.repeat)
    policy = load_policy(policy_path)
    data = read_data_file(data_path)
    loaded = load_model(model_path)

    def fresh() -> CheckContext:
        return CheckContext(policy=policy, data=data, model=loaded)

    parts["model input (to pandas)"] = median_time(lambda: fresh().model_input(), args.repeat)
    x = fresh().model_input()
    parts["model.predict"] = median_time(lambda: loaded.predict(x), args.repeat)
    parts["model.predict_proba"] = median_time(lambda: loaded.predict_proba(x), args.repeat)
    parts["labels (y_true)"] = median_time(lambda: fresh().y_true(), args.repeat)

    warm = fresh()
    warm.y_true(), warm.y_pred(), warm.scores()
    cache = dict(warm._cache)
    for section, rule in policy.iter_rules():
        prepared = prepare_rule(section, rule)
        spec, params = prepared.spec, prepared.params

        def run_rule(spec: Any = spec, params: Any = params, rule: Any = rule) -> None:
            ctx = fresh()
            ctx._cache.update(cache)  # predictions computed once, as in the gate
            spec.func(ctx, rule, params)

        parts[f"rule {section}/{rule.id}"] = median_time(run_rule, args.repeat)
    parts["data summary"] = median_time(lambda: data_summary(data), args.repeat)
    evidence = charter.check(policy, data, model=loaded)
    parts["write evidence + report"] = median_time(
        lambda: write_outputs(evidence, work / "parts-out"), args.repeat
    )

    width = max(len(k) for k in parts) + 2
    print(f"\n{'part':<{width}} {'median s':>10}")
    for name, seconds in parts.items():
        print(f"{name:<{width}} {seconds:>10.3f}")
    total = sum(parts.values())
    print(f"{'-' * width} {'-' * 10}")
    print(f"{'sum of the parts':<{width}} {total:>10.3f}")
    print(f"{'whole charter.check (in process)':<{width}} {whole_s:>10.3f}")
    print(f"whole / sum of parts = {whole_s / total:.2f}")
    if args.cli:
        exe = Path(sys.executable).parent / "charter"

        def cli() -> None:
            done = subprocess.run(
                [str(exe), "check", "-p", str(policy_path), "-m", str(model_path),
                 "-d", str(data_path), "--out", str(work / "cli-out")],
                check=False, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode not in (0, 1):
                raise RuntimeError(f"charter check failed: {done.stderr}")

        cli_s = median_time(cli, args.repeat)
        print(f"{'whole charter check (CLI process)':<{width}} {cli_s:>10.3f}")
        print(f"CLI / sum of parts = {cli_s / total:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
