"""Monitoring a registered version through the library: what the CLI, scheduler and API call."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charter.errors import DataError
from charter.evidence import Evidence
from charter.monitor.run import monitor
from charter.monitor.target import monitor_version, resolve_target
from charter.registry import Actor, Registry, Role
from charter.stats.profile import DataProfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
import registry_support as rs


def _drifting_log(path: Path) -> Path:
    rng = np.random.default_rng(5)
    parts = []
    for day in range(1, 5):
        frame = rs.training_frame(n=600, seed=10 + day)
        if day >= 3:
            frame["debt"] = frame["debt"] * 1.8
        frame["ts"] = pd.Timestamp(f"2024-03-0{day}") + pd.to_timedelta(
            rng.integers(0, 86400, len(frame)), unit="s"
        )
        parts.append(frame)
    pd.concat(parts).to_parquet(path)
    return path


@pytest.fixture
def registered(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    registry, admin = Registry.initialize(url, admin="ada", artifact_store=str(tmp_path / "a"))
    ada = registry.authenticate(admin.token)
    eli = registry.authenticate(registry.add_user("eli", [Role.ML_ENGINEER], actor=ada).token)
    mo = registry.authenticate(registry.add_user("mo", [Role.MONITOR], actor=ada).token)
    candidate = rs.make_candidate(
        tmp_path / "candidate",
        monitoring={"mark_needs_review": True, "timestamp_column": "ts", "drift_share": 0.3},
    )
    registry.register(
        rs.MODEL_NAME,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        train_data=candidate.train,
        actor=eli,
        source_dir=candidate.model.parent,
    )
    yield registry, mo, _drifting_log(tmp_path / "log.parquet")
    registry.close()


def test_monitor_version_records_flags_and_writes_what_the_cli_would(registered, tmp_path) -> None:
    registry, mo, log = registered
    outcome = monitor_version(registry, rs.MODEL_NAME, actor=mo, log=log, out=tmp_path / "out")
    assert not outcome.passed and outcome.exit_code == 1
    # the run is the library's monitor() on the registry's policy and reference profile
    stored_reference = DataProfile.from_dict(registry.reference_profile(rs.MODEL_NAME, 1, actor=mo))
    oracle = monitor(
        rs.MODEL_NAME,
        log,
        policy=registry.policy(rs.MODEL_NAME, 1, actor=mo),
        reference=stored_reference,
        version="1",
    )
    assert [(f.rule_id, f.verdict, f.value) for f in outcome.result.findings] == [
        (f.rule_id, f.verdict, f.value) for f in oracle.findings
    ]
    [recorded] = registry.monitoring_evidence(rs.MODEL_NAME, 1, actor=mo)
    assert recorded.digest == outcome.result.evidence.digest
    assert Evidence.read(outcome.evidence_path).digest == outcome.result.evidence.digest
    assert outcome.report_path.exists() and outcome.record_path.exists()
    flags = registry.get_version(rs.MODEL_NAME, 1, actor=mo).flags
    assert [f.flag for f in flags] == ["needs-review"]
    assert [(a.action, a.ok) for a in outcome.actions] == [("registry", True), ("flag", True)]


def test_without_a_user_it_reads_as_the_callers_system_actor_and_records_nothing(
    registered,
) -> None:
    registry, mo, log = registered
    scheduler = Actor.system("scheduler")
    target = resolve_target(rs.MODEL_NAME, registry=registry, actor=None, system_reader=scheduler)
    assert target.registered and target.version == "1" and target.actor is None
    outcome = monitor_version(registry, rs.MODEL_NAME, actor=None, log=log, system_reader=scheduler)
    assert not outcome.passed  # the run happened on the registry's policy and reference
    assert outcome.actions == [] and outcome.evidence_path is None
    assert registry.monitoring_evidence(rs.MODEL_NAME, 1, actor=mo) == []


def test_an_unregistered_model_needs_a_policy_and_a_reference(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="no policy for ghost"):
        resolve_target("ghost", registry=None, actor=None)
    (tmp_path / "policy.yaml").write_text(rs.make_candidate(tmp_path / "c").policy.read_text())
    with pytest.raises(DataError, match="no reference for ghost") as caught:
        resolve_target("ghost", registry=None, actor=None)
    assert "--reference" in (caught.value.hint or "")
