"""The registry's reference profile holds the model's outputs on its training data.

So production prediction drift has a reference without any file: `charter monitor NAME --log
LOG` compares the log's scores with the scores the registered model gave its training rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from registry_support import (
    MODEL_NAME,
    Team,
    make_candidate,
    register,
    snapshot,
    training_frame,
)

from charter.artifacts import load_model
from charter.cli.app import main as charter
from charter.errors import DataError
from charter.lineage import reference_profile
from charter.monitor.profile import build_profile
from charter.policy import load_policy
from charter.stats.profile import DataProfile

FEATURES = ["income", "debt"]


def _column(profile: DataProfile | dict[str, Any], name: str) -> dict[str, Any]:
    restored = profile if isinstance(profile, DataProfile) else DataProfile.from_dict(profile)
    column: dict[str, Any] = restored.to_dict()["columns"][name]
    if column.get("categories"):
        values = sorted(column["categories"]["values"], key=repr)
        column["categories"] = {**column["categories"], "values": values}
    return column


def _loaded(path: Path) -> Any:
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def test_registering_with_train_data_profiles_the_models_score_and_prediction(
    team: Team, tmp_path: Path
) -> None:
    candidate = make_candidate(tmp_path)
    register(team, candidate)
    stored = team.registry.reference_profile(MODEL_NAME, 1, actor=team["otto"])
    assert stored is not None
    model = _loaded(candidate.model)  # the oracle: scikit-learn on the same rows
    rows = pd.read_parquet(candidate.train)
    score = model.predict_proba(rows[FEATURES])[:, 1]
    prediction = model.predict(rows[FEATURES])
    expected = build_profile(pd.DataFrame({"score": score, "prediction": prediction}))
    assert _column(stored, "score") == _column(expected, "score")
    assert _column(stored, "prediction") == _column(expected, "prediction")
    restored = DataProfile.from_dict(stored)
    assert restored.schema["score"] == "numerical"
    assert restored.schema["prediction"] == "categorical"
    assert restored.meta["model_outputs"] == {
        "score": "score",
        "prediction": "prediction",
        "rows": 400,
        "training_rows": 400,
        "sampled": False,
        "seed": None,
        "max_rows": 1_000_000,
    }


def test_model_outputs_of_large_training_data_come_from_a_seeded_sample(tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path)
    policy = load_policy(candidate.policy)
    model = load_model(candidate.model, trusted_types=sio.get_untrusted_types(file=candidate.model))
    profile = reference_profile(candidate.train, model=model, policy=policy, max_model_rows=150)
    meta = profile["meta"]["model_outputs"]
    assert (meta["rows"], meta["training_rows"], meta["sampled"], meta["seed"]) == (
        150,
        400,
        True,
        0,
    )
    restored = DataProfile.from_dict(profile)
    assert restored.rows == 400 and restored.columns["income"].count == 400
    assert restored.columns["score"].count == 150
    # the same 150 rows each time, drawn uniformly without replacement
    again = reference_profile(candidate.train, model=model, policy=policy, max_model_rows=150)
    assert _column(again, "score") == _column(profile, "score")
    rows = pd.read_parquet(candidate.train)
    take = np.sort(np.random.default_rng(0).choice(400, 150, replace=False))
    oracle = build_profile(
        pd.DataFrame({"score": model.predict_proba(rows.iloc[take][FEATURES])[:, 1]})
    )
    assert _column(profile, "score") == _column(oracle, "score")


def test_a_training_column_named_like_an_output_is_kept_as_the_data_has_it(
    tmp_path: Path,
) -> None:
    candidate = make_candidate(tmp_path)
    frame = training_frame()
    frame["score"] = np.linspace(0, 1, len(frame))
    frame.to_parquet(candidate.train)
    policy = load_policy(candidate.policy)
    model = _loaded(candidate.model)
    profile = reference_profile(candidate.train, model=model, policy=policy)
    assert _column(profile, "score") == _column(build_profile(frame), "score")
    meta = profile["meta"]["model_outputs"]
    assert meta["score"] is None and meta["prediction"] == "prediction"
    assert meta["skipped"] == {"score": "the training data has a column 'score'"}


def test_training_data_the_model_cannot_predict_on_is_refused_and_nothing_is_stored(
    team: Team, tmp_path: Path
) -> None:
    candidate = make_candidate(tmp_path)
    training_frame().drop(columns=["debt"]).to_parquet(candidate.train)
    with pytest.raises(DataError) as caught:
        register(team, candidate)
    assert "cannot compute the model's outputs on the training data" in caught.value.message
    assert "--train-data" in (caught.value.hint or "")
    assert team.registry.list_models(actor=team["otto"]) == []


def _log(path: Path, model: Any, *, seed: int, shift: float) -> Path:
    frame = training_frame(n=400, seed=seed).drop(columns=["default"])
    frame["ts"] = pd.Timestamp("2024-05-01") + pd.to_timedelta(np.arange(400) * 60, unit="s")
    score = model.predict_proba(frame[FEATURES])[:, 1]
    frame["score"] = np.clip(score + shift, 0, 1)  # an upstream change the features do not show
    frame["prediction"] = (frame["score"] > 0.5).astype(int)
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize("shift", [0.0, 0.25])
def test_monitoring_finds_prediction_drift_against_the_registry_reference_alone(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shift: float
) -> None:
    candidate = make_candidate(tmp_path)
    register(team, candidate)
    log = _log(tmp_path / "log.parquet", _loaded(candidate.model), seed=11, shift=shift)
    monkeypatch.setenv("CHARTER_DATABASE_URL", team.url)
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", str(team.store))
    monkeypatch.setenv("CHARTER_TOKEN", team.tokens["mo"])
    out = tmp_path / "monitoring"
    code = charter(
        ["monitor", MODEL_NAME, "--log", str(log), "--timestamp", "ts", "--out", str(out)]
    )
    evidence = json.loads((out / "evidence.json").read_text())
    findings = {f["rule_id"]: f for f in evidence["findings"]}
    drift = findings["prediction-drift"]
    assert drift["details"]["column"] == "score"
    assert findings["dataset-drift"]["verdict"] == "pass"
    assert "log.missing-columns" not in findings  # every reference column is in the log
    if shift:
        assert code == 1 and drift["verdict"] == "fail"
        assert drift["value"] < 1e-6  # Kolmogorov-Smirnov p-value, 400 vs 400 rows
    else:
        assert code == 0 and drift["verdict"] == "pass"
    recorded = team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"])
    assert [r.status for r in recorded] == ["failed" if shift else "passed"]


def _monitor_as(
    team: Team,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
) -> tuple[int, str]:
    """Run `charter monitor` on a drifting log as the holder of ``token``; (code, stderr)."""
    candidate = make_candidate(tmp_path)
    register(team, candidate)
    log = _log(tmp_path / "log.parquet", _loaded(candidate.model), seed=11, shift=0.25)
    monkeypatch.setenv("CHARTER_DATABASE_URL", team.url)
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", str(team.store))
    if token is None:
        monkeypatch.delenv("CHARTER_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CHARTER_TOKEN", token)
    capsys.readouterr()
    code = charter(
        [
            "monitor",
            MODEL_NAME,
            "--log",
            str(log),
            "--timestamp",
            "ts",
            "--out",
            str(tmp_path / "m"),
        ]
    )
    return code, " ".join(capsys.readouterr().err.split())


def test_a_policy_changed_in_the_database_stops_monitoring_and_nothing_is_recorded(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import update

    from charter.registry import tables

    candidate = make_candidate(tmp_path / "first")
    register(team, candidate)
    stored = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).policy
    tampered = {**stored, "model": {**stored["model"], "risk_tier": "minimal"}}
    with team.registry.engine.begin() as connection:
        connection.execute(update(tables.Version).values(policy=tampered))
    before = snapshot(team)
    log = _log(tmp_path / "log.parquet", _loaded(candidate.model), seed=11, shift=0.25)
    monkeypatch.setenv("CHARTER_DATABASE_URL", team.url)
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", str(team.store))
    monkeypatch.setenv("CHARTER_TOKEN", team.tokens["mo"])
    capsys.readouterr()
    out = tmp_path / "m"
    code = charter(
        ["monitor", MODEL_NAME, "--log", str(log), "--timestamp", "ts", "--out", str(out)]
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"the policy stored with {MODEL_NAME}:1 does not match its recorded hash" in err
    assert "charter audit verify" in err and "Traceback" not in err
    assert snapshot(team) == before  # no evidence, no flag, no audit entry
    assert not out.exists()


def test_a_user_without_a_role_may_not_read_the_version_and_the_denial_is_audited(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = team.registry.add_user("nemo", ["auditor"], actor=team["ada"])
    team.registry.revoke_role("nemo", "auditor", actor=team["ada"])
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    code, err = _monitor_as(team, tmp_path, monkeypatch, capsys, issued.token)
    assert code == 2 and "nemo (no role) may not version.read" in err
    entries = [e for e in team.registry.audit_log(actor=team["otto"]) if e.seq > before]
    # registering the version (as eli), then the refused read: nothing recorded for nemo
    assert [(e.actor, e.action) for e in entries if e.actor == "nemo"] == [
        ("nemo", "access.denied")
    ]
    assert entries[-1].details["attempted"] == "version.read"
    assert team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"]) == []


def test_a_wrong_token_exits_2_before_reading_anything(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _monitor_as(team, tmp_path, monkeypatch, capsys, "charter_not-a-token")
    assert code == 2 and "the token is not known to this registry" in err
    assert team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"]) == []


def test_without_a_token_monitoring_reads_the_registry_but_records_nothing(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _monitor_as(team, tmp_path, monkeypatch, capsys, None)
    assert code == 1  # the drift is found against the registry's reference
    assert "CHARTER_TOKEN is not set: results will not be recorded" in err
    assert team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"]) == []
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).flags == []


def test_an_auditor_reads_and_monitors_but_may_not_record(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _monitor_as(team, tmp_path, monkeypatch, capsys, team.tokens["otto"])
    assert code == 1
    assert team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"]) == []
    denials = team.registry.audit_log(actor=team["otto"], action="access.denied", user="otto")
    assert [d.details["attempted"] for d in denials] == ["monitoring.record"]


def test_a_webhook_secret_is_stored_as_its_reference_not_its_value(
    team: Team, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.policy.loader import policy_from_dict

    secret = "https://hooks.slack.com/services/T0/B0/s3cr3t-value"
    monkeypatch.setenv("SLACK_WEBHOOK", secret)
    monkeypatch.setenv("RETRAIN_TOKEN", "tok-s3cr3t")
    candidate = make_candidate(
        tmp_path,
        monitoring={
            "webhook": "${SLACK_WEBHOOK}",
            "command": "retrain --token ${RETRAIN_TOKEN}",
        },
    )
    register(team, candidate)
    stored = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).policy
    assert stored["monitoring"]["webhook"] == "${SLACK_WEBHOOK}"
    assert stored["monitoring"]["command"] == "retrain --token ${RETRAIN_TOKEN}"
    everything = json.dumps(snapshot(team)) + "".join(
        p.read_bytes().decode("latin-1") for p in team.store.rglob("*") if p.is_file()
    )
    everything += (candidate.evidence / "evidence.json").read_text()
    assert "s3cr3t" not in everything
    # the stored policy re-validates to the hash the evidence refers to, whatever the secret
    monkeypatch.setenv("SLACK_WEBHOOK", "https://hooks.slack.com/services/T1/B1/rotated")
    assert policy_from_dict(dict(stored)).sha256 == load_policy(candidate.policy).sha256
