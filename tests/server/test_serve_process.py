"""``charter serve`` as a real process: uvicorn, several workers, a free port, HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from registry_support import Team


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def charter_command() -> list[str]:
    return [sys.executable, "-c", "from charter.cli.app import run; run()"]


@pytest.mark.slow
def test_charter_serve_answers_over_http_with_two_workers(team: Team, tmp_path: Path) -> None:
    port = free_port()
    env = team.env("ann")
    env["CHARTER_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*charter_command(), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=stderr,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            with httpx.Client(base_url=base, timeout=10) as client:
                ready = client.get("/readyz")
                assert ready.status_code == 200, ready.text
                me = client.get(
                    "/api/v1/whoami",
                    headers={"Authorization": f"Bearer {team.tokens['ann']}", "X-Request-Id": "r1"},
                )
                assert me.json() == {"username": "ann", "roles": ["approver"]}
                assert me.headers["x-request-id"] == "r1"
                refused = client.get("/api/v1/whoami")
                assert refused.status_code == 401
                assert refused.headers["content-type"] == "application/problem+json"
                # both workers answer: many requests, several processes' connections
                statuses = {client.get("/healthz").status_code for _ in range(20)}
                assert statuses == {200}
        finally:
            process.terminate()
            process.wait(timeout=30)
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert {"method": "GET", "path": "/api/v1/whoami", "status": 200, "user": "ann"}.items() <= (
        next(a for a in access if a["request_id"] == "r1").items()
    )
    assert "Traceback" not in output


def test_charter_serve_without_a_registry_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["CHARTER_HOME"] = str(tmp_path / "empty")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    result = subprocess.run(
        [*charter_command(), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no Charter registry" in result.stderr
    assert "charter init" in result.stderr
