import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import Team, database_url, team, team_templates  # noqa: F401

from charter.cli.app import main


@pytest.fixture
def cli(
    team: Team,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """Run ``charter ARGS`` in process as a member of the team: (exit code, stdout, stderr)."""

    def run(user: str, *args: str) -> tuple[int, str, str]:
        for key, value in team.env(user).items():
            if key.startswith("CHARTER_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("COLUMNS", "250")
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())

    return run


@pytest.fixture
def charter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run ``charter ARGS`` in process with the environment as set: (code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("COLUMNS", "250")
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())

    return run
