"""Errors any door can render: stable codes, RFC 9457 problems, structured fields, no flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot
from sqlalchemy import update

from charter.errors import (
    AuditChainBrokenError,
    CharterError,
    ConfigurationError,
    GateFailedError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    PolicyError,
    all_errors,
)
from charter.registry import Role, tables
from charter.registry.roles import parse_role


def test_every_error_has_its_own_code_title_and_a_problem_document() -> None:
    # one class per qualified name: a module reloaded by some test leaves a stale twin behind
    classes = list({(c.__module__, c.__qualname__): c for c in all_errors()}.values())
    assert len(classes) >= 15
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes), codes
    for cls in classes:
        assert cls.code.isidentifier() and cls.code.islower()
        if cls.__module__ != "charter.errors":
            continue  # errors of the doors may need more to be built; their codes are checked
        error = cls("what went wrong") if cls is not PolicyError else cls("bad", key_path="a.b")
        problem = error.to_problem(instance="/v1/thing")
        assert problem["type"] == "urn:charter:error:" + cls.code
        assert (problem["status"], problem["code"], problem["title"]) == (
            cls.http_status,
            cls.code,
            cls.title,
        )
        assert problem["instance"] == "/v1/thing"
        assert problem["detail"] == error.message
        assert 400 <= problem["status"] < 600 and cls.exit_code in (1, 2)


def test_the_old_import_path_of_the_audit_error_still_works() -> None:
    import charter.audit
    import charter.audit.verify

    assert charter.audit.AuditChainBrokenError is AuditChainBrokenError
    assert charter.audit.verify.AuditChainBrokenError is AuditChainBrokenError
    assert issubclass(AuditChainBrokenError, IntegrityError)
    assert AuditChainBrokenError.exit_code == 1 and IntegrityError.exit_code == 2


def test_a_policy_error_names_its_file_and_key_as_the_field() -> None:
    problem = PolicyError("must be positive", file="p.yaml", key_path="fairness.max").to_problem()
    assert problem["detail"] == "p.yaml:fairness.max: must be positive"
    assert (problem["file"], problem["field"]) == ("p.yaml", "fairness.max")
    assert "hint" not in problem


def test_a_role_that_does_not_exist_is_a_charter_error_not_a_value_error() -> None:
    for make in (Role, parse_role):
        with pytest.raises(CharterError, match="did you mean 'auditor'") as caught:
            make("auditr")
        assert not isinstance(caught.value, ValueError)
        assert caught.value.field == "role"


def test_a_refused_promotion_carries_its_request_and_problems(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, passed=False))
    with pytest.raises(GateFailedError) as caught:
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    [refused] = team.registry.list_requests(actor=team["otto"], status="refused")
    error = caught.value
    assert error.request_id == refused.id
    assert error.problems and any("few-nulls" in p for p in error.problems)
    assert refused.reason == "; ".join(error.problems)
    problem = error.to_problem()
    assert (problem["status"], problem["code"]) == (422, "gate_failed")
    assert (problem["promotion_request"], problem["problems"]) == (refused.id, error.problems)


def test_service_hints_name_the_field_and_the_cli_names_its_option(team: Team, cli: Any) -> None:
    with pytest.raises(CharterError) as caught:
        team.registry.create_token(actor=team["eli"], expires_days=0)
    assert caught.value.field == "expires_days" and "--" not in str(caught.value)
    with pytest.raises(CharterError) as caught:
        team.registry.add_user("newcomer", [], actor=team["ada"])
    assert caught.value.field == "roles" and "--" not in str(caught.value)
    code, _, err = cli("eli", "token", "create", "--expires-days", "0")
    assert code == 2 and "expires_days must be a positive number" in err
    assert "(option --expires-days)" in err


def test_tampered_stored_data_is_an_integrity_error(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    otto = team["otto"]
    stored = team.registry.get_version(MODEL_NAME, 1, actor=otto).policy
    tampered = {**stored, "model": {**stored["model"], "risk_tier": "minimal"}}
    with team.registry.engine.begin() as connection:
        connection.execute(update(tables.Version).values(policy=tampered))
        connection.execute(update(tables.EvidenceRecord).values(body='{"tampered": true}'))
    before = snapshot(team)
    with pytest.raises(IntegrityError, match="does not match its recorded hash") as policy:
        team.registry.policy(MODEL_NAME, 1, actor=otto)
    with pytest.raises(IntegrityError, match="does not match its digest") as evidence:
        team.registry.evidence(MODEL_NAME, 1, actor=otto)
    for caught in (policy, evidence):
        assert caught.value.code == "integrity_violated" and caught.value.exit_code == 2
        assert "charter audit verify" in (caught.value.hint or "")
    assert snapshot(team) == before


def test_a_keyed_trail_without_its_key_is_a_configuration_error(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(team.registry.store, "audit_alg", "hmac-sha256")
    monkeypatch.delenv("CHARTER_AUDIT_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="CHARTER_AUDIT_KEY") as caught:
        team.registry.flag_version(MODEL_NAME, 1, "x", "y", actor=team["mo"])
    assert caught.value.http_status == 500 and caught.value.exit_code == 2


def test_not_found_is_404_with_a_hint() -> None:
    problem = NotFoundError("no model named 'x'", hint="`charter models` lists them").to_problem()
    assert (problem["status"], problem["hint"]) == (404, "`charter models` lists them")


def test_a_denial_names_the_role_to_grant_and_the_cli_names_the_command(
    team: Team, cli: Any
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        team.registry.list_users(actor=team["eli"])
    error = caught.value
    assert (error.user, error.role) == ("eli", "auditor")
    assert error.hint == "ask an admin to grant eli the role auditor"
    problem = error.to_problem()
    assert (problem["status"], problem["code"], problem["user"], problem["role"]) == (
        403,
        "permission_denied",
        "eli",
        "auditor",
    )
    code, _, err = cli("eli", "user", "list")
    assert code == 2 and "(`charter user grant eli --role auditor`)" in err
