"""A registry with real models, requests, flags and monitoring, for the dashboard's tests.

``credit-risk`` (scikit-learn logistic regressions saved with skops, real evidence bundles):

- v1 went to production (requested by eli, approved by ann and arno), monitored by mo with a
  real monitoring run (drift, window fairness with intervals, window accuracy) over the six days
  up to today of a credit log that drifts from day 4;
- v2 replaced v1 in production the same way (so the history has two spells);
- v3 waits for production approval: requested by eli, approved by ann, one approval to go;
- v4 waits for production approval and carries an open ``needs-review`` flag raised by mo;
- v5 was registered only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import (
    MODEL_NAME,
    Team,
    _model_bytes,
    make_candidate,
    make_team,
    register,
    training_frame,
)

from charter.evidence import Evidence, Finding, Severity, Verdict


@dataclass
class World:
    """The team and the ids of the requests the tests act on."""

    team: Team
    pending: int
    flagged: int
    monitoring: Evidence


def monitoring_run(version: int) -> Evidence:
    """A real monitoring run of six daily windows; the log drifts and turns unfair on day 4."""
    import numpy as np
    import pandas as pd

    from charter.monitor.run import monitor
    from charter.policy.loader import policy_from_dict
    from charter.stats.profile import build_profile

    def frame(n: int, seed: int, shift: float, unfair: bool, start: str) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        sex = rng.choice(["F", "M"], n)
        income = rng.normal(50 + 15 * shift, 15, n)
        debt = rng.normal(20, 8, n)
        default = (rng.random(n) < 0.25).astype(int)
        score = 0.25 + 0.35 * (default - 0.25) + rng.normal(0, 0.12, n)
        if unfair:
            score = score + np.where(sex == "F", 0.25, 0.0)
        ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.integers(0, 86400, n)), unit="s")
        return pd.DataFrame(
            {
                "income": income,
                "debt": debt,
                "sex": sex,
                "default": default,
                "score": np.clip(score, 0, 1),
                "ts": ts,
            }
        )

    policy = policy_from_dict(
        {
            "model": {"name": MODEL_NAME},
            "data": {
                "target": "default",
                "score": "score",
                "sensitive": ["sex"],
                "timestamp_column": "ts",
            },
            "fairness": {
                "bootstrap": 100,
                "rules": [{"id": "parity", "check": "demographic_parity_difference", "max": 0.1}],
            },
            "performance": {"rules": [{"id": "accuracy", "check": "accuracy", "min": 0.6}]},
            "monitoring": {"window": "1d", "drift_share": 0.3},
        }
    )
    reference = build_profile(frame(4000, 1, 0.0, False, "2024-02-01").drop(columns=["ts"]))
    # the six days up to today: the production changes (made now) fall in the last window
    first = pd.Timestamp.now(tz="UTC").normalize().tz_localize(None) - pd.Timedelta(days=5)
    log = pd.concat(
        [
            frame(
                600, 100 + d, 0.6 if d >= 4 else 0.0, d >= 4, str(first + pd.Timedelta(days=d - 1))
            )
            for d in range(1, 7)
        ],
        ignore_index=True,
    )
    result = monitor(MODEL_NAME, log, policy=policy, reference=reference, version=str(version))
    return result.evidence


def shap_finding(seed: int) -> Finding:
    """Global SHAP importances (mean |SHAP value|) of the world's model for ``seed``, computed
    with shap's LinearExplainer on its training rows, as the gate's explainability rule
    records them."""
    import numpy as np
    import shap
    import skops.io as sio

    model = sio.loads(
        _model_bytes(seed), trusted=["sklearn.linear_model._logistic.LogisticRegression"]
    )
    features = training_frame(seed=seed)[["income", "debt"]]
    values = shap.LinearExplainer(model, features).shap_values(features)
    importances = dict(zip(features.columns, np.abs(values).mean(axis=0).tolist(), strict=True))
    return Finding(
        rule_id="shap",
        check="shap_explanations",
        section="explainability",
        verdict=Verdict.PASS,
        severity=Severity.WARN,
        message="SHAP explanations computed (linear)",
        details={"explainer": "linear", "importances": importances},
    )


def build_world(folder: Path) -> World:
    """Build the registry described in the module notes in ``folder`` (SQLite)."""
    team = make_team(f"sqlite:///{folder / 'registry.db'}", folder / "artifacts")
    registry = team.registry
    for seed in range(1, 6):
        candidate = make_candidate(
            folder / f"v{seed}", seed=seed, extra_findings=[shap_finding(seed)]
        )
        register(team, candidate)
    for number in (1, 2):
        request = registry.request_promotion(MODEL_NAME, number, "production", actor=team["eli"])
        registry.approve(request.id, actor=team["ann"], comment=f"v{number} evidence read")
        registry.approve(request.id, actor=team["arno"], comment="agreed")
    evidence = monitoring_run(1)
    registry.record_monitoring(MODEL_NAME, 1, evidence, actor=team["mo"])
    pending = registry.request_promotion(
        MODEL_NAME, 3, "production", actor=team["eli"], note="retrained on Q3 data"
    )
    registry.approve(pending.id, actor=team["ann"], comment="fairness within bounds")
    flagged = registry.request_promotion(MODEL_NAME, 4, "production", actor=team["emma"])
    registry.flag_version(
        MODEL_NAME, 4, "needs-review", "drift in the shadow run", actor=team["mo"]
    )
    return World(team=team, pending=pending.id, flagged=flagged.id, monitoring=evidence)
