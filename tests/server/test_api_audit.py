"""The audit trail over HTTP: filters, keyset pages, request ids, verification, exports."""

import csv
import hashlib
import io
import json
from pathlib import Path

from registry_support import MODEL_NAME, Team, make_candidate, register
from server_support import Api

from charter.evidence import canonical_json


def _walk(api: Api, user: str, **params: object) -> list[dict]:
    entries, cursor = [], None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor is not None else {})
        page = api.get("/api/v1/audit", user, params=query)
        assert page.status_code == 200, page.text
        entries.extend(page.json()["items"])
        cursor = page.json()["next"]
        if cursor is None:
            return entries


def test_pages_walk_the_whole_trail_in_either_order(api: Api, team: Team) -> None:
    everything = [e.to_dict() for e in team.registry.audit_log(actor=team["otto"])]
    assert len(everything) >= 10
    newest_first = _walk(api, "otto", limit=3)
    assert [e["seq"] for e in newest_first] == [e["seq"] for e in reversed(everything)]
    oldest_first = _walk(api, "otto", limit=4, order="asc")
    assert oldest_first == [{**e, "request_id": None} for e in everything]
    first = api.get("/api/v1/audit", "otto", params={"limit": 2}).json()
    assert first["next"] == first["items"][-1]["seq"]


def test_filters_and_the_request_id_of_each_call(api: Api, team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "c"))
    api.post(
        f"/api/v1/models/{MODEL_NAME}/versions/1/flags",
        "mo",
        json={"flag": "needs-review", "reason": "drift"},
        headers={"X-Request-Id": "flag-call"},
    )
    by_call = _walk(api, "otto", request_id="flag-call")
    assert [(e["action"], e["actor"], e["request_id"]) for e in by_call] == [
        ("version.flag", "mo", "flag-call")
    ]
    assert [e["action"] for e in _walk(api, "otto", actor="mo")] == ["version.flag"]
    about_version = _walk(api, "otto", model=MODEL_NAME, version=1, order="asc")
    assert [e["action"] for e in about_version] == ["version.register", "version.flag"]
    prefixed = {e["action"] for e in _walk(api, "ada", action="user.*")}
    assert prefixed == {"user.add"}
    flag_at = by_call[0]["at"]
    since = _walk(api, "otto", since=flag_at)
    assert [e["action"] for e in since] == ["version.flag"]
    until = _walk(api, "otto", until=flag_at, model=MODEL_NAME)
    assert [e["action"] for e in until] == ["version.register", "model.create"]
    needs_model = api.get("/api/v1/audit", "otto", params={"version": 1})
    assert needs_model.status_code == 400 and "needs the model" in needs_model.json()["detail"]
    not_a_time = api.get("/api/v1/audit", "otto", params={"since": "yesterday"})
    assert not_a_time.status_code == 422
    assert not_a_time.json()["errors"][0]["field"] == "query.since"


def test_verify_reports_the_intact_chain(api: Api, team: Team) -> None:
    report = api.get("/api/v1/audit/verify", "otto").json()
    direct = team.registry.verify_audit(actor=team["otto"])
    assert report["ok"] is True
    assert (report["checked"], report["head_seq"], report["head_hash"]) == (
        direct.checked,
        direct.head_seq,
        direct.head_hash,
    )
    assert report["verified_at"]


def test_exports_stream_every_entry_verifiable_offline(
    api: Api, team: Team, tmp_path: Path
) -> None:
    register(team, make_candidate(tmp_path / "c"))
    api.post(
        f"/api/v1/models/{MODEL_NAME}/versions/1/flags",
        "mo",
        json={"flag": "needs-review", "reason": "drift"},
        headers={"X-Request-Id": "flag-call"},
    )
    with api.client.stream(
        "GET", "/api/v1/audit/export", headers=api.auth("otto"), params={"format": "jsonl"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "transfer-encoding" in response.headers or "content-length" not in response.headers
        text = "".join(response.iter_text())
    lines = [json.loads(line) for line in text.splitlines()]
    cli = io.StringIO()
    team.registry.export_audit(cli, actor=team["otto"], fmt="jsonl")
    assert text == cli.getvalue()
    previous = "0" * 64
    for entry in lines:  # the export is the hashed text: anyone can check it with hashlib
        digest = entry.pop("hash")
        assert entry["prev_hash"] == previous
        assert hashlib.sha256(canonical_json(entry)).hexdigest() == digest
        previous = digest
    assert lines[-1]["request_id"] == "flag-call"
    csv_text = api.get(
        "/api/v1/audit/export", "otto", params={"format": "csv", "model": MODEL_NAME}
    ).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["action"] for r in rows] == ["model.create", "version.register", "version.flag"]
    assert [r["request_id"] for r in rows] == ["", "", "flag-call"]


def test_a_large_export_streams_in_chunks(api: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    team.registry.register(
        MODEL_NAME,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        actor=team["eli"],
        source_dir=tmp_path,
    )
    for i in range(40):  # ~160 kB of entries: more than one 64 kB chunk
        team.registry.flag_version(MODEL_NAME, 1, f"f{i}", "x" * 4000, actor=team["mo"])
    with api.client.stream("GET", "/api/v1/audit/export", headers=api.auth("otto")) as response:
        chunks = list(response.iter_raw())
    assert len(chunks) > 1
    assert b"".join(chunks).count(b"\n") == team.registry.verify_audit(actor=team["otto"]).head_seq


def test_the_trail_is_for_auditors_and_admins(api: Api, team: Team) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/export"):
        refused = api.get(path, "eli")
        assert refused.status_code == 403, path
        assert "may not audit.read" in refused.json()["detail"]
        assert "auditor" in refused.json()["hint"]
