"""Path 1 (pure part): a hand-edited evidence.json does not pass; signed evidence.

The verdicts are recomputed from the values and the policy's own bounds; a real gate run
(scikit-learn model, real data) is the oracle that honest evidence still passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from charter.artifacts import save_model
from charter.evidence import Evidence, Threshold, Verdict
from charter.gate import check
from charter.policy import load_policy
from charter.registry.promotion import evaluate_evidence
from charter.signing import (
    EVIDENCE_SIGNATURE_FILE,
    SignatureError,
    generate_keypair,
    load_public_key,
    read_envelope,
    sign_evidence,
    verify_evidence_signature,
)

POLICY = """\
model: {name: credit, risk_tier: high}
data:
  target: repaid
  sensitive: [sex]
  rules:
    - {id: rows, check: min_rows, min: 100}
    - {id: nulls, check: null_fraction, max: 0.05}
fairness:
  rules:
    - {id: parity, check: demographic_parity_difference, max: 0.02, params: {bootstrap: 0}}
    - {id: fifths, check: four_fifths_rule, params: {bootstrap: 0}}
performance:
  rules:
    - {id: auc, check: roc_auc, min: 0.6}
"""


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Evidence]:
    root = tmp_path_factory.mktemp("gate")
    rng = np.random.default_rng(7)
    n = 600
    sex = rng.choice(["F", "M"], n)
    income = rng.normal(50, 10, n) + np.where(sex == "M", 8, 0)
    repaid = ((income + rng.normal(0, 6, n)) > 52).astype(int)
    frame = pd.DataFrame({"income": income, "sex": sex, "repaid": repaid})
    frame.to_parquet(root / "holdout.parquet")
    model = LogisticRegression().fit(frame[["income"]], repaid)
    save_model(model, root / "model.skops")
    (root / "policy.yaml").write_text(POLICY)
    evidence = check(
        root / "policy.yaml",
        root / "holdout.parquet",
        model=root / "model.skops",
        out=root / "out",
        progress=False,
    )
    return root, root / "policy.yaml", evidence


def _edited(evidence: Evidence, rule_id: str, **changes: object) -> Evidence:
    data = json.loads(evidence.to_json())
    for finding in data["findings"]:
        if finding["rule_id"] == rule_id:
            finding.update(changes)
    return Evidence.from_json(json.dumps(data))


def test_the_gate_run_fails_parity_honestly(gate_run: tuple[Path, Path, Evidence]) -> None:
    _, policy_path, evidence = gate_run
    parity = next(f for f in evidence.findings if f.rule_id == "parity")
    assert parity.verdict is Verdict.FAIL and parity.value is not None and parity.value > 0.02
    outcome = evaluate_evidence(load_policy(policy_path), evidence, "production")
    assert [p for p in outcome.problems if "parity" in p]


def test_honest_passing_findings_hold_up(gate_run: tuple[Path, Path, Evidence]) -> None:
    """Every passing finding of a real gate run survives the recomputation."""
    _, policy_path, evidence = gate_run
    outcome = evaluate_evidence(load_policy(policy_path), evidence, "production")
    failed = {f.rule_id for f in evidence.findings if f.verdict is not Verdict.PASS}
    assert failed and failed != {f.rule_id for f in evidence.findings}
    assert len(outcome.problems) == len(failed), outcome.problems
    # every problem is an honest failure the gate reported, none a recomputed one
    assert {p.split("'")[1] for p in outcome.problems} == failed
    assert not [p for p in outcome.problems if "claims pass" in p or "holds it to" in p]


def test_a_verdict_edited_to_pass_is_refused(gate_run: tuple[Path, Path, Evidence]) -> None:
    _, policy_path, evidence = gate_run
    forged = _edited(evidence, "parity", verdict="pass")
    assert next(f for f in forged.findings if f.rule_id == "parity").verdict is Verdict.PASS
    outcome = evaluate_evidence(load_policy(policy_path), forged, "production")
    assert not outcome.passed
    assert any("claims pass, but its value" in p and "<= 0.02" in p for p in outcome.problems)


def test_bounds_edited_with_the_verdict_are_refused(gate_run: tuple[Path, Path, Evidence]) -> None:
    _, policy_path, evidence = gate_run
    forged = _edited(evidence, "parity", verdict="pass", threshold={"min": None, "max": 0.9})
    outcome = evaluate_evidence(load_policy(policy_path), forged, "production")
    assert any("holds it to <= 0.9, but the policy says <= 0.02" in p for p in outcome.problems)


def test_a_check_default_bound_cannot_be_loosened(gate_run: tuple[Path, Path, Evidence]) -> None:
    """four_fifths_rule without bounds in the policy is held to min 0.8, its check's default."""
    _, policy_path, evidence = gate_run
    fifths = next(f for f in evidence.findings if f.rule_id == "fifths")
    assert fifths.threshold == Threshold(min=0.8) and fifths.value is not None
    forged = _edited(
        evidence, "fifths", verdict="pass", threshold={"min": fifths.value / 2, "max": None}
    )
    outcome = evaluate_evidence(load_policy(policy_path), forged, "production")
    assert any("'fifths'" in p and "policy says >= 0.8" in p for p in outcome.problems)


def test_a_duplicate_passing_finding_does_not_hide_the_failing_one(
    gate_run: tuple[Path, Path, Evidence],
) -> None:
    _, policy_path, evidence = gate_run
    data = json.loads(evidence.to_json())
    parity = next(f for f in data["findings"] if f["rule_id"] == "parity")
    data["findings"].append({**parity, "verdict": "pass", "value": 0.01})
    forged = Evidence.from_json(json.dumps(data))
    outcome = evaluate_evidence(load_policy(policy_path), forged, "production")
    assert any("'parity' (fairness) fail" in p for p in outcome.problems)


def test_a_finding_of_another_check_is_refused(gate_run: tuple[Path, Path, Evidence]) -> None:
    _, policy_path, evidence = gate_run
    forged = _edited(evidence, "parity", verdict="pass", check="min_rows", value=0.0)
    outcome = evaluate_evidence(load_policy(policy_path), forged, "production")
    assert any("finding of check 'min_rows'" in p for p in outcome.problems)


# ---------------------------------------------------------------------- signatures
def test_a_signature_verifies_and_any_edit_breaks_it(
    gate_run: tuple[Path, Path, Evidence],
) -> None:
    _, _, evidence = gate_run
    pair = generate_keypair()
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key(pair.private_pem, password=None)
    envelope = sign_evidence(evidence, private)  # type: ignore[arg-type]
    trusted = {pair.keyid: load_public_key(pair.public_pem)}
    assert verify_evidence_signature(envelope, evidence, trusted) == pair.keyid
    # the evidence read back from its file has the same digest as the one signed
    assert verify_evidence_signature(envelope, Evidence.from_json(evidence.to_json()), trusted)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        verify_evidence_signature(envelope, _edited(evidence, "parity", value=0.0), trusted)
    other = generate_keypair()
    with pytest.raises(SignatureError, match="no trusted key"):
        verify_evidence_signature(
            envelope, evidence, {other.keyid: load_public_key(other.public_pem)}
        )
    forged = dict(
        envelope,
        signatures=[{"keyid": pair.keyid, "sig": envelope["signatures"][0]["sig"][:-4] + "AAA="}],
    )
    with pytest.raises(SignatureError, match="does not verify"):
        verify_evidence_signature(forged, evidence, trusted)


def test_charter_check_sign_writes_an_envelope_beside_the_evidence(
    gate_run: tuple[Path, Path, Evidence],
    tmp_path: Path,
    charter: Callable[..., tuple[int, str, str]],
) -> None:
    root, policy_path, _ = gate_run
    code, keyid, err = charter("keys", "generate", "--out", str(tmp_path / "ci"))
    assert code == 0, err
    assert oct((tmp_path / "ci.key").stat().st_mode & 0o777) == "0o600"
    out = tmp_path / "out"
    code, _, err = charter(
        "check",
        "--policy",
        str(policy_path),
        "--data",
        str(root / "holdout.parquet"),
        "--model",
        str(root / "model.skops"),
        "--out",
        str(out),
        "--sign",
        str(tmp_path / "ci.key"),
    )
    assert code == 1, err  # parity fails; the evidence is signed all the same
    envelope = read_envelope(out)
    assert envelope is not None and (out / EVIDENCE_SIGNATURE_FILE).is_file()
    public = load_public_key((tmp_path / "ci.pub").read_bytes())
    evidence = Evidence.read(out)
    assert verify_evidence_signature(envelope, evidence, {keyid.strip(): public}) == keyid.strip()


def test_a_bad_signing_key_stops_check_before_it_runs(
    gate_run: tuple[Path, Path, Evidence],
    tmp_path: Path,
    charter: Callable[..., tuple[int, str, str]],
) -> None:
    root, policy_path, _ = gate_run
    (tmp_path / "bad.key").write_text("not a key")
    code, _, err = charter(
        "check",
        "--policy",
        str(policy_path),
        "--data",
        str(root / "holdout.parquet"),
        "--out",
        str(tmp_path / "o"),
        "--sign",
        str(tmp_path / "bad.key"),
    )
    assert code == 2 and "not an unencrypted PEM private key" in err
    assert not (tmp_path / "o").exists()
