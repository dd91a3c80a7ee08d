"""Paths 3 and 4: the next version cannot lower the bar, and leaving production needs approvers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register

from charter.errors import ConflictError, PermissionDeniedError
from charter.evidence import Finding, Threshold, Verdict
from charter.registry.records import RequestInfo


def _promote(team: Team, number: int, approvers: tuple[str, ...] = ("ann", "arno")) -> RequestInfo:
    request = team.registry.request_promotion(MODEL_NAME, number, "production", actor=team["eli"])
    for approver in approvers:
        if request.status == "pending":
            request = team.registry.approve(request.id, actor=team[approver])
    return request


def _stages(team: Team) -> dict[int, str | None]:
    return {v.number: v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])}


def test_a_tier_downgrade_by_the_next_version_needs_productions_approvals(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1, tier="high"))
    assert _promote(team, 1).status == "completed"
    register(team, make_candidate(tmp_path / "v2", seed=2, tier="minimal"))
    request = team.registry.request_promotion(MODEL_NAME, 2, "production", actor=team["eli"])
    assert request.status == "pending" and request.required_approvals == 2
    assert "risk tier high -> minimal" in request.changes
    assert _stages(team) == {1: "production", 2: None}
    requested = team.registry.audit_log(actor=team["otto"], action="promotion.requested")
    assert "risk tier high -> minimal" in requested[-1].details["policy_changes"]


def test_a_loosened_bound_and_a_dropped_rule_are_shown_as_a_diff(
    team: Team, tmp_path: Path
) -> None:
    strict = [{"id": "rows-x", "check": "min_rows", "min": 300}]
    finding = Finding(
        rule_id="rows-x",
        check="min_rows",
        section="data",
        verdict=Verdict.PASS,
        message="400 rows",
        metric="rows",
        value=400.0,
        threshold=Threshold(min=300),
    )
    register(
        team,
        make_candidate(
            tmp_path / "v1", seed=1, tier="limited", extra_rules=strict, extra_findings=[finding]
        ),
    )
    assert _promote(team, 1).status == "completed"
    candidate = make_candidate(tmp_path / "v2", seed=2, tier="limited")
    policy = candidate.policy.read_text().replace("max: 0.05", "max: 0.5")
    candidate.policy.write_text(policy)
    from registry_support import write_evidence

    write_evidence(
        tmp_path / "v2" / "evidence",
        policy_path=candidate.policy,
        model_path=candidate.model,
        null_fraction=0.3,
        sign=False,
    )
    # what the gate writes under the loosened policy: 0.3 passes `max: 0.5`
    path = tmp_path / "v2" / "evidence" / "evidence.json"
    data = json.loads(path.read_text())
    for finding in data["findings"]:
        if finding["rule_id"] == "few-nulls":
            finding.update(verdict="pass", threshold={"min": None, "max": 0.5})
    path.write_text(json.dumps(data))
    register(team, candidate)
    request = team.registry.request_promotion(MODEL_NAME, 2, "production", actor=team["eli"])
    assert request.status == "pending" and request.required_approvals == 1
    assert "rule 'few-nulls' max 0.05 -> 0.5" in request.changes
    assert "rule 'rows-x' (data, min_rows) dropped" in request.changes


def test_an_admin_floor_raises_every_promotion_to_production(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", tier="minimal"))
    with pytest.raises(PermissionDeniedError):
        team.registry.set_approval_floor(MODEL_NAME, 0, actor=team["eli"])
    team.registry.set_approval_floor(MODEL_NAME, 3, actor=team["ada"])
    request = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    assert request.status == "pending" and request.required_approvals == 3
    audit = team.registry.audit_log(actor=team["otto"], action="model.approval_floor")
    assert audit[-1].details == {"from": None, "to": 3} and audit[-1].actor == "ada"


def test_leaving_production_needs_productions_approvals_and_says_so(
    team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "v1", tier="high"))
    assert _promote(team, 1).status == "completed"
    request = team.registry.request_promotion(MODEL_NAME, 1, "staging", actor=team["eli"])
    assert request.status == "pending" and request.required_approvals == 2
    assert request.kind == "demotion"
    assert _stages(team) == {1: "production"}
    request = team.registry.approve(request.id, actor=team["ann"])
    request = team.registry.approve(request.id, actor=team["arno"])
    assert request.status == "completed" and _stages(team) == {1: "staging"}
    completed = team.registry.audit_log(actor=team["otto"], action="promotion.completed")
    assert completed[-1].details["kind"] == "demotion"
    assert completed[-1].details["production"] is None


def test_archiving_production_alone_is_refused(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", tier="high"))
    _promote(team, 1)
    with pytest.raises(ConflictError) as caught:
        team.registry.archive(MODEL_NAME, 1, actor=team["eli"], reason="gone")
    assert "2 approval" in caught.value.message
    assert "--to archived" in (caught.value.hint or "")
    assert _stages(team) == {1: "production"}
    request = team.registry.request_promotion(MODEL_NAME, 1, "archived", actor=team["eli"])
    assert request.status == "pending" and request.kind == "demotion"


def test_leaving_production_prints_that_no_version_serves(team: Team, tmp_path: Path, cli) -> None:
    register(team, make_candidate(tmp_path / "v1", tier="minimal"))
    _promote(team, 1)
    code, out, err = cli("eli", "promote", f"{MODEL_NAME}:1", "--to", "staging")
    assert code == 0, err
    assert "now has NO production version" in " ".join(out.split())


def test_rollback_is_its_own_audited_request(team: Team, tmp_path: Path, cli) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1, tier="high"))
    register(team, make_candidate(tmp_path / "v2", seed=2, tier="high"))
    _promote(team, 1)
    _promote(team, 2)
    assert _stages(team) == {1: "archived", 2: "production"}
    request = team.registry.request_rollback(MODEL_NAME, actor=team["eli"], note="v2 misbehaves")
    assert (request.version, request.kind, request.required_approvals) == (1, "rollback", 2)
    assert request.status == "pending"
    audit = team.registry.audit_log(actor=team["otto"], action="promotion.requested")
    assert audit[-1].details["kind"] == "rollback" and audit[-1].details["version"] == 1
    for approver in ("ann", "alma"):
        request = team.registry.approve(request.id, actor=team[approver])
    assert request.status == "completed" and _stages(team) == {1: "production", 2: "archived"}
    register(team, make_candidate(tmp_path / "o", name="other", tier="minimal"), name="other")
    with pytest.raises(ConflictError, match="no earlier production version"):
        team.registry.request_rollback("other", actor=team["eli"])
