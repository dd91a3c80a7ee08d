"""Item 22 of issue 11: the docs' examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

import charter
from charter.artifacts import save_model

ROOT = Path(__file__).resolve().parents[2]


def _python_block(doc: Path, heading: str) -> str:
    text = doc.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_registry_python_api_example_runs(pipeline, train: pd.DataFrame, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHARTER_HOME", raising=False)
    train.to_parquet("train.parquet")
    save_model(pipeline, "model.skops")
    policy = {
        "version": 1,
        "model": {"name": "credit-risk", "risk_tier": "limited"},
        "data": {"target": "y"},
        "fairness": {
            "sensitive": ["sex"],
            "rules": [{"id": "parity", "check": "demographic_parity_difference", "max": 0.5}],
        },
    }
    Path("policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    charter.check("policy.yaml", "train.parquet", model="model.skops", out="gate")
    namespace: dict[str, object] = {}
    exec(_python_block(ROOT / "docs" / "registry.md", "## Python API"), namespace)
    assert namespace["version"].number == 1
    assert namespace["registry"].verify_audit(actor=namespace["ada"]).ok
