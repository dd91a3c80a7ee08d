"""Path 2: evidence binds to what it judged (the model artifact, or the predictions file)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charter.gate import check

POLICY = """\
model: {name: credit, risk_tier: limited}
data:
  target: repaid
  sensitive: [sex]
  rules:
    - {id: rows, check: min_rows, min: 10}
fairness:
  rules:
    - {id: parity, check: demographic_parity_difference, max: 0.9, params: {bootstrap: 0}}
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "repaid": rng.integers(0, 2, n)})
    frame.to_parquet(tmp_path / "holdout.parquet")
    pd.DataFrame({"approved": rng.integers(0, 2, n)}).to_csv(tmp_path / "preds.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    return tmp_path


def test_a_predictions_file_is_fingerprinted_and_named_as_written(files: Path) -> None:
    evidence = check(
        files / "policy.yaml",
        files / "holdout.parquet",
        predictions=str(files / "preds.csv"),
        progress=False,
    )
    fingerprint = evidence.inputs["predictions"]
    assert fingerprint.sha256 == hashlib.sha256((files / "preds.csv").read_bytes()).hexdigest()
    assert fingerprint.path == str(files / "preds.csv") and fingerprint.rows == 200
    assert evidence.extras["run"]["prediction_column"] == "approved"
    assert "__charter_prediction__" not in evidence.to_json()
    # the data's fingerprint is the data file's, not the data with the predictions joined
    assert (
        evidence.inputs["data"].sha256
        == hashlib.sha256((files / "holdout.parquet").read_bytes()).hexdigest()
    )
