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
