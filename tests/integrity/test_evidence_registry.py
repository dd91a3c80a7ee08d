"""Paths 1 and 2 at the registry: recomputed verdicts, verified evidence, binding to the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, save_model

from charter.errors import CharterError, GateFailedError
from charter.evidence import Evidence
from charter.gate import check
from charter.signing import EVIDENCE_SIGNATURE_FILE, SignatureError


def _forge(folder: Path, **changes: object) -> None:
    """Edit evidence.json the way a hand would: every finding that failed now claims to pass."""
    path = folder / "evidence.json"
    data = json.loads(path.read_text())
    for finding in data["findings"]:
        if finding["verdict"] == "fail":
            finding.update({"verdict": "pass", **changes})
    data["status"], data["passed"] = "passed", True
    path.write_text(json.dumps(data))


def test_a_hand_edited_verdict_does_not_reach_production(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, passed=False, tier="minimal")
    (candidate.evidence / EVIDENCE_SIGNATURE_FILE).unlink()
    _forge(candidate.evidence)
    register(team, candidate)
    with pytest.raises(GateFailedError) as caught:
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert "claims pass, but its value 0.2 is not <= 0.05" in caught.value.message
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None


def test_an_edit_after_signing_is_refused_at_registration(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, passed=False, tier="minimal")
    _forge(candidate.evidence, value=0.01)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        register(team, candidate)
    assert team.registry.list_models(actor=team["otto"]) == []


def test_high_risk_needs_verified_evidence(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, tier="high")
    (candidate.evidence / EVIDENCE_SIGNATURE_FILE).unlink()
    register(team, candidate)
    with pytest.raises(GateFailedError, match="not verified"):
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
    # staging is not production: unverified evidence may go there
    staged = team.registry.request_promotion(MODEL_NAME, 1, "staging", actor=team["eli"])
    assert staged.status == "completed"


def test_signed_evidence_is_verified_until_the_key_is_revoked(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1, tier="high"))
    version = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"])
    assert version.evidence is not None and version.evidence.verified.startswith("signed:")
    [key] = team.registry.trusted_keys(actor=team["otto"])
    team.registry.untrust_key(key["keyid"], actor=team["ada"])
    audit = team.registry.audit_log(actor=team["otto"], action="key.untrust")
    assert audit[-1].details["keyid"] == key["keyid"]
    with pytest.raises(GateFailedError, match="not verified"):
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])


def test_predictions_only_evidence_cannot_register_a_model(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, tier="minimal")
    data = json.loads((candidate.evidence / "evidence.json").read_text())
    data["inputs"].pop("model")
    (candidate.evidence / "evidence.json").write_text(json.dumps(data))
    (candidate.evidence / EVIDENCE_SIGNATURE_FILE).unlink()
    with pytest.raises(CharterError, match="no model fingerprint"):
        register(team, candidate)
    other = make_candidate(tmp_path / "other", seed=3, tier="minimal")
    with pytest.raises(CharterError, match="different model artifact"):
        team.registry.register(
            MODEL_NAME,
            model=save_model(tmp_path / "m", seed=5),
            evidence=other.evidence,
            policy=other.policy,
            actor=team["eli"],
        )


# ---------------------------------------------------------------------- the registry re-runs
@pytest.fixture
def real_gate(tmp_path: Path) -> dict[str, Path]:
    """A real model, real data, and the evidence `charter check` writes for them."""
    from registry_support import training_frame, write_policy

    frame = training_frame(n=400, seed=11)
    frame.to_parquet(tmp_path / "holdout.parquet")
    model = save_model(tmp_path / "model", seed=0)
    policy = write_policy(tmp_path / "policy", tier="high")
    check(
        policy,
        tmp_path / "holdout.parquet",
        model=model,
        out=tmp_path / "gate",
        progress=False,
    )
    return {"data": tmp_path / "holdout.parquet", "model": model, "policy": policy,
            "evidence": tmp_path / "gate"}  # fmt: skip


def test_the_registry_reruns_the_gate_and_verifies(
    team: Team, tmp_path: Path, real_gate: dict[str, Path]
) -> None:
    team.registry.register(
        MODEL_NAME, model=real_gate["model"], evidence=real_gate["evidence"],
        policy=real_gate["policy"], actor=team["eli"],
    )  # fmt: skip
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).evidence.verified is None
    version = team.registry.verify_evidence(MODEL_NAME, 1, real_gate["data"], actor=team["dora"])
    assert version.evidence is not None and version.evidence.verified == "rerun"
    audit = team.registry.audit_log(actor=team["otto"], action="evidence.verify")
    assert (
        audit[-1].details["data_sha256"]
        == Evidence.read(real_gate["evidence"]).inputs["data"].sha256
    )
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    for approver in ("ann", "arno"):
        request = team.registry.approve(request.id, actor=team[approver])
    assert request.status == "completed"


def test_a_rerun_refuses_other_data_and_edited_values(
    team: Team, tmp_path: Path, real_gate: dict[str, Path]
) -> None:
    forged = tmp_path / "forged"
    shutil.copytree(real_gate["evidence"], forged)
    data = json.loads((forged / "evidence.json").read_text())
    for finding in data["findings"]:
        if finding["rule_id"] == "enough-rows":
            finding["value"] = 4000.0
    (forged / "evidence.json").write_text(json.dumps(data))
    team.registry.register(
        MODEL_NAME, model=real_gate["model"], evidence=forged, policy=real_gate["policy"],
        actor=team["eli"],
    )  # fmt: skip
    other = tmp_path / "other.parquet"
    pd.read_parquet(real_gate["data"]).assign(debt=lambda f: f["debt"] + 1e-9).to_parquet(other)
    with pytest.raises(CharterError, match="is not the data the evidence was produced on"):
        team.registry.verify_evidence(MODEL_NAME, 1, other, actor=team["dora"])
    with pytest.raises(CharterError, match=r"rule 'enough-rows': the evidence's value 4000\.0"):
        team.registry.verify_evidence(MODEL_NAME, 1, real_gate["data"], actor=team["dora"])
    version = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"])
    assert version.evidence is not None and version.evidence.verified is None
