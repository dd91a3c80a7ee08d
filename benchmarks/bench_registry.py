"""Register a version and promote it, with 10,000 versions stored: Charter against MLflow.

Both registries run on SQLite files in the same process. Each is first loaded with
``--versions`` versions of one model (bulk-inserted through SQL, copying a version created
through the registry's own API, so indexes and row sizes are real; Charter's audit chain gets
one real entry per bulk version). Then, interleaved, each measured ``--repeat`` times after a
warm-up, median reported:

* MLflow: ``MlflowClient.create_model_version`` + ``set_registered_model_alias``;
* Charter: ``Registry.register`` (a new skops artifact hashed and stored content-addressed,
  its evidence bundle and policy validated and stored, git/data/environment lineage, audit
  entries) + ``Registry.request_promotion(..., "production")`` under a minimal-risk policy
  (no approvals: the promotion completes, re-checks the evidence against the policy, archives
  the previous production version, and audits it all in one transaction).

The target: Charter no slower. A second Charter figure adds ``--train-data`` (fingerprint and
the monitoring reference profile of a 5,000-row training file and of the model's outputs on
it), which MLflow has no counterpart for.

    python benchmarks/bench_registry.py --versions 10000 --repeat 15
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rich.console import Console

from charter.audit.chain import ChainWriter, require_key
from charter.evidence import Evidence, Finding, Fingerprint, Threshold, Verdict, fingerprint_file
from charter.lineage import environment
from charter.policy import load_policy
from charter.registry import Actor, Registry, Role
from charter.registry import tables as t

console = Console()
NAME = "credit-risk"
POLICY = {
    "version": 1,
    "model": {"name": NAME, "owner": "bench", "risk_tier": "minimal"},
    "data": {"target": "default", "rules": [{"id": "rows", "check": "min_rows", "min": 100}]},
}


def _frame(n: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    income, debt = rng.normal(50, 15, n), rng.normal(20, 8, n)
    return pd.DataFrame(
        {"income": income, "debt": debt, "default": (debt / income > 0.42).astype(int)}
    )


class Candidates:
    """Distinct model files with their evidence, made before timing starts."""

    def __init__(self, folder: Path, count: int) -> None:
        import skops.io as sio
        from sklearn.linear_model import LogisticRegression

        self.folder = folder
        self.policy = folder / "policy.yaml"
        self.policy.write_text(yaml.safe_dump(POLICY), encoding="utf-8")
        policy = load_policy(self.policy)
        frame = _frame()
        self.train = folder / "train.parquet"
        frame.to_parquet(self.train)
        self.items: list[tuple[Path, Path]] = []
        for i in range(count):
            model = LogisticRegression(C=1.0 + i / 10, max_iter=200).fit(
                frame[["income", "debt"]], frame["default"]
            )
            model_path = folder / f"model-{i}.skops"
            sio.dump(model, model_path)
            evidence = Evidence(
                model_name=NAME,
                policy=Fingerprint(
                    kind="policy", sha256=policy.sha256 or "", path=str(self.policy)
                ),
                inputs={"model": fingerprint_file(model_path, kind="model")},
                findings=(
                    Finding(
                        rule_id="rows",
                        check="min_rows",
                        section="data",
                        verdict=Verdict.PASS,
                        message="5000 rows",
                        metric="rows",
                        value=5000.0,
                        threshold=Threshold(min=100),
                    ),
                ),
                environment=environment(),
            )
            folder_i = folder / f"evidence-{i}"
            evidence.write(folder_i / "evidence.json")
            self.items.append((model_path, folder_i))


def charter_registry(folder: Path, versions: int, candidates: Candidates) -> tuple[Registry, Any]:
    registry, token = Registry.initialize(
        f"sqlite:///{folder / 'charter.db'}", admin="ada", artifact_store=str(folder / "art")
    )
    admin = registry.authenticate(token.token)
    eli = registry.authenticate(registry.add_user("eli", [Role.ML_ENGINEER], actor=admin).token)
    model, evidence = candidates.items[0]
    registry.register(NAME, model=model, evidence=evidence, policy=candidates.policy, actor=eli)
    registry.request_promotion(NAME, 1, "production", actor=eli)
    with registry.engine.begin() as connection:
        first = connection.execute(t.Version.__table__.select()).mappings().one()
        base = {k: v for k, v in first.items() if k not in ("id", "number", "stage")}
        rows = [{**base, "number": n, "stage": "archived"} for n in range(2, versions + 1)]
        connection.execute(t.Version.__table__.insert(), rows)
        chain = ChainWriter(connection, key=require_key("sha256"))
        for n in range(2, versions + 1):
            chain.append(
                actor="eli",
                action="version.register",
                subject=f"model:{NAME}/{n}",
                model=NAME,
                details={"version": n, "bulk": True},
            )
    return registry, eli


def mlflow_registry(folder: Path, versions: int) -> Any:
    import mlflow

    os.chdir(folder)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_registered_model(NAME)
    client.create_model_version(NAME, source=str(folder / "model"), run_id=None)
    with sqlite3.connect(folder / "mlflow.db") as connection:
        columns = [r[1] for r in connection.execute("PRAGMA table_info(model_versions)")]
        first = connection.execute("SELECT * FROM model_versions").fetchone()
        version_at = columns.index("version")
        rows = []
        for n in range(2, versions + 1):
            row = list(first)
            row[version_at] = n
            rows.append(row)
        marks = ", ".join("?" for _ in columns)
        connection.executemany(f"INSERT INTO model_versions VALUES ({marks})", rows)
    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="1,000 versions, 9 repeats")
    args = parser.parse_args(argv)
    versions, repeat = (1_000, 9) if args.quick else (args.versions, args.repeat)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        console.print(f"preparing {2 * repeat + 6} candidate models and their evidence…")
        (folder / "candidates").mkdir()
        candidates = Candidates(folder / "candidates", 2 * repeat + 6)
        console.print(f"loading {versions:,} versions into each registry…")
        started = time.perf_counter()
        (folder / "c").mkdir()
        (folder / "m").mkdir()
        registry, eli = charter_registry(folder / "c", versions, candidates)
        client = mlflow_registry(folder / "m", versions)
        os.chdir(here)
        console.print(f"loaded in {time.perf_counter() - started:.0f} s")

        queue = iter(candidates.items[1:])
        number = versions
        mlflow_version = versions

        def charter_once(train: bool) -> float:
            nonlocal number
            model, evidence = next(queue)
            started = time.perf_counter()
            registry.register(
                NAME,
                model=model,
                evidence=evidence,
                policy=candidates.policy,
                actor=eli,
                train_data=candidates.train if train else None,
            )
            number += 1
            request = registry.request_promotion(NAME, number, "production", actor=eli)
            elapsed = time.perf_counter() - started
            assert request.status == "completed"
            return elapsed

        def mlflow_once() -> float:
            nonlocal mlflow_version
            started = time.perf_counter()
            version = client.create_model_version(
                NAME, source=str(folder / "m" / "model"), run_id=None
            )
            client.set_registered_model_alias(NAME, "champion", version.version)
            elapsed = time.perf_counter() - started
            mlflow_version = int(version.version)
            return elapsed

        charter_once(False), mlflow_once()  # warm-up
        charter_once(True), mlflow_once()
        plain, with_data, peer = [], [], []
        for i in range(repeat):
            peer.append(mlflow_once())
            plain.append(charter_once(False))
            if i % 3 == 2:
                with_data.append(charter_once(True))
        assert mlflow_version == versions + repeat + 2
        assert registry.get_version(NAME, "production", actor=eli).number == number
        assert registry.verify_audit(actor=Actor.system("benchmark")).ok
        m, c, d = statistics.median(peer), statistics.median(plain), statistics.median(with_data)
        bm, bc, bd = min(peer), min(plain), min(with_data)
        console.print(f"{'':56s}{'median':>9s}{'best':>9s}")
        console.print(
            f"MLflow  create_model_version + set_registered_model_alias  {m * 1e3:7.1f} ms"
            f"{bm * 1e3:6.1f} ms"
        )
        console.print(
            f"Charter register + promote                                {c * 1e3:7.1f} ms"
            f"{bc * 1e3:6.1f} ms"
        )
        console.print(
            f"Charter register --train-data + promote                   {d * 1e3:7.1f} ms"
            f"{bd * 1e3:6.1f} ms"
        )
        verdict = "[green]no slower[/]" if c <= m else "[red]slower[/]"
        console.print(
            f"ratio Charter/MLflow {c / m:.2f}x — {verdict} (best of {repeat}: {bc / bm:.2f}x); "
            f"with training-data profile {d / m:.2f}x (medians, {versions:,} versions stored)"
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        console.print(
            f"load average {load:.1f} on {os.cpu_count()} CPUs: on a busy machine trust the "
            "best-of figures more than the medians"
        )
        registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
