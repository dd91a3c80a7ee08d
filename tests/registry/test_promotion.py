"""Promotion: evidence gates, approvals per tier, separation of duties, one production version."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, write_evidence
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from charter.errors import CharterError, ConflictError, GateFailedError, PermissionDeniedError
from charter.evidence import Finding, Severity, Verdict
from charter.registry import Role


def _actions(team: Team, action: str) -> list[dict]:
    return [e.details for e in team.registry.audit_log(actor=team["otto"], action=action)]


@pytest.mark.parametrize(("tier", "needed"), [("minimal", 0), ("limited", 1), ("high", 2)])
def test_promotion_to_production_needs_the_tier_count_of_approvals(
    team: Team, tmp_path: Path, tier: str, needed: int
) -> None:
    register(team, make_candidate(tmp_path, tier=tier))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert request.required_approvals == needed
    for i, approver in enumerate(["ann", "arno"][:needed]):
        assert request.status == "pending"
        assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
        request = team.registry.approve(request.id, actor=team[approver])
        assert request.valid_approvals == i + 1
    assert request.status == "completed"
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage == "production"
    completed = _actions(team, "promotion.completed")
    assert completed[-1]["approvers"] == sorted(["ann", "arno"][:needed])
    assert completed[-1]["required_approvals"] == needed


def test_policy_can_demand_more_approvals_than_the_tier_but_never_fewer(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "a", tier="limited", required=3))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert request.required_approvals == 3
    fewer = make_candidate(tmp_path / "c", tier="high", required=0, name="fewer")
    register(team, fewer, name="fewer")
    assert (
        team.registry.request_promotion("fewer", 1, "production", actor=team["eli"])
    ).required_approvals == 2


def test_unacceptable_tier_is_never_promoted_and_the_refusal_is_recorded(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path, tier="unacceptable"))
    for stage in ("staging", "production"):
        with pytest.raises(GateFailedError, match="unacceptable") as caught:
            team.registry.request_promotion(MODEL_NAME, 1, stage, actor=team["eli"])
        assert caught.value.exit_code == 1
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
    refused = team.registry.list_requests(status="refused", actor=team["otto"])
    assert [r.to_stage for r in refused] == ["staging", "production"]
    assert len(_actions(team, "promotion.refused")) == 2


def test_failing_evidence_refuses_promotion_naming_the_rule(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, passed=False))
    with pytest.raises(GateFailedError, match="few-nulls"):
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage is None
    (refusal,) = _actions(team, "promotion.refused")
    assert any("few-nulls" in p for p in refusal["problems"])
    assert team.registry.list_requests(actor=team["otto"]) == []


def test_evidence_without_a_finding_for_a_blocking_rule_is_refused(
    team: Team, tmp_path: Path
) -> None:
    extra = [{"id": "has-columns", "check": "required_columns", "params": {"columns": ["sex"]}}]
    register(team, make_candidate(tmp_path, tier="minimal", extra_rules=extra))
    with pytest.raises(GateFailedError, match=r"has-columns.*not checked"):
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])


def test_a_failing_warn_rule_does_not_block(team: Team, tmp_path: Path) -> None:
    extra = [
        {
            "id": "has-columns",
            "check": "required_columns",
            "severity": "warn",
            "params": {"columns": ["zip"]},
        }
    ]
    warning = Finding(
        rule_id="has-columns",
        check="required_columns",
        section="data",
        verdict=Verdict.FAIL,
        severity=Severity.WARN,
        message="missing zip",
    )
    candidate = make_candidate(
        tmp_path, tier="minimal", extra_rules=extra, extra_findings=[warning]
    )
    version = register(team, candidate)
    assert version.evidence is not None and version.evidence.status == "passed_with_warnings"
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert request.status == "completed"


def test_requester_may_not_approve_their_own_request(team: Team, tmp_path: Path) -> None:
    team.registry.grant("eli", [Role.APPROVER], actor=team["ada"])
    register(team, make_candidate(tmp_path, tier="limited"))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    with pytest.raises(PermissionDeniedError, match="separation of duties"):
        team.registry.approve(request.id, actor=team["eli"])
    after = team.registry.get_request(request.id, actor=team["otto"])
    assert after.status == "pending" and after.approvals == []
    denial = _actions(team, "access.denied")[-1]
    assert denial["rule"] == "separation of duties" and denial["request"] == request.id
    assert team.registry.approve(request.id, actor=team["ann"]).status == "completed"


def test_an_approver_counts_once(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, tier="high"))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.approve(request.id, actor=team["ann"])
    with pytest.raises(ConflictError, match="already approved"):
        team.registry.approve(request.id, actor=team["ann"])
    assert team.registry.get_request(request.id, actor=team["otto"]).valid_approvals == 1


def test_approvals_are_withdrawn_when_the_evidence_changes(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, tier="high")
    register(team, candidate)
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.approve(request.id, actor=team["ann"])
    newer = write_evidence(
        tmp_path / "rechecked",
        policy_path=candidate.policy,
        model_path=candidate.model,
        null_fraction=0.02,
    )
    old_digest = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).evidence.digest  # type: ignore[union-attr]
    team.registry.attach_evidence(MODEL_NAME, 1, newer, actor=team["eli"])
    after = team.registry.get_request(request.id, actor=team["otto"])
    assert after.valid_approvals == 0 and after.approvals[0].withdrawn
    (withdrawal,) = _actions(team, "approval.withdrawn")
    assert withdrawal["approver"] == "ann" and withdrawal["approved_digest"] == old_digest
    assert team.registry.approve(request.id, actor=team["arno"]).status == "pending"
    assert team.registry.approve(request.id, actor=team["ann"]).status == "completed"


def test_new_failing_evidence_refuses_the_pending_request(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path, tier="high")
    register(team, candidate)
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    failing = write_evidence(
        tmp_path / "worse", policy_path=candidate.policy, model_path=candidate.model, passed=False
    )
    team.registry.attach_evidence(MODEL_NAME, 1, failing, actor=team["eli"])
    assert team.registry.get_request(request.id, actor=team["otto"]).status == "refused"
    with pytest.raises(ConflictError):
        team.registry.approve(request.id, actor=team["ann"])


def _promote(team: Team, version: int) -> None:
    request = team.registry.request_promotion(MODEL_NAME, version, "production", actor=team["eli"])
    for approver in ("ann", "arno"):
        if request.status == "pending":
            request = team.registry.approve(request.id, actor=team[approver])
    assert request.status == "completed"


def test_one_production_version_the_previous_is_archived_and_rollback_follows_the_rules(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1))
    register(team, make_candidate(tmp_path / "v2", seed=2))
    _promote(team, 1)
    _promote(team, 2)
    stages = {
        v.number: v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])
    }
    assert stages == {1: "archived", 2: "production"}
    # rollback: version 1 again, two approvals again
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert request.status == "pending" and request.required_approvals == 2
    team.registry.approve(request.id, actor=team["alma"])
    assert team.registry.get_version(MODEL_NAME, "production", actor=team["otto"]).number == 2
    team.registry.approve(request.id, actor=team["arno"])
    stages = {
        v.number: v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])
    }
    assert stages == {1: "production", 2: "archived"}
    history = [
        (h.from_stage, h.to_stage) for h in team.registry.history(MODEL_NAME, 1, actor=team["otto"])
    ]
    assert history == [(None, "production"), ("production", "archived"), ("archived", "production")]


def test_the_database_itself_refuses_a_second_production_version(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1, tier="minimal"))
    register(team, make_candidate(tmp_path / "v2", seed=2, tier="minimal"))
    _promote(team, 1)
    with pytest.raises(IntegrityError), team.registry.engine.begin() as connection:
        connection.execute(
            text("UPDATE charter_versions SET stage = 'production' WHERE number = 2")
        )


def test_staging_needs_no_approval_and_archives_nothing(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1))
    register(team, make_candidate(tmp_path / "v2", seed=2))
    for number in (1, 2):
        request = team.registry.request_promotion(MODEL_NAME, number, "staging", actor=team["eli"])
        assert request.status == "completed" and request.required_approvals == 0
    assert [v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])] == [
        "staging",
        "staging",
    ]
    assert team.registry.get_version(MODEL_NAME, "staging", actor=team["otto"]).number == 2


def test_reject_needs_a_reason_and_closes_the_request(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    with pytest.raises(CharterError, match="reason"):
        team.registry.reject(request.id, actor=team["ann"], reason="  ")
    rejected = team.registry.reject(request.id, actor=team["ann"], reason="fairness unclear")
    assert (rejected.status, rejected.reason, rejected.decided_by) == (
        "rejected",
        "fairness unclear",
        "ann",
    )
    with pytest.raises(ConflictError, match="rejected"):
        team.registry.approve(request.id, actor=team["arno"])
    assert _actions(team, "promotion.rejected")[-1]["reason"] == "fairness unclear"
    # a new request can be made after a rejection
    again = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert again.id != request.id and again.status == "pending"


def test_requests_lists_what_waits_and_a_repeated_request_reuses_it(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1))
    register(team, make_candidate(tmp_path / "v2", seed=2, tier="minimal"))
    first = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert (
        team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["emma"]).id
        == first.id
    )
    team.registry.request_promotion(MODEL_NAME, 2, "staging", actor=team["eli"])
    waiting = team.registry.list_requests(actor=team["ann"])
    assert [(r.model, r.version, r.to_stage) for r in waiting] == [(MODEL_NAME, 1, "production")]
    assert len(team.registry.list_requests(status=None, actor=team["otto"])) == 2


def test_aliases_point_move_resolve_and_go(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1))
    register(team, make_candidate(tmp_path / "v2", seed=2))
    team.registry.set_alias(MODEL_NAME, "champion", 1, actor=team["eli"])
    assert team.registry.get_version(MODEL_NAME, "champion", actor=team["otto"]).number == 1
    moved = team.registry.set_alias(MODEL_NAME, "champion", "latest", actor=team["dora"])
    assert moved.number == 2 and moved.aliases == ["champion"]
    assert _actions(team, "alias.set")[-1] == {"alias": "champion", "version": 2, "previous": 1}
    for bad in ("3", "production", "latest", "no spaces"):
        with pytest.raises(CharterError, match="alias"):
            team.registry.set_alias(MODEL_NAME, bad, 1, actor=team["eli"])
    team.registry.remove_alias(MODEL_NAME, "champion", actor=team["eli"])
    with pytest.raises(CharterError, match="champion"):
        team.registry.get_version(MODEL_NAME, "champion", actor=team["otto"])


def test_archive_takes_a_version_out_of_production(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, tier="minimal"))
    _promote(team, 1)
    archived = team.registry.archive(
        MODEL_NAME, "production", actor=team["eli"], reason="decommissioned"
    )
    assert archived.stage == "archived"
    with pytest.raises(CharterError, match="production"):
        team.registry.get_version(MODEL_NAME, "production", actor=team["otto"])
    with pytest.raises(ConflictError):
        team.registry.archive(MODEL_NAME, 1, actor=team["eli"])
