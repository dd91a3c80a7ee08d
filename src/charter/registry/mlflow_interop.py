"""MLflow interop: register an MLflow model version, send Charter's evidence to an MLflow run.

MLflow keeps the models; Charter governs them. :func:`register_from_mlflow` downloads the
artifact of ``models:/NAME/VERSION`` and registers it like any file (its hash, its skops
trusted types as MLflow recorded them, and where it came from). :func:`log_evidence_to_mlflow`
writes a version's evidence bundle, its metrics and its status to the MLflow run that produced
the model, so people who live in the MLflow UI see what the gate said.

MLflow is an optional dependency; both functions import it when called.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from charter.errors import CharterError, NotFoundError
from charter.evidence import Evidence
from charter.registry.records import Actor, ModelVersion

_MODEL_URI = re.compile(r"^models:/(?P<name>[^/]+)/(?P<version>\d+)$")
_METRIC_KEY = re.compile(r"[^A-Za-z0-9_\-./ ]")


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise CharterError(
            "MLflow is not installed",
            hint="pip install mlflow (or charter-governance[dev])",
        ) from None
    return mlflow


def parse_model_uri(uri: str) -> tuple[str, str]:
    """``models:/NAME/VERSION`` → ``(NAME, VERSION)``."""
    match = _MODEL_URI.match(uri.strip())
    if match is None:
        raise CharterError(
            f"'{uri}' is not an MLflow model version URI",
            hint="write models:/NAME/VERSION, e.g. models:/credit-risk/3",
        )
    return match["name"], match["version"]


def register_from_mlflow(
    registry: Any,
    name: str,
    model_uri: str,
    *,
    evidence: str | Path | Evidence,
    actor: Actor,
    policy: str | Path | None = None,
    train_data: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    trusted_types: Sequence[str] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register the artifact of an MLflow model version as a new Charter version.

    Parameters
    ----------
    registry
        The :class:`~charter.registry.Registry`.
    name
        Charter's name for the model (the policy's ``model.name``).
    model_uri
        ``models:/NAME/VERSION`` in the MLflow registry at ``MLFLOW_TRACKING_URI``.
    evidence, actor, policy, train_data, params, description
        As for :meth:`Registry.register`.
    trusted_types
        skops types to trust; default: those MLflow recorded for the model, else those in the
        file.

    Raises
    ------
    NotFoundError
        MLflow has no such model version.
    """
    mlflow = _mlflow()
    mlflow_name, mlflow_version = parse_model_uri(model_uri)
    client = mlflow.MlflowClient()
    try:
        info = client.get_model_version(mlflow_name, mlflow_version)
    except mlflow.exceptions.MlflowException as exc:
        raise NotFoundError(
            f"MLflow has no model version {model_uri}: {exc.message}",
            hint="check MLFLOW_TRACKING_URI and the name/version (`mlflow models` or the UI)",
        ) from None
    with tempfile.TemporaryDirectory(prefix="charter-mlflow-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        model_file, recorded_types, flavor = _model_file(local)
        trusted = trusted_types if trusted_types is not None else recorded_types
        lineage = {
            "mlflow": {
                "model_uri": model_uri,
                "name": mlflow_name,
                "version": str(info.version),
                "run_id": info.run_id,
                "source": info.source,
                "flavor": flavor,
                "tracking_uri": mlflow.get_tracking_uri(),
            }
        }
        version: ModelVersion = registry.register(
            name,
            model=model_file,
            evidence=evidence,
            actor=actor,
            policy=policy,
            train_data=train_data,
            params=params,
            trusted_types=trusted,
            description=description,
            extra_lineage=lineage,
        )
        return version


def _model_file(folder: Path) -> tuple[Path, list[str] | None, str | None]:
    """The artifact file inside a downloaded MLflow model, its recorded skops types, flavor."""
    mlmodel = folder / "MLmodel"
    if mlmodel.is_file():
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
        sklearn = (spec.get("flavors") or {}).get("sklearn")
        if sklearn:
            candidate = folder / str(sklearn.get("pickled_model", "model.skops"))
            types = sklearn.get("skops_trusted_types")
            if candidate.is_file():
                return candidate, list(types) if types else None, "sklearn"
    for pattern in ("*.skops", "*.pkl", "*.joblib"):
        found = sorted(folder.rglob(pattern))
        if found:
            return found[0], None, None
    raise CharterError(
        f"no model file (.skops, .pkl, .joblib) in the MLflow model at {folder}",
        hint="log the model with mlflow.sklearn.log_model (serialization_format='skops')",
    )


def log_evidence_to_mlflow(
    registry: Any,
    name: str,
    ref: str | int,
    *,
    actor: Actor,
    run_id: str | None = None,
) -> str:
    """Send a version's evidence to an MLflow run: the bundle, its metrics, its status.

    Parameters
    ----------
    run_id
        The run to write to; default: the run of the MLflow model version the Charter version
        was registered from.

    Returns
    -------
    str
        The run id written to.
    """
    mlflow = _mlflow()
    version: ModelVersion = registry.get_version(name, ref, actor=actor)
    bundle: Evidence = registry.evidence(name, version.number, actor=actor)
    source = version.lineage.get("mlflow") or {}
    target = run_id or source.get("run_id")
    if not target:
        raise CharterError(
            f"{version.ref} did not come from MLflow, so there is no run to write to",
            hint="give the MLflow run that trained this model",
            field="run_id",
        )
    from mlflow.entities import Metric, RunTag

    client = mlflow.MlflowClient()
    now = int(bundle.created_at.timestamp() * 1000)
    metrics = [
        Metric(
            key=_METRIC_KEY.sub("_", f"charter.{f.rule_id}"),
            value=float(f.value),
            timestamp=now,
            step=0,
        )
        for f in bundle.findings
        if f.value is not None and math.isfinite(f.value)
    ]
    tags = [
        RunTag("charter.version", version.ref),
        RunTag("charter.status", bundle.status),
        RunTag("charter.evidence_digest", version.evidence.digest if version.evidence else ""),
        RunTag("charter.policy_sha256", version.policy_sha256),
        RunTag("charter.artifact_sha256", version.artifact_sha256),
        RunTag("charter.stage", str(version.stage or "none")),
    ]
    try:
        client.log_batch(target, metrics=metrics, tags=tags)
        client.log_dict(target, bundle.to_dict(), "charter/evidence.json")
    except mlflow.exceptions.MlflowException as exc:
        raise CharterError(
            f"MLflow refused the evidence for run {target}: {exc.message}",
            hint="check MLFLOW_TRACKING_URI and that the run exists and is not deleted",
        ) from None
    if source.get("name") and source.get("version"):
        client.set_model_version_tag(
            source["name"], str(source["version"]), "charter.status", bundle.status
        )
    return str(target)
