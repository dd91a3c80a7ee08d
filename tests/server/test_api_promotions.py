"""Promotion over HTTP: request, approve, reject; the service's refusals as problems."""

from pathlib import Path

from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot
from server_support import Api

VERSIONS = f"/api/v1/models/{MODEL_NAME}/versions"


def test_request_and_two_approvals_put_a_version_in_production(
    api: Api, team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "c", required=2))
    asked = api.post(
        f"{VERSIONS}/1/promotions", "eli", json={"to": "production", "note": "Q3 refresh"}
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["required_approvals"], request["approvals_given"]) == (
        "pending",
        2,
        0,
    )
    assert request["approvals_missing"] == 2 and request["note"] == "Q3 refresh"
    rid = request["id"]
    waiting = api.get("/api/v1/requests", "ann").json()
    assert [r["id"] for r in waiting] == [rid]
    first = api.post(
        f"/api/v1/requests/{rid}/approve",
        "ann",
        json={"comment": "evidence read"},
        headers={"X-Request-Id": "approve-ann"},
    )
    assert first.status_code == 200, first.text
    assert first.json()["approvals_given"] == 1 and first.json()["status"] == "pending"
    [approval] = first.json()["approvals"]
    assert (approval["approver"], approval["comment"]) == ("ann", "evidence read")
    second = api.post(
        f"/api/v1/requests/{rid}/approve", "arno", json={}, headers={"X-Request-Id": "approve-2"}
    )
    assert second.json()["status"] == "completed"
    assert second.json()["approvals_missing"] == 0
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).stage == "production"
    assert api.get("/api/v1/requests", "ann").json() == []
    assert [r["status"] for r in api.get("/api/v1/requests?status=all", "ann").json()] == [
        "completed"
    ]
    assert api.get(f"/api/v1/requests/{rid}", "otto").json()["decided_by"] == "arno"
    [move] = api.get(f"{VERSIONS}/1/history", "otto").json()
    assert (move["to_stage"], move["request_id"], move["actor"]) == ("production", rid, "arno")
    [spell] = api.get(f"/api/v1/models/{MODEL_NAME}/production-history", "otto").json()
    assert (spell["version"], spell["request_id"], spell["requested_by"]) == (1, rid, "eli")
    assert spell["approvers"] == ["ann", "arno"] and spell["until"] is None
    [mine] = api.get(f"{VERSIONS}/1/requests", "otto").json()
    assert (mine["id"], mine["status"], mine["approvals_given"]) == (rid, "completed", 2)
    # the audit ties each approval to its HTTP call
    entries = team.registry.audit_log(actor=team["otto"], action="promotion.*")
    assert [(e.action, e.actor, e.request_id) for e in entries][-3:] == [
        ("promotion.approved", "ann", "approve-ann"),
        ("promotion.approved", "arno", "approve-2"),
        ("promotion.completed", "arno", "approve-2"),
    ]


def test_reject_needs_a_reason_and_records_it(api: Api, team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "c"))
    rid = api.post(f"{VERSIONS}/1/promotions", "eli", json={"to": "production"}).json()["id"]
    empty = api.post(f"/api/v1/requests/{rid}/reject", "ann", json={"reason": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body.reason"
    rejected = api.post(f"/api/v1/requests/{rid}/reject", "ann", json={"reason": "too early"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "too early")
    again = api.post(f"/api/v1/requests/{rid}/approve", "arno", json={})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict" and "rejected, not pending" in again.json()["detail"]


def test_a_refused_promotion_carries_the_services_message_and_problems(
    api: Api, team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "c", passed=False))
    refused = api.post(f"{VERSIONS}/1/promotions", "eli", json={"to": "production"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "gate_failed"
    assert body["detail"].startswith("promotion of credit-risk:1 to production refused")
    assert "few-nulls" in body["detail"]
    assert body["hint"]
    [request] = team.registry.list_requests(actor=team["otto"], status="refused")
    assert body["detail"].endswith(request.reason)
    assert len(body["problems"]) == 1 and "few-nulls" in body["problems"][0]
    assert "; ".join(body["problems"]) == request.reason


def test_approving_ones_own_request_is_refused_and_changes_nothing_but_the_denial(
    api: Api, team: Team, tmp_path: Path
) -> None:
    team.registry.grant("eli", ["approver"], actor=team["ada"])
    register(team, make_candidate(tmp_path / "c"))
    rid = api.post(f"{VERSIONS}/1/promotions", "eli", json={"to": "production"}).json()["id"]
    before = snapshot(team)
    head = team.registry.verify_audit(actor=team["otto"]).head_seq
    response = api.post(
        f"/api/v1/requests/{rid}/approve", "eli", json={}, headers={"X-Request-Id": "self-1"}
    )
    assert response.status_code == 403
    body = response.json()
    assert "separation of duties" in body["detail"]
    assert body["hint"] == "ask another approver to review it"
    after = snapshot(team)
    # every table and file is as it was, except the one audit entry recording the refusal
    assert {k for k in after if after[k] != before[k]} == {
        "charter_audit_entries",
        "charter_audit_head",
    }
    [denial] = team.registry.audit_log(actor=team["otto"], after=head)
    assert (denial.action, denial.actor, denial.request_id) == ("access.denied", "eli", "self-1")
    assert denial.details["rule"] == "separation of duties"
    assert team.registry.get_request(rid, actor=team["otto"]).approvals == []
