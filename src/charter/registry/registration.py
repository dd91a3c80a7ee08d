"""Putting things into the registry: versions with their lineage and evidence.

Registering checks everything before anything is written: the evidence is Charter's, is for
this model, was produced under the given policy and for this very artifact file
(:func:`check_evidence`, shared with :meth:`Registration.attach_evidence`); the artifact's skops
types are vouched for. Then the artifact and report go to the artifact store, and the version,
its evidence and the audit entries commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from charter import lineage as lineage_mod
from charter.artifact_store import ArtifactStore
from charter.artifacts import (
    DEFAULT_TRUSTED_TYPES,
    PICKLE_SUFFIXES,
    SKOPS_SUFFIXES,
    load_model,
    untrusted_types,
)
from charter.errors import CharterError, NotFoundError, UntrustedArtifactError
from charter.evidence import Evidence, sha256_bytes, sha256_file
from charter.policy.loader import policy_from_dict, read_policy_document
from charter.policy.schema import Policy
from charter.registry import tables
from charter.registry.lifecycle import evidence_changed
from charter.registry.lookup import check_name, find_version, version_record
from charter.registry.names import check_params, check_text
from charter.registry.records import Actor, ModelVersion
from charter.registry.roles import Action
from charter.registry.safeguards import signed_evidence
from charter.registry.store import Store
from charter.registry.verification import binding_problem


def check_evidence(
    bundle: Evidence,
    name: str,
    *,
    policy_sha256: str,
    policy: str,
    artifact_sha256: str,
    artifact: str,
    registering: bool,
) -> None:
    """Refuse evidence that is not for model ``name``, its policy and its artifact.

    Parameters
    ----------
    bundle
        The evidence offered.
    name
        The model the evidence must be for.
    policy_sha256, artifact_sha256
        The policy and artifact the evidence must have been produced for.
    policy, artifact
        How to name the policy and the artifact in a message (a path, or the version's).
    registering
        A new version is being registered (not evidence attached to one): shapes the hints.
    """
    if bundle.model_name != name:
        raise CharterError(
            f"the evidence is for model '{bundle.model_name}', not '{name}'",
            hint=f"register it as '{bundle.model_name}', or set model.name: {name} in the "
            "policy and run `charter check` again"
            if registering
            else "attach evidence produced for this model",
        )
    if bundle.policy.sha256 != policy_sha256:
        raise CharterError(
            f"the evidence was produced under a different policy (sha256 "
            f"{bundle.policy.sha256[:12]}…) than {policy} ({policy_sha256[:12]}…)",
            field="policy",
            hint="run `charter check` again with this policy, or give the policy that was used"
            if registering
            else "run `charter check` with the policy the version was registered with, or "
            "register a new version",
        )
    unbound = binding_problem(bundle, artifact_sha256, artifact)
    if unbound is not None:
        raise CharterError(
            unbound,
            hint="run `charter check --model` on this model file, or register the model that"
            " was checked"
            if registering
            else "check the registered artifact (`charter download`) and attach its evidence",
        )


class Registration:
    """Registering versions and attaching evidence to them.

    Parameters
    ----------
    store
        The registry's store.
    artifacts
        Where artifacts and reports go.
    """

    def __init__(self, store: Store, artifacts: ArtifactStore) -> None:
        self.store = store
        self.artifacts = artifacts

    def register(
        self,
        name: str,
        *,
        model: str | Path,
        evidence: str | Path | Evidence,
        actor: Actor,
        policy: str | Path | None = None,
        train_data: str | Path | None = None,
        params: Mapping[str, Any] | None = None,
        trusted_types: Sequence[str] | None = None,
        source_dir: str | Path | None = None,
        description: str | None = None,
        report: str | Path | None = None,
        extra_lineage: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Register a new version of ``name``.

        Parameters
        ----------
        name
            The model's registry name; must equal the evidence's (the policy's ``model.name``).
        model
            The artifact file (``.skops``; pickle/joblib are recorded and load only by hash).
        evidence
            The gate's evidence: a folder holding ``evidence.json`` (and ``report.html``), the
            file itself, or an :class:`Evidence`.
        actor
            Who registers (role data_scientist or ml_engineer).
        policy
            The policy file the evidence was produced under; default: the path recorded in
            the evidence. Its hash must equal the evidence's.
        train_data
            Training data file: fingerprinted, and profiled as the monitoring reference
            together with the model's outputs on it (score and prediction, see
            :func:`charter.lineage.reference_profile`).
        params
            Free parameters to record (hyper-parameters, notes).
        trusted_types
            skops types the registrant vouches for beyond Charter's reviewed allow-list
            (:data:`charter.artifacts.DEFAULT_TRUSTED_TYPES`). The registry records the types the
            file needs and loads it with exactly those.
        source_dir
            Folder whose git state is recorded (default: the working directory).
        description
            A free description of the version.
        report
            The HTML report to keep with the evidence (default: ``report.html`` beside it).
        extra_lineage
            More lineage to record (e.g. the MLflow source of the artifact).

        Raises
        ------
        CharterError
            Bad input — nothing is stored.
        PermissionDeniedError
            The actor may not register (audited).
        """
        check_name(name)
        self.store.require(actor, Action.MODEL_REGISTER, f"model:{name}", model=name)
        # git runs while the input is checked and profiled; its answer is awaited below
        git = lineage_mod.start_git_info(source_dir or Path.cwd())
        try:
            bundle, report_path = read_evidence(evidence, report)
            policy_path, policy_doc, validated_policy = _policy_for(bundle, policy)
            policy_sha = validated_policy.sha256 or ""
            artifact = Path(model)
            if not artifact.is_file():
                raise NotFoundError(
                    f"no model artifact at {artifact}", hint="check the path", field="model"
                )
            artifact_format = artifact.suffix.lstrip(".").lower() or "unknown"
            artifact_sha = sha256_file(artifact)
            check_evidence(
                bundle,
                name,
                policy_sha256=policy_sha,
                policy=str(policy_path),
                artifact_sha256=artifact_sha,
                artifact=str(artifact),
                registering=True,
            )
            trusted = trusted_types_of(artifact, trusted_types)
            verified, signature = signed_evidence(self.store, evidence, bundle)
            check_text(description, what="description")
            check_params(params)

            data_fingerprints: dict[str, Any] = {}
            profile: dict[str, Any] | None = None
            if train_data is not None:
                data_fingerprints["train"] = lineage_mod.data_fingerprint(train_data, kind="train")
                profile = lineage_mod.reference_profile(
                    train_data,
                    model=_load_for_profile(artifact, trusted, artifact_sha),
                    policy=validated_policy,
                    bins=validated_policy.monitoring.bins,
                    kinds={
                        column: settings.kind
                        for column, settings in validated_policy.monitoring.per_column.items()
                        if settings.kind
                    },
                )
            for key, value in bundle.inputs.items():
                if key != "model":
                    data_fingerprints.setdefault(key, value.model_dump(mode="json"))
            stored = self.artifacts.put_file(artifact)
            report_sha = (
                self.artifacts.put_bytes(report_path.read_bytes()).sha256 if report_path else None
            )
            body = bundle.to_json(indent=None)
            lineage: dict[str, Any] = {
                "git": git(),
                "data": data_fingerprints,
                "environment": lineage_mod.environment(),
                "evidence_environment": bundle.environment,
                "model_file": str(artifact),
            }
            if extra_lineage:
                lineage.update(dict(extra_lineage))
        finally:
            git()  # reaps the git processes on every path
        with self.store.write(actor, Action.MODEL_REGISTER, f"model:{name}", model=name) as tx:
            model_row = tx.session.scalar(
                select(tables.RegisteredModel).where(tables.RegisteredModel.name == name)
            )
            if model_row is None:
                model_row = tables.RegisteredModel(name=name, created_by=actor.username)
                tx.session.add(model_row)
                tx.session.flush()
                tx.audit("model.create", f"model:{name}", model=name)
            number = (
                tx.session.scalar(
                    select(func.max(tables.Version.number)).where(
                        tables.Version.model_id == model_row.id
                    )
                )
                or 0
            ) + 1
            version = tables.Version(
                model_id=model_row.id,
                number=number,
                stage=None,
                artifact_sha256=stored.sha256,
                artifact_format=artifact_format,
                artifact_size=stored.size,
                artifact_uri=stored.uri,
                trusted_types=trusted,
                lineage=lineage,
                params=dict(params or {}),
                policy=policy_doc,
                policy_sha256=policy_sha,
                reference_profile=profile,
                description=description,
                created_by=actor.username,
            )
            tx.session.add(version)
            tx.session.flush()
            record = evidence_record(version, bundle, body, "gate", actor, report_sha)
            record.verified, record.signature = verified, signature
            tx.session.add(record)
            tx.session.flush()
            version.evidence_id = record.id
            repository = lineage.get("git") or {}
            tx.audit(
                "version.register",
                f"model:{name}/{number}",
                model=name,
                details={
                    "version": number,
                    "artifact_sha256": stored.sha256,
                    "artifact_format": artifact_format,
                    "trusted_types": trusted,
                    "policy_sha256": policy_sha,
                    "evidence_digest": record.digest,
                    "evidence_status": record.status,
                    "evidence_verified": verified,
                    "git_commit": repository.get("commit"),
                    "git_dirty": repository.get("dirty"),
                    "data": {k: v.get("sha256") for k, v in data_fingerprints.items()},
                    "params": dict(params or {}),
                },
            )
            info = version_record(tx.session, version, name, new=True)
        return info

    def attach_evidence(
        self,
        name: str,
        ref: str | int,
        evidence: str | Path | Evidence,
        *,
        actor: Actor,
        report: str | Path | None = None,
    ) -> ModelVersion:
        """Replace a version's gate evidence (e.g. after re-checking with more data).

        Approvals given on the old evidence are withdrawn; pending requests whose stage the new
        evidence fails are refused.
        """
        bundle, report_path = read_evidence(evidence, report)
        with self.store.read() as session:
            current = find_version(session, name, ref)
            policy_sha, artifact_sha = current.policy_sha256, current.artifact_sha256
            label = f"{name}:{current.number}"
        check_evidence(
            bundle,
            name,
            policy_sha256=policy_sha,
            policy=f"the policy of {label}",
            artifact_sha256=artifact_sha,
            artifact=f"the artifact of {label}",
            registering=False,
        )
        subject = f"model:{name}/{ref}"
        self.store.require(actor, Action.EVIDENCE_ATTACH, subject, model=name)
        verified, signature = signed_evidence(self.store, evidence, bundle)
        report_sha = (
            self.artifacts.put_bytes(report_path.read_bytes()).sha256 if report_path else None
        )
        body = bundle.to_json(indent=None)
        with self.store.write(actor, Action.EVIDENCE_ATTACH, subject, model=name) as tx:
            version = find_version(tx.session, name, ref)
            record = evidence_record(version, bundle, body, "gate", actor, report_sha)
            record.verified, record.signature = verified, signature
            tx.session.add(record)
            tx.session.flush()
            old = (
                tx.session.get(tables.EvidenceRecord, version.evidence_id)
                if version.evidence_id
                else None
            )
            version.evidence_id = record.id
            tx.audit(
                "evidence.attach",
                f"model:{name}/{version.number}",
                model=name,
                details={
                    "version": version.number,
                    "evidence_digest": record.digest,
                    "previous_digest": old.digest if old else None,
                    "status": record.status,
                },
            )
            if old is None or old.digest != record.digest:
                evidence_changed(tx, version, name, bundle, record.digest)
            info = version_record(tx.session, version, name)
        return info

    def record_monitoring(
        self, name: str, version: str | int, evidence: Evidence, *, actor: Actor
    ) -> int:
        """Store monitoring evidence for a version and audit it; returns its id."""
        body = evidence.to_json(indent=None)
        subject = f"model:{name}/{version}"
        with self.store.write(actor, Action.MONITORING_RECORD, subject, model=name) as tx:
            row = find_version(tx.session, name, version)
            record = evidence_record(row, evidence, body, "monitoring", actor, None)
            tx.session.add(record)
            tx.session.flush()
            tx.audit(
                "monitoring.record",
                f"model:{name}/{row.number}",
                model=name,
                details={
                    "version": row.number,
                    "evidence_id": record.id,
                    "evidence_digest": record.digest,
                    "status": record.status,
                    "summary": evidence.summary(),
                },
            )
            return record.id


def read_evidence(
    evidence: str | Path | Evidence, report: str | Path | None
) -> tuple[Evidence, Path | None]:
    """The evidence bundle (from a folder, a file or as given) and its HTML report, if any."""
    if isinstance(evidence, Evidence):
        return evidence, Path(report) if report else None
    source = Path(evidence)
    file = source / "evidence.json" if source.is_dir() else source
    if not file.is_file():
        raise NotFoundError(
            f"no evidence at {file}",
            hint="give the folder `charter check ... --out DIR` wrote (or its evidence.json)",
            field="evidence",
        )
    try:
        bundle = Evidence.read(file)
    except (ValueError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise CharterError(
            f"{file} is not a Charter evidence bundle: {first}",
            hint="pass the evidence.json written by `charter check`",
        ) from None
    report_path = Path(report) if report else file.parent / "report.html"
    return bundle, report_path if report_path.is_file() else None


def evidence_record(
    version: tables.Version,
    bundle: Evidence,
    body: str,
    kind: str,
    actor: Actor,
    report_sha: str | None,
) -> tables.EvidenceRecord:
    """A new evidence row for ``version``, with the digest of the stored body."""
    return tables.EvidenceRecord(
        version_id=version.id,
        kind=kind,
        stage=bundle.stage,
        digest=sha256_bytes(body.encode("utf-8")),
        status=bundle.status,
        passed=bundle.passed,
        body=body,
        report_sha256=report_sha,
        recorded_by=actor.username,
    )


def trusted_types_of(artifact: Path, vouched: Sequence[str] | None) -> list[str]:
    """The skops types a registered artifact may load with, vouched for now.

    Every type skops does not trust by itself must be in Charter's reviewed allow-list
    (:data:`charter.artifacts.DEFAULT_TRUSTED_TYPES`) or named by the registrant; the registry
    stores the list and loads the artifact with exactly it, never with what the file says later.
    """
    if artifact.suffix.lower() not in SKOPS_SUFFIXES:
        return sorted(vouched or [])
    found = set(untrusted_types(artifact))
    allowed = set(DEFAULT_TRUSTED_TYPES) | set(vouched or [])
    unknown = sorted(found - allowed)
    if unknown:
        raise UntrustedArtifactError(
            f"{artifact} holds types nobody vouched for: {', '.join(unknown)}",
            hint="if you trust them, vouch for them in trusted_types: " + ", ".join(unknown),
            field="trusted_types",
        )
    return sorted(found)


def _load_for_profile(artifact: Path, trusted: list[str], sha256: str) -> Any:
    """The artifact being registered, loaded the way the registry loads it later.

    With exactly the skops types recorded for it (pickle/joblib only by the hash just taken),
    so the model outputs of the reference profile come from the model that is stored.
    Artifacts of formats Charter does not load (ONNX, ...) give ``None``: no model outputs.
    """
    if artifact.suffix.lower() not in (*SKOPS_SUFFIXES, *PICKLE_SUFFIXES):
        return None
    return load_model(artifact, trusted_types=trusted, sha256=sha256)


def _policy_for(bundle: Evidence, policy: str | Path | None) -> tuple[Path, dict[str, Any], Policy]:
    """The policy file the evidence names (or ``policy``): its path, document and validation."""
    path = (
        Path(policy)
        if policy is not None
        else (Path(bundle.policy.path) if bundle.policy.path else None)
    )
    if path is None or not path.is_file():
        where = f" ({path})" if path is not None else ""
        raise NotFoundError(
            f"cannot find the policy the evidence was produced under{where}",
            hint="give the policy.yaml that was given to `charter check`",
            field="policy",
        )
    document = read_policy_document(path)
    return path, document, policy_from_dict(document, source=str(path))
