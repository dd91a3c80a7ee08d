"""Path 14: monitoring over zero rows exits 2 and records nothing (path 5 joins in phase B)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.monitor.conftest import POLICY, credit_frame, production_log

from charter.cli.app import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "no-registry"))
    credit_frame(2_000, seed=1).to_parquet(tmp_path / "reference.parquet")
    log = production_log(rows_per_day=300, days=3)
    log.to_parquet(tmp_path / "log.parquet")
    log.assign(ts=pd.NaT).to_parquet(tmp_path / "no-times.parquet")
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    return tmp_path


def _monitor(log: str, *extra: str) -> list[str]:
    return [
        "monitor", "credit-risk", "--log", log, "--reference", "reference.parquet",
        "--policy", "policy.yaml", "--out", "out", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("log", "extra", "message"),
    [
        ("log.parquet", ["--since", "2031-01-01"], "the log has no rows at or after 2031-01-01"),
        ("log.parquet", ["--until", "2001-01-01"], "the log has no rows before 2001-01-01"),
        ("no-times.parquet", [], "rows of the log have no ts"),
    ],
)
def test_zero_rows_exit_2_and_record_nothing(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    log: str,
    extra: list[str],
    message: str,
) -> None:
    assert main(_monitor(log, *extra)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nothing to monitor" in err and message in err and "nothing was recorded" in err
    assert not (workdir / "out").exists()


def test_a_log_with_rows_still_runs(workdir: Path) -> None:
    assert main(_monitor("log.parquet")) in (0, 1)
    assert (workdir / "out" / "evidence.json").is_file()
