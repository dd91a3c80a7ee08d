"""Paths 8 and 12: init validates first and commits last; store credentials stay out of records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("CHARTER_HOME", str(folder))
    for name in ("CHARTER_DATABASE_URL", "CHARTER_ARTIFACT_STORE", "CHARTER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.mark.parametrize("store", ["nosuchproto://bucket/x", "s3://AKIAX:wJalr@bucket/x"])
def test_a_bad_artifact_store_leaves_no_registry_behind(
    home: Path, charter: CLI, store: str
) -> None:
    if store.startswith("s3://"):
        pytest.importorskip("fsspec")
        try:
            import s3fs  # noqa: F401
        except ImportError:
            pass
        else:
            pytest.skip("s3fs is installed here")
    code, out, err = charter("init", "--artifact-store", store)
    assert code == 2 and "internal error" not in err
    assert out == "" and "wJalr" not in err
    code, token, err = charter("init", "--artifact-store", str(home / "store"))
    assert code == 0, err
    assert token.strip().startswith("charter_")


def test_store_credentials_are_not_printed_nor_kept(
    home: Path, charter: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = "memory://ann:s3cr3t@bucket/charter?token=abc123&region=eu"
    code, token, err = charter("init", "--artifact-store", store)
    assert code == 0, err
    assert "s3cr3t" not in err and "abc123" not in err
    assert "memory://***@bucket/charter?token=***&region=eu" in err
    engine = create_engine(f"sqlite:///{home / 'registry.db'}")
    with engine.connect() as connection:
        bodies = [r[0] for r in connection.execute(text("SELECT body FROM charter_audit_entries"))]
        kept = connection.execute(
            text("SELECT value FROM charter_meta WHERE key = 'artifact_store'")
        ).scalar()
    engine.dispose()
    assert not any("s3cr3t" in b or "abc123" in b for b in bodies)
    assert "memory://***@bucket/charter" in bodies[0]
    assert kept == "memory://bucket/charter?region=eu"
    monkeypatch.setenv("CHARTER_TOKEN", token.strip())
    code, out, err = charter("audit", "export")
    assert code == 0 and "s3cr3t" not in out
