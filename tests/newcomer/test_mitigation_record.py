"""Item 4 of issue 11: a mitigation leaves a trace in the evidence, the card and the controls.

Oracle for the before/after metrics: fairlearn's demographic_parity_difference on the source
and the mitigated model's predictions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fairlearn.metrics import demographic_parity_difference
from registry_support import Team

from charter.artifacts import load_model, save_model
from charter.cards import ControlStatus, compliance_report, model_card, render_card
from charter.cards.render import render_compliance
from charter.evidence import sha256_file
from tests.e2e.cli import run_charter
from tests.newcomer.conftest import FEATURES


@pytest.fixture
def mitigated(pipeline, train_csv: Path, policy_file: Path, tmp_path: Path) -> dict[str, Path]:
    source = save_model(pipeline, tmp_path / "pipe.skops")
    out = tmp_path / "fair.skops"
    result = run_charter(
        "mitigate", "-m", str(source), "-d", str(train_csv), "-o", str(out),
        "--method", "reweighing", "-p", str(policy_file), "--check-data", str(train_csv),
        "--check-out", str(tmp_path / "checked"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return {"source": source, "model": out, "evidence": tmp_path / "checked"}


def test_the_evidence_records_method_parameters_source_and_metrics(mitigated, train) -> None:
    extras = json.loads((mitigated["evidence"] / "evidence.json").read_text())["extras"]
    record = extras["mitigation"]
    assert record["method"] == "reweighing"
    assert record["parameters"]["sensitive"] == ["sex"]
    assert record["source_model"]["sha256"] == sha256_file(mitigated["source"])
    assert record["source_model"]["class"] == "Pipeline"
    parity = record["metrics"]["parity"]
    x, y, sex = train[FEATURES], train["y"], train["sex"]
    for when, model in (("before", load_model(mitigated["source"])), ("after", None)):
        model = model or load_model(mitigated["model"])
        expected = demographic_parity_difference(y, model.predict(x), sensitive_features=sex)
        assert parity[when] == pytest.approx(expected, abs=1e-12)
    assert parity["after"] < parity["before"]
    # The record travels with the model: any later gate run on it copies it.
    assert load_model(mitigated["model"]).charter_mitigation_["method"] == "reweighing"


def test_card_and_compliance_report_use_the_mitigation(
    team: Team, mitigated, policy_file: Path
) -> None:
    team.registry.register(
        "newcomer",
        model=mitigated["model"],
        evidence=mitigated["evidence"],
        policy=policy_file,
        actor=team["eli"],
    )
    card = model_card(team.registry, "newcomer", 1, actor=team["otto"])
    ethics = card.section("ethical_considerations")
    items = {i.label: i.value for i in ethics.items}
    assert items["Bias mitigation"].startswith("reweighing on sex, from Pipeline sha256 ")
    (table,) = [t for t in ethics.tables if t.title.startswith("Before and after mitigation")]
    assert table.rows[0][:2] == ["parity", "demographic_parity_difference"]
    assert "Bias mitigation" in render_card(card, "html")
    report = compliance_report(team.registry, "newcomer", 1, actor=team["otto"])
    control = report.control("eu-ai-act:art-10.2.g")
    assert control.status is ControlStatus.SATISFIED
    assert control.evidence[0].startswith("bias mitigation: reweighing on sex")
    assert any("parity: demographic_parity_difference" in e for e in control.evidence)
    assert "bias mitigation: reweighing" in render_compliance(report, "html")


def test_without_mitigation_the_control_says_how_to_record_one(
    team: Team, pipeline, train_csv: Path, policy_file: Path, tmp_path: Path
) -> None:
    import charter

    model = save_model(pipeline, tmp_path / "pipe.skops")
    evidence = charter.check(policy_file, train_csv, model=model)
    evidence.write(tmp_path / "gate" / "evidence.json")
    team.registry.register(
        "newcomer", model=model, evidence=tmp_path / "gate", policy=policy_file,
        actor=team["eli"],
    )  # fmt: skip
    control = compliance_report(team.registry, "newcomer", 1, actor=team["otto"]).control(
        "eu-ai-act:art-10.2.g"
    )
    assert control.status is ControlStatus.NEEDS_PERSON
    assert "`charter mitigate --check-data` records one" in control.notes[0]


def test_register_a_lightgbm_with_string_training_data(
    team: Team, lightgbm, train_csv: Path, policy_file: Path, tmp_path: Path
) -> None:
    """Item 3: `register --train-data` profiles the model's outputs on a CSV of strings."""
    import charter

    model = save_model(lightgbm, tmp_path / "lgbm.skops")
    evidence = charter.check(policy_file, train_csv, model=model)
    evidence.write(tmp_path / "gate" / "evidence.json")
    version = team.registry.register(
        "newcomer", model=model, evidence=tmp_path / "gate", policy=policy_file,
        train_data=train_csv, actor=team["eli"],
    )  # fmt: skip
    assert version.lineage["data"]["train"]["sha256"] == sha256_file(train_csv)
