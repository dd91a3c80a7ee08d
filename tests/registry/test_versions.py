"""Registering versions: artifact, trusted types, lineage, policy, evidence, reference profile."""

from __future__ import annotations

import hashlib
import math
import subprocess
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from registry_support import (
    MODEL_NAME,
    Team,
    make_candidate,
    register,
    training_frame,
    write_evidence,
)

from charter.artifact_store import ArtifactStore
from charter.artifacts import DEFAULT_TRUSTED_TYPES
from charter.errors import ArtifactIntegrityError, UntrustedArtifactError
from charter.evidence import Evidence
from charter.monitor.profile import build_profile
from charter.policy import policy_from_dict
from charter.registry import Registry
from charter.stats.profile import DataProfile


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_registration_records_lineage_policy_and_evidence(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path)
    repo = candidate.model.parent
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "https://bob:hunter2@git.example.com/credit.git")
    _git(repo, "add", "model.skops")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "model")
    (repo / "notes.txt").write_text("uncommitted", encoding="utf-8")
    dvc = tmp_path / "train.parquet.dvc"
    dvc.write_text(
        "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: train.parquet\n", encoding="utf-8"
    )

    version = register(team, candidate, params={"C": 1.0, "note": "baseline"})

    raw = candidate.model.read_bytes()
    assert version.artifact_sha256 == hashlib.sha256(raw).hexdigest()
    assert (version.artifact_format, version.artifact_size) == ("skops", len(raw))
    git = version.lineage["git"]
    assert git == {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "remote": "https://git.example.com/credit.git",
        "dirty": True,
    }
    train = version.lineage["data"]["train"]
    frame = pd.read_parquet(candidate.train)
    assert train["sha256"] == hashlib.sha256(candidate.train.read_bytes()).hexdigest()
    assert train["rows"] == len(frame)
    assert list(train["schema"]) == list(frame.columns)
    assert train["dvc"]["md5"] == "0123456789abcdef0123456789abcdef"
    assert version.lineage["environment"]["packages"]["scikit-learn"]
    assert version.params == {"C": 1.0, "note": "baseline"}
    evidence = Evidence.read(candidate.evidence)
    assert (
        policy_from_dict(version.policy).sha256 == version.policy_sha256 == evidence.policy.sha256
    )
    assert version.evidence is not None and version.evidence.digest == evidence.digest
    assert team.registry.evidence(MODEL_NAME, 1, actor=team["otto"]).digest == evidence.digest
    assert (
        version.evidence.report_sha256
        == hashlib.sha256((candidate.evidence / "report.html").read_bytes()).hexdigest()
    )
    (entry,) = team.registry.audit_log(actor=team["otto"], action="version.register")
    assert entry.details["artifact_sha256"] == version.artifact_sha256
    assert entry.details["git_commit"] == git["commit"] and entry.details["git_dirty"] is True


def test_the_reference_profile_is_the_monitors_profile_of_the_training_data(
    team: Team, tmp_path: Path
) -> None:
    candidate = make_candidate(tmp_path)
    register(team, candidate)
    stored = team.registry.reference_profile(MODEL_NAME, 1, actor=team["otto"])
    assert stored is not None
    expected = build_profile(pd.read_parquet(candidate.train)).to_dict()["columns"]
    restored = DataProfile.from_dict(stored).to_dict()["columns"]

    def canonical(columns: dict) -> dict:
        out = {}
        for name, column in columns.items():
            column = dict(column)
            if column.get("categories"):
                values = sorted(column["categories"]["values"], key=repr)
                column["categories"] = {**column["categories"], "values": values}
            out[name] = column
        return out

    # besides the training columns, the model's outputs (tests/registry/test_registry_monitoring.py)
    assert set(restored) == set(expected) | {"score", "prediction"}
    restored = {name: column for name, column in restored.items() if name in expected}
    assert canonical(restored) == canonical(expected)


def test_trusted_types_are_vouched_at_registration_and_used_to_load(
    team: Team, tmp_path: Path
) -> None:
    import lightgbm as lgb

    frame = training_frame()
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(
        frame[["income", "debt"]], frame["default"]
    )
    candidate = make_candidate(tmp_path)
    sio.dump(model, candidate.model)
    write_evidence(candidate.evidence, policy_path=candidate.policy, model_path=candidate.model)
    needed = sorted(sio.get_untrusted_types(file=candidate.model))
    assert needed and set(needed) <= DEFAULT_TRUSTED_TYPES

    version = register(team, candidate)
    assert version.trusted_types == needed
    loaded = team.registry.load_model(MODEL_NAME, 1, actor=team["otto"])
    features = frame[["income", "debt"]]
    np.testing.assert_allclose(loaded.predict_proba(features), model.predict_proba(features))


def test_a_type_nobody_vouched_for_is_refused_until_named(team: Team, tmp_path: Path) -> None:
    from sklearn.preprocessing import FunctionTransformer

    candidate = make_candidate(tmp_path)
    sio.dump(FunctionTransformer(math.log1p), candidate.model)
    write_evidence(candidate.evidence, policy_path=candidate.policy, model_path=candidate.model)
    unknown = sorted(set(sio.get_untrusted_types(file=candidate.model)) - DEFAULT_TRUSTED_TYPES)
    assert unknown
    with pytest.raises(UntrustedArtifactError, match="trusted_types") as caught:
        register(team, candidate)
    assert caught.value.field == "trusted_types"
    assert team.registry.list_models(actor=team["otto"]) == []
    # not a model (no predict): registered without training data, whose profile would need
    # the model's outputs
    version = team.registry.register(
        MODEL_NAME,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        actor=team["eli"],
        trusted_types=unknown,
    )
    assert set(unknown) <= set(version.trusted_types)


def test_artifacts_live_in_any_fsspec_store_and_are_checked_on_every_load(
    team: Team, tmp_path: Path
) -> None:
    url = f"memory://charter-{uuid.uuid4().hex[:8]}"
    registry = Registry.open(team.url, artifact_store=url)
    candidate = make_candidate(tmp_path)
    version = registry.register(
        MODEL_NAME,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        actor=team["eli"],
        source_dir=tmp_path,
    )
    assert version.artifact_uri.startswith("memory://")
    copy = registry.download(MODEL_NAME, 1, tmp_path / "out.skops", actor=team["otto"])
    assert copy.read_bytes() == candidate.model.read_bytes()
    # the same bytes registered again are stored once
    again = make_candidate(tmp_path / "again")
    registry.register(
        MODEL_NAME,
        model=again.model,
        evidence=again.evidence,
        policy=again.policy,
        actor=team["eli"],
        source_dir=tmp_path,
    )
    fs = fsspec.filesystem("memory")
    stored = [p for p in fs.find(url.removeprefix("memory://")) if "/sha256/" in p]
    assert len(stored) == 2  # the artifact once, the report once
    # tamper with the stored bytes: every load refuses them
    key = ArtifactStore(url)._key(version.artifact_sha256)
    fs.pipe_file(key, b"not the model")
    with pytest.raises(ArtifactIntegrityError, match="tampered"):
        registry.download(MODEL_NAME, 1, tmp_path / "again.skops", actor=team["otto"])
    assert not (tmp_path / "again.skops").exists()
    with pytest.raises(ArtifactIntegrityError):
        registry.load_model(MODEL_NAME, 1, actor=team["otto"])
    registry.close()


def test_versions_resolve_by_number_latest_stage_and_alias(team: Team, tmp_path: Path) -> None:
    for number in (1, 2, 3):
        register(team, make_candidate(tmp_path / f"v{number}", seed=number, tier="minimal"))
    team.registry.request_promotion(MODEL_NAME, 2, "production", actor=team["eli"])
    team.registry.set_alias(MODEL_NAME, "challenger", 3, actor=team["eli"])
    resolve = lambda ref: team.registry.get_version(MODEL_NAME, ref, actor=team["otto"]).number  # noqa: E731
    assert [resolve(r) for r in ("1", 2, "latest", "production", "challenger")] == [1, 2, 3, 2, 3]
    summary = team.registry.list_models(actor=team["otto"])
    assert [(s.name, s.versions, s.latest, s.production) for s in summary] == [
        (MODEL_NAME, 3, 3, 2)
    ]


def test_monitoring_evidence_and_flags_are_kept_with_the_version(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path))
    policy_sha = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).policy_sha256
    from charter.evidence import Fingerprint

    watched = Evidence(
        model_name=MODEL_NAME,
        stage="production",
        policy=Fingerprint(kind="policy", sha256=policy_sha),
    )
    record_id = team.registry.record_monitoring(MODEL_NAME, 1, watched, actor=team["mo"])
    team.registry.flag_version(MODEL_NAME, 1, "needs-review", "drift in income", actor=team["mo"])
    (kept,) = team.registry.monitoring_evidence(MODEL_NAME, 1, actor=team["otto"])
    assert kept.digest == watched.digest
    version = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"])
    assert [(f.flag, f.reason, f.created_by) for f in version.flags] == [
        ("needs-review", "drift in income", "mo")
    ]
    (entry,) = team.registry.audit_log(actor=team["otto"], action="monitoring.record")
    assert entry.details["evidence_id"] == record_id and entry.actor == "mo"
