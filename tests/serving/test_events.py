"""The optional CloudEvents sink: binary mode, ce-id = request id, the version in the event."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pytest
from api_support import running
from serving_support import Served, inputs_of, records, tabular


def test_each_served_request_becomes_one_binary_cloudevent(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            received.append((dict(self.headers.items()), json.loads(self.rfile.read(size))))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CHARTER_CLOUDEVENTS_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    train = tabular(seed=51, categorical=False)
    names = inputs_of(train)
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(train[names], train["label"])
    served.publish(model, train)
    try:
        with running(served, tmp_path / "home") as api:
            answer = api.post(
                "/api/v1/models/scorer/predict",
                "ivy",
                json={"dataframe_records": records(train[names].head(2))},
                headers={"X-Request-Id": "order-7"},
            ).json()
        # the app's shutdown wrote the log and sent the events
    finally:
        server.shutdown()
    assert len(received) == 1
    headers, body = received[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    sha = answer["model"]["sha256"]
    assert lowered["ce-id"] == "order-7"
    assert lowered["ce-specversion"] == "1.0"
    assert lowered["ce-type"] == "org.charter.inference.response"
    assert lowered["ce-source"] == "/charter/models/scorer/versions/1"
    assert lowered["ce-modelsha256"] == sha and lowered["content-type"] == "application/json"
    assert [r["prediction"] for r in body["rows"]] == answer["predictions"]
    assert body["rows"][0]["inputs"]["f0"] == pytest.approx(train["f0"].iloc[0])
    assert body["rows"][1]["explanation"]["base_value"] == pytest.approx(
        answer["explanations"][1]["base_value"]
    )
