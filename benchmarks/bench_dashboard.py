"""Every dashboard page's server time on SQLite with 10,000 versions and 1,000,000 audit entries.

The registry is built quickly and honestly: one version is registered through the registry's
own API (a real scikit-learn model, real evidence, a high-risk policy needing two approvals),
then copied by bulk INSERTs into ``--versions`` versions of one model; ``--spells`` of them went
through production (a completed request with two approvals and the stage transitions each),
20 wait in the inbox, and the audit chain is extended to ``--entries`` entries with real hashes
(bulk-inserted, each linked to the one before, so ``charter audit verify`` still passes). One
real monitoring run (six daily windows with drift, window fairness and accuracy) is recorded for
the production version.

Each page is then served by the app factory's application in process (Starlette's TestClient;
the time is the whole request: routing, session, registry queries, template) ``--repeat``
times after a warm-up, as the role that would open it. The median and the 95th percentile are
printed against the 200 ms target; where the REST API serves the same data, its time is the
peer in the same run and the ratio is printed.

    python benchmarks/bench_dashboard.py                 # 10,000 versions, 1,000,000 entries
    python benchmarks/bench_dashboard.py --quick         # 2,000 versions, 100,000 entries
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select, update

from charter.audit.chain import entry_body, hash_body, utc_timestamp
from charter.evidence import Evidence, Finding, Fingerprint, Threshold, Verdict, fingerprint_file
from charter.lineage import environment
from charter.policy import load_policy
from charter.registry import Registry, Role
from charter.registry import tables as t

console = Console()
NAME = "credit-risk"
TARGET_MS = 200.0
POLICY = {
    "version": 1,
    "model": {"name": NAME, "owner": "credit-team", "risk_tier": "high"},
    "data": {
        "target": "default",
        "sensitive": ["sex"],
        "rules": [{"id": "rows", "check": "min_rows", "min": 100}],
    },
}
TEAM = {
    "eli": Role.ML_ENGINEER,
    "ann": Role.APPROVER,
    "arno": Role.APPROVER,
    "otto": Role.AUDITOR,
    "mo": Role.MONITOR,
}


def _frame(n: int, seed: int, shift: float = 0.0, start: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    income, debt = rng.normal(50 + 15 * shift, 15, n), rng.normal(20, 8, n)
    default = (rng.random(n) < 0.25).astype(int)
    score = np.clip(0.25 + 0.35 * (default - 0.25) + rng.normal(0, 0.12, n), 0, 1)
    frame = pd.DataFrame(
        {"income": income, "debt": debt, "sex": sex, "default": default, "score": score}
    )
    if start is not None:
        offsets = pd.to_timedelta(np.sort(rng.integers(0, 86400, n)), unit="s")
        frame["ts"] = pd.Timestamp(start) + offsets
    return frame


def _register_first(folder: Path, registry: Registry, actors: dict[str, Any]) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    policy_path = folder / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    policy = load_policy(policy_path)
    frame = _frame(2_000, 0)
    model = LogisticRegression(max_iter=200).fit(frame[["income", "debt"]], frame["default"])
    model_path = folder / "model.skops"
    sio.dump(model, model_path)
    evidence = Evidence(
        model_name=NAME,
        policy=Fingerprint(kind="policy", sha256=policy.sha256 or "", path=str(policy_path)),
        inputs={"model": fingerprint_file(model_path, kind="model")},
        findings=(
            Finding(
                rule_id="rows",
                check="min_rows",
                section="data",
                verdict=Verdict.PASS,
                message="2000 rows",
                metric="rows",
                value=2000.0,
                threshold=Threshold(min=100),
            ),
        ),
        environment=environment(),
    )
    evidence.write(folder / "evidence" / "evidence.json")
    registry.register(
        NAME,
        model=model_path,
        evidence=folder / "evidence",
        policy=policy_path,
        actor=actors["eli"],
        params={"C": 1.0, "max_iter": 200},
    )


def build(folder: Path, versions: int, entries: int, spells: int) -> tuple[str, dict[str, str]]:
    """The registry described in the module notes; returns its URL and the team's tokens."""
    url = f"sqlite:///{folder / 'registry.db'}"
    registry, admin_token = Registry.initialize(url, admin="ada", artifact_store=str(folder / "a"))
    tokens = {"ada": admin_token.token}
    actors = {"ada": registry.authenticate(admin_token.token)}
    for user, role in TEAM.items():
        tokens[user] = registry.add_user(user, [role], actor=actors["ada"]).token
        actors[user] = registry.authenticate(tokens[user])
    _register_first(folder, registry, actors)
    now = datetime.now(UTC)
    with registry.engine.begin() as connection:
        first = connection.execute(select(t.Version.__table__)).mappings().one()
        base = {k: v for k, v in first.items() if k not in ("id", "number", "stage")}
        created = now - timedelta(days=730)
        step = timedelta(days=720) / versions
        connection.execute(
            insert(t.Version.__table__),
            [
                {**base, "number": n, "stage": None, "created_at": created + n * step}
                for n in range(2, versions + 1)
            ],
        )
        ids = dict(connection.execute(select(t.Version.number, t.Version.id)).tuples().all())
        digest = connection.execute(select(t.EvidenceRecord.digest)).scalar_one()
        # production spells: a completed request with two approvals, and the transitions
        live = [int(n) for n in np.linspace(2, versions - 40, spells)]
        for i, number in enumerate(live):
            at = now - timedelta(days=700) + i * (timedelta(days=690) / spells)
            request_id = connection.execute(
                insert(t.PromotionRequest.__table__).values(
                    version_id=ids[number],
                    to_stage="production",
                    status="completed",
                    required_approvals=2,
                    evidence_digest=digest,
                    requested_by="eli",
                    requested_at=at - timedelta(hours=5),
                    decided_by="arno",
                    decided_at=at,
                )
            ).inserted_primary_key[0]
            connection.execute(
                insert(t.Approval.__table__),
                [
                    {
                        "request_id": request_id,
                        "approver": who,
                        "evidence_digest": digest,
                        "created_at": at - timedelta(hours=h),
                    }
                    for who, h in (("ann", 2), ("arno", 0))
                ],
            )
            moves = [(number, None, "production")]
            if i:
                moves.insert(0, (live[i - 1], "production", "archived"))
            connection.execute(
                insert(t.StageTransition.__table__),
                [
                    {
                        "version_id": ids[v],
                        "from_stage": a,
                        "to_stage": b,
                        "request_id": request_id,
                        "actor": "arno",
                        "at": at,
                    }
                    for v, a, b in moves
                ],
            )
        connection.execute(
            update(t.Version.__table__)
            .where(t.Version.id.in_([ids[n] for n in live[:-1]]))
            .values(stage="archived")
        )
        connection.execute(
            update(t.Version.__table__)
            .where(t.Version.id == ids[live[-1]])
            .values(stage="production", stage_changed_at=now - timedelta(days=10))
        )
        # twenty requests wait in the inbox, each with one approval of two
        for number in range(versions - 19, versions + 1):
            request_id = connection.execute(
                insert(t.PromotionRequest.__table__).values(
                    version_id=ids[number],
                    to_stage="production",
                    status="pending",
                    required_approvals=2,
                    evidence_digest=digest,
                    requested_by="eli",
                    requested_at=now - timedelta(hours=number % 48),
                )
            ).inserted_primary_key[0]
            connection.execute(
                insert(t.Approval.__table__).values(
                    request_id=request_id, approver="ann", evidence_digest=digest
                )
            )
        _extend_chain(connection, entries, versions)
    _record_monitoring(registry, actors["mo"], live[-1])
    registry.close()
    return url, tokens


def _extend_chain(connection: Any, entries: int, versions: int) -> None:
    """Append entries up to ``entries`` in all, hashed and linked, by bulk INSERT."""
    seq, head = connection.execute(select(t.audit_head.c.seq, t.audit_head.c.hash)).one()
    rng = np.random.default_rng(7)
    actors = np.array(["eli", "ann", "arno", "otto", "mo", "ada", "dora", "emma"])
    actions = np.array(
        [
            "version.register",
            "promotion.requested",
            "promotion.approved",
            "promotion.completed",
            "monitoring.record",
            "version.flag",
            "token.create",
            "access.denied",
        ]
    )
    models = np.array([NAME, NAME, NAME, "fraud", "churn"])
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=729) / max(entries, 1)
    batch: list[dict[str, str]] = []
    n = int(seq)
    while n < entries:
        n += 1
        model = str(models[rng.integers(len(models))])
        version = int(rng.integers(1, versions + 1))
        body = entry_body(
            seq=n,
            at=utc_timestamp(start + n * step),
            actor=str(actors[rng.integers(len(actors))]),
            action=str(actions[rng.integers(len(actions))]),
            subject=f"model:{model}/{version}",
            model=model,
            details={"version": version, "bulk": True},
            alg="sha256",
            prev_hash=head,
            request_id=f"req-{n:07d}" if n % 3 == 0 else None,
        )
        head = hash_body(body)
        batch.append({"body": body, "hash": head})
        if len(batch) == 50_000:
            connection.execute(insert(t.audit_entries), batch)
            batch = []
    if batch:
        connection.execute(insert(t.audit_entries), batch)
    connection.execute(update(t.audit_head).values(seq=n, hash=head))


def _record_monitoring(registry: Registry, monitor_actor: Any, number: int) -> None:
    from charter.monitor.run import monitor
    from charter.policy.loader import policy_from_dict
    from charter.stats.profile import build_profile

    policy = policy_from_dict(
        {
            "model": {"name": NAME},
            "data": {"target": "default", "score": "score", "sensitive": ["sex"]},
            "fairness": {
                "bootstrap": 100,
                "rules": [{"id": "parity", "check": "demographic_parity_difference", "max": 0.1}],
            },
            "performance": {"rules": [{"id": "accuracy", "check": "accuracy", "min": 0.6}]},
            "monitoring": {"window": "1d", "timestamp_column": "ts"},
        }
    )
    reference = build_profile(_frame(4_000, 1))
    first = pd.Timestamp.now(tz="UTC").normalize().tz_localize(None) - pd.Timedelta(days=5)
    log = pd.concat(
        [_frame(800, 10 + d, 0.6 * (d >= 3), str(first + pd.Timedelta(days=d))) for d in range(6)],
        ignore_index=True,
    )
    result = monitor(NAME, log, policy=policy, reference=reference, version=str(number))
    registry.record_monitoring(NAME, number, result.evidence, actor=monitor_actor)


def _login(client: Any, token: str) -> None:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post(
        "/login", data={"token": token, "csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text


def _time(call: Any, repeat: int) -> tuple[float, float]:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--spells", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="2,000 versions, 100,000 entries")
    args = parser.parse_args(argv)
    if args.quick:
        args.versions, args.entries, args.spells, args.repeat = 2_000, 100_000, 100, 7
    logging.getLogger("charter").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    from fastapi.testclient import TestClient

    from charter.server.app import create_app
    from charter.server.settings import ServerSettings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        console.print(
            f"building a registry: {args.versions:,} versions, {args.entries:,} audit entries, "
            f"{args.spells} production spells…"
        )
        started = time.perf_counter()
        url, tokens = build(folder, args.versions, args.entries, args.spells)
        console.print(f"built in {time.perf_counter() - started:.0f} s")
        settings = ServerSettings.model_validate(
            {
                "home": folder / "home",
                "database_url": url,
                "artifact_store": str(folder / "a"),
                "inference_log": folder / "home" / "inference",
                "secret_key": "b" * 48,
            }
        )
        app = create_app(settings)
        with TestClient(app) as client:
            registry = app.state.registry
            auditor = registry.authenticate(tokens["otto"])
            production = registry.get_version(NAME, "production", actor=auditor).number
            pages: list[tuple[str, str, str | None]] = [
                ("approver", "/inbox", "/api/v1/requests"),
                ("auditor", "/models", "/api/v1/models"),
                # (not /api/v1/models/NAME/versions: it builds every version's record, ~30 s here)
                ("auditor", f"/models/{NAME}", f"/api/v1/models/{NAME}"),
                ("auditor", f"/models/{NAME}?before={args.versions // 2}", None),
                (
                    "auditor",
                    f"/models/{NAME}/versions/{production}",
                    f"/api/v1/models/{NAME}/versions/{production}",
                ),
                (
                    "auditor",
                    f"/models/{NAME}/versions/{production}/card",
                    f"/api/v1/models/{NAME}/versions/{production}/card?format=html",
                ),
                ("auditor", f"/compare?a={NAME}:2&b={NAME}:{production}", None),
                ("auditor", f"/compare?a={NAME}:2&b={NAME}:{production}&changes=1", None),
                ("auditor", "/audit", "/api/v1/audit?limit=50"),
                ("auditor", "/audit?actor=ann", "/api/v1/audit?limit=50&actor=ann"),
                (
                    "auditor",
                    "/audit?action=promotion.approved",
                    "/api/v1/audit?limit=50&action=promotion.approved",
                ),
                (
                    "auditor",
                    "/audit?action=promotion.*",
                    "/api/v1/audit?limit=50&action=promotion.*",
                ),
                (
                    "auditor",
                    f"/audit?model={NAME}&version={args.versions // 2}",
                    f"/api/v1/audit?limit=50&model={NAME}&version={args.versions // 2}",
                ),
                (
                    "auditor",
                    "/audit?model=churn&actor=mo",
                    "/api/v1/audit?limit=50&model=churn&actor=mo",
                ),
                (
                    "auditor",
                    f"/audit?request_id=req-{(args.entries // 2) // 3 * 3:07d}",
                    f"/api/v1/audit?limit=50&request_id=req-{(args.entries // 2) // 3 * 3:07d}",
                ),
                (
                    "auditor",
                    "/audit?since=2026-01-01&until=2026-01-02",
                    "/api/v1/audit?limit=50&since=2026-01-01&until=2026-01-02",
                ),
                ("auditor", f"/audit?before={args.entries // 2}", None),
                (
                    "auditor",
                    f"/models/{NAME}/versions/{production}/monitoring",
                    f"/api/v1/models/{NAME}/versions/{production}/monitoring",
                ),
                ("admin", "/admin", "/api/v1/users"),
            ]
            browsers = {}
            for role, user in (("approver", "arno"), ("auditor", "otto"), ("admin", "ada")):
                browser = TestClient(app)
                _login(browser, tokens[user])
                browsers[role] = (browser, user)
            table = Table(
                title=f"Dashboard pages: {args.versions:,} versions, {args.entries:,} audit "
                f"entries, SQLite (median of {args.repeat}; target {TARGET_MS:.0f} ms)"
            )
            for column in ("page", "as", "median ms", "p95 ms", "target", "API ms", "page/API"):
                table.add_column(column, justify="left" if column in ("page", "as") else "right")
            slowest = 0.0
            for role, path, api in pages:
                browser, user = browsers[role]
                median, p95 = _time(lambda b=browser, p=path: b.get(p), args.repeat)
                slowest = max(slowest, median)
                api_text, ratio = "—", "—"
                if api is not None:
                    headers = {"Authorization": f"Bearer {tokens[user]}"}
                    api_median, _ = _time(
                        lambda a=api, h=headers: client.get(a, headers=h), args.repeat
                    )
                    api_text, ratio = f"{api_median:.1f}", f"{median / api_median:.2f}×"
                verdict = "[green]ok[/]" if median <= TARGET_MS else "[red]over[/]"
                table.add_row(path, user, f"{median:.1f}", f"{p95:.1f}", verdict, api_text, ratio)
            console.print(table)
            console.print(
                f"slowest page median: {slowest:.1f} ms "
                f"({'within' if slowest <= TARGET_MS else 'over'} the {TARGET_MS:.0f} ms target)"
            )
            return 0 if slowest <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
