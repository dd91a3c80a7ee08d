"""The whole lifecycle through the `charter` console script, as a new user runs it.

gate → registry → monitoring on a small deterministic credit data set with a planted bias: the
first model fails the fairness gate and its promotion is refused; the reweighed model passes,
is registered with its training data, approved by two approvers and promoted; a drifted
production log then fails monitoring against the registry's reference profile, the evidence is
recorded, the version flagged, and the audit trail stays intact. On SQLite in a fresh folder
(the default `.charter/`), and on PostgreSQL in a schema of its own when
CHARTER_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from charter.artifacts import load_model, save_model
from tests.conftest import skip_or_fail
from tests.e2e.cli import run_charter

NAME = "lifecycle"
FEATURES = ["income", "debt", "part_time"]
POLICY = f"""\
version: 1
model:
  name: {NAME}
  owner: credit-risk@bank.example
  risk_tier: high
  task: binary_classification
data:
  target: repaid
  id_column: applicant_id
  sensitive: [sex]
  rules:
    - {{id: rows, check: min_rows, min: 500}}
performance:
  rules:
    - {{id: auc, check: roc_auc, min: 0.7}}
fairness:
  bootstrap: 0
  rules:
    - {{id: parity, check: demographic_parity_difference, max: 0.1}}
monitoring:
  window: 1d
  timestamp_column: ts
  mark_needs_review: true
"""


def applicants(n: int, seed: int) -> pd.DataFrame:
    """Women work part-time more often; 40% of the women who repaid are recorded as defaults."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    part_time = (rng.random(n) < np.where(sex == "F", 0.7, 0.05)).astype(int)
    income = rng.normal(50, 12, n)
    debt = rng.normal(10, 3, n)
    repaid = ((income - 2 * debt + rng.normal(0, 6, n)) > 22).astype(int)
    repaid[(sex == "F") & (repaid == 1) & (rng.random(n) < 0.4)] = 0
    return pd.DataFrame(
        {
            "applicant_id": np.arange(n),
            "income": income.round(1),
            "debt": debt.round(2),
            "part_time": part_time,
            "sex": sex,
            "repaid": repaid,
        }
    )


def production_log(model: Any, *, days: int = 6, drift_from: int = 3, per_day: int = 500) -> Any:
    """Days of scored applications; from day ``drift_from`` on, less income and more debt."""
    frames = []
    for day in range(days):
        frame = applicants(per_day, seed=100 + day).drop(columns=["repaid"])
        if day >= drift_from:
            frame["income"] = (frame["income"] * 0.75).round(1)
            frame["debt"] = (frame["debt"] * 1.3).round(2)
        frame["ts"] = pd.Timestamp("2024-06-03") + pd.Timedelta(days=day)
        frame["ts"] += pd.to_timedelta(np.arange(per_day) * (86_400 // per_day), unit="s")
        frame["score"] = model.predict_proba(frame[FEATURES])[:, 1]
        frame["prediction"] = model.predict(frame[FEATURES])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Where the registry lives: the default `.charter/` of the working folder, or a schema."""
    unset = {
        "CHARTER_HOME": "",
        "CHARTER_DATABASE_URL": "",
        "CHARTER_ARTIFACT_STORE": "",
        "CHARTER_AUDIT_KEY": "",
        "CHARTER_TOKEN": "",
    }
    if request.param == "sqlite":
        yield unset
        return
    base = os.environ.get("CHARTER_TEST_DATABASE_URL")
    if not base:
        skip_or_fail("CHARTER_TEST_DATABASE_URL is not set: no PostgreSQL for the lifecycle")
    assert base is not None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"charter_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is down
        admin.dispose()
        skip_or_fail(f"PostgreSQL at CHARTER_TEST_DATABASE_URL is not reachable: {exc}")
    parsed = make_url(base)
    url = parsed.set(query={**parsed.query, "options": f"-csearch_path={schema}"})
    try:
        yield {**unset, "CHARTER_DATABASE_URL": url.render_as_string(hide_password=False)}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
def test_gate_registry_and_monitoring_work_together_through_the_cli(
    tmp_path: Path, registry_env: dict[str, str]
) -> None:
    tokens: dict[str, str] = {}

    def charter(user: str | None, *args: str, expect: int = 0) -> str:
        env = {**registry_env, "CHARTER_TOKEN": tokens.get(user or "", "")}
        done = run_charter(*args, cwd=tmp_path, env=env)
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done.stdout

    # what the data scientist brings: data, a trained model, the policy
    applicants(3000, seed=1).to_parquet(tmp_path / "train.parquet")
    applicants(2000, seed=2).to_parquet(tmp_path / "holdout.parquet")
    train = pd.read_parquet(tmp_path / "train.parquet")
    model = LogisticRegression(max_iter=1000).fit(train[FEATURES], train["repaid"])
    save_model(model, tmp_path / "model.skops")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")

    tokens["ada"] = charter(None, "init", "--admin", "ada").strip()
    for user, role in [
        ("eli", "ml_engineer"),
        ("ann", "approver"),
        ("arno", "approver"),
        ("mo", "monitor"),
    ]:
        tokens[user] = charter("ada", "user", "add", user, "--role", role).strip()

    # the biased model fails the gate; registered, its promotion is refused
    check = ["check", "--policy", "policy.yaml", "--data", "holdout.parquet"]
    charter("eli", *check, "--model", "model.skops", "--out", "gate-1", expect=1)
    assert not json.loads((tmp_path / "gate-1" / "evidence.json").read_text())["passed"]
    register = ["register", NAME, "--train-data", "train.parquet"]
    charter("eli", *register, "--model", "model.skops", "--evidence", "gate-1")
    refused = run_charter(
        "promote",
        f"{NAME}:1",
        "--to",
        "production",
        cwd=tmp_path,
        env={**registry_env, "CHARTER_TOKEN": tokens["eli"]},
    )
    assert refused.returncode == 1 and "parity" in refused.stderr + refused.stdout

    # reweighing, and the gate again (`mitigate --check-data` runs `check`): it passes;
    # registered, approved by two approvers, promoted
    charter(
        "eli",
        "mitigate",
        "--model",
        "model.skops",
        "--data",
        "train.parquet",
        "--policy",
        "policy.yaml",
        "--method",
        "reweighing",
        "--out",
        "fair.skops",
        "--check-data",
        "holdout.parquet",
        "--check-out",
        "gate-2",
    )
    assert json.loads((tmp_path / "gate-2" / "evidence.json").read_text())["passed"]
    charter("eli", *register, "--model", "fair.skops", "--evidence", "gate-2")
    # high risk: production needs verified evidence; the registry re-runs the gate itself
    charter("eli", "promote", f"{NAME}:2", "--to", "production", expect=1)
    charter("eli", "evidence", "verify", f"{NAME}:2", "--data", "holdout.parquet")
    charter("eli", "promote", f"{NAME}:2", "--to", "production")
    waiting = json.loads(charter("ann", "requests", "--json"))
    assert [(r["version"], r["status"]) for r in waiting] == [(2, "pending")]
    request = str(waiting[0]["id"])
    charter("ann", "approve", request, "--comment", "evidence reviewed")
    assert "promoted" in charter("arno", "approve", request, "--comment", "card reviewed")

    # production drifts from day 4; monitoring the production version against its reference
    log = production_log(load_model(tmp_path / "fair.skops"))
    log.to_parquet(tmp_path / "log.parquet")
    charter("mo", "monitor", NAME, "--log", "log.parquet", "--out", "monitoring", expect=1)
    evidence = json.loads((tmp_path / "monitoring" / "evidence.json").read_text())
    findings = {f["rule_id"]: f for f in evidence["findings"]}
    assert evidence["extras"]["model_version"] == "2"
    for rule in ("dataset-drift", "prediction-drift"):
        assert findings[rule]["verdict"] == "fail", findings[rule]
        assert findings[rule]["details"]["first_failing_window"].startswith("2024-06-06")
    assert findings["prediction-drift"]["details"]["column"] == "score"
    assert (tmp_path / "monitoring" / "report.html").is_file()

    # recorded, flagged, audited (the admin reads it all); the trail verifies; card and
    # compliance report written
    shown = json.loads(charter("ada", "show", f"{NAME}:production", "--json"))
    assert (shown["number"], shown["stage"]) == (2, "production")
    assert [f["flag"] for f in shown["flags"]] == ["needs-review"]
    outputs = shown["reference_profile"]["meta"]["model_outputs"]
    assert (outputs["score"], outputs["prediction"], outputs["rows"]) == (
        "score",
        "prediction",
        3000,
    )
    entries = json.loads(charter("ada", "audit", "log", "--model", NAME, "--json"))
    actions = [e["action"] for e in entries]
    assert actions[-2:] == ["monitoring.record", "version.flag"]
    assert "promotion.refused" in actions and "promotion.completed" in actions
    assert entries[-2]["actor"] == "mo" and entries[-2]["details"]["status"] == "failed"
    verified = json.loads(charter("ada", "audit", "verify", "--json"))
    assert verified["ok"] and verified["checked"] == entries[-1]["seq"]
    charter("ada", "card", f"{NAME}:production", "--format", "md", "--out", "card.md")
    assert "Quantitative analyses" in (tmp_path / "card.md").read_text()
    charter(
        "ada",
        "compliance",
        f"{NAME}:production",
        "--format",
        "json",
        "--out",
        "compliance.json",
    )
    compliance = json.loads((tmp_path / "compliance.json").read_text())
    controls = {c["id"]: c for c in compliance["controls"]}
    assert controls["eu-ai-act:art-72"]["status"] == "failed"

    # the gate ran without bootstrap: the card's per-group intervals are Wilson, named so
    assert (
        "selection_rate: Wilson score, 95%, from the group's rows"
        in (tmp_path / "card.md").read_text()
    )
    # the needs-review flag: not the engineer's to clear; an approver resolves it with a reason
    charter("eli", "flag", f"{NAME}:2", "needs-review", "--resolve", "--reason", "x", expect=2)
    charter(
        "ann",
        "flag",
        f"{NAME}:2",
        "needs-review",
        "--resolve",
        "--reason",
        "drift reviewed: new applicant channel, model holds",
    )
    shown = json.loads(charter("ada", "show", f"{NAME}:2", "--json"))
    [flag] = shown["flags"]
    assert (flag["created_by"], flag["resolved_by"], flag["resolved_reason"]) == (
        "mo",
        "ann",
        "drift reviewed: new applicant channel, model holds",
    )
    entries = json.loads(charter("ada", "audit", "log", "--model", NAME, "--json"))
    assert [(e["actor"], e["action"]) for e in entries[-2:]] == [
        ("eli", "access.denied"),
        ("ann", "flag.resolve"),
    ]
    assert json.loads(charter("ada", "audit", "verify", "--json"))["ok"]
