"""Paths 8, 13, 16 and the file side of 11: secrets, atomic writes, private files, clear errors."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_support import Team, make_candidate, register

from charter.artifact_store import ArtifactStore
from charter.errors import ArtifactIntegrityError, CharterError
from charter.redaction import redact_url, strip_secrets

CLI = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("url", "shown", "kept"),
    [
        ("s3://AKIAX:wJalr@bucket/charter", "s3://***@bucket/charter", "s3://bucket/charter"),
        (
            "https://acct.blob.core.windows.net/c?sv=2022&sig=abc%2Fdef&se=2027",
            "https://acct.blob.core.windows.net/c?sv=2022&sig=***&se=2027",
            "https://acct.blob.core.windows.net/c?sv=2022&se=2027",
        ),
        (
            "gs://b/p?X-Amz-Credential=a&X-Amz-Signature=b&region=eu",
            "gs://b/p?X-Amz-Credential=***&X-Amz-Signature=***&region=eu",
            "gs://b/p?region=eu",
        ),
        ("/srv/charter/artifacts", "/srv/charter/artifacts", "/srv/charter/artifacts"),
        ("memory://charter", "memory://charter", "memory://charter"),
    ],
)
def test_urls_lose_their_credentials(url: str, shown: str, kept: str) -> None:
    assert redact_url(url) == shown
    assert strip_secrets(url) == kept


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosuchproto://bucket/x", "protocol fsspec does not know"),
        ("s3://AKIAX:wJalr@bucket/x", "needs a package that is not installed"),
    ],
)
def test_a_store_url_fsspec_cannot_open_is_a_clear_error(url: str, message: str) -> None:
    pytest.importorskip("fsspec")
    if url.startswith("s3://"):
        try:
            import s3fs  # noqa: F401
        except ImportError:
            pass
        else:
            pytest.skip("s3fs is installed here")
    with pytest.raises(CharterError) as info:
        ArtifactStore(url)
    assert message in info.value.message and "wJalr" not in str(info.value)


def test_an_unknown_protocol_in_the_environment_exits_2(
    charter: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", "nosuchproto://x")
    code, _, err = charter("init")
    assert code == 2 and "protocol fsspec does not know" in err and "internal error" not in err


def test_a_registry_db_that_is_not_sqlite_is_named(
    charter: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "registry.db").write_bytes(b"PK\x03\x04 this is a zip file, not SQLite" * 40)
    monkeypatch.setenv("CHARTER_HOME", str(home))
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_TOKEN", "charter_x")
    code, _, err = charter("models")
    assert code == 2 and "is not a Charter registry database" in err
    assert "internal error" not in err


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_charter_home_is_private_whatever_the_umask(
    charter: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CHARTER_HOME", str(home))
    for name in ("CHARTER_DATABASE_URL", "CHARTER_ARTIFACT_STORE"):
        monkeypatch.delenv(name, raising=False)
    old = os.umask(0o022)
    try:
        code, _, err = charter("init", "--admin", "ada")
        assert code == 0, err
        assert _mode(home) == 0o700
        assert _mode(home / "registry.db") == 0o600
        store = ArtifactStore(home / "artifacts")
        stored = store.put_bytes(b"model bytes")
        file = Path(store.uri(stored.sha256))
        assert _mode(file) == 0o600
        for folder in (home / "artifacts", file.parent, file.parent.parent):
            assert _mode(folder) == 0o700, folder
        leaked = [p for p in home.rglob("*") if _mode(p) & (stat.S_IRWXG | stat.S_IRWXO)]
        assert leaked == []
    finally:
        os.umask(old)


def test_a_failed_download_keeps_the_users_file(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    version = register(team, candidate)
    stored = Path(team.registry.artifacts.uri(version.artifact_sha256))
    os.chmod(stored, 0o600)
    stored.write_bytes(b"tampered")
    target = tmp_path / "model.skops"
    target.write_bytes(b"the user's own file")
    with pytest.raises(ArtifactIntegrityError):
        team.registry.download(version.model, version.number, target, actor=team["eli"])
    assert target.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".model")) == []


@pytest.mark.parametrize(
    "args",
    [
        ["card", "credit-risk:9", "--format", "md"],
        ["compliance", "credit-risk:9", "--format", "json"],
    ],
)
def test_a_failed_card_or_report_keeps_the_users_file(
    team: Team, tmp_path: Path, cli, args: list[str]
) -> None:
    register(team, make_candidate(tmp_path / "c"))
    target = tmp_path / "card.out"
    target.write_text("last week's card\n")
    code, _, err = cli("otto", *args, "--out", str(target))
    assert code == 2 and "has no version 9" in err
    assert target.read_text() == "last week's card\n"


def test_a_model_that_cannot_be_saved_leaves_no_file(tmp_path: Path) -> None:
    from charter.artifacts import save_model

    target = tmp_path / "model.skops"
    target.write_bytes(b"the model from yesterday")

    class Unsaveable:
        def __reduce__(self) -> tuple[object, ...]:
            raise TypeError("cannot pickle this")

    with pytest.raises(CharterError, match="skops cannot serialise"):
        save_model(Unsaveable(), target)
    assert target.read_bytes() == b"the model from yesterday"
