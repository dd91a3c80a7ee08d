"""Items 13 and 14 of issue 11: an 80-column CI log keeps identifiers whole; --version;
``charter checks --json`` (and every --json documented)."""

from __future__ import annotations

import json
import re

from charter.checks.registry import CheckSpec, available_checks
from charter.cli.app import app
from tests.e2e.cli import run_charter

CI = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}


def shipped_checks() -> dict[str, CheckSpec]:
    """The checks a fresh ``charter`` process has: Charter's own (other tests in this worker
    register checks of their own in this process, which the subprocess never sees)."""
    return {
        id: spec
        for id, spec in available_checks().items()
        if spec.func.__module__.startswith("charter.")
    }


def test_checks_at_80_columns_never_cut_a_check_id() -> None:
    result = run_charter("checks", env=CI)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    shown = set(re.findall(r"^│ (\S+)", result.stdout, flags=re.M))
    assert set(shipped_checks()) <= shown


def test_controls_at_80_columns_never_cut_a_control_id() -> None:
    result = run_charter("controls", env=CI)
    assert "…" not in result.stdout
    from charter.policy import catalogue

    shown = set(re.findall(r"^│ (\S+)", result.stdout, flags=re.M))
    assert {c.id for c in catalogue()} <= shown


def test_version() -> None:
    from importlib.metadata import version

    result = run_charter("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"charter {version('charter-governance')}"


def test_checks_json_lists_every_check_with_its_params() -> None:
    result = run_charter("checks", "--json", env=CI)
    data = json.loads(result.stdout)
    assert [d["id"] for d in data] == [
        s.id for s in sorted(shipped_checks().values(), key=lambda s: (s.section, s.id))
    ]
    shap = next(d for d in data if d["id"] == "shap_explanations")
    assert shap["params"]["max_protected_share"]["required"] is False
    assert shap["section"] == "explainability"
    only = json.loads(run_charter("checks", "--json", "--section", "privacy").stdout)
    assert {d["section"] for d in only} == {"privacy"}


def test_every_json_option_is_documented() -> None:
    import typer.main

    command = typer.main.get_command(app)
    missing = []

    def walk(cmd, path):
        for param in getattr(cmd, "params", []):
            if "--json" in getattr(param, "opts", []) and not param.help:
                missing.append(" ".join(path))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(command, ["charter"])
    assert missing == []
