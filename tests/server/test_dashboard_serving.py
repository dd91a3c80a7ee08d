"""The dashboard's serving pages in process: the inference explorer and the stop button.

A real LightGBM model is served (tests/serving's support); a request is predicted through the
API and then looked up on the explorer page, whose values are checked against the API lookup's
JSON for the same id and against LightGBM's own ``pred_contrib`` (the oracle). The stop button
is pressed through the model page's forms and checked against the registry and the predict route.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serving"))

from api_support import Client, running
from dashboard_client import Browser, csrf_of
from serving_support import Served, inputs_of, make_served, records, tabular

from charter.registry import serving as registry_serving

REQUEST = "loan-7"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, pd.DataFrame, lgb.LGBMClassifier]]:
    served = make_served(tmp_path / "registry")
    train = tabular(seed=3, categorical=False)
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(
        train[inputs_of(train)], train["label"]
    )
    served.publish(model, train)
    yield served, train, model
    served.registry.close()


@pytest.fixture
def api(
    served: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], tmp_path: Path
) -> Iterator[Client]:
    with running(served[0], tmp_path / "home") as client:
        yield client


def _browser(api: Client, user: str) -> Browser:
    """A browser of its own (cookie jar) on the running app (its lifespan already started)."""
    client = TestClient(api.client.app, raise_server_exceptions=False)
    browser = Browser(client, api.served)  # type: ignore[arg-type]
    browser.login(user)
    return browser


def _predict(api: Client, rows: pd.DataFrame) -> Any:
    answer = api.post(
        "/api/v1/models/scorer/predict",
        "ivy",
        json={"dataframe_records": records(rows)},
        headers={"X-Request-Id": REQUEST},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


_ROW = re.compile(r'<section class="card served-row" id="row-(\d+)".*?</section>', re.S)
_STEP = re.compile(
    r'data-feature="([^"]+)" data-contribution="([^"]+)" x="([^"]+)" width="([^"]+)"'
)


def _sections(html: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(0) for m in _ROW.finditer(html)}


# ------------------------------------------------------------------ inference explorer
def test_the_explorer_shows_what_was_served_as_the_api_lookup_does(
    served: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    _, train, model = served
    rows = train[inputs_of(train)].head(3)
    _predict(api, rows)
    api.post(
        "/api/v1/models/scorer/labels", "lars", json=[{"request_id": REQUEST, "row": 2, "label": 1}]
    )
    logged = api.get(f"/api/v1/inferences/{REQUEST}", "otto").json()["rows"]
    page = _browser(api, "otto").get(f"/inferences?request_id={REQUEST}")
    assert page.status_code == 200
    sections = _sections(page.text)
    assert sorted(sections) == [0, 1, 2]
    raw = model.predict(rows, raw_score=True)
    contrib = model.predict(rows, pred_contrib=True)
    for i, row in enumerate(logged):
        html = sections[i]
        assert f'<strong class="prediction">{row["prediction"]}</strong>' in html
        score = float(re.search(r'class="score" data-value="([^"]+)"', html).group(1))  # type: ignore[union-attr]
        assert score == row["score"]
        np.testing.assert_allclose(score, model.predict_proba(rows)[i, 1], atol=1e-12)
        assert f'<span class="caller">{row["caller"]}</span>' in html and row["caller"] == "ivy"
        assert 'href="/models/scorer/versions/1"' in html
        assert f'title="{row["sha256"]}"' in html
        # the waterfall: the logged contributions, largest |c| first, base + bars = output
        steps = [(f, float(c), float(x), float(w)) for f, c, x, w in _STEP.findall(html)]
        explained = row["explanation"]
        assert {f: c for f, c, _, _ in steps} == explained["contributions"]
        assert [abs(c) for _, c, _, _ in steps] == sorted(
            (abs(c) for _, c, _, _ in steps), reverse=True
        )
        base = float(re.search(r'data-base="([^"]+)"', html).group(1))  # type: ignore[union-attr]
        output = float(re.search(r'data-output="([^"]+)"', html).group(1))  # type: ignore[union-attr]
        assert base == explained["base_value"]
        np.testing.assert_allclose(base + sum(c for _, c, _, _ in steps), output, rtol=1e-12)
        np.testing.assert_allclose(output, raw[i], atol=1e-9)  # LightGBM's own raw score
        np.testing.assert_allclose(
            [explained["contributions"][f] for f in inputs_of(train)], contrib[i, :-1], atol=1e-9
        )
        # drawn as a chain: each bar starts where the previous ended, from base to output
        marks = [float(x) for x in re.findall(r'<line x1="([^"]+)"', html)]
        edge = marks[0]
        for _, c, x, w in steps:
            start, end = (x, x + w) if c >= 0 else (x + w, x)
            assert start == pytest.approx(edge, abs=2e-3)
            edge = end
        assert edge == pytest.approx(marks[-1], abs=2e-3 * len(steps))
        for name in inputs_of(train):
            assert f"<th>{name}</th>" in html
    assert '<strong class="label">1</strong>' in sections[2]
    assert "not joined yet" in sections[0]


def test_an_unknown_request_id_is_a_404_page_saying_so(api: Client) -> None:
    page = _browser(api, "otto").get("/inferences?request_id=nope")
    assert page.status_code == 404
    assert "no served request nope" in page.text and "<h1>Not found</h1>" in page.text


def test_the_search_form_is_in_the_nav_for_those_allowed_inference_read(
    served: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    assert 'action="/inferences"' in _browser(api, "otto").get("/models").text
    monitor = _browser(api, "mo")  # the monitor role may not read inferences
    assert 'action="/inferences"' not in monitor.get("/").text
    _predict(api, served[1][inputs_of(served[1])].head(1))
    refused = monitor.get(f"/inferences?request_id={REQUEST}")
    assert refused.status_code == 403 and "served-row" not in refused.text


# ------------------------------------------------------------------ the stop button
def _suspended(api: Client) -> registry_serving.Suspension | None:
    return registry_serving.suspension(api.served.registry, "scorer")


def test_an_auditor_sees_the_status_only_and_is_refused_a_suspension(
    served: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    otto = _browser(api, "otto")
    page = otto.get("/models/scorer")
    assert page.status_code == 200 and "serving</span>" in page.text
    assert "Suspend serving" not in page.text and "/models/scorer/suspend" not in page.text
    refused = otto.post(
        "/models/scorer/suspend",
        {"reason": "I think so", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert _suspended(api) is None
    assert api.serving.suspended == {}
    rows = served[1][inputs_of(served[1])].head(1)
    assert _predict(api, rows)["predictions"] == served[2].predict(rows).tolist()


def test_an_approver_suspends_and_resumes_serving(
    served: tuple[Served, pd.DataFrame, lgb.LGBMClassifier], api: Client
) -> None:
    rows = served[1][inputs_of(served[1])].head(1)
    ann = _browser(api, "ann")
    page = ann.get("/models/scorer")
    assert "Suspend serving" in page.text
    empty = ann.post("/models/scorer/suspend", {"reason": " ", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 400 and "needs a reason" in empty.text and _suspended(api) is None
    done = ann.post(
        "/models/scorer/suspend",
        {"reason": "biased outcomes", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/models/scorer#serving"
    stopped = _suspended(api)
    assert stopped is not None and stopped.reason == "biased outcomes"
    assert stopped.suspended_by == "ann"
    answer = api.post(
        "/api/v1/models/scorer/predict", "ivy", json={"dataframe_records": records(rows)}
    )
    assert answer.status_code == 503 and "biased outcomes" in answer.json()["detail"]
    banner = ann.get("/models/scorer").text
    assert "serving suspended" in banner and "biased outcomes" in banner
    assert "Resume serving" in banner and "Suspend serving" not in banner
    # htmx: the panel is swapped in place
    resumed = ann.post(
        "/models/scorer/resume",
        {"reason": "retrained", "csrf_token": csrf_of(banner)},
        headers={"HX-Request": "true"},
    )
    assert resumed.status_code == 200 and resumed.text.startswith('<section id="serving"')
    assert "Suspend serving" in resumed.text
    assert _suspended(api) is None
    assert _predict(api, rows)["predictions"] == served[2].predict(rows).tolist()
    trail = [
        (e.action, e.actor)
        for e in api.served.registry.audit_log(actor=api.served["otto"], model="scorer")
        if e.action.startswith("serving.")
    ]
    assert sorted(trail) == [("serving.resume", "ann"), ("serving.suspend", "ann")]


def test_a_csrf_mismatch_changes_nothing(api: Client) -> None:
    ann = _browser(api, "ann")
    ann.get("/models/scorer")
    refused = ann.post("/models/scorer/suspend", {"reason": "x", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert _suspended(api) is None and api.serving.suspended == {}
