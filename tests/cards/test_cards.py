"""Model cards and compliance reports, written from a version checked by the real gate."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from registry_support import Team
from scipy.stats import norm

import charter
from charter.cards import ControlStatus, compliance_report, model_card, render_card
from charter.cards.card import SECTIONS
from charter.cards.render import render_compliance
from charter.cli.app import main
from charter.evidence import Evidence, Fingerprint
from charter.policy.controls import catalogue
from charter.report import write_outputs

NAME = "loans"


@dataclass
class Checked:
    model: Path
    policy: Path
    evidence: Path
    data: pd.DataFrame
    train: Path


def _checked(
    folder: Path,
    *,
    intended_use: str | None = "Pre-screening loan applications.",
    description: str = "Scores loan applications.",
) -> Checked:
    """A LogisticRegression checked by charter.check against a policy with a fairness rule."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    n = 1200
    sex = rng.choice(["F", "M"], n)
    income = rng.normal(50, 12, n) + np.where(sex == "M", 6, 0)
    debt = rng.normal(20, 6, n)
    repaid = (income / 10 - debt / 8 + rng.normal(0, 1.2, n) > 2.3).astype(int)
    data = pd.DataFrame({"income": income, "debt": debt, "sex": sex, "repaid": repaid})
    folder.mkdir(parents=True, exist_ok=True)
    train = folder / "train.parquet"
    data.iloc[:600].to_parquet(train)
    holdout = data.iloc[600:].reset_index(drop=True)
    holdout_path = folder / "holdout.parquet"
    holdout.to_parquet(holdout_path)
    model = LogisticRegression().fit(data.iloc[:600][["income", "debt"]], data.iloc[:600]["repaid"])
    model_path = charter.save_model(model, folder / "model.skops")
    info = {
        "name": NAME,
        "owner": "loans-team",
        "description": description,
        "risk_tier": "limited",
        "ethical_considerations": ["Income differs by sex."],
    }
    if intended_use:
        info["intended_use"] = intended_use
    policy = {
        "version": 1,
        "model": info,
        "data": {
            "target": "repaid",
            "sensitive": ["sex"],
            "rules": [{"id": "enough-rows", "check": "min_rows", "min": 100}],
        },
        "performance": {"rules": [{"id": "auc", "check": "roc_auc", "min": 0.6}]},
        "fairness": {
            "bootstrap": 200,
            "min_group_size": 30,
            "rules": [{"id": "parity", "check": "demographic_parity_difference", "max": 0.5}],
        },
    }
    policy_path = folder / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    evidence = charter.check(policy_path, holdout_path, model=model_path)
    out = write_outputs(evidence, folder / "gate")
    return Checked(
        model=model_path,
        policy=policy_path,
        evidence=out.evidence.parent,
        data=holdout,
        train=train,
    )


def _register_and_promote(team: Team, checked: Checked) -> None:
    team.registry.register(
        NAME,
        model=checked.model,
        evidence=checked.evidence,
        policy=checked.policy,
        train_data=checked.train,
        actor=team["eli"],
        source_dir=checked.model.parent,
    )
    request = team.registry.request_promotion(NAME, 1, "production", actor=team["eli"])
    team.registry.approve(request.id, actor=team["ann"])


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """The textbook Wilson score interval."""
    z = norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.fixture
def promoted(team: Team, tmp_path: Path) -> Checked:
    checked = _checked(tmp_path)
    _register_and_promote(team, checked)
    return checked


def test_the_card_has_mitchells_sections_filled_from_registry_policy_and_evidence(
    team: Team, promoted: Checked
) -> None:
    card = model_card(team.registry, NAME, "production", actor=team["otto"])
    assert [s.title for s in card.sections] == [title for _, title in SECTIONS]
    details = {i.label: i for i in card.section("model_details").items}
    assert details["Owner / contact"].value == "loans-team"
    assert details["Owner / contact"].source == "policy"
    assert "approved by ann (1 required)" in details["Promoted to production"].value
    uses = {i.label: i.value for i in card.section("intended_use").items}
    assert uses["Primary intended use"] == "Pre-screening loan applications."
    assert "Primary intended users" in card.section("intended_use").needs_person
    assert all(s.needs_person for s in card.sections)  # every section leaves room for a person
    train = card.section("training_data").tables[0].rows[0]
    assert train[2] == "600"


def test_per_group_results_match_the_data_with_intervals(team: Team, promoted: Checked) -> None:
    card = model_card(team.registry, NAME, 1)
    evidence = Evidence.read(promoted.evidence)
    parity = next(f for f in evidence.findings if f.rule_id == "parity")
    (table,) = [
        t for t in card.section("quantitative_analyses").tables if t.title.startswith("parity:")
    ]
    assert table.columns == ["group", "n", "selection_rate", "selection_rate 95% CI"]
    model = charter.load_model(promoted.model)
    predicted = model.predict(promoted.data[["income", "debt"]])
    rates = pd.Series(predicted).groupby(promoted.data["sex"]).mean()
    counts = promoted.data["sex"].value_counts()
    for row in table.rows:
        group = row[0].split("=")[1]
        assert int(row[1]) == counts[group]
        assert float(row[2]) == pytest.approx(rates[group], rel=1e-3)
        low, high = _wilson(round(rates[group] * counts[group]), int(counts[group]), 0.95)
        shown = [float(v) for v in row[3].strip("[]").split(",")]
        assert shown == pytest.approx([low, high], rel=1e-3)
    low, high = parity.details["ci"]
    assert f"{low:.4g}" in table.note and f"{high:.4g}" in table.note
    unitary = card.section("quantitative_analyses").tables[0]
    (auc,) = [r for r in unitary.rows if r[0] == "auc"]
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(
        promoted.data["repaid"], model.predict_proba(promoted.data[["income", "debt"]])[:, 1]
    )
    assert float(auc[2]) == pytest.approx(expected, rel=1e-3)


def test_what_the_policy_does_not_say_is_left_to_a_person(team: Team, tmp_path: Path) -> None:
    checked = _checked(tmp_path, intended_use=None, description="<script>alert(1)</script>")
    _register_and_promote(team, checked)
    card = model_card(team.registry, NAME, 1)
    assert any("model.intended_use" in p for p in card.section("intended_use").needs_person)
    html = render_card(card, "html")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert html.count("needs a person:") == len(card.needs_person)
    markdown = render_card(card, "md")
    assert markdown.count("⚠ **needs a person**") == len(card.needs_person)
    assert [line for line in markdown.splitlines() if line.startswith("## ")] == [
        f"## {i}. {title}" for i, (_, title) in enumerate(SECTIONS, start=1)
    ]
    assert json.loads(render_card(card, "json"))["sections"][0]["id"] == "model_details"


def test_compliance_lists_every_control_with_its_status(team: Team, promoted: Checked) -> None:
    report = compliance_report(team.registry, NAME, 1, actor=team["otto"])
    assert [c.id for c in report.controls] == [c.id for c in catalogue()]
    fairness = report.control("nist-ai-rmf:measure-2.11")
    assert fairness.status is ControlStatus.SATISFIED
    assert any(
        line.startswith("rule parity: demographic_parity_difference") for line in fairness.evidence
    )
    assert report.control("eu-ai-act:art-12").status is ControlStatus.SATISFIED
    oversight = report.control("eu-ai-act:art-14")  # registry + human
    assert oversight.status is ControlStatus.NEEDS_PERSON
    assert any("approved by ann" in line for line in oversight.evidence)
    assert report.control("eu-ai-act:art-9.2.a").status is ControlStatus.NEEDS_PERSON
    monitoring = report.control("eu-ai-act:art-72")
    assert monitoring.status is ControlStatus.NEEDS_PERSON
    assert "charter monitor" in monitoring.notes[0]
    data = json.loads(render_compliance(report, "json"))
    assert sum(data["counts"].values()) == len(catalogue())
    assert "eu-ai-act:art-72" in render_compliance(report, "html")

    policy_sha = team.registry.get_version(NAME, 1).policy_sha256
    watched = Evidence(
        model_name=NAME, stage="production", policy=Fingerprint(kind="policy", sha256=policy_sha)
    )
    team.registry.record_monitoring(NAME, 1, watched, actor=team["mo"])
    after = compliance_report(team.registry, NAME, 1)
    assert after.control("eu-ai-act:art-72").status is ControlStatus.SATISFIED


def test_a_failed_rule_and_a_broken_trail_fail_their_controls(team: Team, tmp_path: Path) -> None:
    checked = _checked(tmp_path)
    policy = yaml.safe_load(checked.policy.read_text())
    policy["performance"]["rules"][0]["min"] = 0.99  # cannot be met
    checked.policy.write_text(yaml.safe_dump(policy), encoding="utf-8")
    evidence = charter.check(checked.policy, tmp_path / "holdout.parquet", model=checked.model)
    write_outputs(evidence, checked.evidence)
    team.registry.register(
        NAME,
        model=checked.model,
        evidence=checked.evidence,
        policy=checked.policy,
        actor=team["eli"],
        source_dir=tmp_path,
    )
    report = compliance_report(team.registry, NAME, 1)
    assert report.control("nist-ai-rmf:measure-2.3").status is ControlStatus.FAILED
    assert report.control("eu-ai-act:art-15").status is ControlStatus.FAILED  # via art-15.3
    from sqlalchemy import text

    team.schema_changed = True
    with team.registry.engine.begin() as connection:
        if team.registry.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER charter_audit_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE charter_audit_entries DISABLE TRIGGER ALL")
        connection.execute(text("DELETE FROM charter_audit_entries WHERE seq = 2"))
    report = compliance_report(team.registry, NAME, 1)
    assert report.control("eu-ai-act:art-12").status is ControlStatus.FAILED
    assert "deleted" in report.control("eu-ai-act:art-12").notes[0]


def test_the_cli_writes_cards_and_reports(
    team: Team,
    promoted: Checked,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in team.env("otto").items():
        if key.startswith("CHARTER_"):
            monkeypatch.setenv(key, value)
    assert (
        main(
            ["card", f"{NAME}:production", "--format", "html", "--out", str(tmp_path / "card.html")]
        )
        == 0
    )
    assert "Model card: loans:1" in (tmp_path / "card.html").read_text()
    assert main(["card", f"{NAME}:1"]) == 0
    assert capsys.readouterr().out.startswith("# Model card: loans:1")
    assert main(["compliance", f"{NAME}:1", "--format", "json", "--framework", "oecd"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {c["framework"] for c in report["controls"]} == {"oecd"}
    assert main(["card", f"{NAME}:1", "--format", "pdf"]) == 2
    assert main(["compliance", f"{NAME}:1", "--framework", "iso"]) == 2
