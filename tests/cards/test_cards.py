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
    bootstrap: int = 200,
    worst_group_recall: bool = False,
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
        "performance": {
            "rules": [{"id": "auc", "check": "roc_auc", "min": 0.6}]
            + (
                [
                    {
                        "id": "worst-recall",
                        "check": "recall",
                        "params": {"per_group": True, "aggregate": "worst_group"},
                        "min": 0.3,
                        "severity": "warn",
                    }
                ]
                if worst_group_recall
                else []
            )
        },
        "fairness": {
            "bootstrap": bootstrap,
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


def _parity_table(team: Team) -> tuple[list[str], list[list[str]], str, dict[str, str]]:
    card = model_card(team.registry, NAME, 1, actor=team["otto"])
    (table,) = [
        t for t in card.section("quantitative_analyses").tables if t.title.startswith("parity:")
    ]
    return table.columns, table.rows, table.note or "", table.interval_methods


def _bounds(cell: str) -> list[float]:
    return [float(v) for v in cell.strip("[]").split(",")]


def test_per_group_results_match_the_data_with_the_evidences_bootstrap_intervals(
    team: Team, promoted: Checked
) -> None:
    columns, rows, note, methods = _parity_table(team)
    evidence = Evidence.read(promoted.evidence)
    parity = next(f for f in evidence.findings if f.rule_id == "parity")
    held = {g["group"]: g for g in parity.details["groups"]}
    assert columns == ["group", "n", "selection_rate", "selection_rate 95% CI"]
    assert methods == {
        "selection_rate 95% CI": "bootstrap over counts, 95%, 200 resamples (seed 0), "
        "from the evidence"
    }
    assert "selection_rate: bootstrap over counts, 95%, 200 resamples" in note
    assert "Wilson" not in note
    model = charter.load_model(promoted.model)
    predicted = model.predict(promoted.data[["income", "debt"]])
    rates = pd.Series(predicted).groupby(promoted.data["sex"]).mean()
    counts = promoted.data["sex"].value_counts()
    for row in rows:
        label, group = row[0], row[0].split("=")[1]
        assert int(row[1]) == counts[group]
        assert float(row[2]) == pytest.approx(rates[group], rel=1e-3)
        # the interval the gate's bootstrap wrote into the evidence, not one the card made up
        shown = _bounds(row[3])
        assert shown == pytest.approx(held[label]["selection_rate_ci"], rel=1e-3)
        assert shown[0] <= rates[group] <= shown[1]
        # and close to the binomial interval of the same proportion (an independent oracle)
        wilson = _wilson(round(rates[group] * counts[group]), int(counts[group]), 0.95)
        assert shown == pytest.approx(wilson, abs=0.02)
        assert shown != pytest.approx(wilson, abs=1e-9)
    low, high = parity.details["ci"]
    assert f"{low:.4g}" in note and f"{high:.4g}" in note
    card = model_card(team.registry, NAME, 1, actor=team["otto"])
    unitary = card.section("quantitative_analyses").tables[0]
    (auc,) = [r for r in unitary.rows if r[0] == "auc"]
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(
        promoted.data["repaid"], model.predict_proba(promoted.data[["income", "debt"]])[:, 1]
    )
    assert float(auc[2]) == pytest.approx(expected, rel=1e-3)


def test_without_bootstrap_in_the_evidence_the_card_gives_wilson_intervals_and_says_so(
    team: Team, tmp_path: Path
) -> None:
    checked = _checked(tmp_path, bootstrap=0)
    _register_and_promote(team, checked)
    evidence = Evidence.read(checked.evidence)
    parity = next(f for f in evidence.findings if f.rule_id == "parity")
    assert not any("selection_rate_ci" in g for g in parity.details["groups"])
    columns, rows, note, methods = _parity_table(team)
    assert columns[-1] == "selection_rate 95% CI"
    assert methods == {"selection_rate 95% CI": "Wilson score, 95%, from the group's rows"}
    assert "selection_rate: Wilson score, 95%, from the group's rows" in note
    assert "bootstrap" not in note
    counts = checked.data["sex"].value_counts()
    for row in rows:
        group = row[0].split("=")[1]
        rate = float(row[2])
        low, high = _wilson(round(rate * counts[group]), int(counts[group]), 0.95)
        assert _bounds(row[3]) == pytest.approx([low, high], rel=1e-3)


def test_a_group_the_evidence_holds_no_interval_for_falls_back_to_wilson_marked_so() -> None:
    from charter.cards.card import _group_table
    from charter.evidence import Finding, Threshold, Verdict

    finding = Finding(
        rule_id="parity",
        check="demographic_parity_difference",
        section="fairness",
        verdict=Verdict.PASS,
        message="",
        metric="demographic_parity_difference",
        value=0.1,
        threshold=Threshold(max=0.2),
        details={
            "metric_rates": ["selection_rate"],
            "sensitive": ["sex"],
            "bootstrap": {"confidence_level": 0.9, "resamples": 500, "seed": 7},
            "groups": [
                {
                    "group": "sex=F",
                    "count": 200,
                    "selection_rate": 0.3,
                    "selection_rate_ci": [0.25, 0.36],
                },
                {"group": "sex=M", "count": 100, "selection_rate": 0.4},
                {
                    "group": "sex=X",
                    "count": 0,
                    "selection_rate": None,
                    "selection_rate_ci": [None, None],
                },
            ],
        },
    )
    table = _group_table(finding, 0.95)
    assert table.columns == ["group", "n", "selection_rate", "selection_rate 90% CI"]
    cells = {row[0]: row[3] for row in table.rows}
    assert cells["sex=F"] == "[0.25, 0.36]"
    low, high = _wilson(40, 100, 0.90)  # the evidence's level, not the policy's
    assert cells["sex=M"].endswith(" (Wilson)")
    assert _bounds(cells["sex=M"].removesuffix(" (Wilson)")) == pytest.approx([low, high], rel=1e-3)
    assert cells["sex=X"] == "undefined"
    assert table.interval_methods["selection_rate 90% CI"] == (
        "bootstrap over counts, 90%, 500 resamples (seed 7), from the evidence and Wilson score,"
        " 90%, from the group's rows where the evidence holds no interval (marked Wilson)"
    )


def test_a_worst_group_metric_shows_its_worst_groups_interval_and_each_groups_from_the_evidence(
    team: Team, tmp_path: Path
) -> None:
    checked = _checked(tmp_path, worst_group_recall=True)
    _register_and_promote(team, checked)
    evidence = Evidence.read(checked.evidence)
    finding = next(f for f in evidence.findings if f.rule_id == "worst-recall")
    worst = finding.details["worst_group"]
    card = model_card(team.registry, NAME, 1, actor=team["otto"])
    quantitative = card.section("quantitative_analyses")
    (row,) = [r for r in quantitative.tables[0].rows if r[0] == "worst-recall"]
    # the value is the worst group's recall, so is its interval (not the overall recall's)
    from sklearn.metrics import recall_score

    model = charter.load_model(checked.model)
    predicted = model.predict(checked.data[["income", "debt"]])
    recalls = {
        sex: recall_score(checked.data["repaid"][rows], predicted[rows])
        for sex, rows in checked.data.groupby("sex").indices.items()
    }
    assert float(row[2]) == pytest.approx(min(recalls.values()), rel=1e-3)
    assert _bounds(row[3]) == pytest.approx(worst["ci"], rel=1e-3)
    assert _bounds(row[3])[0] <= float(row[2]) <= _bounds(row[3])[1]
    (table,) = [t for t in quantitative.tables if t.title.startswith("worst-recall:")]
    assert table.columns == ["group", "n", "recall", "recall 95% CI"]
    assert table.interval_methods == {
        "recall 95% CI": "bootstrap over counts, 95%, 200 resamples (seed 0), from the evidence"
    }
    held = {g["group"]: g["recall_ci"] for g in finding.details["groups"]}
    for group_row in table.rows:
        assert float(group_row[2]) == pytest.approx(recalls[group_row[0].split("=")[1]], rel=1e-3)
        assert _bounds(group_row[3]) == pytest.approx(held[group_row[0]], rel=1e-3)


def test_what_the_policy_does_not_say_is_left_to_a_person(team: Team, tmp_path: Path) -> None:
    checked = _checked(tmp_path, intended_use=None, description="<script>alert(1)</script>")
    _register_and_promote(team, checked)
    card = model_card(team.registry, NAME, 1, actor=team["otto"])
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

    policy_sha = team.registry.get_version(NAME, 1, actor=team["otto"]).policy_sha256
    watched = Evidence(
        model_name=NAME, stage="production", policy=Fingerprint(kind="policy", sha256=policy_sha)
    )
    team.registry.record_monitoring(NAME, 1, watched, actor=team["mo"])
    after = compliance_report(team.registry, NAME, 1, actor=team["otto"])
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
    report = compliance_report(team.registry, NAME, 1, actor=team["otto"])
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
    report = compliance_report(team.registry, NAME, 1, actor=team["otto"])
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


def test_a_policy_changed_in_the_database_is_not_written_up(
    team: Team,
    promoted: Checked,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import update

    from charter.registry import tables

    stored = team.registry.get_version(NAME, 1, actor=team["otto"]).policy
    tampered = {**stored, "model": {**stored["model"], "risk_tier": "minimal"}}
    with team.registry.engine.begin() as connection:
        connection.execute(update(tables.Version).values(policy=tampered))
    for key, value in team.env("otto").items():
        if key.startswith("CHARTER_"):
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    out = tmp_path / "card.md"
    for command in (["card", f"{NAME}:1", "--out", str(out)], ["compliance", f"{NAME}:1"]):
        assert main(command) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"the policy stored with {NAME}:1 does not match its recorded hash" in err
    assert not out.exists()
