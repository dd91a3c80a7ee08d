"""`charter check` and `charter mitigate` as a user runs them: the console script."""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from charter.artifacts import save_model
from tests.e2e.cli import run_charter

POLICY = """\
model: {name: credit-e2e, owner: risk, risk_tier: high}
data:
  target: repaid
  sensitive: [sex]
  rules:
    - {id: rows, check: min_rows, min: 100, controls: [eu-ai-act:art-10.3]}
    - {id: nulls, check: null_fraction, max: 0.05}
"""
FAIRNESS = """\
fairness:
  rules:
    - {id: parity, check: demographic_parity_difference, max: 0.5, params: {bootstrap: 0}}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check-cli")
    rng = np.random.default_rng(21)
    n = 800
    sex = rng.choice(["F", "M"], n)
    income = rng.normal(50, 10, n) + np.where(sex == "M", 5, 0)
    debt = rng.normal(10, 3, n)
    repaid = ((income - 2 * debt + rng.normal(0, 6, n)) > 28).astype(int)
    frame = pd.DataFrame({"income": income, "debt": debt, "sex": sex, "repaid": repaid})
    frame.to_parquet(root / "holdout.parquet")
    frame.to_csv(root / "holdout.csv", index=False)
    model = LogisticRegression(max_iter=500).fit(frame[["income", "debt"]], repaid)
    save_model(model, root / "model.skops")
    (root / "model.pkl").write_bytes(pickle.dumps(model))
    (root / "policy.yaml").write_text(POLICY)
    (root / "strict.yaml").write_text(POLICY.replace("min: 100", "min: 1000000"))
    (root / "fair.yaml").write_text(POLICY + FAIRNESS)
    frame.assign(repaid=frame["repaid"].astype(float).where(np.arange(n) % 9 != 0)).to_parquet(
        root / "nan-labels.parquet"
    )
    frame.assign(repaid=np.arange(n) % 3).to_parquet(root / "three-labels.parquet")
    frame.assign(sex="F").to_parquet(root / "one-group.parquet")
    pd.DataFrame({"p": model.predict(frame[["income", "debt"]])[:700]}).to_csv(
        root / "short-predictions.csv", index=False
    )
    (root / "corrupt.skops").write_bytes((root / "model.skops").read_bytes()[:300])
    return root


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_passing_gate_exits_0_writes_files_and_a_job_summary(workspace: Path, tmp_path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    out = tmp_path / "out"
    result = run_charter(
        "check", "--policy", "policy.yaml", "--model", "model.skops",
        "--data", "holdout.parquet", "--target", "repaid", "--out", str(out),
        cwd=workspace, env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    evidence = json.loads((out / "evidence.json").read_text())
    assert evidence["status"] == "passed" and evidence["model_name"] == "credit-e2e"
    model_sha = hashlib.sha256((workspace / "model.skops").read_bytes()).hexdigest()
    assert evidence["inputs"]["model"]["sha256"] == model_sha
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "credit-e2e" in html
    for column in ("rule", "section", "metric", "value", "threshold", "verdict"):
        assert column in result.stdout
    assert "rows" in result.stdout and "800" in result.stdout and ">= 100" in result.stdout
    assert str(out / "report.html") in result.stdout
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "Charter gate: credit-e2e — passed" in text


def test_failing_blocking_rule_exits_1_and_csv_data_works(workspace: Path, tmp_path) -> None:
    result = run_charter(
        "check", "-p", "strict.yaml", "-m", "model.skops", "-d", "holdout.csv",
        "--out", str(tmp_path / "o"), cwd=workspace,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "FAILED" in result.stdout and "rows" in result.stdout
    evidence = json.loads((tmp_path / "o" / "evidence.json").read_text())
    assert evidence["inputs"]["data"]["format"] == "csv" and evidence["passed"] is False


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["-d", "holdout.parquet", "-t", "label"], "target 'label' not found", "columns"),
        (["-d", "nan-labels.parquet"], "missing (NaN) values", "drop the rows"),
        (["-d", "three-labels.parquet"], "must be binary", "binarise"),
        (
            ["-d", "holdout.parquet", "--predictions", "short-predictions.csv"],
            "700 values but the data has 800 rows",
            "one prediction per row",
        ),
        (["-d", "holdout.parquet", "-m", "corrupt.skops"], "cannot load the model", "save the"),
        (["-d", "holdout.parquet", "-m", "model.pkl"], "will not open it", "--trust-pickle"),
        (["-d", "missing.parquet"], "does not exist", "check the path"),
        (["-d", "one-group.parquet", "-p", "fair.yaml"], "has a single group", "every group"),
    ],
    ids=[
        "missing-column",
        "nan-labels",
        "non-binary",
        "lengths",
        "corrupt",
        "pickle",
        "no-file",
        "one-group",
    ],
)
def test_bad_input_exits_2_with_message_and_hint(workspace: Path, args, message, hint) -> None:
    result = run_charter("check", "-p", "policy.yaml", *args, "--out", "unused", cwd=workspace)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "hint:" in result.stderr and hint in result.stderr
    _no_traceback(result)
    assert not (workspace / "unused").exists()  # nothing written when the gate cannot run


def test_broken_and_unknown_key_policies_exit_2(workspace: Path, tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: {name: x\ndata: [\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text(POLICY.replace("  target: repaid", "  targt: repaid"))
    for policy, message in ((broken, "not valid YAML"), (typo, "did you mean 'target'")):
        result = run_charter("check", "-p", str(policy), "-d", "holdout.parquet", cwd=workspace)
        assert result.returncode == 2 and message in result.stderr
        _no_traceback(result)


def test_pickle_with_its_sha256_is_trusted(workspace: Path, tmp_path) -> None:
    digest = hashlib.sha256((workspace / "model.pkl").read_bytes()).hexdigest()
    result = run_charter(
        "check", "-p", "policy.yaml", "-m", "model.pkl", "--sha256", digest,
        "-d", "holdout.parquet", "--out", str(tmp_path / "o"), cwd=workspace,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_debug_shows_the_traceback(workspace: Path) -> None:
    result = run_charter(
        "--debug", "check", "-p", "policy.yaml", "-d", "three-labels.parquet", cwd=workspace
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "must be binary" in result.stderr


def test_mitigate_writes_a_model_and_gates_it_again(workspace: Path, tmp_path) -> None:
    fair = tmp_path / "fair.skops"
    result = run_charter(
        "mitigate", "-m", "model.skops", "-d", "holdout.parquet", "-p", "policy.yaml",
        "--method", "reweighing", "--out", str(fair),
        "--check-data", "holdout.parquet", "--check-out", str(tmp_path / "recheck"),
        cwd=workspace,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert fair.exists() and str(fair) in result.stdout
    evidence = json.loads((tmp_path / "recheck" / "evidence.json").read_text())
    assert evidence["inputs"]["model"]["sha256"] == hashlib.sha256(fair.read_bytes()).hexdigest()
    assert (tmp_path / "recheck" / "report.html").exists()


@pytest.mark.slow
def test_demo_chapters_block_the_biased_model_and_pass_the_mitigated_one(tmp_path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "credit_risk" / "demo.py"
    spec = importlib.util.spec_from_file_location("charter_demo", path)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    sys.modules["charter_demo"] = demo  # dataclasses look their module up
    try:
        spec.loader.exec_module(demo)
    finally:
        del sys.modules["charter_demo"]
    state = demo.Demo(out=tmp_path)
    for chapter in (
        demo.chapter_data,
        demo.chapter_train,
        demo.chapter_gate,
        demo.chapter_mitigate,
    ):
        chapter(state)  # a chapter raises SystemExit(1) when the story does not hold
    original, mitigated = state.evidence["original"], state.evidence["mitigated"]
    assert not original.passed and mitigated.passed
    blocked = {f.rule_id for f in original.blocking_findings}
    assert blocked == {"approval-parity", "equalized-odds", "four-fifths"}
    values = {f.rule_id: f.value for f in mitigated.findings}
    assert values["approval-parity"] < 0.1 and values["four-fifths"] >= 0.8
    for report in state.reports.values():
        assert report.exists() and report.stat().st_size > 10_000
