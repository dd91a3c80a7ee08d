"""The needs-review flag's lifecycle: raised by monitoring, heeded by promotion, resolved.

A resolution needs a reason and the role approver or admin; it is audited in the same
transaction and keeps the flag's row. An open needs-review flag refuses promotion to production
(the refusal recorded and audited like every refusal) with a message saying who resolves it
and how.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot
from sqlalchemy import func, select

from charter.errors import CharterError, GateFailedError, NotFoundError, PermissionDeniedError
from charter.registry import tables


def _flag(team: Team, reason: str = "dataset-drift: 3 of 4 columns drifted") -> None:
    team.registry.flag_version(MODEL_NAME, 1, "needs-review", reason, actor=team["mo"])


def _flag_rows(team: Team) -> int:
    with team.registry.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(tables.Flag)) or 0)


def test_an_approver_resolves_needs_review_with_a_reason_and_the_row_stays(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path))
    _flag(team)
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    [resolved] = team.registry.resolve_flag(
        MODEL_NAME, 1, "needs-review", "  drift came from a logging bug, fixed  ", actor=team["ann"]
    )
    assert (resolved.resolved_by, resolved.resolved_reason) == (
        "ann",
        "drift came from a logging bug, fixed",
    )
    [flag] = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).flags
    assert not flag.open and flag.id == resolved.id
    assert (flag.flag, flag.reason, flag.created_by) == (
        "needs-review",
        "dataset-drift: 3 of 4 columns drifted",
        "mo",
    )
    assert flag.resolved_at is not None and flag.resolved_at >= flag.created_at
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).open_flags == []
    assert _flag_rows(team) == 1  # resolved, never deleted
    [entry] = [
        e for e in team.registry.audit_log(actor=team["otto"], model=MODEL_NAME) if e.seq > before
    ]
    assert (entry.action, entry.actor, entry.subject) == (
        "flag.resolve",
        "ann",
        f"model:{MODEL_NAME}/1",
    )
    assert entry.details == {
        "version": 1,
        "flag": "needs-review",
        "flags": [flag.id],
        "raised_by": ["mo"],
        "reason": "drift came from a logging bug, fixed",
    }
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_an_admin_may_resolve_and_monitoring_raises_a_new_flag_afterwards(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path))
    _flag(team)
    team.registry.resolve_flag(MODEL_NAME, 1, "needs-review", "reviewed", actor=team["ada"])
    _flag(team, "prediction-drift: p < 1e-6")
    flags = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).flags
    assert [(f.flag, f.open, f.resolved_by) for f in flags] == [
        ("needs-review", False, "ada"),
        ("needs-review", True, None),
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_resolving_without_a_reason_is_refused_and_nothing_changes(
    team: Team, tmp_path: Path, reason: str
) -> None:
    register(team, make_candidate(tmp_path))
    _flag(team)
    before = snapshot(team)
    with pytest.raises(CharterError) as caught:
        team.registry.resolve_flag(MODEL_NAME, 1, "needs-review", reason, actor=team["ann"])
    assert caught.value.exit_code == 2 and caught.value.field == "reason"
    assert snapshot(team) == before


def test_resolving_a_flag_that_is_not_open_says_which_are(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    team.registry.flag_version(MODEL_NAME, 1, "legal-hold", "pending review", actor=team["eli"])
    before = snapshot(team)
    with pytest.raises(NotFoundError) as caught:
        team.registry.resolve_flag(MODEL_NAME, 1, "needs-review", "fine", actor=team["ann"])
    assert "no open flag 'needs-review'" in caught.value.message
    assert "legal-hold" in (caught.value.hint or "")
    assert snapshot(team) == before


def test_an_engineer_may_not_resolve_and_the_denial_is_audited(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    _flag(team)
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    with pytest.raises(PermissionDeniedError) as caught:
        team.registry.resolve_flag(MODEL_NAME, 1, "needs-review", "looks fine", actor=team["mo"])
    assert "flag.resolve" in caught.value.message
    assert "admin" in caught.value.message and "approver" in caught.value.message
    [denial] = [e for e in team.registry.audit_log(actor=team["otto"]) if e.seq > before]
    assert denial.action == "access.denied" and denial.details["attempted"] == "flag.resolve"
    assert (
        team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).open_flags[0].flag
        == "needs-review"
    )


def test_promotion_to_production_is_refused_while_needs_review_is_open(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path, tier="minimal"))
    _flag(team)
    before = team.registry.verify_audit(actor=team["otto"]).head_seq
    with pytest.raises(GateFailedError) as caught:
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    message, hint = caught.value.message, caught.value.hint or ""
    assert "open needs-review flag" in message and "raised by mo" in message
    assert "admin, approver" in hint
    assert f'charter flag {MODEL_NAME}:1 needs-review --resolve --reason "..."' in hint
    assert caught.value.exit_code == 1
    [refused] = team.registry.list_requests(status="refused", model=MODEL_NAME, actor=team["otto"])
    assert "needs-review" in (refused.reason or "")
    [entry] = [
        e for e in team.registry.audit_log(actor=team["otto"], model=MODEL_NAME) if e.seq > before
    ]
    assert entry.action == "promotion.refused" and entry.actor == "eli"
    assert any("needs-review" in p for p in entry.details["problems"])
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
    # staging is not production: the flag does not hold it
    staged = team.registry.request_promotion(MODEL_NAME, 1, "staging", actor=team["eli"])
    assert staged.status == "completed"
    team.registry.resolve_flag(MODEL_NAME, 1, "needs-review", "reviewed", actor=team["ann"])
    done = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert done.status == "completed"
    assert team.registry.get_version(MODEL_NAME, "production", actor=team["otto"]).number == 1
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_a_flag_raised_while_approvals_are_given_refuses_the_completing_approval(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path, tier="high"))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.approve(request.id, actor=team["ann"])
    _flag(team)
    with pytest.raises(GateFailedError) as caught:
        team.registry.approve(request.id, actor=team["arno"])
    assert "open needs-review flag" in caught.value.message
    assert "--resolve" in (caught.value.hint or "")
    decided = team.registry.get_request(request.id, actor=team["otto"])
    assert (decided.status, decided.decided_by) == ("refused", "arno")
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
    actions = [e.action for e in team.registry.audit_log(actor=team["otto"], model=MODEL_NAME)]
    assert actions[-2:] == ["promotion.approved", "promotion.refused"]
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_the_cli_resolves_and_show_and_the_card_tell_open_and_resolved_flags(
    team: Team, tmp_path: Path, cli: Any
) -> None:
    register(team, make_candidate(tmp_path))

    ref = f"{MODEL_NAME}:1"
    assert cli("mo", "flag", ref, "needs-review", "--reason", "drift [day 4]")[0] == 0
    assert cli("eli", "flag", ref, "needs-review", "--reason", "second look")[0] == 0
    code, _, err = cli("eli", "flag", ref, "needs-review", "--resolve", "--reason", "ok")
    assert code == 2 and "may not flag.resolve" in err
    code, _, err = cli("ann", "flag", ref, "needs-review", "--resolve")
    assert code == 2 and "Missing option '--reason'" in err
    code, _, err = cli("ann", "flag", ref, "needs-review", "--resolve", "--reason", "reviewed")
    assert code == 0 and "resolved needs-review on credit-risk:1 (2 open flags" in err
    assert "raised by eli, mo" in err
    code, out, _ = cli("otto", "show", ref)
    assert code == 0
    text = " ".join(out.split())  # rich wraps long lines at the console's width
    assert text.count("resolved by ann at") == 2 and text.count(": reviewed") == 2
    assert "needs-review: drift [day 4] (raised by mo at" in text
    assert cli("mo", "flag", ref, "needs-review", "--reason", "drift again")[0] == 0
    code, out, _ = cli("otto", "show", ref, "--json")
    flags = json.loads(out)["flags"]
    assert [(f["created_by"], f["resolved_by"]) for f in flags] == [
        ("mo", "ann"),
        ("eli", "ann"),
        ("mo", None),
    ]
    code, out, _ = cli("otto", "show", ref)
    text = " ".join(out.split())
    assert "drift again (raised by mo" in text and text.endswith("open")
    card_path = tmp_path / "card.json"
    assert cli("otto", "card", ref, "--format", "json", "--out", str(card_path))[0] == 0
    card = json.loads(card_path.read_text())
    caveats = next(s for s in card["sections"] if s["id"] == "caveats")
    labels = [i["label"] for i in caveats["items"] if "flag" in i["label"]]
    assert labels == [
        "Resolved flag needs-review",
        "Resolved flag needs-review",
        "Open flag needs-review",
    ]
    resolved_value = caveats["items"][[i["label"] for i in caveats["items"]].index(labels[0])]
    assert "resolved by ann" in resolved_value["value"] and "reviewed" in resolved_value["value"]
