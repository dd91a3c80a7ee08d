"""Path 15: a policy that does not mean what it says is refused (and path 11's non-UTF-8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charter.errors import PolicyError
from charter.gate import check
from charter.policy import load_policy


def _write(tmp_path: Path, text: str | bytes, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_duplicated_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "model:\n  name: m\n  risk_tier: high\n  risk_tier: minimal\n",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    text = str(info.value)
    assert "'risk_tier' appears twice" in text and "line 3 and line 4" in text


def test_a_duplicated_rule_field_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "model: {name: m}\ndata:\n  rules:\n"
        "    - id: n\n      check: null_fraction\n      max: 0.01\n      max: 0.9\n",
    )
    with pytest.raises(PolicyError, match="'max' appears twice"):
        load_policy(path)


@pytest.mark.parametrize(
    ("section", "rule", "bound"),
    [
        ("monitoring", "{id: c, check: column_drift, max: 3}", "max"),
        ("monitoring", "{id: p, check: prediction_drift, max: 0.5}", "max"),
        ("monitoring", "{id: d, check: dataset_drift, min: 0.1}", "min"),
        ("data", "{id: r, check: required_columns, params: {columns: [a]}, min: 1}", "min"),
        ("privacy", "{id: p, check: protected_attributes_not_features, max: 0}", "max"),
    ],
)
def test_bounds_a_check_ignores_are_refused(
    tmp_path: Path, section: str, rule: str, bound: str
) -> None:
    path = _write(tmp_path, f"model: {{name: m}}\n{section}:\n  rules:\n    - {rule}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert f"ignores {bound}" in str(info.value)
    assert f"{section}.rules[0].{bound}" in str(info.value)


def test_bounds_a_check_honours_still_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "model: {name: m}\nmonitoring:\n  rules:\n    - {id: d, check: dataset_drift, max: 0.3}\n"
        "data:\n  rules:\n    - {id: n, check: null_fraction, max: 0.1}\n",
    )
    assert load_policy(path).rule("d").max == 0.3


def test_a_non_utf8_policy_is_a_policy_error(tmp_path: Path) -> None:
    path = _write(tmp_path, b"model:\n  name: caf\xe9\n")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)


def test_the_gate_skips_the_monitoring_rules(tmp_path: Path) -> None:
    """docs/monitoring.md's example lists monitoring.rules; the gate must still run."""
    path = _write(
        tmp_path,
        "model: {name: m}\n"
        "data:\n  rules:\n    - {id: rows, check: min_rows, min: 10}\n"
        "monitoring:\n  rules:\n    - {id: drift, check: dataset_drift, max: 0.3}\n"
        "    - {id: cols, check: column_drift}\n",
    )
    frame = pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50) % 2})
    evidence = check(path, frame, predictions="y", progress=False)
    assert [f.rule_id for f in evidence.findings] == ["rows"]
    assert evidence.passed
