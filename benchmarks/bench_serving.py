"""Serving speed: `charter serve` (prediction + explanation + log) against `mlflow models serve`.

The model: a LightGBM classifier of 100 trees, 31 leaves, 20 features, trained here on 20,000
rows, registered in a fresh SQLite registry and promoted to production. Both servers run as
real processes on loopback, each with one uvicorn worker; MLflow serves the same fitted model
(``mlflow models serve --env-manager local``), predict only, no explanation, no log. The
client is this process (httpx over keep-alive connections) on the same 2 cores.

1. One client, sequential one-row requests: p50 and p99 latency, client-side (round trip) and
   server-side (Charter's ``Server-Timing`` header: auth, parse, validate, predict, explain,
   log record, encode; MLflow has no such header), and the ratio to MLflow.
2. 8 concurrent clients, one keep-alive connection each (ApacheBench ``ab -k -c 8`` when it is
   installed, a C client that leaves the cores to the servers; else asyncio httpx), requests of
   one row and of ten rows: rows/s.
3. Batches of 1,000 rows: rows/s, and the explanation's share of the server time
   (``?explain=false`` against the default).
4. The log: every row Charter answered is counted; a graceful restart (SIGTERM, start again)
   happens in the middle; at the end the log's records are counted against the answers, and
   the dropped counter of ``/metrics`` is read before each stop.

    python benchmarks/bench_serving.py --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

console = Console()
NAME = "bench-scorer"
FEATURES = [f"x{i}" for i in range(20)]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _train(folder: Path) -> tuple[Any, pd.DataFrame]:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(20_000, 20)), columns=FEATURES)
    logit = x["x0"] - x["x1"] + x["x2"] * x["x3"] + 0.5 * np.sin(x["x4"])
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
    model = lgb.LGBMClassifier(
        n_estimators=100, num_leaves=31, learning_rate=0.05, verbose=-1, n_jobs=1
    ).fit(x, y)
    frame = x.assign(label=y)
    return model, frame


def _registry(folder: Path, model: Any, frame: pd.DataFrame) -> dict[str, str]:
    """A registry with the model in production; returns the environment of `charter serve`."""
    import charter
    from charter.evidence import (
        Evidence,
        Finding,
        Fingerprint,
        Threshold,
        Verdict,
        fingerprint_file,
    )
    from charter.lineage import environment
    from charter.policy import load_policy
    from charter.registry import Registry, Role

    url = f"sqlite:///{folder / 'registry.db'}"
    store = folder / "artifacts"
    registry, admin = Registry.initialize(url, admin="ada", artifact_store=str(store))
    ada = registry.authenticate(admin.token)
    eli = registry.authenticate(registry.add_user("eli", [Role.ML_ENGINEER], actor=ada).token)
    invoker = registry.add_user("app", [Role.INVOKER], actor=ada).token
    path = charter.save_model(model, folder / "model.skops")
    policy = folder / "policy.yaml"
    document = {
        "version": 1,
        "model": {"name": NAME, "owner": "bench", "risk_tier": "minimal"},
        "data": {"target": "label", "rules": [{"id": "rows", "check": "min_rows", "min": 100}]},
        "monitoring": {"timestamp_column": "ts"},
    }
    policy.write_text(yaml.safe_dump(document), encoding="utf-8")
    loaded = load_policy(policy)
    evidence = Evidence(
        model_name=NAME,
        policy=Fingerprint(kind="policy", sha256=loaded.sha256 or "", path=str(policy)),
        inputs={"model": fingerprint_file(path, kind="model")},
        findings=(
            Finding(
                rule_id="rows",
                check="min_rows",
                section="data",
                verdict=Verdict.PASS,
                message="20000 rows",
                metric="rows",
                value=20_000.0,
                threshold=Threshold(min=100),
            ),
        ),
        environment=environment(),
    )
    (folder / "evidence").mkdir()
    evidence.write(folder / "evidence" / "evidence.json")
    train = folder / "train.parquet"
    frame.to_parquet(train)
    registry.register(
        NAME,
        model=path,
        evidence=folder / "evidence",
        policy=policy,
        train_data=train,
        actor=eli,
        source_dir=folder,
    )
    registry.request_promotion(NAME, 1, "production", actor=eli)
    registry.close()
    env = dict(os.environ)
    env.update(
        CHARTER_DATABASE_URL=url,
        CHARTER_ARTIFACT_STORE=str(store),
        CHARTER_HOME=str(folder / "home"),
        CHARTER_INFERENCE_LOG=str(folder / "log"),
        CHARTER_SECRET_KEY="b" * 48,
        CHARTER_TOKEN=invoker,
    )
    return env


class Charter:
    """`charter serve` as a process, restartable on the same port."""

    def __init__(self, env: dict[str, str], port: int, workers: int = 1) -> None:
        self.env, self.port, self.workers = env, port, workers
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.dropped = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(str(BIN / "charter"), "serve", "--port", str(self.port)),
                *("--log-level", "warning", "--workers", str(self.workers)),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(f"{self.url}/healthz", self.process)

    def stop(self) -> None:
        assert self.process is not None
        text = httpx.get(f"{self.url}/metrics").text
        found = re.search(r"^charter_inference_log_records_dropped_total (\S+)$", text, re.M)
        self.dropped += int(float(found.group(1))) if found else 0
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def _mlflow(model: Any, folder: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    where = folder / "mlflow-model"
    sample = pd.DataFrame(np.zeros((2, 20)), columns=FEATURES)
    mlflow.lightgbm.save_model(
        model, str(where), signature=infer_signature(sample, model.predict(sample))
    )
    process = subprocess.Popen(
        [
            *(str(BIN / "mlflow"), "models", "serve", "-m", str(where)),
            *("--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"},
    )
    _wait(f"http://127.0.0.1:{port}/ping", process)
    return process


def _payload(rows: np.ndarray) -> dict[str, Any]:
    return {"dataframe_split": {"columns": FEATURES, "data": rows.tolist()}}


def _sequential(
    url: str, rows: np.ndarray, n: int, headers: dict[str, str], counted: list[int]
) -> tuple[list[float], list[float]]:
    client_ms, server_ms = [], []
    with httpx.Client(headers=headers, timeout=30) as http:
        for i in range(n + 50):
            body = _payload(rows[i % len(rows) : i % len(rows) + 1])
            started = time.perf_counter()
            answer = http.post(url, json=body)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200, answer.text
            counted.append(1) if "request_id" in answer.text else None
            if i < 50:
                continue  # warm-up
            client_ms.append(elapsed)
            timing = answer.headers.get("server-timing")
            if timing:
                server_ms.append(float(timing.split("dur=")[1]))
    return client_ms, server_ms


async def _concurrent_async(
    url: str, rows: np.ndarray, clients: int, seconds: float, headers: dict[str, str], size: int
) -> tuple[int, int]:
    done = 0
    answered = 0
    stop = time.monotonic() + seconds

    async def one(k: int) -> None:
        nonlocal done, answered
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            i = k * 97
            while time.monotonic() < stop:
                start = i % (len(rows) - size)
                answer = await http.post(url, json=_payload(rows[start : start + size]))
                assert answer.status_code == 200, answer.text
                done += size
                answered += size if "request_id" in answer.text else 0
                i += 1

    await asyncio.gather(*(one(k) for k in range(clients)))
    return done, answered


def _concurrent(
    url: str, rows: np.ndarray, clients: int, seconds: float, headers: dict[str, str], size: int
) -> tuple[float, int]:
    """Rows/s with ``clients`` concurrent connections; ApacheBench (C) when installed."""
    if shutil.which("ab"):
        return _ab(url, rows[:size], clients, seconds, headers)
    started = time.perf_counter()
    done, answered = asyncio.run(_concurrent_async(url, rows, clients, seconds, headers, size))
    return done / (time.perf_counter() - started), answered


def _ab(
    url: str, rows: np.ndarray, clients: int, seconds: float, headers: dict[str, str]
) -> tuple[float, int]:
    """ApacheBench: ``clients`` keep-alive connections POSTing the same rows for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(_payload(rows), handle)
    command = ["ab", "-q", "-k", "-c", str(clients), "-t", str(seconds), "-n", "10000000"]
    command += ["-p", handle.name, "-T", "application/json"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", done).group(1))  # type: ignore[union-attr]
    complete = int(re.search(r"Complete requests:\s+(\d+)", done).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+(\d+)", done).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", done)
    bad = failed + (int(non2xx.group(1)) if non2xx else 0)
    if bad:
        raise SystemExit(f"ab: {bad} of {complete} requests failed\n{done}")
    Path(handle.name).unlink()
    return rate * len(rows), complete * len(rows)


def _batches(
    url: str, rows: np.ndarray, repeat: int, headers: dict[str, str], counted: list[int]
) -> tuple[float, float]:
    """Median server ms per 1,000-row batch (explained), and client ms."""
    server, client = [], []
    with httpx.Client(headers=headers, timeout=60) as http:
        for i in range(repeat + 2):
            start = (i * 1_000) % (len(rows) - 1_000)
            body = _payload(rows[start : start + 1_000])
            began = time.perf_counter()
            answer = http.post(url, json=body)
            assert answer.status_code == 200, answer.text
            if "request_id" in answer.text:
                counted.append(1_000)
            if i >= 2:
                client.append((time.perf_counter() - began) * 1000)
                timing = answer.headers.get("server-timing")
                server.append(float(timing.split("dur=")[1]) if timing else float("nan"))
    return statistics.median(server), statistics.median(client)


def _floor(url: str, n: int) -> float:
    """Median round trip of a GET that does no work: the HTTP stack's own cost."""
    times = []
    with httpx.Client(timeout=30) as http:
        for _ in range(n):
            started = time.perf_counter()
            http.get(url)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[50:])


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes, for both Charter and MLflow"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    console.print(f"[dim]working in {folder}[/]")
    model, frame = _train(folder)
    env = _registry(folder, model, frame)
    rows = frame[FEATURES].to_numpy()[:10_000]
    charter = Charter(env, _free_port(), args.workers)
    charter.start()
    mlflow_port = _free_port()
    mlflow = _mlflow(model, folder, mlflow_port, args.workers)
    auth = {"Authorization": f"Bearer {env['CHARTER_TOKEN']}"}
    predict = f"{charter.url}/api/v1/models/{NAME}/predict"
    plain = f"{predict}?explain=false"
    invocations = f"http://127.0.0.1:{mlflow_port}/invocations"
    answered: list[int] = []
    try:
        c_client, c_server = _sequential(predict, rows, args.requests, auth, answered)
        m_client, _ = _sequential(invocations, rows, args.requests, {}, [])
        c_rate, c_rows = _concurrent(predict, rows, 8, args.seconds, auth, 1)
        answered.append(c_rows)
        charter.stop()  # a graceful restart in the middle of the run
        charter.start()
        m_rate, _ = _concurrent(invocations, rows, 8, args.seconds, {}, 1)
        c_rate10, c_rows10 = _concurrent(predict, rows, 8, args.seconds, auth, 10)
        answered.append(c_rows10)
        m_rate10, _ = _concurrent(invocations, rows, 8, args.seconds, {}, 10)
        b_explained, b_client = _batches(predict, rows, args.batches, auth, answered)
        b_plain, b_plain_client = _batches(plain, rows, args.batches, auth, answered)
        _, m_batch_client = _batches(invocations, rows, args.batches, {}, [])
        floor = _floor(f"{charter.url}/healthz", args.requests)
        m_floor = _floor(f"http://127.0.0.1:{mlflow_port}/ping", args.requests)
    finally:
        charter.stop()
        mlflow.send_signal(signal.SIGTERM)
        mlflow.wait(60)
    import pyarrow.dataset as ds

    logged = ds.dataset(str(folder / "log" / NAME), format="parquet").count_rows()
    table = Table(title="Serving: LightGBM 100 trees x 31 leaves, 20 features (2 cores)")
    table.add_column("measure")
    table.add_column("Charter (explained + logged)", justify="right")
    table.add_column("mlflow models serve (predict)", justify="right")
    table.add_column("ratio", justify="right")
    p50, p99 = _pct(c_client, 50), _pct(c_client, 99)
    m50, m99 = _pct(m_client, 50), _pct(m_client, 99)
    table.add_row(
        "1 client, 1 row: p50 ms (client)", f"{p50:.2f}", f"{m50:.2f}", f"{m50 / p50:.2f}x"
    )
    table.add_row(
        "1 client, 1 row: p99 ms (client)", f"{p99:.2f}", f"{m99:.2f}", f"{m99 / p99:.2f}x"
    )
    table.add_row(
        "1 client, 1 row: p50 / p99 ms (server)",
        f"{_pct(c_server, 50):.2f} / {_pct(c_server, 99):.2f}",
        "-",
        "",
    )
    table.add_row("HTTP floor: GET /healthz | /ping, p50 ms", f"{floor:.2f}", f"{m_floor:.2f}", "")
    table.add_row(
        "8 clients, 1-row requests: rows/s",
        f"{c_rate:,.0f}",
        f"{m_rate:,.0f}",
        f"{c_rate / m_rate:.2f}x",
    )
    table.add_row(
        "8 clients, 10-row requests: rows/s",
        f"{c_rate10:,.0f}",
        f"{m_rate10:,.0f}",
        f"{c_rate10 / m_rate10:.2f}x",
    )
    table.add_row(
        "batch of 1,000 rows: rows/s (client)",
        f"{1e6 / b_client:,.0f}",
        f"{1e6 / m_batch_client:,.0f}",
        f"{m_batch_client / b_client:.2f}x",
    )
    table.add_row(
        "batch of 1,000, ?explain=false: rows/s (client)",
        f"{1e6 / b_plain_client:,.0f}",
        f"{1e6 / m_batch_client:,.0f}",
        f"{m_batch_client / b_plain_client:.2f}x",
    )
    share = max(0.0, (b_explained - b_plain) / b_explained)
    table.add_row(
        "batch of 1,000: server ms explained / not; share",
        f"{b_explained:.1f} / {b_plain:.1f}; {share:.0%}",
        "-",
        "",
    )
    table.add_row(
        "log records: answered rows / logged / dropped",
        f"{sum(answered):,} / {logged:,} / {charter.dropped}",
        "-",
        "",
    )
    console.print(table)
    console.print(f"load average during the run: {os.getloadavg()}")
    lost = sum(answered) - logged
    console.print(
        f"log: {sum(answered):,} rows answered across a graceful restart, {logged:,} records"
        f" in the log, {max(lost, 0)} lost, {charter.dropped} dropped (more records than answers:"
        " requests the load generator abandoned at its time limit were still answered and logged)"
    )


if __name__ == "__main__":
    main()
