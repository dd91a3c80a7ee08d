"""Fixtures shared by the registry, audit and card tests.

Every registry test runs on SQLite and, when CHARTER_TEST_DATABASE_URL names a PostgreSQL
server, on PostgreSQL too — in a schema of its own, so xdist workers never collide. Models are
real scikit-learn estimators saved with skops; evidence bundles are built with
charter.evidence the way the gate builds them.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from charter.evidence import (
    Evidence,
    Finding,
    Fingerprint,
    Severity,
    Threshold,
    Verdict,
    fingerprint_file,
)
from charter.lineage import environment
from charter.policy import load_policy
from charter.registry import Actor, Registry, Role
from charter.signing import (
    EVIDENCE_SIGNATURE_FILE,
    KeyPair,
    generate_keypair,
    write_evidence_signature,
)


def _root_conftest() -> Any:
    """tests/conftest.py, loaded by path (every test folder has a module named conftest)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("charter_tests_root_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


skip_or_fail = _root_conftest().skip_or_fail

PG_ENV = "CHARTER_TEST_DATABASE_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
MODEL_NAME = "credit-risk"


def postgres_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        skip_or_fail(f"{PG_ENV} is not set: no PostgreSQL to run the registry tests against")
    assert url is not None
    return url


def with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    query = dict(parsed.query)
    query["options"] = f"-csearch_path={schema}"
    return parsed.set(query=query).render_as_string(hide_password=False)


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in ``folder``, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'registry.db'}"
        return
    base = postgres_base_url()
    schema = f"charter_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is down
        admin.dispose()
        skip_or_fail(f"PostgreSQL at {PG_ENV} is not reachable: {exc}")
    try:
        yield with_search_path(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Team:
    """A registry with one user per role (plus a second approver and engineer)."""

    registry: Registry
    url: str
    store: Path
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    #: Set by tests that change the schema (drop triggers, indexes): not reused afterwards.
    schema_changed: bool = False

    def __getitem__(self, username: str) -> Actor:
        return self.actors[username]

    def env(self, username: str) -> dict[str, str]:
        """Environment for a subprocess acting as ``username`` on this registry."""
        env = dict(os.environ)
        env.update(
            CHARTER_DATABASE_URL=self.url,
            CHARTER_ARTIFACT_STORE=str(self.store),
            CHARTER_TOKEN=self.tokens[username],
        )
        return env


#: username -> roles of the standard team.
TEAM = {
    "ada": [Role.ADMIN],
    "dora": [Role.DATA_SCIENTIST],
    "eli": [Role.ML_ENGINEER],
    "emma": [Role.ML_ENGINEER],
    "ann": [Role.APPROVER],
    "arno": [Role.APPROVER],
    "alma": [Role.APPROVER],
    "otto": [Role.AUDITOR],
    "mo": [Role.MONITOR],
    "ivy": [Role.INVOKER],
    "lars": [Role.LABELER],
}


@functools.cache
def signing_key() -> KeyPair:
    """The test CI's Ed25519 key pair (one per test process)."""
    return generate_keypair()


def make_team(url: str, store: Path | None) -> Team:
    """Initialise a registry at ``url`` with the standard team."""
    registry, token = Registry.initialize(
        url, admin="ada", artifact_store=str(store) if store else None
    )
    result = Team(registry=registry, url=url, store=store or Path("."))
    result.tokens["ada"] = token.token
    result.actors["ada"] = registry.authenticate(token.token)
    # the CI's key: evidence written by write_evidence is signed with it, hence verified
    registry.trust_key("test-ci", signing_key().public_pem.decode(), actor=result.actors["ada"])
    for username, roles in TEAM.items():
        if username == "ada":
            continue
        issued = registry.add_user(username, roles, actor=result.actors["ada"])
        result.tokens[username] = issued.token
        result.actors[username] = registry.authenticate(issued.token)
    return result


@dataclass
class _Template:
    url: str
    tokens: dict[str, str]
    actors: dict[str, Actor]


class TeamTemplates:
    """A seeded registry per backend, built once per test process and copied for each test.

    SQLite copies the template file. PostgreSQL keeps two schemas per test process — the
    seeded template and a work schema — and resets the work schema to the template before each
    test (TRUNCATE and INSERT ... SELECT, with triggers off for the reset only): much faster
    than migrating and seeding every time, and no DROP DATABASE checkpoints.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, _Template] = {}
        self.schemas: list[str] = []
        self.work_url: str | None = None
        self._admin: Any = None

    def _create_schema(self) -> str:
        if self._admin is None:
            self._admin = create_engine(postgres_base_url(), isolation_level="AUTOCOMMIT")
        name = f"charter_t_{uuid.uuid4().hex[:12]}"
        try:
            with self._admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{name}"'))
        except Exception as exc:  # the server is down
            skip_or_fail(f"PostgreSQL at {PG_ENV} is not reachable: {exc}")
        self.schemas.append(name)
        return name

    def template(self, backend: str) -> _Template:
        if backend in self.built:
            return self.built[backend]
        if backend == "sqlite":
            url = f"sqlite:///{self.folder / 'template.db'}"
        else:
            url = with_search_path(postgres_base_url(), self._create_schema())
        seeded = make_team(url, None)
        seeded.registry.close()
        self.built[backend] = _Template(url=url, tokens=seeded.tokens, actors=seeded.actors)
        if backend != "sqlite":
            self.new_work_schema()
        return self.built[backend]

    def new_work_schema(self) -> None:
        """A freshly migrated work schema (after a test changed the old one's DDL)."""
        self.work_schema = self._create_schema()
        work = with_search_path(postgres_base_url(), self.work_schema)
        Registry.initialize(work, admin="ada")[0].close()  # migrates it
        self.work_url = work

    def copy(self, backend: str, folder: Path) -> tuple[str, _Template]:
        template = self.template(backend)
        if backend == "sqlite":
            import shutil

            target = folder / "registry.db"
            shutil.copyfile(make_url(template.url).database or "", target)
            return f"sqlite:///{target}", template
        assert self.work_url is not None
        self._reset(make_url(template.url).query["options"].split("=", 1)[1], self.work_schema)
        return self.work_url, template

    def _reset(self, source: str, target: str) -> None:
        from sqlalchemy import inspect

        with self._admin.connect() as connection:
            names = [
                t
                for t in inspect(connection).get_table_names(schema=source)
                if t.startswith("charter_") and t != "charter_alembic_version"
            ]
            # triggers (append-only audit, foreign keys) off for this reset only
            connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text("TRUNCATE " + ", ".join(f'"{target}"."{t}"' for t in names)))
            for table in names:
                columns = "id, body, hash" if table == "charter_audit_entries" else "*"
                into = " (id, body, hash)" if table == "charter_audit_entries" else ""
                connection.execute(
                    text(
                        f'INSERT INTO "{target}"."{table}"{into} '
                        f'SELECT {columns} FROM "{source}"."{table}"'
                    )
                )
                if "id" not in {
                    c["name"] for c in inspect(connection).get_columns(table, schema=target)
                }:
                    continue
                has_id = connection.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"),
                    {"t": f'"{target}"."{table}"'},
                ).scalar()
                if has_id:
                    connection.execute(
                        text(
                            f"SELECT setval('{has_id}', "
                            f'COALESCE((SELECT max(id) FROM "{target}"."{table}"), 0) + 1, false)'
                        )
                    )
            connection.execute(text("SET session_replication_role = origin"))

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for name in self.schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def team_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamTemplates]:
    templates = TeamTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture(params=BACKENDS)
def team(
    request: pytest.FixtureRequest, team_templates: TeamTemplates, tmp_path: Path
) -> Iterator[Team]:
    """The standard team on a fresh copy of a seeded registry, on each backend."""
    url, template = team_templates.copy(request.param, tmp_path)
    store = tmp_path / "artifacts"
    registry = Registry.open(url, artifact_store=str(store))
    result = Team(
        registry=registry,
        url=url,
        store=store,
        tokens=dict(template.tokens),
        actors=dict(template.actors),
    )
    yield result
    registry.close()
    if result.schema_changed and request.param != "sqlite":
        team_templates.new_work_schema()


# ------------------------------------------------------------------ models and evidence
POLICY_TEMPLATE: dict[str, Any] = {
    "version": 1,
    "model": {
        "name": MODEL_NAME,
        "owner": "credit-team",
        "description": "Scores consumer credit applications for default risk.",
        "intended_use": "Ranking applications for manual review by credit officers.",
        "risk_tier": "high",
    },
    "data": {
        "target": "default",
        "sensitive": ["sex"],
        "rules": [
            {"id": "enough-rows", "check": "min_rows", "min": 100},
            {"id": "few-nulls", "check": "null_fraction", "max": 0.05},
        ],
    },
}


def write_policy(
    folder: Path,
    *,
    tier: str = "high",
    required: int | None = None,
    name: str = MODEL_NAME,
    extra_rules: list[dict[str, Any]] | None = None,
    monitoring: dict[str, Any] | None = None,
) -> Path:
    document = yaml.safe_load(yaml.safe_dump(POLICY_TEMPLATE))
    document["model"]["risk_tier"] = tier
    document["model"]["name"] = name
    if required is not None:
        document["approvals"] = {"required": required}
    if extra_rules:
        document["data"]["rules"].extend(extra_rules)
    if monitoring is not None:
        document["monitoring"] = monitoring
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def training_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    debt = rng.normal(20, 8, n)
    sex = rng.choice(["F", "M"], n)
    default = (debt / income + rng.normal(0, 0.1, n) > 0.45).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "sex": sex, "default": default})


@functools.cache
def _model_bytes(seed: int) -> bytes:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = training_frame(seed=seed)
    model = LogisticRegression(C=1.0 + seed).fit(frame[["income", "debt"]], frame["default"])
    return bytes(sio.dumps(model))


@functools.cache
def _train_bytes(seed: int) -> bytes:
    import io

    buffer = io.BytesIO()
    training_frame(seed=seed).to_parquet(buffer)
    return buffer.getvalue()


def save_model(folder: Path, *, seed: int = 0, name: str = "model.skops") -> Path:
    """A fitted scikit-learn model saved with skops (fitted once per seed and process)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(_model_bytes(seed))
    return path


def write_evidence(
    folder: Path,
    *,
    policy_path: Path,
    model_path: Path | None,
    passed: bool = True,
    name: str = MODEL_NAME,
    null_fraction: float | None = None,
    extra_findings: list[Finding] = (),  # type: ignore[assignment]
    report: bool = True,
    sign: bool = True,
) -> Path:
    """An evidence bundle for ``policy_path``'s rules, the way the gate writes one.

    Signed (``evidence.dsse.json``) with :func:`signing_key`, which every test team trusts,
    as ``charter check --sign`` in CI would: the evidence is verified.
    """
    policy = load_policy(policy_path)
    nulls = null_fraction if null_fraction is not None else (0.01 if passed else 0.20)
    findings = [
        Finding(
            rule_id="enough-rows",
            check="min_rows",
            section="data",
            verdict=Verdict.PASS,
            message="400 rows",
            metric="rows",
            value=400.0,
            threshold=Threshold(min=100),
            controls=("eu-ai-act:art-10.3",),
        ),
        Finding(
            rule_id="few-nulls",
            check="null_fraction",
            section="data",
            verdict=Verdict.PASS if nulls <= 0.05 else Verdict.FAIL,
            severity=Severity.BLOCK,
            message=f"largest null fraction {nulls:.2f}",
            metric="null_fraction",
            value=nulls,
            threshold=Threshold(max=0.05),
            controls=("eu-ai-act:art-10.3", "nist-ai-rmf:measure-2.1"),
        ),
        *extra_findings,
    ]
    inputs = {}
    if model_path is not None:
        inputs["model"] = fingerprint_file(model_path, kind="model")
    evidence = Evidence(
        model_name=name,
        policy=Fingerprint(kind="policy", sha256=policy.sha256 or "", path=str(policy_path)),
        inputs=inputs,
        findings=tuple(findings),
        environment=environment(),
    )
    folder.mkdir(parents=True, exist_ok=True)
    evidence.write(folder / "evidence.json")
    signature = folder / EVIDENCE_SIGNATURE_FILE
    signature.unlink(missing_ok=True)
    if sign:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(signing_key().private_pem, password=None)
        write_evidence_signature(Evidence.read(folder), key, folder)  # type: ignore[arg-type]
    if report:
        (folder / "report.html").write_text(
            f"<html><body>{evidence.status}</body></html>", encoding="utf-8"
        )
    return folder


@dataclass
class Candidate:
    """A model file with its policy and evidence, ready to register."""

    model: Path
    policy: Path
    evidence: Path
    train: Path


def make_candidate(
    folder: Path,
    *,
    passed: bool = True,
    seed: int = 0,
    tier: str = "high",
    required: int | None = None,
    name: str = MODEL_NAME,
    extra_rules: list[dict[str, Any]] | None = None,
    extra_findings: list[Finding] = (),  # type: ignore[assignment]
    monitoring: dict[str, Any] | None = None,
) -> Candidate:
    policy = write_policy(
        folder / "policy",
        tier=tier,
        required=required,
        name=name,
        extra_rules=extra_rules,
        monitoring=monitoring,
    )
    model = save_model(folder / "model", seed=seed)
    evidence = write_evidence(
        folder / "evidence",
        policy_path=policy,
        model_path=model,
        passed=passed,
        name=name,
        extra_findings=extra_findings,
    )
    train = folder / "train.parquet"
    train.write_bytes(_train_bytes(seed))
    return Candidate(model=model, policy=policy, evidence=evidence, train=train)


def register(
    team: Team, candidate: Candidate, *, as_user: str = "eli", name: str = MODEL_NAME, **kwargs: Any
):
    return team.registry.register(
        name,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        train_data=candidate.train,
        actor=team[as_user],
        source_dir=candidate.model.parent,
        **kwargs,
    )


def snapshot(team: Team) -> dict[str, Any]:
    """Everything stored: every table's rows and the artifact store's files."""
    from sqlalchemy import inspect

    engine = team.registry.engine
    out: dict[str, Any] = {}
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            if table.startswith("charter_"):
                rows = connection.execute(text(f"SELECT * FROM {table}")).all()
                out[table] = sorted(repr(tuple(r)) for r in rows)
    files = (
        sorted(str(p.relative_to(team.store)) for p in team.store.rglob("*") if p.is_file())
        if team.store.exists()
        else []
    )
    out["artifacts"] = files
    return out
