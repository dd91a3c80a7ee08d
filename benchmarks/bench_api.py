"""The REST API's list endpoints on SQLite with 10,000 versions and 1,000,000 audit entries.

The registry is built the way ``bench_registry.py`` and ``bench_audit.py`` build theirs: one
version registered through the registry's API, copied by bulk INSERTs into ``--versions``
versions (each with its real audit entry), then the audit chain extended to ``--entries``
entries with real chained hashes. Every request is served by the app factory's application in
process (Starlette's TestClient: routing, authentication, the registry's queries, JSON), as the
role that would make it, ``--repeat`` times after a warm-up; median and 95th percentile are
printed against the 200 ms target, and against the registry call the route makes (the floor).

It also times registration by upload with a ``--train-rows``-row training file: how long the
request holds the caller (it answers 202 with a job) and how long the job then takes.

    python benchmarks/bench_api.py                      # 10,000 versions, 1,000,000 entries
    python benchmarks/bench_api.py --quick              # 2,000 versions, 100,000 entries
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_audit import fill
from bench_registry import NAME, Candidates, charter_registry
from charter.registry import Actor, Registry, Role
from charter.server.app import create_app
from charter.server.settings import ServerSettings

console = Console()
TARGET_MS = 200.0


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    call()  # warm-up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 versions, 100,000 entries")
    args = parser.parse_args(argv)
    if args.quick:
        args.versions, args.entries, args.repeat = 2_000, 100_000, 10
    warnings.filterwarnings("ignore")
    logging.getLogger("charter").setLevel(logging.WARNING)
    from fastapi.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        candidates = Candidates(folder, 2)
        console.print(f"building: {args.versions:,} versions, {args.entries:,} audit entries")
        registry, eli = charter_registry(folder, args.versions, candidates)
        engineer_token = registry.create_token(actor=eli, label="bench").token
        ada = Actor(username="ada", roles=frozenset({Role.ADMIN}))  # charter_registry's admin
        auditor_token = registry.add_user("otto", [Role.AUDITOR], actor=ada).token
        otto = registry.authenticate(auditor_token)
        with registry.engine.connect() as connection:
            head = int(
                connection.exec_driver_sql("SELECT max(seq) FROM charter_audit_entries").scalar()
            )
        fill(registry, max(args.entries - head, 0))
        url = str(registry.engine.url)
        registry.close()

        settings = ServerSettings(
            home=folder / "home",
            database_url=url,
            artifact_store=str(folder / "art"),
            inference_log=folder / "inference",
            secret_key="bench-" + "k" * 40,
        )
        rows: list[tuple[str, list[float], list[float] | None]] = []
        with TestClient(create_app(settings)) as client:
            served: Registry = client.app.state.registry  # type: ignore[attr-defined]
            auditor = {"Authorization": f"Bearer {auditor_token}"}
            engineer = {"Authorization": f"Bearer {engineer_token}"}
            last_page = args.versions - 20
            deep = args.entries // 2

            def get(path: str, headers: dict[str, str], **params: Any) -> Callable[[], Any]:
                def call() -> Any:
                    response = client.get(path, headers=headers, params=params)
                    assert response.status_code == 200, response.text
                    return response

                return call

            cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
                (
                    "GET /models",
                    get("/api/v1/models", engineer),
                    lambda: served.list_models(actor=eli),
                ),
                (
                    "GET /models/{name}/versions (first page of 20)",
                    get(f"/api/v1/models/{NAME}/versions", engineer),
                    lambda: served.list_versions(NAME, actor=eli, limit=21),
                ),
                (
                    f"GET …/versions?after={last_page} (last page)",
                    get(f"/api/v1/models/{NAME}/versions", engineer, after=last_page),
                    lambda: served.list_versions(NAME, actor=eli, after=last_page, limit=21),
                ),
                (
                    "GET …/versions/production",
                    get(f"/api/v1/models/{NAME}/versions/production", engineer),
                    lambda: served.get_version(NAME, "production", actor=eli),
                ),
                (
                    "GET /requests?status=all",
                    get("/api/v1/requests", engineer, status="all"),
                    lambda: served.list_requests(actor=eli, status=None),
                ),
                (
                    "GET /audit (newest 100)",
                    get("/api/v1/audit", auditor),
                    lambda: served.audit_log(actor=otto, limit=101, descending=True),
                ),
                (
                    f"GET /audit?cursor={deep:,} (deep page)",
                    get("/api/v1/audit", auditor, cursor=deep),
                    lambda: served.audit_log(actor=otto, limit=101, before=deep, descending=True),
                ),
                (
                    "GET /audit?actor=ann",
                    get("/api/v1/audit", auditor, actor="ann"),
                    lambda: served.audit_log(actor=otto, user="ann", limit=101, descending=True),
                ),
                (
                    "GET /audit?action=promotion.*",
                    get("/api/v1/audit", auditor, action="promotion.*"),
                    lambda: served.audit_log(
                        actor=otto, action="promotion.*", limit=101, descending=True
                    ),
                ),
                (
                    "GET /audit?model=…&version=250",
                    get("/api/v1/audit", auditor, model=NAME, version=250),
                    lambda: served.audit_log(
                        actor=otto,
                        model=NAME,
                        subject=f"model:{NAME}/250",
                        limit=101,
                        descending=True,
                    ),
                ),
                (
                    "GET /audit?request_id=… (none match)",
                    get("/api/v1/audit", auditor, request_id="no-such-call"),
                    lambda: served.audit_log(
                        actor=otto, request_id="no-such-call", limit=101, descending=True
                    ),
                ),
            ]
            for label, call, floor in cases:
                rows.append(
                    (label, timed(call, args.repeat), timed(floor, args.repeat) if floor else None)
                )

            upload = _upload(folder, candidates, args.train_rows)
            held, total = _register(client, engineer, upload)

    table = Table(title=f"REST API on SQLite: {args.versions:,} versions, {args.entries:,} entries")
    for column in ("request", "median ms", "p95 ms", "registry call ms", "ratio", "under 200 ms"):
        table.add_column(column, justify="right" if column != "request" else "left")
    for label, values, floor in rows:
        median = statistics.median(values)
        base = statistics.median(floor) if floor else None
        table.add_row(
            label,
            f"{median:.1f}",
            f"{p95(values):.1f}",
            f"{base:.1f}" if base is not None else "-",
            f"{median / base:.2f}x" if base else "-",
            "yes" if p95(values) < TARGET_MS else "NO",
        )
    console.print(table)
    console.print(
        f"register by upload, {args.train_rows:,} training rows: the request answered 202 in "
        f"{held:.0f} ms; the job finished after {total:.0f} ms"
    )
    return 0 if all(p95(v) < TARGET_MS for _, v, _ in rows) else 1


def _upload(folder: Path, candidates: Candidates, rows: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    income, debt = rng.normal(50, 15, rows), rng.normal(20, 8, rows)
    frame = pd.DataFrame(
        {"income": income, "debt": debt, "default": (debt / income > 0.42).astype(int)}
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    model, evidence = candidates.items[1]
    return {
        "model": ("model.skops", model.read_bytes()),
        "evidence": ("evidence.json", (evidence / "evidence.json").read_bytes()),
        "policy": ("policy.yaml", candidates.policy.read_bytes()),
        "train_data": ("train.parquet", buffer.getvalue()),
    }


def _register(client: Any, headers: dict[str, str], files: dict[str, Any]) -> tuple[float, float]:
    start = time.perf_counter()
    response = client.post(
        f"/api/v1/models/{NAME}/versions",
        headers={**headers, "Prefer": "respond-async"},
        files=files,
    )
    held = (time.perf_counter() - start) * 1000
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    while (job := client.get(location, headers=headers).json())["status"] == "running":
        time.sleep(0.02)
    assert job["status"] == "succeeded", job
    return held, (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    sys.exit(main())
