"""The application skeleton: health, request ids, problems, limits, access logs, settings."""

import json
import logging
import os
import stat
import uuid
from pathlib import Path

import pytest
from fastapi import Body, Request
from fastapi.testclient import TestClient
from registry_support import Team
from server_support import Api, settings_for
from sqlalchemy import create_engine

from charter.audit.request_context import current_request_id
from charter.errors import CharterError, GateFailedError, NotFoundError
from charter.server.app import create_app
from charter.server.settings import SECRET_KEY_ENV, ServerSettings

PROBLEM = "application/problem+json"


def test_healthz_answers_with_a_fresh_request_id(api: Api) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert uuid.UUID(response.headers["x-request-id"]).version == 4


def test_a_sane_request_id_is_echoed_and_an_insane_one_replaced(api: Api) -> None:
    given = "trace-42:abc.DEF_9"
    assert api.get("/healthz", headers={"X-Request-Id": given}).headers["x-request-id"] == given
    for insane in ("a" * 129, "has space", "semi;colon", "ünï".encode()):
        header = api.get("/healthz", headers={"X-Request-Id": insane}).headers["x-request-id"]
        assert header != insane
        assert uuid.UUID(header).version == 4
    long_ok = "b" * 128
    assert api.get("/healthz", headers={"X-Request-Id": long_ok}).headers["x-request-id"] == long_ok


def test_readyz_reports_the_database(api: Api, team: Team) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["audit_alg"] == team.registry.audit_alg


def test_readyz_is_a_503_problem_when_the_database_does_not_answer(api: Api) -> None:
    registry = api.client.app.state.registry  # type: ignore[attr-defined]
    working = registry.engine
    # nothing listens on port 1: a real connection failure
    registry.engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        response = api.get("/readyz", headers={"X-Request-Id": "ready-check"})
    finally:
        registry.engine.dispose()
        registry.engine = working
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 503
    assert body["code"] == "not_ready"
    assert "does not answer" in body["detail"]
    assert body["request_id"] == "ready-check"
    assert "hint" in body


def test_an_unknown_route_and_a_wrong_method_are_problems(api: Api) -> None:
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["code"] == "not_found"
    assert missing.json()["instance"] == "/api/v1/nothing-here"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    wrong = api.client.delete("/healthz")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.json()["code"] == "method_not_allowed"
    assert "GET" in wrong.json()["hint"]


def test_whoami_needs_a_known_token(api: Api) -> None:
    assert api.get("/api/v1/whoami", "ann").json() == {"username": "ann", "roles": ["approver"]}
    none = api.get("/api/v1/whoami")
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    assert none.json()["code"] == "unauthenticated"
    assert "no token given" in none.json()["detail"]
    unknown = api.get("/api/v1/whoami", headers={"Authorization": "Bearer charter_nope"})
    assert unknown.status_code == 401
    assert "not known" in unknown.json()["detail"]
    basic = api.get("/api/v1/whoami", headers={"Authorization": "Basic YWRhOmFkYQ=="})
    assert basic.status_code == 401


def test_revoked_and_expired_tokens_are_401(api: Api, team: Team) -> None:
    issued = team.registry.create_token(actor=team["otto"], label="short")
    team.registry.revoke_token(issued.id, actor=team["otto"])
    revoked = api.get("/api/v1/whoami", headers={"Authorization": f"Bearer {issued.token}"})
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    from sqlalchemy import update

    from charter.registry import tables

    expiring = team.registry.create_token(actor=team["otto"], expires_days=1)
    with team.registry.engine.begin() as connection:
        connection.execute(
            update(tables.Token)
            .where(tables.Token.id == expiring.id)
            .values(expires_at=tables.utcnow().replace(year=2020))
        )
    expired = api.get("/api/v1/whoami", headers={"Authorization": f"Bearer {expiring.token}"})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


# ---------------------------------------------------------------- problems, limits, logs
@pytest.fixture
def probe(team: Team, tmp_path: Path):
    """The application with a few routes that fail on purpose, and small body limits."""
    app = create_app(
        settings_for(team, tmp_path / "home", max_body_bytes=64, max_upload_bytes=1024)
    )

    @app.get("/probe/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/probe/missing")
    def missing() -> None:
        raise NotFoundError("no model named 'x'", hint="did you mean 'y'?")

    @app.get("/probe/structured")
    def structured() -> None:
        raise GateFailedError(
            "refused", hint="do better", request_id=7, problems=["rule a failed", "rule b failed"]
        )

    @app.post("/probe/echo")
    def echo(value: int = Body(embed=True)) -> dict[str, int]:
        return {"value": value}

    @app.post("/probe/upload")
    async def upload(request: Request) -> dict[str, int]:
        form = await request.form()
        return {"files": len(form)}

    @app.get("/probe/request-id")
    def request_id() -> dict[str, str | None]:
        return {"request_id": current_request_id()}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unexpected_error_is_a_500_problem_without_internals(probe: TestClient) -> None:
    response = probe.get("/probe/boom", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"] == "boom-1"
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "boom-1"
    assert "boom-1" in body["hint"]
    assert "passwd" not in response.text and "Traceback" not in response.text


def test_a_charter_error_carries_status_code_hint_and_fields(probe: TestClient) -> None:
    response = probe.get("/probe/missing")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "urn:charter:error:not_found"
    assert body["title"] == "Not found"
    assert body["detail"] == "no model named 'x'"
    assert body["hint"] == "did you mean 'y'?"
    structured = probe.get("/probe/structured", headers={"X-Request-Id": "s-1"}).json()
    assert structured["status"] == 422
    assert structured["problems"] == ["rule a failed", "rule b failed"]
    assert structured["promotion_request"] == 7
    assert structured["request_id"] == "s-1"  # the HTTP call's


def test_malformed_json_and_wrong_types_are_422_problems_naming_the_field(
    probe: TestClient,
) -> None:
    malformed = probe.post(
        "/probe/echo", content=b'{"value": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM
    assert malformed.json()["code"] == "malformed_json"
    wrong = probe.post("/probe/echo", json={"value": "seven"})
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == "body.value"
    assert "body.value" in body["detail"]
    assert probe.post("/probe/echo", json={"value": 7}).json() == {"value": 7}


def test_bodies_over_the_limit_are_413_problems(probe: TestClient) -> None:
    big = probe.post("/probe/echo", json={"value": 1, "padding": "x" * 100})
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM
    assert big.json()["code"] == "payload_too_large"
    assert big.json()["limit"] == 64
    assert big.headers["x-request-id"]

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"value": 1, "padding": "'
        yield b"x" * 100
        yield b'"}'

    streamed = probe.post(
        "/probe/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    small_upload = probe.post("/probe/upload", files={"f": ("a.bin", b"x" * 100)})
    assert small_upload.status_code == 200  # uploads have their own, larger limit
    big_upload = probe.post("/probe/upload", files={"f": ("a.bin", b"x" * 2000)})
    assert big_upload.status_code == 413
    assert "upload" in big_upload.json()["detail"]


def test_the_request_id_is_visible_to_sync_code_while_serving(probe: TestClient) -> None:
    response = probe.get("/probe/request-id", headers={"X-Request-Id": "ctx-7"})
    assert response.json() == {"request_id": "ctx-7"}
    assert current_request_id() is None


def test_each_request_logs_one_json_access_line(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="charter.server.access"):
        api.get("/api/v1/whoami", "otto", headers={"X-Request-Id": "log-1"})
        api.get("/api/v1/whoami", headers={"X-Request-Id": "log-2"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert lines[0]["request_id"] == "log-1"
    assert lines[0]["user"] == "otto"
    assert lines[0]["status"] == 200
    assert lines[0]["method"] == "GET"
    assert lines[0]["path"] == "/api/v1/whoami"
    assert lines[0]["duration_ms"] >= 0
    assert lines[1]["request_id"] == "log-2"
    assert lines[1]["status"] == 401
    assert lines[1]["user"] is None


# ---------------------------------------------------------------- settings
def test_settings_find_the_registry_as_the_cli_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv("CHARTER_ARTIFACT_STORE", raising=False)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "home"))
    settings = ServerSettings.from_env()
    assert settings.database_url == f"sqlite:///{tmp_path / 'home' / 'registry.db'}"
    assert settings.inference_log == tmp_path / "home" / "inference"
    key_file = tmp_path / "home" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert settings.secret_key.get_secret_value() == key_file.read_text().strip()
    again = ServerSettings.from_env()
    assert again.secret_key == settings.secret_key  # every worker and restart signs alike
    assert "secret_key" not in repr(settings.secret_key.get_secret_value()[:0])
    monkeypatch.setenv("CHARTER_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv(SECRET_KEY_ENV, "k" * 40)
    monkeypatch.setenv("CHARTER_MAX_UPLOAD_BYTES", "1000")
    chosen = ServerSettings.from_env()
    assert chosen.database_url == "postgresql+psycopg://u@h/db"
    assert chosen.secret_key.get_secret_value() == "k" * 40
    assert chosen.max_upload_bytes == 1000


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (SECRET_KEY_ENV, "short", "at least 32"),
        ("CHARTER_MAX_BODY_BYTES", "lots", "positive number of bytes"),
        ("CHARTER_MAX_UPLOAD_BYTES", "-5", "positive number of bytes"),
    ],
)
def test_bad_settings_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(CharterError, match=message) as caught:
        ServerSettings.from_env()
    assert caught.value.hint
