"""Models and versions over HTTP: register (uploads, jobs), read, download, change."""

import hashlib
import json
import time
from pathlib import Path

from registry_support import MODEL_NAME, Team, make_candidate, register, write_evidence
from server_support import Api, candidate_files

from charter.evidence import Evidence

VERSIONS = f"/api/v1/models/{MODEL_NAME}/versions"


def test_register_with_uploads_records_what_the_cli_records(
    api: Api, team: Team, tmp_path: Path
) -> None:
    candidate = make_candidate(tmp_path / "c")
    response = api.post(
        VERSIONS,
        "eli",
        files=candidate_files(candidate),
        data={
            "params": json.dumps({"C": 1.0}),
            "git": json.dumps({"commit": "abc123", "branch": "main", "dirty": False}),
            "description": "first",
        },
        headers={"Prefer": "wait=30", "X-Request-Id": "reg-1"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{VERSIONS}/1"
    stored = team.registry.get_version(MODEL_NAME, 1, actor=team["otto"])
    assert body["number"] == 1 and body["created_by"] == "eli"
    assert stored.artifact_sha256 == hashlib.sha256(candidate.model.read_bytes()).hexdigest()
    assert stored.params == {"C": 1.0}
    assert stored.description == "first"
    assert stored.lineage["git"] == {"commit": "abc123", "branch": "main", "dirty": False}
    assert stored.lineage["model_file"] == "model.skops"
    assert stored.lineage["data"]["train"]["rows"] == 400
    assert stored.evidence is not None and stored.evidence.report_sha256 is not None
    profile = team.registry.reference_profile(MODEL_NAME, 1, actor=team["otto"])
    assert profile is not None and profile["rows"] == 400
    # the registration's audit entries carry the request's id
    entries = team.registry.audit_log(actor=team["otto"], model=MODEL_NAME)
    assert [(e.action, e.request_id) for e in entries] == [
        ("model.create", "reg-1"),
        ("version.register", "reg-1"),
    ]
    # nothing of the upload is left behind
    assert not any((tmp_path / "home" / "uploads").iterdir())


def test_a_slow_registration_answers_202_and_a_job_to_poll(
    api: Api, team: Team, tmp_path: Path
) -> None:
    candidate = make_candidate(tmp_path / "c")
    response = api.post(
        VERSIONS,
        "eli",
        files=candidate_files(candidate),
        headers={"Prefer": "respond-async", "X-Request-Id": "async-1"},
    )
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    job = response.json()
    assert location == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "register" and job["created_by"] == "eli"
    assert job["request_id"] == "async-1"
    deadline = time.monotonic() + 60
    while job["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
        job = api.get(location, "eli").json()
    assert job["status"] == "succeeded", job
    assert job["location"] == f"{VERSIONS}/1"
    assert job["result"]["number"] == 1
    assert (
        api.get(job["location"], "ann").json()["artifact_sha256"]
        == (job["result"]["artifact_sha256"])
    )
    # another user does not see the job
    assert api.get(location, "ann").status_code == 404
    entries = team.registry.audit_log(actor=team["otto"], action="version.register")
    assert entries[-1].request_id == "async-1"


def test_a_failed_job_keeps_the_services_problem(api: Api, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    files = candidate_files(candidate)
    other = make_candidate(tmp_path / "other", seed=1)
    files["model"] = ("model.skops", other.model.read_bytes())  # not the checked artifact
    response = api.post(VERSIONS, "eli", files=files, headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    location = response.headers["location"]
    deadline = time.monotonic() + 60
    job = response.json()
    while job["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
        job = api.get(location, "eli").json()
    assert job["status"] == "failed"
    assert job["problem"]["status"] == 400
    assert "different model artifact" in job["problem"]["detail"]
    assert job["problem"]["hint"]
    # answered within the wait, the same problem comes straight back
    direct = api.post(VERSIONS, "eli", files=files, headers={"Prefer": "wait=30"})
    assert direct.status_code == 400
    assert "different model artifact" in direct.json()["detail"]


def test_reads_of_a_version(api: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    version = register(team, candidate)
    team.registry.set_alias(MODEL_NAME, "champion", 1, actor=team["eli"])
    models = api.get("/api/v1/models", "otto").json()
    assert [(m["name"], m["versions"], m["latest"]) for m in models] == [(MODEL_NAME, 1, 1)]
    assert api.get(f"/api/v1/models/{MODEL_NAME}", "otto").json()["name"] == MODEL_NAME
    page = api.get(VERSIONS, "otto").json()
    assert [v["number"] for v in page["items"]] == [1] and page["next"] is None
    for ref in ("1", "latest", "champion"):
        detail = api.get(f"{VERSIONS}/{ref}", "otto").json()
        assert detail["number"] == 1
        assert detail["aliases"] == ["champion"]
        assert detail["history"] == []
    lineage = api.get(f"{VERSIONS}/1/lineage", "otto").json()
    assert lineage["artifact_sha256"] == version.artifact_sha256
    assert lineage["data"]["train"]["sha256"] == version.lineage["data"]["train"]["sha256"]
    assert lineage["environment"]["python"] == version.lineage["environment"]["python"]
    evidence = api.get(f"{VERSIONS}/1/evidence", "otto").json()
    assert evidence["digest"] == version.evidence.digest
    assert Evidence.model_validate(evidence["evidence"]).digest == version.evidence.digest
    assert evidence["status"] == "passed" and evidence["summary"]["total"] == 2
    report = api.get(f"{VERSIONS}/1/evidence/report", "otto")
    assert report.headers["content-type"].startswith("text/html")
    assert report.text == (candidate.evidence / "report.html").read_text()
    artifact = api.get(f"{VERSIONS}/1/artifact", "otto")
    assert artifact.status_code == 200
    assert hashlib.sha256(artifact.content).hexdigest() == version.artifact_sha256
    assert artifact.headers["x-artifact-sha256"] == version.artifact_sha256
    assert 'filename="credit-risk-1.skops"' in artifact.headers["content-disposition"]
    profile = api.get(f"{VERSIONS}/1/reference-profile", "otto").json()
    assert profile["rows"] == 400
    assert api.get(f"{VERSIONS}/1/history", "otto").json() == []


def test_versions_are_paged_by_keyset(api: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    for _ in range(5):
        team.registry.register(
            MODEL_NAME,
            model=candidate.model,
            evidence=candidate.evidence,
            policy=candidate.policy,
            actor=team["eli"],
            source_dir=tmp_path,
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"after": cursor} if cursor is not None else {})
        page = api.get(VERSIONS, "otto", params=params).json()
        seen.extend(v["number"] for v in page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]


def test_cards_and_compliance_reports(api: Api, team: Team, tmp_path: Path) -> None:
    from charter.cards import compliance_report, model_card, render_card

    register(team, make_candidate(tmp_path / "c"))
    card = api.get(f"{VERSIONS}/1/card", "otto").json()
    expected = model_card(team.registry, MODEL_NAME, 1, actor=team["otto"])
    assert card["model"] == expected.model and card["version"] == 1
    assert [s["id"] for s in card["sections"]] == [s.id for s in expected.sections]
    markdown = api.get(f"{VERSIONS}/1/card", "otto", params={"format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.splitlines()[0] == render_card(expected, "md").splitlines()[0]
    html = api.get(f"{VERSIONS}/1/card", "otto", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<html" in html.text
    report = api.get(f"{VERSIONS}/1/compliance", "otto").json()
    direct = compliance_report(team.registry, MODEL_NAME, 1, actor=team["otto"])
    assert [c["id"] for c in report["controls"]] == [c.id for c in direct.controls]
    assert report["counts_by_status"] == direct.counts
    only = api.get(f"{VERSIONS}/1/compliance", "otto", params={"framework": "oecd"}).json()
    assert only["controls"] and all(c["framework"] == "oecd" for c in only["controls"])
    page = api.get(f"{VERSIONS}/1/compliance", "otto", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html")
    bad = api.get(f"{VERSIONS}/1/compliance", "otto", params={"framework": "iso"})
    assert bad.status_code == 400 and "unknown framework" in bad.json()["detail"]


def test_attach_evidence_archive_flags_and_aliases(api: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    register(team, candidate)
    fresh = write_evidence(
        tmp_path / "fresh",
        policy_path=candidate.policy,
        model_path=candidate.model,
        null_fraction=0.02,
    )
    attached = api.put(
        f"{VERSIONS}/1/evidence",
        "dora",
        files={"evidence": ("evidence.json", (fresh / "evidence.json").read_bytes())},
    )
    assert attached.status_code == 200, attached.text
    digest = Evidence.read(fresh / "evidence.json").digest
    assert attached.json()["evidence"]["digest"] == digest
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).evidence.digest == digest

    alias = api.put(f"/api/v1/models/{MODEL_NAME}/aliases/champion", "dora", json={"version": "1"})
    assert alias.status_code == 200 and alias.json()["aliases"] == ["champion"]
    assert api.delete(f"/api/v1/models/{MODEL_NAME}/aliases/champion", "dora").status_code == 204
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).aliases == []

    raised = api.post(
        f"{VERSIONS}/1/flags", "mo", json={"flag": "needs-review", "reason": "drift in income"}
    )
    assert raised.status_code == 201
    [flag] = raised.json()["flags"]
    assert (flag["flag"], flag["created_by"], flag["resolved_at"]) == ("needs-review", "mo", None)
    resolved = api.post(
        f"{VERSIONS}/1/flags/needs-review/resolve", "ann", json={"reason": "reviewed: seasonal"}
    )
    assert resolved.status_code == 200
    assert resolved.json()[0]["resolved_by"] == "ann"
    assert team.registry.get_version(MODEL_NAME, 1, actor=team["otto"]).open_flags == []

    archived = api.post(f"{VERSIONS}/1/archive", "eli", json={"reason": "superseded"})
    assert archived.status_code == 200 and archived.json()["stage"] == "archived"
    [move] = api.get(f"{VERSIONS}/1/history", "otto").json()
    assert (move["from_stage"], move["to_stage"], move["actor"]) == (None, "archived", "eli")


def test_monitoring_runs_are_recorded_and_listed(api: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    register(team, candidate)
    run = Evidence.read(candidate.evidence / "evidence.json").model_copy(
        update={"stage": "monitoring"}
    )
    recorded = api.post(
        f"{VERSIONS}/1/monitoring",
        "mo",
        content=run.to_json(),
        headers={"Content-Type": "application/json"},
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["status"] == run.status
    runs = api.get(f"{VERSIONS}/1/monitoring", "otto").json()
    assert [(r["run"], r["digest"], r["status"]) for r in runs] == [(1, run.digest, run.status)]
    one = api.get(f"{VERSIONS}/1/monitoring/1", "otto").json()
    assert one["digest"] == run.digest
    assert Evidence.model_validate(one["evidence"]) == run
    broken = api.post(f"{VERSIONS}/1/monitoring", "mo", json={"model_name": MODEL_NAME})
    assert broken.status_code == 422
    assert "body.policy" in broken.json()["detail"]
    missing = api.get(f"{VERSIONS}/1/monitoring/2", "otto")
    assert missing.status_code == 404 and "1 run(s)" in missing.json()["hint"]
