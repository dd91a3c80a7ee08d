"""Actions against real endpoints: an HTTP server, a Prometheus scrape, a process, a registry."""

import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from charter.monitor.actions import serve_prometheus, take_actions, unset_variables
from charter.monitor.run import monitor

from .conftest import make_policy


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(
            {
                "path": self.path,
                "type": self.headers["Content-Type"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook_server():
    _Hook.received = []
    _Hook.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret", _Hook
    server.shutdown()


@pytest.fixture(scope="module")
def failed(log, policy, reference):
    return monitor("credit-risk", log, policy=policy, reference=reference, version="3")


@pytest.fixture(scope="module")
def clean(log, policy, reference):
    quiet = log[log.ts.dt.day < 4]
    return monitor("credit-risk", quiet, policy=policy, reference=reference, version="3")


def test_a_violation_posts_slack_json_to_the_webhook(failed, webhook_server) -> None:
    url, hook = webhook_server
    outcomes = take_actions(failed, webhook=url)
    assert [(o.action, o.ok) for o in outcomes] == [("webhook", True)]
    [request] = hook.received
    assert request["type"] == "application/json"
    body = request["body"]
    assert body["text"].startswith(":red_circle: Charter monitoring: credit-risk:3 failed")
    assert "dataset-drift" in body["text"] and "parity.window" in body["text"]
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    assert "secret" not in outcomes[0].detail  # the webhook path is a secret


def test_a_passing_run_posts_nothing_unless_asked(clean, webhook_server) -> None:
    url, hook = webhook_server
    assert clean.passed
    assert take_actions(clean, webhook=url) == []
    take_actions(clean, webhook=url, webhook_on="always")
    assert hook.received[0]["body"]["text"].startswith(":large_green_circle:")


def test_a_failing_webhook_is_reported_not_raised(failed, webhook_server) -> None:
    url, hook = webhook_server
    hook.status = 500
    [outcome] = take_actions(failed, webhook=url)
    assert not outcome.ok and "answered 500" in outcome.detail
    [outcome] = take_actions(failed, webhook="http://127.0.0.1:9/nothing-listens")
    assert not outcome.ok


def test_prometheus_textfile_holds_the_gauges(failed, tmp_path: Path) -> None:
    path = tmp_path / "node" / "charter.prom"
    take_actions(failed, prometheus_textfile=path)
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    latest = failed.windows[-1].drift
    [share] = families["charter_monitor_drift_share"].samples
    assert share.value == pytest.approx(latest.share)
    assert share.labels == {"model": "credit-risk", "version": "3"}
    [passed] = families["charter_monitor_passed"].samples
    assert passed.value == 0.0
    scores = {s.labels["column"]: s.value for s in families["charter_monitor_drift_score"].samples}
    assert scores["income"] == pytest.approx(latest["income"].score)
    rules = {s.labels["rule"]: s.value for s in families["charter_monitor_rule_passed"].samples}
    assert rules["dataset-drift"] == 0.0 and rules["accuracy.window"] == 1.0


def test_prometheus_endpoint_serves_the_latest_run(failed, clean) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = CollectorRegistry()
    serve_prometheus(port, registry)
    take_actions(failed, prometheus_registry=registry)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'charter_monitor_passed{model="credit-risk",version="3"} 0.0' in text
    take_actions(clean, prometheus_registry=registry)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'charter_monitor_passed{model="credit-risk",version="3"} 1.0' in text


def test_the_command_runs_on_a_violation_with_the_runs_facts(failed, clean, tmp_path) -> None:
    out = tmp_path / "hook.json"
    script = (
        "import json, os, sys; json.dump({k: os.environ[k] for k in ('CHARTER_MODEL',"
        " 'CHARTER_VERSION', 'CHARTER_STATUS', 'CHARTER_VIOLATIONS', 'CHARTER_EVIDENCE')},"
        f" open({str(out)!r}, 'w'))"
    )
    command = f"{sys.executable} -c {json.dumps(script)}"
    assert take_actions(clean, command=command) == []
    [outcome] = take_actions(failed, command=command)
    assert outcome.ok, outcome.detail
    facts = json.loads(out.read_text())
    assert facts["CHARTER_MODEL"] == "credit-risk" and facts["CHARTER_STATUS"] == "failed"
    assert "dataset-drift" in facts["CHARTER_VIOLATIONS"].split(",")
    assert json.loads(Path(facts["CHARTER_EVIDENCE"]).read_text())["status"] == "failed"
    [broken] = take_actions(failed, command=f"{sys.executable} -c 'import sys; sys.exit(3)'")
    assert not broken.ok and "exited 3" in broken.detail


# -- secrets: ${NAME} in monitoring.webhook and monitoring.command, expanded at action time -------


@pytest.fixture(scope="module")
def failed_with_references(log, reference):
    policy = make_policy(
        webhook="${SLACK_WEBHOOK}",
        command=f"{sys.executable} -c ${{HOOK_SCRIPT}}",
    )
    assert policy.monitoring.webhook == "${SLACK_WEBHOOK}"
    return monitor("credit-risk", log, policy=policy, reference=reference, version="3")


def test_the_webhook_reference_is_expanded_when_the_alert_is_posted(
    failed_with_references, webhook_server, monkeypatch
) -> None:
    url, hook = webhook_server
    monkeypatch.setenv("SLACK_WEBHOOK", url)
    assert unset_variables(failed_with_references.run.policy) == [
        "monitoring.command refers to ${HOOK_SCRIPT}, which is not set in this environment"
    ]
    outcomes = take_actions(failed_with_references)
    webhook = next(o for o in outcomes if o.action == "webhook")
    assert webhook.ok, webhook.detail
    [request] = hook.received
    assert request["path"] == "/services/T000/B000/secret"
    assert request["body"]["text"].startswith(":red_circle:")
    assert "secret" not in webhook.detail
    evidence = failed_with_references.evidence.to_json()
    assert url not in evidence and "T000" not in evidence


def test_an_unset_variable_fails_its_action_and_names_it(
    failed_with_references, webhook_server, monkeypatch
) -> None:
    _, hook = webhook_server
    monkeypatch.delenv("SLACK_WEBHOOK", raising=False)
    monkeypatch.delenv("HOOK_SCRIPT", raising=False)
    outcomes = {o.action: o for o in take_actions(failed_with_references)}
    assert not outcomes["webhook"].ok and not outcomes["command"].ok
    assert "environment variable SLACK_WEBHOOK is not set" in outcomes["webhook"].detail
    assert "monitoring.webhook" in outcomes["webhook"].detail
    assert "export SLACK_WEBHOOK" in outcomes["webhook"].detail
    assert "HOOK_SCRIPT is not set" in outcomes["command"].detail
    assert hook.received == []
    assert failed_with_references.evidence.status == "failed"  # the verdict is untouched


def test_the_command_reference_is_expanded_when_the_command_runs(
    failed_with_references, tmp_path, monkeypatch
) -> None:
    out = tmp_path / "ran.txt"
    monkeypatch.setenv("HOOK_SCRIPT", f"open({str(out)!r}, 'w').write('token-123')")
    monkeypatch.setenv("SLACK_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    outcomes = {o.action: o for o in take_actions(failed_with_references)}
    assert outcomes["command"].ok, outcomes["command"].detail
    assert out.read_text() == "token-123"
    assert "${HOOK_SCRIPT}" in outcomes["command"].detail  # shown as written
    assert "token-123" not in outcomes["command"].detail
