"""Path 7: every refusal is audited, failed authentication included, at a bounded rate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register
from sqlalchemy import text

from charter.errors import AuthenticationError, ConflictError
from charter.registry import auth_failures
from charter.registry.tables import utcnow


def _failed(team: Team) -> list:
    return team.registry.audit_log(actor=team["otto"], action="auth.failed")


def test_each_kind_of_failed_authentication_is_audited(team: Team) -> None:
    ada = team["ada"]
    cases = []
    with pytest.raises(AuthenticationError):
        team.registry.authenticate("charter_not-a-token-of-this-registry")
    cases.append(("unknown token", None))
    revoked = team.registry.create_token(actor=team["dora"])
    team.registry.revoke_token(revoked.id, actor=team["dora"])
    with pytest.raises(AuthenticationError, match="revoked"):
        team.registry.authenticate(revoked.token)
    cases.append(("revoked token", "dora"))
    expiring = team.registry.create_token(actor=team["dora"], expires_days=1)
    with team.registry.engine.begin() as connection:
        connection.execute(
            text("UPDATE charter_tokens SET expires_at = :t WHERE id = :i"),
            {"t": utcnow() - timedelta(days=1), "i": expiring.id},
        )
    with pytest.raises(AuthenticationError, match="expired"):
        team.registry.authenticate(expiring.token)
    cases.append(("expired token", "dora"))
    team.registry.disable_user("mo", actor=ada)
    with pytest.raises(AuthenticationError, match="disabled"):
        team.registry.authenticate(team.tokens["mo"])
    cases.append(("disabled user", "mo"))
    entries = _failed(team)
    assert [(e.details["reason"], e.actor) for e in entries] == [
        (reason, user or "anonymous") for reason, user in cases
    ]
    assert all("token_prefix" in e.details for e in entries)
    assert all(len(e.details["token_prefix"]) <= 14 for e in entries)
    assert "not-a-token" not in str(entries[0].details)
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_failed_authentication_cannot_flood_the_trail(team: Team) -> None:
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    for i in range(auth_failures.ENTRIES_PER_WINDOW + 30):
        with pytest.raises(AuthenticationError):
            team.registry.authenticate(f"charter_bad-{i}")
    entries = _failed(team)
    assert len(entries) == auth_failures.ENTRIES_PER_WINDOW
    assert "counted, not logged" in entries[-1].details["rate_limited"]
    assert team.registry.verify_audit(actor=team["otto"]).head_seq == before + len(entries)
    # the next window's first entry tells how many were left out
    with team.registry.engine.begin() as connection:
        connection.execute(
            text("UPDATE charter_meta SET value = REPLACE(value, :a, :b) WHERE key = :k"),
            {"a": '"start": "2', "b": '"start": "1', "k": auth_failures.STATE_KEY},
        )
    with pytest.raises(AuthenticationError):
        team.registry.authenticate("charter_bad-later")
    last = _failed(team)[-1]
    assert last.details["suppressed"] == 30


def test_a_second_approval_by_the_same_approver_is_audited(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, tier="high"))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.approve(request.id, actor=team["ann"])
    with pytest.raises(ConflictError, match="already approved"):
        team.registry.approve(request.id, actor=team["ann"])
    refused = team.registry.audit_log(actor=team["otto"], action="promotion.approve_refused")
    assert refused[-1].actor == "ann" and refused[-1].details["request"] == request.id
    assert "already approved" in refused[-1].details["reason"]


def test_the_cli_audits_a_wrong_token(team: Team, cli) -> None:
    team.tokens["mallory"] = "charter_guessed"
    code, _, err = cli("mallory", "models")
    assert code == 2 and "not known" in err
    assert _failed(team)[-1].details["reason"] == "unknown token"
