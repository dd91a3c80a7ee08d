"""Bad input over HTTP: a 4xx problem that says what to do, and nothing stored changes."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot
from server_support import Api, candidate_files, settings_for

from charter.server.app import create_app

VERSIONS = f"/api/v1/models/{MODEL_NAME}/versions"
PROBLEM = "application/problem+json"


@pytest.fixture
def registered(api: Api, team: Team, tmp_path: Path) -> Api:
    register(team, make_candidate(tmp_path / "c"))
    team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    return api


def unchanged(team: Team, call) -> dict:
    before = snapshot(team)
    response = call()
    assert snapshot(team) == before, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == response.status_code and 400 <= body["status"] < 500
    assert body["detail"] and body["request_id"] == response.headers["x-request-id"]
    return body


def test_malformed_json_and_wrong_types(registered: Api, team: Team) -> None:
    api = registered
    body = unchanged(
        team,
        lambda: api.post(
            "/api/v1/requests/1/approve",
            "ann",
            content=b'{"comment": "ok"',
            headers={"Content-Type": "application/json"},
        ),
    )
    assert body["code"] == "malformed_json"
    body = unchanged(
        team, lambda: api.post("/api/v1/requests/1/approve", "ann", json={"comment": 5})
    )
    assert body["errors"][0]["field"] == "body.comment"
    body = unchanged(team, lambda: api.post(f"{VERSIONS}/1/promotions", "eli", json={"to": "prod"}))
    assert body["errors"][0]["field"] == "body.to" and "production" in body["detail"]
    body = unchanged(team, lambda: api.post("/api/v1/requests/one/approve", "ann", json={}))
    assert body["errors"][0]["field"] == "path.request_id"
    body = unchanged(team, lambda: api.post("/api/v1/tokens", "otto", json={"expires_days": -1}))
    assert body["errors"][0]["field"] == "body.expires_days"
    body = unchanged(team, lambda: api.get("/api/v1/audit", "otto", params={"limit": 0}))
    assert body["errors"][0]["field"] == "query.limit"
    body = unchanged(
        team,
        lambda: api.post(
            VERSIONS,
            "eli",
            files={"model": ("m.skops", b"x"), "evidence": ("e.json", b"{}")},
            data={"params": "{not json"},
        ),
    )
    assert body["errors"][0]["field"] == "body.policy"


def test_unknown_models_versions_and_requests(registered: Api, team: Team) -> None:
    api = registered
    body = unchanged(team, lambda: api.get("/api/v1/models/credit-risc", "otto"))
    assert body["status"] == 404 and "did you mean 'credit-risk'" in body["hint"]
    body = unchanged(team, lambda: api.get(f"{VERSIONS}/7", "otto"))
    assert body["status"] == 404 and "7" in body["detail"]
    body = unchanged(team, lambda: api.get(f"{VERSIONS}/champion/lineage", "otto"))
    assert body["status"] == 404
    body = unchanged(team, lambda: api.post("/api/v1/requests/99/approve", "ann", json={}))
    assert body["status"] == 404 and "99" in body["detail"]
    body = unchanged(team, lambda: api.get("/api/v1/requests/99", "otto"))
    assert body["status"] == 404
    body = unchanged(
        team,
        lambda: api.post(f"{VERSIONS}/7/promotions", "eli", json={"to": "staging"}),
    )
    assert body["status"] == 404
    body = unchanged(team, lambda: api.delete("/api/v1/tokens/999", "otto"))
    assert body["status"] == 404


def test_names_with_dot_dot_are_refused(registered: Api, team: Team, tmp_path: Path) -> None:
    api = registered
    candidate = make_candidate(tmp_path / "n")
    body = unchanged(
        team,
        lambda: api.post(
            "/api/v1/models/%2E%2E/versions",
            "eli",
            files=candidate_files(candidate, train=False),
            headers={"Prefer": "wait=30"},
        ),
    )
    assert body["status"] == 400 and "'..'" in body["detail"]
    files = candidate_files(candidate, train=False)
    files["model"] = ("../../etc/model.skops", files["model"][1])
    body = unchanged(team, lambda: api.post(VERSIONS, "eli", files=files))
    assert body["status"] == 400 and "not a plain file name" in body["detail"]
    files = candidate_files(candidate)
    files["train_data"] = ("train.exe", b"MZ")
    body = unchanged(team, lambda: api.post(VERSIONS, "eli", files=files))
    assert body["status"] == 400 and ".parquet" in body["hint"]
    body = unchanged(
        team,
        lambda: api.put(
            f"/api/v1/models/{MODEL_NAME}/aliases/%2E%2E", "eli", json={"version": "1"}
        ),
    )
    assert body["status"] == 400 and "alias" in body["detail"]
    body = unchanged(
        team,
        lambda: api.post(f"{VERSIONS}/1/flags", "mo", json={"flag": "../x", "reason": "r"}),
    )
    assert body["status"] == 400 and "not a valid flag" in body["detail"]
    assert not any((tmp_path / "home" / "uploads").iterdir())


@pytest.fixture
def small(team: Team, tmp_path: Path) -> Iterator[Api]:
    settings = settings_for(team, tmp_path / "home", max_upload_bytes=2048, max_body_bytes=256)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, team)


def test_oversized_uploads_and_bodies_are_413(small: Api, team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "c")
    body = unchanged(team, lambda: small.post(VERSIONS, "eli", files=candidate_files(candidate)))
    assert body["status"] == 413 and body["limit"] == 2048
    assert "CHARTER_MAX_UPLOAD_BYTES" in body["hint"]
    body = unchanged(team, lambda: small.post("/api/v1/tokens", "otto", json={"label": "x" * 500}))
    assert body["status"] == 413 and body["limit"] == 256
    assert not (tmp_path / "home" / "uploads").exists() or not any(
        (tmp_path / "home" / "uploads").iterdir()
    )
