"""`charter check` on unlabelled, production-like data: fairness of predictions alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference

from tests.e2e.cli import run_charter

POLICY = """\
model: {name: credit-prod, owner: risk}
data: {sensitive: [sex]}
fairness:
  privileged: {sex: M}
  bootstrap: 200
  rules:
    - {id: parity, check: demographic_parity_difference, max: 0.5}
    - {id: di, check: disparate_impact, min: 0.5}
"""


def test_check_without_target_judges_the_predictions_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 600
    sex = rng.choice(["F", "M"], n)
    pred = (rng.random(n) < np.where(sex == "M", 0.5, 0.4)).astype(int)
    pd.DataFrame({"sex": sex, "pred": pred}).to_parquet(tmp_path / "prod.parquet")  # no label
    (tmp_path / "policy.yaml").write_text(POLICY)
    out = tmp_path / "out"
    policy, data = str(tmp_path / "policy.yaml"), str(tmp_path / "prod.parquet")
    result = run_charter(
        "check", "--policy", policy, "--data", data, "--predictions", "pred", "--out", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    evidence = json.loads((out / "evidence.json").read_text())
    parity = next(f for f in evidence["findings"] if f["rule_id"] == "parity")
    expected = demographic_parity_difference(np.zeros(n), pred, sensitive_features=sex)
    assert parity["value"] == expected
    assert all("selection_rate_ci" in g for g in parity["details"]["groups"])
    assert "true_positive_rate" not in parity["details"]["groups"][0]
