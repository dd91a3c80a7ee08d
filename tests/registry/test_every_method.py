"""Every public method of the registry refuses an actor without the permission, reads included.

The list of methods comes from :class:`Registry` itself, so a method added later without a case
here fails :func:`test_every_public_method_has_a_case` instead of going unchecked.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from registry_support import MODEL_NAME, Team, make_candidate, register, signing_key, snapshot

from charter.errors import PermissionDeniedError
from charter.evidence import Evidence, Fingerprint
from charter.monitor.allowlist import ActionAllowList
from charter.registry import Actor, Registry, Role
from charter.signing import generate_keypair

#: Public methods that do not act on anyone's behalf: opening, closing, finding out who acts.
NO_ACTOR = {"authenticate", "actor_from_env", "close"}

Case = Callable[[Team, Actor, Path, dict[str, Any]], Any]

#: One call per public method, made as ``actor`` on a registry holding version 1 of MODEL_NAME
#: (candidate files in ``ctx``) and a pending production request (``ctx["request"]``).
CASES: dict[str, Case] = {
    "add_user": lambda t, a, f, c: t.registry.add_user("newcomer", [Role.AUDITOR], actor=a),
    "grant": lambda t, a, f, c: t.registry.grant("otto", [Role.APPROVER], actor=a),
    "revoke_role": lambda t, a, f, c: t.registry.revoke_role("ann", Role.APPROVER, actor=a),
    "disable_user": lambda t, a, f, c: t.registry.disable_user("dora", actor=a),
    "list_users": lambda t, a, f, c: t.registry.list_users(actor=a),
    "create_token": lambda t, a, f, c: t.registry.create_token(actor=a),
    "revoke_token": lambda t, a, f, c: t.registry.revoke_token(1, actor=a),
    "register": lambda t, a, f, c: t.registry.register(
        MODEL_NAME,
        model=c["candidate"].model,
        evidence=c["candidate"].evidence,
        policy=c["candidate"].policy,
        actor=a,
        source_dir=f,
    ),
    "attach_evidence": lambda t, a, f, c: t.registry.attach_evidence(
        MODEL_NAME, 1, c["candidate"].evidence, actor=a
    ),
    "record_monitoring": lambda t, a, f, c: t.registry.record_monitoring(
        MODEL_NAME, 1, c["monitoring"], actor=a
    ),
    "get_version": lambda t, a, f, c: t.registry.get_version(MODEL_NAME, 1, actor=a),
    "list_versions": lambda t, a, f, c: t.registry.list_versions(MODEL_NAME, actor=a),
    "list_models": lambda t, a, f, c: t.registry.list_models(actor=a),
    "evidence": lambda t, a, f, c: t.registry.evidence(MODEL_NAME, 1, actor=a),
    "monitoring_evidence": lambda t, a, f, c: t.registry.monitoring_evidence(
        MODEL_NAME, 1, actor=a
    ),
    "history": lambda t, a, f, c: t.registry.history(MODEL_NAME, 1, actor=a),
    "reference_profile": lambda t, a, f, c: t.registry.reference_profile(MODEL_NAME, 1, actor=a),
    "policy": lambda t, a, f, c: t.registry.policy(MODEL_NAME, 1, actor=a),
    "download": lambda t, a, f, c: t.registry.download(MODEL_NAME, 1, f / "out.skops", actor=a),
    "load_model": lambda t, a, f, c: t.registry.load_model(MODEL_NAME, 1, actor=a),
    "get_request": lambda t, a, f, c: t.registry.get_request(c["request"], actor=a),
    "list_requests": lambda t, a, f, c: t.registry.list_requests(actor=a),
    "request_promotion": lambda t, a, f, c: t.registry.request_promotion(
        MODEL_NAME, 1, "staging", actor=a
    ),
    "approve": lambda t, a, f, c: t.registry.approve(c["request"], actor=a),
    "reject": lambda t, a, f, c: t.registry.reject(c["request"], actor=a, reason="no"),
    "archive": lambda t, a, f, c: t.registry.archive(MODEL_NAME, 1, actor=a),
    "set_alias": lambda t, a, f, c: t.registry.set_alias(MODEL_NAME, "champion", 1, actor=a),
    "remove_alias": lambda t, a, f, c: t.registry.remove_alias(MODEL_NAME, "champion", actor=a),
    "flag_version": lambda t, a, f, c: t.registry.flag_version(
        MODEL_NAME, 1, "needs-review", "drift", actor=a
    ),
    "resolve_flag": lambda t, a, f, c: t.registry.resolve_flag(
        MODEL_NAME, 1, "needs-review", "reviewed", actor=a
    ),
    "audit_log": lambda t, a, f, c: t.registry.audit_log(actor=a),
    "export_audit": lambda t, a, f, c: t.registry.export_audit(io.StringIO(), actor=a),
    "stream_audit": lambda t, a, f, c: list(t.registry.stream_audit(actor=a)),
    "verify_audit": lambda t, a, f, c: t.registry.verify_audit(actor=a),
    "checkpoint_audit": lambda t, a, f, c: t.registry.checkpoint_audit(
        Ed25519PrivateKey.generate(), actor=a
    ),
    "trust_key": lambda t, a, f, c: t.registry.trust_key(
        "ci-2", generate_keypair().public_pem.decode(), actor=a
    ),
    "untrust_key": lambda t, a, f, c: t.registry.untrust_key(signing_key().keyid, actor=a),
    "trusted_keys": lambda t, a, f, c: t.registry.trusted_keys(actor=a),
    "set_approval_floor": lambda t, a, f, c: t.registry.set_approval_floor(MODEL_NAME, 3, actor=a),
    "monitoring_allowlist": lambda t, a, f, c: t.registry.monitoring_allowlist(actor=a),
    "set_monitoring_allowlist": lambda t, a, f, c: t.registry.set_monitoring_allowlist(
        ActionAllowList(commands=("true",)), actor=a
    ),
    "verify_evidence": lambda t, a, f, c: t.registry.verify_evidence(
        MODEL_NAME, 1, f / "holdout.parquet", actor=a
    ),
    "request_rollback": lambda t, a, f, c: t.registry.request_rollback(MODEL_NAME, actor=a),
    "aliases": lambda t, a, f, c: t.registry.aliases(MODEL_NAME, actor=a),
    "list_tokens": lambda t, a, f, c: t.registry.list_tokens(actor=a, username="eli"),
    "model_overview": lambda t, a, f, c: t.registry.model_overview(MODEL_NAME, actor=a),
    "production_history": lambda t, a, f, c: t.registry.production_history(MODEL_NAME, actor=a),
    "recent_decisions": lambda t, a, f, c: t.registry.recent_decisions(actor=a),
    "pending_overview": lambda t, a, f, c: t.registry.pending_overview(actor=a),
    "version_page": lambda t, a, f, c: t.registry.version_page(MODEL_NAME, actor=a),
    "version_requests": lambda t, a, f, c: t.registry.version_requests(MODEL_NAME, 1, actor=a),
}


def _public_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(Registry, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_public_method_has_a_case() -> None:
    methods = _public_methods()
    acting = {name for name, signature in methods.items() if "actor" in signature.parameters}
    assert acting | NO_ACTOR == set(methods), "a public method neither acts nor is listed"
    assert set(CASES) == acting, f"add a case for {sorted(acting - set(CASES))}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_actor_of_every_method_is_required(name: str) -> None:
    parameter = _public_methods()[name].parameters["actor"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


@pytest.fixture
def prepared(team: Team, tmp_path: Path) -> dict[str, Any]:
    candidate = make_candidate(tmp_path / "v1", tier="high")
    version = register(team, candidate)
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.set_alias(MODEL_NAME, "champion", 1, actor=team["eli"])
    team.registry.flag_version(MODEL_NAME, 1, "needs-review", "drift", actor=team["mo"])
    monitoring = Evidence(
        model_name=MODEL_NAME, policy=Fingerprint(kind="policy", sha256=version.policy_sha256)
    )
    issued = team.registry.add_user("nemo", [Role.AUDITOR], actor=team["ada"])
    team.registry.revoke_role("nemo", Role.AUDITOR, actor=team["ada"])
    team.actors["nemo"] = team.registry.authenticate(issued.token)
    return {"candidate": candidate, "request": request.id, "monitoring": monitoring}


def _state(team: Team) -> dict[str, Any]:
    """Everything stored but the audit trail (which gains the denial)."""
    return {k: v for k, v in snapshot(team).items() if not k.startswith("charter_audit")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_method_refuses_an_actor_without_the_permission_and_audits_it(
    name: str, team: Team, prepared: dict[str, Any], tmp_path: Path
) -> None:
    nemo = team["nemo"]
    assert nemo.roles == frozenset()
    before = _state(team)
    head = team.registry.verify_audit(actor=team["otto"]).head_seq
    with pytest.raises(PermissionDeniedError, match=r"nemo \(no role\) may not"):
        CASES[name](team, nemo, tmp_path, prepared)
    assert _state(team) == before
    entries = [e for e in team.registry.audit_log(actor=team["otto"], action=None) if e.seq > head]
    assert [(e.actor, e.action) for e in entries] == [("nemo", "access.denied")]
    assert team.registry.verify_audit(actor=team["otto"]).ok


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_system_actor_reads_and_never_changes_anything(
    name: str, team: Team, prepared: dict[str, Any], tmp_path: Path
) -> None:
    system = Actor.system("test")
    head = team.registry.verify_audit(actor=system).head_seq
    reads = {
        "get_version",
        "list_versions",
        "list_models",
        "evidence",
        "monitoring_evidence",
        "history",
        "reference_profile",
        "policy",
        "download",
        "load_model",
        "get_request",
        "list_requests",
        "audit_log",
        "export_audit",
        "stream_audit",
        "verify_audit",
        "trusted_keys",
        "monitoring_allowlist",
        "aliases",
        "model_overview",
        "production_history",
        "recent_decisions",
        "pending_overview",
        "version_page",
        "version_requests",
    }
    if name in reads:
        CASES[name](team, system, tmp_path, prepared)
        assert team.registry.verify_audit(actor=system).head_seq == head
        return
    with pytest.raises(PermissionDeniedError, match="system actor and may only read"):
        CASES[name](team, system, tmp_path, prepared)
    [entry] = [e for e in team.registry.audit_log(actor=system) if e.seq > head]
    assert (entry.actor, entry.action) == ("system:test", "access.denied")
    assert entry.details["system"] is True
