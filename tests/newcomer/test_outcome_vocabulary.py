"""Item 5 of issue 11: one word for a finding in the CLI, the JSON, the report, the card and
the compliance report; a control served by a failing warn rule is not "satisfied"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from registry_support import Team

from charter.artifacts import save_model
from charter.cards import ControlStatus, compliance_report, model_card, render_card
from charter.cards.render import render_compliance
from charter.evidence import Outcome, Severity, Verdict
from tests.e2e.cli import run_charter
from tests.newcomer.conftest import POLICY

WARN_RULE = """\
    - id: parity-watch
      check: demographic_parity_difference
      max: 0.01
      severity: warn
      controls: [eu-ai-act:art-10.2.f]
"""


@pytest.mark.parametrize(
    ("verdict", "severity", "word"),
    [
        (Verdict.PASS, Severity.BLOCK, "passed"),
        (Verdict.PASS, Severity.WARN, "passed"),
        (Verdict.FAIL, Severity.BLOCK, "failed-blocking"),
        (Verdict.FAIL, Severity.WARN, "failed-warning"),
        (Verdict.ERROR, Severity.BLOCK, "error"),
        (Verdict.SKIPPED, Severity.WARN, "skipped"),
    ],
)
def test_the_vocabulary(verdict: Verdict, severity: Severity, word: str) -> None:
    assert Outcome.of(verdict, severity).value == word


@pytest.fixture
def warned(pipeline, train_csv: Path, tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policy.yaml"
    text = POLICY.replace("      max: 0.5\n", "      max: 0.5\n" + WARN_RULE, 1)
    policy.write_text(text, encoding="utf-8")
    assert yaml.safe_load(text)["fairness"]["rules"][1]["severity"] == "warn"
    model = save_model(pipeline, tmp_path / "pipe.skops")
    result = run_charter(
        "check", "-p", str(policy), "-m", str(model), "-d", str(train_csv),
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return {"policy": policy, "model": model, "out": tmp_path / "out", "stdout": result.stdout}


def test_cli_json_and_report_say_failed_warning(warned) -> None:
    row = next(line for line in warned["stdout"].splitlines() if "parity-watch" in line)
    assert row.split()[-1] == "failed-warning"
    assert re.search(
        r"\d+ rules: passed \d+, failed-blocking 0, failed-warning 1, error 0", warned["stdout"]
    )
    data = json.loads((warned["out"] / "evidence.json").read_text())
    finding = next(f for f in data["findings"] if f["rule_id"] == "parity-watch")
    assert (finding["outcome"], finding["verdict"], finding["severity"]) == (
        "failed-warning", "fail", "warn",
    )  # fmt: skip
    assert data["outcomes"]["failed-warning"] == 1
    html = (warned["out"] / "report.html").read_text()
    assert 'class="badge warn">failed-warning</span>' in html
    assert ">FAIL<" not in html and ">fail<" not in html
    assert "failed-warning" in (warned["out"] / "summary.md").read_text()


def test_card_and_compliance_say_failed_warning_and_do_not_satisfy(team: Team, warned) -> None:
    team.registry.register(
        "newcomer", model=warned["model"], evidence=warned["out"], policy=warned["policy"],
        actor=team["eli"],
    )  # fmt: skip
    card = model_card(team.registry, "newcomer", 1, actor=team["otto"])
    unitary = card.section("quantitative_analyses").tables[0]
    row = next(r for r in unitary.rows if r[0] == "parity-watch")
    assert row[-1] == "failed-warning"
    assert "failed-warning" in render_card(card, "html")
    report = compliance_report(team.registry, "newcomer", 1, actor=team["otto"])
    control = report.control("eu-ai-act:art-10.2.f")
    assert control.status is ControlStatus.NEEDS_PERSON
    assert any("parity-watch" in e and "failed-warning" in e for e in control.evidence)
    assert "rule parity-watch is failed-warning: a person must judge" in control.notes[0]
    assert "failed-warning" in render_compliance(report, "html")
