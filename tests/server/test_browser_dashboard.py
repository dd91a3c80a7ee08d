"""The dashboard in a real headless Chromium, against a real uvicorn server.

Debian's ``/usr/bin/chromium`` driven by Playwright (its own browser download cannot run here).
The server is the app factory's application under uvicorn on a free loopback port, over a
registry with real models (dashboard_world). Full-page screenshots of every page go to
``test-output/dashboard/`` (kept by CI as an artifact).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_world import World, build_world
from registry_support import MODEL_NAME, skip_or_fail
from server_support import settings_for

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHARTER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """uvicorn serving the application in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("browser-world"))
    yield built
    built.team.registry.close()


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from charter.server.app import create_app

    app = create_app(settings_for(world.team, tmp_path_factory.mktemp("home")))
    with Server(app) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium: Any, server: Server, world: World) -> Iterator[Any]:
    """``open_page(user)``: a page in a fresh browser context, logged in as ``user``."""
    contexts = []

    def login(user: str) -> Any:
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("#token", world.team.tokens[user])
        page.click("button[type=submit]")
        page.wait_for_selector(".topbar .user")
        return page

    yield login
    for context in contexts:
        context.close()


def test_logging_in_lands_an_approver_on_the_inbox(open_page: Any, world: World) -> None:
    page = open_page("arno")
    assert page.url.endswith("/inbox")
    assert page.inner_text(".topbar .user") == "arno"
    assert page.inner_text(".topbar .roles") == "approver"
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["charter_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts


def test_an_approver_approves_in_place_and_the_audit_page_shows_it(
    open_page: Any, world: World
) -> None:
    registry = world.team.registry
    page = open_page("arno")
    card = page.locator(f"#request-{world.pending}")
    assert "1 of 2" in card.inner_text()
    card.locator("textarea").fill("approved from the browser")
    with page.expect_response(f"**/requests/{world.pending}/approve") as answer:
        card.locator("button.approve").click()
    response = answer.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"  # swapped in place by htmx
    page.wait_for_selector(f"#request-{world.pending} .badge.completed")
    assert page.url.endswith("/inbox")  # no navigation happened
    assert "2 of 2" in page.locator(f"#request-{world.pending}").inner_text()
    request = registry.get_request(world.pending, actor=world.team["otto"])
    assert request.status == "completed" and request.approvals[-1].approver == "arno"
    request_id = response.headers["x-request-id"]

    audit = open_page("otto")
    audit.goto("/audit?action=promotion.approved")
    row = audit.locator("#audit-entries tbody tr").first
    text = row.inner_text()
    assert "arno" in text and "promotion.approved" in text
    assert "approved from the browser" in text
    entry = registry.audit_log(
        actor=world.team["otto"], action="promotion.approved", limit=1, descending=True
    )[0]
    assert entry.actor == "arno" and str(entry.seq) in text
    assert entry.request_id == request_id  # the id of the htmx call the browser made
    assert row.locator(".request-id").inner_text() == request_id


def test_the_requester_is_refused_with_the_services_message(open_page: Any, world: World) -> None:
    registry = world.team.registry
    if "approver" not in {str(r) for r in world.team["emma"].roles}:
        registry.grant("emma", ["approver"], actor=world.team["ada"])
    before = registry.get_request(world.flagged, actor=world.team["otto"])
    page = open_page("emma")
    card = page.locator(f"#request-{world.flagged}")
    card.locator("button.approve").click()
    alert = page.wait_for_selector(f"#request-{world.flagged} .alert")
    assert "separation of duties" in alert.inner_text()
    assert "emma requested this promotion and may not approve it" in alert.inner_text()
    assert registry.get_request(world.flagged, actor=world.team["otto"]) == before


def test_a_monitoring_chart_is_drawn_with_its_data(open_page: Any, world: World) -> None:
    page = open_page("otto")
    page.goto(f"/models/{MODEL_NAME}/versions/1/monitoring")
    page.wait_for_selector('[data-chart="drift-columns"][data-drawn]')
    windows = len(world.monitoring.extras["monitoring"]["windows"])
    lengths = page.evaluate(
        "Object.fromEntries(Object.entries(window.charterCharts)"
        ".map(([k, u]) => [k, u.data[1].filter(v => v !== null).length]))"
    )
    assert lengths["drift-columns"] == windows == 6
    assert any(k.startswith("window_fairness") and v == 6 for k, v in lengths.items())
    # the canvas holds a drawing: many distinct coloured pixels, not an empty box
    painted = page.evaluate(
        """() => {
          const canvas = document.querySelector('[data-chart="drift-columns"] canvas');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0; const colours = new Set();
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] === 0) continue;
            inked++;
            colours.add(data[i] + ',' + data[i + 1] + ',' + data[i + 2]);
          }
          return {inked, colours: colours.size, width: canvas.width, height: canvas.height};
        }"""
    )
    assert painted["width"] > 300 and painted["height"] > 200
    assert painted["inked"] > 2000 and painted["colours"] > 5, painted
    # the numbers table is hidden behind a toggle once the chart is drawn
    assert page.locator('[data-fallback="drift-columns"]').is_hidden()


PAGES = {
    "login": (None, "/login"),
    "inbox": ("arno", "/inbox"),
    "models": ("otto", "/models"),
    "model-history": ("otto", f"/models/{MODEL_NAME}"),
    "version": ("otto", f"/models/{MODEL_NAME}/versions/2"),
    "compare": ("otto", f"/compare?a={MODEL_NAME}:1&b={MODEL_NAME}:2"),
    "audit": ("otto", "/audit"),
    "monitoring": ("otto", f"/models/{MODEL_NAME}/versions/1/monitoring"),
    "admin": ("ada", "/admin"),
    "card": ("otto", f"/models/{MODEL_NAME}/versions/2/card"),
    "inferences": ("otto", "/inferences?request_id=browser-1"),
}


@pytest.fixture(scope="module")
def served_request(server: Server, world: World) -> str:
    """A request served by the production version, for the inference explorer to show."""
    import httpx

    answer = httpx.post(
        f"{server.url}/api/v1/models/{MODEL_NAME}/predict",
        json={"dataframe_records": [{"income": 42.0, "debt": 30.5}, {"income": 75.0, "debt": 9}]},
        headers={
            "Authorization": f"Bearer {world.team.tokens['eli']}",
            "X-Request-Id": "browser-1",
        },
    )
    assert answer.status_code == 200, answer.text
    return "browser-1"


@pytest.mark.parametrize("name", list(PAGES))
def test_a_full_page_screenshot_of_every_page(
    name: str, open_page: Any, chromium: Any, server: Server, served_request: str
) -> None:
    user, path = PAGES[name]
    if user is None:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
    else:
        page = open_page(user)
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    if name == "monitoring":
        page.wait_for_selector("[data-drawn]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    # nothing overflows the window sideways
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than the window"
    if user is None:
        context.close()
