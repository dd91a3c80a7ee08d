"""Versions, changed: register (uploads, in the background), attach evidence, archive, flags.

Uploads are saved under fixed names in a folder of their own (``CHARTER_HOME/uploads/<id>``);
a client's file name only lends its suffix (the artifact's format, the data's format) and is
refused when it is a path. The registry then reads them as the CLI's files.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from charter.errors import CharterError
from charter.evidence import Evidence
from charter.registry import Action, Actor, ModelVersion, Registry
from charter.registry.records import FlagInfo
from charter.server.deps import ActorDep, RegistryDep, RequestIdDep, SettingsDep, performs
from charter.server.jobs import Job, JobRunner, preferred_wait
from charter.server.problems import problem_responses

router = APIRouter(tags=["versions"])

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422)
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,16}$")
DATA_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".arrow", ".feather", ".ipc", ".jsonl")


class Archive(BaseModel):
    """Why a version is archived."""

    reason: str | None = Field(default=None, max_length=2000)


class NewFlag(BaseModel):
    """A flag to raise on a version."""

    flag: str = Field(description="e.g. needs-review", min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class Resolution(BaseModel):
    """Why an open flag may be resolved (what was reviewed)."""

    reason: str = Field(min_length=1, max_length=2000)


class Recorded(BaseModel):
    """Monitoring evidence, stored."""

    model: str
    version: str
    evidence_id: int = Field(description="The stored evidence's id.")
    status: str


class AliasTarget(BaseModel):
    """The version an alias points at."""

    version: str = Field(description="A number, stage, alias or latest.", min_length=1)


# ---------------------------------------------------------------------- uploads
def _plain_name(upload: UploadFile, field: str) -> str:
    name = upload.filename or ""
    if not name or "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        raise CharterError(
            f"the file name of '{field}' ({name!r}) is not a plain file name",
            hint="send the file under its own name, without folders (no '/' or '..')",
        )
    return name


def _suffix(upload: UploadFile, field: str, allowed: tuple[str, ...] | None = None) -> str:
    suffix = PurePosixPath(_plain_name(upload, field)).suffix.lower()
    if not _SUFFIX.match(suffix) or (allowed is not None and suffix not in allowed):
        wanted = ", ".join(allowed) if allowed else "a suffix naming its format, e.g. .skops"
        raise CharterError(
            f"the file name of '{field}' ({upload.filename!r}) does not say its format",
            hint=f"name it with {wanted}",
        )
    return suffix


def _json_object(text: str | None, field: str) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CharterError(
            f"'{field}' is not JSON: {exc.msg} at character {exc.pos}",
            hint=f'send {field} as a JSON object, e.g. {{"learning_rate": 0.05}}',
        ) from None
    if not isinstance(value, dict):
        raise CharterError(f"'{field}' must be a JSON object", hint='e.g. {"key": "value"}')
    return value


async def _save(upload: UploadFile, target: Path) -> Path:
    def copy() -> None:
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)

    await run_in_threadpool(copy)
    return target


def _upload_folder(home: Path) -> Path:
    folder = home / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def _version_location(request: Request, version: ModelVersion) -> str:
    return str(request.url_for("get_version", name=version.model, ref=str(version.number)).path)


# ---------------------------------------------------------------------- register
@router.post(
    "/models/{name}/versions",
    summary="Register a version (uploads)",
    openapi_extra=performs(Action.MODEL_REGISTER),
    status_code=201,
    response_model=ModelVersion,
    responses={
        201: {"model": ModelVersion, "description": "Registered."},
        202: {"model": Job, "description": "Registering in the background: poll Location."},
        **_WRITE,
    },
)
async def register_version(
    request: Request,
    name: str,
    registry: RegistryDep,
    actor: ActorDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    model: Annotated[UploadFile, File(description="The model artifact (.skops).")],
    evidence: Annotated[UploadFile, File(description="evidence.json of `charter check`.")],
    policy: Annotated[UploadFile, File(description="The policy the evidence was made under.")],
    report: Annotated[
        UploadFile | None, File(description="report.html of `charter check`.")
    ] = None,
    train_data: Annotated[
        UploadFile | None,
        File(description="Training data (Parquet, CSV, Arrow, JSONL): fingerprint and profile."),
    ] = None,
    params: Annotated[str | None, Form(description="Parameters to record, a JSON object.")] = None,
    git: Annotated[
        str | None,
        Form(description="The code's git state, a JSON object: commit, branch, remote, dirty."),
    ] = None,
    trusted_types: Annotated[
        list[str] | None, Form(description="skops types vouched for (repeatable).")
    ] = None,
    description: Annotated[str | None, Form(max_length=2000)] = None,
    prefer: Annotated[
        str | None,
        Header(description="RFC 7240: `respond-async` (202 at once) or `wait=N` seconds."),
    ] = None,
) -> Any:
    """Register a new version from uploaded files, like `charter register`.

    Profiling the training data and running the model on it can take a while: the work runs
    in the background. When it ends within the wait (``Prefer: wait=N``, default 1 s) the
    answer is 201 with the version; otherwise 202 with the job and ``Location`` to poll.
    """
    parameters = _json_object(params, "params")
    git_state = _json_object(git, "git") or None
    model_suffix = _suffix(model, "model")
    data_suffix = _suffix(train_data, "train_data", DATA_SUFFIXES) if train_data else None
    _plain_name(evidence, "evidence")
    _plain_name(policy, "policy")
    model_name = _plain_name(model, "model")
    folder = _upload_folder(settings.home)
    try:
        artifact = await _save(model, folder / f"model{model_suffix}")
        evidence_file = await _save(evidence, folder / "evidence.json")
        policy_file = await _save(policy, folder / "policy.yaml")
        report_file = await _save(report, folder / "report.html") if report else None
        data_file = await _save(train_data, folder / f"train{data_suffix}") if train_data else None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def work() -> tuple[ModelVersion, str]:
        version = registry.register(
            name,
            model=artifact,
            evidence=evidence_file,
            actor=actor,
            policy=policy_file,
            train_data=data_file,
            params=parameters,
            trusted_types=trusted_types,
            source_dir=folder,
            description=description,
            report=report_file,
            extra_lineage={"git": git_state, "model_file": model_name},
        )
        return version, _version_location(request, version)

    runner: JobRunner = request.app.state.jobs
    job_id, future = runner.submit(
        "register", actor=actor.username, request_id=request_id, work=work, cleanup=folder
    )
    try:
        outcome = await runner.wait(future, preferred_wait(prefer))
    except BaseException:
        runner.forget(job_id)
        raise
    if outcome is not None:
        runner.forget(job_id)
        version, location = outcome
        return JSONResponse(
            version.model_dump(mode="json"), status_code=201, headers={"Location": location}
        )
    job = runner.publish(job_id)
    location = str(request.url_for("get_job", job_id=job_id).path)
    return JSONResponse(
        job.model_dump(mode="json"),
        status_code=202,
        headers={"Location": location, "Retry-After": "1"},
    )


@router.put(
    "/models/{name}/versions/{ref}/evidence",
    summary="Replace a version's evidence",
    openapi_extra=performs(Action.EVIDENCE_ATTACH),
    responses=_WRITE,
)
async def attach_evidence(
    name: str,
    ref: str,
    registry: RegistryDep,
    actor: ActorDep,
    settings: SettingsDep,
    evidence: Annotated[UploadFile, File(description="evidence.json of `charter check`.")],
    report: Annotated[
        UploadFile | None, File(description="report.html of `charter check`.")
    ] = None,
) -> ModelVersion:
    """Replace the gate evidence; approvals given on the old evidence are withdrawn."""
    _plain_name(evidence, "evidence")
    folder = _upload_folder(settings.home)
    try:
        evidence_file = await _save(evidence, folder / "evidence.json")
        report_file = await _save(report, folder / "report.html") if report else None
        return await run_in_threadpool(
            _attach, registry, name, ref, evidence_file, report_file, actor
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _attach(
    registry: Registry, name: str, ref: str, evidence: Path, report: Path | None, actor: Actor
) -> ModelVersion:
    return registry.attach_evidence(name, ref, evidence, actor=actor, report=report)


# ---------------------------------------------------------------------- stages, flags
@router.post(
    "/models/{name}/versions/{ref}/archive",
    summary="Archive a version",
    openapi_extra=performs(Action.VERSION_ARCHIVE),
    responses=_WRITE,
)
def archive_version(
    name: str, ref: str, body: Archive, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Archive a version, taking it out of production or staging."""
    return registry.archive(name, ref, actor=actor, reason=body.reason)


@router.post(
    "/models/{name}/versions/{ref}/flags",
    summary="Raise a flag",
    openapi_extra=performs(Action.VERSION_FLAG),
    status_code=201,
    responses=_WRITE,
)
def raise_flag(
    name: str, ref: str, body: NewFlag, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Raise a flag such as needs-review (an open one holds the version out of production)."""
    registry.flag_version(name, ref, body.flag, body.reason, actor=actor)
    return registry.get_version(name, ref, actor=actor)


@router.post(
    "/models/{name}/versions/{ref}/flags/{flag}/resolve",
    summary="Resolve an open flag",
    openapi_extra=performs(Action.FLAG_RESOLVE),
    responses=_WRITE,
)
def resolve_flag(
    name: str, ref: str, flag: str, body: Resolution, registry: RegistryDep, actor: ActorDep
) -> list[FlagInfo]:
    """Resolve the open flags named ``flag``, with a reason; they stay on record."""
    return registry.resolve_flag(name, ref, flag, body.reason, actor=actor)


@router.post(
    "/models/{name}/versions/{ref}/monitoring",
    summary="Record monitoring evidence",
    openapi_extra={
        **performs(Action.MONITORING_RECORD),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Evidence"}}},
        },
    },
    status_code=201,
    responses=_WRITE,
)
def record_monitoring(
    name: str,
    ref: str,
    body: Annotated[dict[str, Any], Body(description="evidence.json of a monitoring run.")],
    registry: RegistryDep,
    actor: ActorDep,
) -> Recorded:
    """Store the evidence of a monitoring run for a version (roles ml_engineer, monitor).

    The body is the bundle as Charter writes it (its derived ``status``, ``passed`` and
    ``summary`` are recomputed, not trusted).
    """
    evidence = _evidence_of(body)
    evidence_id = registry.record_monitoring(name, ref, evidence, actor=actor)
    return Recorded(model=name, version=ref, evidence_id=evidence_id, status=evidence.status)


def _evidence_of(body: dict[str, Any]) -> Evidence:
    try:
        return Evidence.from_json(json.dumps(body))
    except (ValidationError, ValueError, TypeError) as exc:
        errors = (
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else [{"loc": ("body",), "msg": str(exc), "type": "value_error"}]
        )
        raise RequestValidationError(errors, body=body) from None


@router.put(
    "/models/{name}/aliases/{alias}",
    summary="Point an alias",
    openapi_extra=performs(Action.ALIAS_SET),
    responses=_WRITE,
)
def set_alias(
    name: str, alias: str, body: AliasTarget, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Point ``alias`` at a version (moving it if it pointed elsewhere)."""
    return registry.set_alias(name, alias, body.version, actor=actor)


@router.delete(
    "/models/{name}/aliases/{alias}",
    summary="Remove an alias",
    openapi_extra=performs(Action.ALIAS_SET),
    status_code=204,
    responses=_WRITE,
)
def remove_alias(name: str, alias: str, registry: RegistryDep, actor: ActorDep) -> None:
    """Remove an alias."""
    registry.remove_alias(name, alias, actor=actor)
