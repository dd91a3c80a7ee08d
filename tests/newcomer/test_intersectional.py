"""Item 19 of issue 11: an intersectional gap made by tiny groups names them.

Oracle: fairlearn's MetricFrame selection rate per (race, sex) group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from fairlearn.metrics import MetricFrame, selection_rate

from charter.gate import check
from charter.stats.results import describe_groups


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for race, sex, n in [
        ("White", "F", 400), ("White", "M", 420), ("Black", "F", 300), ("Black", "M", 310),
        ("Other", "F", 2), ("Asian", "M", 4),
    ]:  # fmt: skip
        p = {"Other": 1.0, "Asian": 0.0}.get(race, 0.5)
        pred = (rng.random(n) < p).astype(int)
        rows.append(pd.DataFrame({"race": race, "sex": sex, "pred": pred, "y": pred}))
    return pd.concat(rows, ignore_index=True)


def test_the_two_groups_that_set_the_gap_are_named_with_their_sizes(tmp_path) -> None:
    data = _data()
    policy = {
        "version": 1,
        "model": {"name": "m"},
        "data": {"target": "y", "prediction": "pred"},
        "fairness": {
            "sensitive": ["race", "sex"],
            "min_group_size": 30,
            "rules": [{"id": "dp", "check": "demographic_parity_difference", "max": 0.2}],
        },
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    finding = check(path, data, predictions="pred").findings[0]
    rates = MetricFrame(
        metrics=selection_rate,
        y_true=data["y"],
        y_pred=data["pred"],
        sensitive_features=data[["race", "sex"]],
    ).by_group
    high, low = rates.idxmax(), rates.idxmin()
    assert finding.value == rates.max() - rates.min()
    assert (
        f"set by [race={high[0]}, sex={high[1]}] (selection_rate 1, n=2, small)"
        f" and [race={low[0]}, sex={low[1]}] (selection_rate 0, n=4, small)"
    ) in finding.message
    assert (
        "2 small group(s) reported: [race=Asian, sex=M]; [race=Other, sex=F]" in (finding.message)
        or "2 small group(s) reported: [race=Other, sex=F]; [race=Asian, sex=M]" in finding.message
    )


def test_groups_are_listed_apart_from_the_attributes_inside_them() -> None:
    assert describe_groups(["race=Black, sex=F", "race=Asian, sex=M"]) == (
        "[race=Black, sex=F]; [race=Asian, sex=M]"
    )
    assert describe_groups(["sex=F", "sex=M"]) == "sex=F, sex=M"
