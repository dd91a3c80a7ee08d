"""MLflow interop: register from models:/NAME/VERSION, send Charter's evidence to the run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_support import (
    MODEL_NAME,
    TeamTemplates,
    make_candidate,
    training_frame,
    write_evidence,
)

from charter.cli.app import main
from charter.registry import Registry
from charter.registry.mlflow_interop import log_evidence_to_mlflow, register_from_mlflow

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A scikit-learn model logged (skops format) and registered in a local MLflow store."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        frame = training_frame()
        model = LogisticRegression().fit(frame[["income", "debt"]], frame["default"])
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name=MODEL_NAME, serialization_format="skops"
            )
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{MODEL_NAME}/1", dst_path=str(folder / "download")
            )
        )
        yield run.info.run_id, local / "model.skops"


@pytest.fixture
def registry(team_templates: TeamTemplates, tmp_path: Path):
    url, template = team_templates.copy("sqlite", tmp_path)
    registry = Registry.open(url, artifact_store=str(tmp_path / "artifacts"))
    yield registry, template
    registry.close()


def test_a_model_registered_from_mlflow_keeps_its_source_and_sends_evidence_back(
    registry, mlflow_model: tuple[str, Path], tmp_path: Path
) -> None:
    reg, template = registry
    run_id, model_file = mlflow_model
    candidate = make_candidate(tmp_path / "c")
    write_evidence(candidate.evidence, policy_path=candidate.policy, model_path=model_file)

    version = register_from_mlflow(
        reg,
        MODEL_NAME,
        f"models:/{MODEL_NAME}/1",
        evidence=candidate.evidence,
        policy=candidate.policy,
        actor=template.actors["eli"],
    )
    assert version.artifact_sha256 == hashlib.sha256(model_file.read_bytes()).hexdigest()
    source = version.lineage["mlflow"]
    assert (source["run_id"], source["version"], source["flavor"]) == (run_id, "1", "sklearn")
    assert reg.load_model(MODEL_NAME, 1, actor=template.actors["eli"]).predict(
        training_frame()[["income", "debt"]]
    ).shape == (400,)

    assert log_evidence_to_mlflow(reg, MODEL_NAME, 1, actor=template.actors["eli"]) == run_id
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    assert run.data.tags["charter.status"] == "passed"
    assert run.data.tags["charter.version"] == f"{MODEL_NAME}:1"
    assert run.data.metrics["charter.few-nulls"] == pytest.approx(0.01)
    logged = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="charter/evidence.json", dst_path=str(tmp_path / "e")
            )
        ).read_text()
    )
    assert logged["model_name"] == MODEL_NAME and logged["status"] == "passed"
    assert client.get_model_version(MODEL_NAME, "1").tags["charter.status"] == "passed"


def test_the_cli_registers_from_mlflow_and_refuses_unknown_versions(
    registry,
    mlflow_model: tuple[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reg, template = registry
    _, model_file = mlflow_model
    candidate = make_candidate(tmp_path / "c")
    write_evidence(candidate.evidence, policy_path=candidate.policy, model_path=model_file)
    monkeypatch.setenv("CHARTER_DATABASE_URL", str(reg.engine.url))
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", str(tmp_path / "artifacts"))
    monkeypatch.setenv("CHARTER_TOKEN", template.tokens["eli"])
    monkeypatch.setenv("COLUMNS", "250")
    assert (
        main(
            [
                "register",
                MODEL_NAME,
                "--mlflow-model",
                f"models:/{MODEL_NAME}/1",
                "--evidence",
                str(candidate.evidence),
                "--policy",
                str(candidate.policy),
            ]
        )
        == 0
    )
    assert "registered credit-risk:1" in capsys.readouterr().out
    assert (
        main(
            [
                "register",
                MODEL_NAME,
                "--mlflow-model",
                f"models:/{MODEL_NAME}/9",
                "--evidence",
                str(candidate.evidence),
            ]
        )
        == 2
    )
    assert "MLflow has no model version" in capsys.readouterr().err
    assert main(["mlflow", "log-evidence", f"{MODEL_NAME}:1"]) == 0
    assert len(reg.list_versions(MODEL_NAME, actor=template.actors["eli"])) == 1
