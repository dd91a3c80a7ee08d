"""The schema comes from the Alembic migrations shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from charter.errors import ConflictError, NotFoundError
from charter.registry import Registry
from charter.registry.database import SCHEMA_REVISION, head_revision
from charter.registry.tables import Base


def test_the_revision_charter_expects_is_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_REVISION


def test_init_migrates_an_empty_database_and_open_finds_it(database_url: str) -> None:
    with pytest.raises(NotFoundError, match="charter init"):
        Registry.open(database_url)
    registry, token = Registry.initialize(database_url, admin="root")
    with registry.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        version = connection.execute(text("SELECT version_num FROM charter_alembic_version"))
        assert version.scalar() == SCHEMA_REVISION
        if registry.engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert set(Base.metadata.tables) <= tables
    registry.close()
    reopened = Registry.open(database_url)
    assert reopened.authenticate(token.token).username == "root"
    with pytest.raises(ConflictError, match="already exists"):
        Registry.initialize(database_url, admin="other")
    reopened.close()


def test_charter_home_holds_the_default_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHARTER_ARTIFACT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    registry, _ = Registry.initialize()
    assert (tmp_path / ".charter" / "registry.db").is_file()
    assert Path(registry.artifacts.url) == (tmp_path / ".charter" / "artifacts").resolve()
    registry.close()
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "elsewhere"))
    Registry.initialize()[0].close()
    assert (tmp_path / "elsewhere" / "registry.db").is_file()


def test_a_registry_at_0001_upgrades_and_keeps_its_flags_open(database_url: str) -> None:
    """A registry created before flags could be resolved opens, migrates and resolves them."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from charter.audit.chain import initialise_head
    from charter.registry import Actor, Role, database, tables

    engine = database.create_registry_engine(database_url)
    database.upgrade(engine, "0001")
    assert database.current_revision(engine) == "0001"
    with engine.connect() as connection:
        assert "resolved_at" not in {
            c["name"] for c in inspect(connection).get_columns("charter_flags")
        }
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as connection:  # rows as a 0001 registry holds them
        initialise_head(connection)
        connection.execute(insert(tables.Meta), [{"key": "audit_alg", "value": "sha256"}])
        connection.execute(
            insert(tables.User.__table__),
            [
                {"id": 1, "username": "ada", "created_at": at, "disabled": False},
                {"id": 2, "username": "ann", "created_at": at, "disabled": False},
            ],
        )
        connection.execute(
            insert(tables.UserRole.__table__),
            [{"user_id": 1, "role": "admin"}, {"user_id": 2, "role": "approver"}],
        )
        connection.execute(
            insert(tables.RegisteredModel.__table__),
            [{"id": 1, "name": "credit-risk", "created_at": at, "created_by": "eli"}],
        )
        connection.execute(
            insert(tables.Version.__table__),
            [
                {
                    "id": 1,
                    "model_id": 1,
                    "number": 1,
                    "artifact_sha256": "a" * 64,
                    "artifact_format": "skops",
                    "artifact_size": 1,
                    "artifact_uri": "sha256/aa/" + "a" * 64,
                    "trusted_types": [],
                    "lineage": {},
                    "params": {},
                    "policy": {"version": 1},
                    "policy_sha256": "b" * 64,
                    "created_at": at,
                    "created_by": "eli",
                }
            ],
        )
        connection.execute(
            text(
                "INSERT INTO charter_flags (id, version_id, flag, reason, created_at, created_by)"
                " VALUES (1, 1, 'needs-review', 'drift', :at, 'mo')"
            ),
            {"at": at},
        )
    engine.dispose()

    registry = Registry.open(database_url)  # applies 0002
    assert database.current_revision(registry.engine) == SCHEMA_REVISION
    ann = Actor(username="ann", roles=frozenset({Role.APPROVER}))
    [flag] = registry.get_version("credit-risk", 1, actor=ann).flags
    assert (flag.id, flag.flag, flag.reason, flag.created_by, flag.created_at) == (
        1,
        "needs-review",
        "drift",
        "mo",
        at,
    )
    assert flag.open and flag.resolved_by is None
    registry.resolve_flag("credit-risk", 1, "needs-review", "reviewed after upgrade", actor=ann)
    [flag] = registry.get_version("credit-risk", 1, actor=ann).flags
    assert (flag.open, flag.resolved_by, flag.resolved_reason) == (
        False,
        "ann",
        "reviewed after upgrade",
    )
    report = registry.verify_audit(actor=Actor.system("test"))
    assert report.ok and report.head_seq == 1
    registry.close()
