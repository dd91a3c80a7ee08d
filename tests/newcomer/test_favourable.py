"""Item 20 of issue 11: positive_label is the favourable outcome; a caution when the names
suggest the default reads an adverse event as favourable.

Oracle: AIF360-style disparate impact computed with pandas from the selection rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from charter.gate import check
from tests.e2e.cli import run_charter


def _recidivism() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n = 4000
    race = rng.choice(["A", "B"], n)
    # the score flags group A as high risk more often: 1 is the unfavourable outcome
    pred = (rng.random(n) < np.where(race == "A", 0.45, 0.30)).astype(int)
    return pd.DataFrame({"race": race, "two_year_recid": pred, "pred": pred})


def _policy(tmp_path, positive_label: int | None) -> str:
    data: dict = {"target": "two_year_recid", "prediction": "pred"}
    if positive_label is not None:
        data["positive_label"] = positive_label
    policy = {
        "version": 1,
        "model": {"name": "compas-like"},
        "data": data,
        "fairness": {
            "sensitive": ["race"],
            "privileged": {"race": "B"},
            "rules": [{"id": "di", "check": "disparate_impact", "min": 0.8}],
        },
    }
    path = tmp_path / f"policy-{positive_label}.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("label", [None, 0, 1])
def test_disparate_impact_follows_the_favourable_label(tmp_path, label) -> None:
    data = _recidivism()
    finding = check(_policy(tmp_path, label), data, predictions="pred").findings[0]
    favourable = 1 if label is None else label
    rate = (data["pred"] == favourable).groupby(data["race"]).mean()
    assert finding.value == pytest.approx(rate["A"] / rate["B"], rel=1e-12)
    caution = finding.details.get("positive_label_warning")
    if label is None:
        assert "'two_year_recid' suggests it is an adverse event (recid)" in caution
        assert "set data.positive_label" in caution and "Caution:" in finding.message
    else:
        assert caution is None  # stated explicitly: no caution


def test_charter_check_prints_the_caution(tmp_path) -> None:
    data = tmp_path / "scores.csv"
    _recidivism().to_csv(data, index=False)
    result = run_charter(
        "check", "-p", _policy(tmp_path, None), "-d", str(data), "--predictions", "pred",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    out = " ".join(result.stdout.split())
    assert "caution: data.positive_label is not set" in out
