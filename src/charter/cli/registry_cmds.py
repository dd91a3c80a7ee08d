"""Registry commands: ``register``, ``versions``, ``show``, ``promote``, ``approve``, ...

Each command opens the registry named by ``CHARTER_HOME`` / ``CHARTER_DATABASE_URL``, resolves
the acting user from ``CHARTER_TOKEN`` and calls one method of
:class:`charter.registry.Registry`; authorization and audit happen there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from charter.cli.console import (
    JSON_HELP,
    acting,
    console,
    err_console,
    keep_whole,
    open_registry,
    print_json,
)
from charter.errors import CharterError

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

alias_app = typer.Typer(help="Point free names at versions.", no_args_is_help=True)
evidence_app = typer.Typer(help="Evidence kept with versions.", no_args_is_help=True)
mlflow_app = typer.Typer(help="MLflow interop.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")
app.add_typer(evidence_app, name="evidence")
app.add_typer(mlflow_app, name="mlflow")


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CharterError(
                f"--param '{item}' is not KEY=VALUE", hint="e.g. --param learning_rate=0.05"
            )
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _stage_text(stage: str | None) -> str:
    colours = {"production": "green", "staging": "cyan", "archived": "dim"}
    return f"[{colours.get(stage or '', 'white')}]{stage or '-'}[/]"


# ---------------------------------------------------------------------- versions
@app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="The model's registry name (policy model.name).")],
    evidence: Annotated[
        Path, typer.Option(help="Folder (or evidence.json) written by `charter check`.")
    ],
    model: Annotated[Path | None, typer.Option(help="The model artifact (.skops).")] = None,
    mlflow_model: Annotated[
        str | None,
        typer.Option(help="Register the artifact of an MLflow model: models:/NAME/VERSION."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="The policy the evidence was produced under.")
    ] = None,
    train_data: Annotated[
        Path | None, typer.Option(help="Training data: fingerprint and reference profile.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="KEY=VALUE to record (repeatable).")
    ] = None,
    trust_type: Annotated[
        list[str] | None,
        typer.Option(
            "--trust-type",
            help="A skops type to trust beyond the allow-list of charter.artifacts (repeatable).",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="One line about this version.")] = None,
) -> None:
    """Register a version: artifact, lineage, policy and evidence."""
    if (model is None) == (mlflow_model is None):
        raise CharterError(
            "give exactly one of --model and --mlflow-model",
            hint="--model model.skops, or --mlflow-model models:/NAME/VERSION",
        )
    with open_registry() as registry:
        actor = acting(registry)
        if mlflow_model is not None:
            from charter.registry.mlflow_interop import register_from_mlflow

            version = register_from_mlflow(
                registry,
                name,
                mlflow_model,
                evidence=evidence,
                actor=actor,
                policy=policy,
                train_data=train_data,
                params=_parse_params(param),
                trusted_types=trust_type,
                description=description,
            )
        else:
            assert model is not None
            version = registry.register(
                name,
                model=model,
                evidence=evidence,
                actor=actor,
                policy=policy,
                train_data=train_data,
                params=_parse_params(param),
                trusted_types=trust_type,
                description=description,
            )
    evidence_status = version.evidence.status if version.evidence else "none"
    git = version.lineage.get("git") or {}
    console.print(
        f"[green]registered[/] {version.ref} (artifact {version.artifact_sha256[:12]}, "
        f"evidence {evidence_status}, policy {version.policy_sha256[:12]}"
        + (
            f", git {str(git.get('commit'))[:10]}{' dirty' if git.get('dirty') else ''}"
            if git.get("commit")
            else ""
        )
        + ")",
        highlight=False,
    )


@app.command("models")
def models(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List registered models."""
    with open_registry() as registry:
        summaries = registry.list_models(actor=acting(registry))
    if as_json:
        print_json([s.model_dump(mode="json") for s in summaries])
        return
    table = Table("model", "versions", "latest", "production", "staging", "created by")
    for s in summaries:
        table.add_row(
            s.name,
            str(s.versions),
            str(s.latest or "-"),
            str(s.production or "-"),
            ", ".join(map(str, s.staging)) or "-",
            s.created_by,
        )
    console.print(keep_whole(table, "model", "production", "staging"))


@app.command("versions")
def versions(
    name: Annotated[str, typer.Argument(help="The model.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the versions of a model with stage, aliases and evidence."""
    with open_registry() as registry:
        rows = registry.list_versions(name, actor=acting(registry))
    if as_json:
        print_json([v.model_dump(mode="json") for v in rows])
        return
    table = Table(
        "version", "stage", "aliases", "evidence", "artifact", "registered", "by", "flags"
    )
    for v in rows:
        table.add_row(
            str(v.number),
            _stage_text(v.stage),
            ", ".join(v.aliases) or "-",
            v.evidence.status if v.evidence else "-",
            v.artifact_sha256[:12],
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.created_by,
            ", ".join(f.flag for f in v.open_flags) or "",
        )
    console.print(keep_whole(table, "version", "stage", "aliases"))


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION (number, stage, alias or latest).")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show one version: lineage, policy, evidence, stage history."""
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        actor = acting(registry)
        version = registry.get_version(name, version_ref, actor=actor)
        history = registry.history(name, version.number, actor=actor)
        reference = _reference_summary(
            registry.reference_profile(name, version.number, actor=actor)
        )
    if as_json:
        data = version.model_dump(mode="json")
        data["history"] = [h.model_dump(mode="json") for h in history]
        data["reference_profile"] = reference
        print_json(data)
        return
    git = version.lineage.get("git") or {}
    console.print(
        f"[bold]{version.ref}[/] {_stage_text(version.stage)}"
        + (f"  aliases: {', '.join(version.aliases)}" if version.aliases else "")
    )
    console.print(
        f"  artifact   {version.artifact_format} {version.artifact_sha256} "
        f"({version.artifact_size} bytes)"
    )
    console.print(f"  policy     {version.policy_sha256}")
    if version.evidence:
        console.print(f"  evidence   {version.evidence.status} {version.evidence.digest}")
    if git:
        console.print(
            f"  git        {git.get('commit')} {git.get('branch') or ''} "
            f"{'dirty' if git.get('dirty') else 'clean'} {git.get('remote') or ''}"
        )
    for key, data in (version.lineage.get("data") or {}).items():
        console.print(f"  data:{key:<6} {data.get('sha256', '')[:16]} rows={data.get('rows')}")
    if reference is not None:
        outputs = reference["meta"].get("model_outputs") or {}
        named = [f"{outputs[k]} ({k})" for k in ("score", "prediction") if outputs.get(k)]
        console.print(
            f"  reference  profile of {reference['rows']:,} rows, {len(reference['columns'])}"
            " columns"
            + (
                f"; model outputs {', '.join(named)} on {outputs.get('rows', 0):,} rows"
                + (" (a seeded sample)" if outputs.get("sampled") else "")
                if named
                else ""
            ),
            highlight=False,
        )
    console.print(f"  registered {version.created_at:%Y-%m-%d %H:%M:%S} by {version.created_by}")
    for h in history:
        console.print(
            f"  stage      {h.from_stage or '-'} -> {h.to_stage} by {h.actor} "
            f"at {h.at:%Y-%m-%d %H:%M:%S}"
        )
    for f in version.flags:
        raised = escape(
            f"{f.flag}: {f.reason} (raised by {f.created_by} at {f.created_at:%Y-%m-%d %H:%M})"
        )
        if f.open:
            console.print(f"  [yellow]flag[/]       {raised} [bold]open[/]", highlight=False)
        else:
            console.print(
                f"  [dim]flag[/]       {raised}; resolved by {f.resolved_by} at "
                f"{f.resolved_at:%Y-%m-%d %H:%M}: {escape(f.resolved_reason or '')}",
                highlight=False,
            )


def _reference_summary(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    """What ``show`` tells of a version's reference profile: rows, column kinds, metadata."""
    if profile is None:
        return None
    return {
        "rows": profile.get("rows"),
        "columns": {name: column.get("kind") for name, column in profile["columns"].items()},
        "meta": profile.get("meta") or {},
    }


@evidence_app.command("attach")
def evidence_attach(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    evidence: Annotated[
        Path, typer.Option(help="Folder (or evidence.json) written by `charter check`.")
    ],
) -> None:
    """Replace a version's evidence; approvals given on the old evidence are withdrawn."""
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        version = registry.attach_evidence(name, version_ref, evidence, actor=acting(registry))
    status = version.evidence.status if version.evidence else "-"
    console.print(f"attached evidence ({status}) to {version.ref}")


@app.command("download")
def download(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    out: Annotated[Path, typer.Option(help="File or folder to write the artifact to.")] = Path("."),
) -> None:
    """Copy a version's artifact out of the store (its hash is checked)."""
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        path = registry.download(name, version_ref, out, actor=acting(registry))
    console.print(f"wrote {path}")


# ---------------------------------------------------------------------- promotion
def _describe_request(request: Any) -> str:
    from charter.registry.names import terminal_safe
    from charter.registry.safeguards import leaving_message

    if request.status == "completed" and request.kind == "demotion":
        left = leaving_message(request.model, request.version, request.to_stage)
        return f"[bold yellow]{left}[/]"
    if request.status == "completed":
        return f"[green]promoted[/] {request.model}:{request.version} to {request.to_stage}"
    if request.status == "pending":
        missing = request.required_approvals - request.valid_approvals
        what = {"demotion": "out of production ", "rollback": "rollback "}.get(request.kind, "")
        changes = (
            "; its policy is looser than production's: " + "; ".join(request.changes)
            if request.changes
            else ""
        )
        return (
            f"request {request.id}: {what}{request.model}:{request.version} -> "
            f"{request.to_stage} waits for {missing} more approval(s) "
            f"({request.valid_approvals}/{request.required_approvals}); "
            f"an approver runs `charter approve {request.id}`" + escape(changes)
        )
    return f"request {request.id} is {request.status}" + (
        f": {escape(terminal_safe(request.reason))}" if request.reason else ""
    )


@app.command("promote")
def promote(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    to: Annotated[str, typer.Option("--to", help="staging or production.")],
    note: Annotated[str | None, typer.Option(help="Why, for the approvers.")] = None,
) -> None:
    """Request promotion; it completes when evidence passes and approvals suffice."""
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        request = registry.request_promotion(
            name, version_ref, to, actor=acting(registry), note=note
        )
    console.print(_describe_request(request), highlight=False)


@app.command("approve")
def approve(
    request_id: Annotated[int, typer.Argument(help="The request (see `charter requests`).")],
    comment: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
) -> None:
    """Approve a promotion request (role approver; never your own request)."""
    with open_registry() as registry:
        request = registry.approve(request_id, actor=acting(registry), comment=comment)
    console.print(_describe_request(request), highlight=False)


@app.command("reject")
def reject(
    request_id: Annotated[int, typer.Argument(help="The request.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
) -> None:
    """Reject a promotion request, with a reason."""
    with open_registry() as registry:
        request = registry.reject(request_id, actor=acting(registry), reason=reason)
    console.print(_describe_request(request), highlight=False)


@app.command("requests")
def requests(
    all_: Annotated[bool, typer.Option("--all", help="Include decided requests.")] = False,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List promotion requests waiting for approval."""
    with open_registry() as registry:
        rows = registry.list_requests(
            actor=acting(registry), status=None if all_ else "pending", model=model
        )
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        console.print("no requests wait" if not all_ else "no requests")
        return
    table = Table("id", "version", "to", "status", "approvals", "requested by", "at", "reason")
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.model}:{r.version}",
            r.to_stage,
            r.status,
            f"{r.valid_approvals}/{r.required_approvals}",
            r.requested_by,
            f"{r.requested_at:%Y-%m-%d %H:%M}",
            r.reason or "",
        )
    console.print(keep_whole(table, "id", "version", "to", "status"))


@app.command("archive")
def archive(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Archive a version (takes it out of production or staging)."""
    from charter.registry import split_ref
    from charter.registry.safeguards import leaving_message

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        actor = acting(registry)
        was = registry.get_version(name, version_ref, actor=actor).stage
        version = registry.archive(name, version_ref, actor=actor, reason=reason)
    if was == "production":
        left = leaving_message(name, version.number, "archived")
        console.print(f"[bold yellow]{left}[/]", highlight=False)
    else:
        console.print(f"archived {version.ref}")


@alias_app.command("set")
def alias_set(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str, typer.Argument(help="The alias, e.g. champion.")],
    version: Annotated[str, typer.Argument(help="The version it points at.")],
) -> None:
    """Point an alias at a version."""
    with open_registry() as registry:
        row = registry.set_alias(name, alias, version, actor=acting(registry))
    console.print(f"{name}@{alias} -> {row.number}")


@alias_app.command("rm")
def alias_rm(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias: Annotated[str, typer.Argument(help="The alias.")],
) -> None:
    """Remove an alias."""
    with open_registry() as registry:
        registry.remove_alias(name, alias, actor=acting(registry))
    console.print(f"removed {name}@{alias}")


@app.command("flag")
def flag(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    flag_name: Annotated[str, typer.Argument(metavar="FLAG", help="e.g. needs-review")],
    reason: Annotated[
        str, typer.Option(help="Why it is raised, or with --resolve why it may be resolved.")
    ],
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve",
            help="Resolve the open flag after review (role approver or admin); it stays on record.",
        ),
    ] = False,
) -> None:
    """Raise a flag on a version (e.g. needs-review), or resolve it with --resolve.

    An open needs-review flag blocks promotion to production until an approver or admin
    resolves it with a reason: charter flag NAME:VERSION needs-review --resolve --reason "...".
    """
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        actor = acting(registry)
        if resolve:
            resolved = registry.resolve_flag(name, version_ref, flag_name, reason, actor=actor)
            err_console.print(
                f"resolved {flag_name} on {ref} ({len(resolved)} open flag"
                f"{'s' if len(resolved) != 1 else ''}, raised by "
                f"{', '.join(sorted({f.created_by for f in resolved}))})",
                highlight=False,
            )
            return
        registry.flag_version(name, version_ref, flag_name, reason, actor=actor)
    err_console.print(f"flagged {ref}: {flag_name}")


@mlflow_app.command("log-evidence")
def mlflow_log_evidence(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    run_id: Annotated[
        str | None, typer.Option(help="MLflow run (default: the run the version came from).")
    ] = None,
) -> None:
    """Send a version's evidence, metrics and status to its MLflow run (MLFLOW_TRACKING_URI)."""
    from charter.registry import split_ref
    from charter.registry.mlflow_interop import log_evidence_to_mlflow

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        target = log_evidence_to_mlflow(
            registry, name, version_ref, actor=acting(registry), run_id=run_id
        )
    console.print(f"logged the evidence of {ref} to MLflow run {target}")


@evidence_app.command("verify")
def evidence_verify(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    data: Annotated[Path, typer.Option(help="The evaluation data the gate read (same bytes).")],
    target: Annotated[
        str | None, typer.Option(help="Column of true labels (default: as the gate ran).")
    ] = None,
) -> None:
    """Have the registry re-run the gate on the data and mark the evidence verified."""
    from charter.registry import split_ref

    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        version = registry.verify_evidence(
            name, version_ref, data, actor=acting(registry), target=target
        )
    console.print(
        f"verified the evidence of {version.ref}: the registry's own run of the gate gives the"
        " same findings",
        highlight=False,
    )


@app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="The model.")],
    note: Annotated[str | None, typer.Option(help="Why, for the approvers.")] = None,
) -> None:
    """Ask to put the previous production version back in production (its own request)."""
    with open_registry() as registry:
        request = registry.request_rollback(name, actor=acting(registry), note=note)
    console.print(_describe_request(request), highlight=False)
