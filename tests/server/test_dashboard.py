"""The dashboard in process: real pages over a registry with real models (dashboard_world).

Each test gets its own copy of the world's SQLite file and the application built by the app
factory. Values on the pages are checked against the registry's own records (the oracle), and
every refusal is checked to have changed nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_client import Browser, Site, copy_world, csrf_of, serve_world, world_template
from dashboard_world import World
from registry_support import MODEL_NAME

from charter.registry.roles import PERMISSIONS, Action, Role


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    folder = tmp_path_factory.mktemp("world")
    return folder, world_template(folder)


@pytest.fixture
def site(template: tuple[Path, World], tmp_path: Path) -> Iterator[Site]:
    folder, world = template
    copy = copy_world(folder, world, tmp_path / "registry")
    with serve_world(copy, tmp_path / "home") as served:
        yield served
    copy.team.registry.close()


def _logged_in(site: Site, user: str) -> Browser:
    browser = site.browser()
    browser.login(user)
    return browser


def _text(html: str) -> str:
    """The page's text, tags dropped and whitespace squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _head(site: Site) -> int:
    return int(site.registry.verify_audit(actor=site.world.team["otto"]).head_seq)


# ------------------------------------------------------------------ login and sessions
def test_a_page_without_a_session_redirects_to_the_login_form(site: Site) -> None:
    response = site.browser().get("/inbox?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Finbox%3Fx%3D1"


def test_logging_in_sets_an_httponly_strict_signed_cookie_with_an_expiry(site: Site) -> None:
    browser = site.browser()
    response = browser.login("arno")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("charter_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "Max-Age=28800" in cookie
    assert site.world.team.tokens["arno"] not in cookie  # the token is sealed, not readable
    page = browser.get("/inbox")
    assert page.status_code == 200
    assert '<span class="user">arno</span>' in page.text


def test_a_tampered_session_cookie_is_no_session(site: Site) -> None:
    browser = site.browser()
    browser.login("arno")
    value = browser.client.cookies["charter_session"]
    browser.client.cookies.set("charter_session", value[:-4] + "AAAA")
    response = browser.get("/inbox", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_wrong_token_is_refused_with_the_registrys_message_and_no_cookie(site: Site) -> None:
    browser = site.browser()
    form = browser.get("/login")
    response = browser.post(
        "/login", {"token": "charter_nope", "next": "/", "csrf_token": csrf_of(form.text)}
    )
    assert response.status_code == 401
    assert "the token is not known to this registry" in response.text
    assert "charter_session" not in browser.client.cookies


def test_a_login_form_without_its_csrf_token_is_refused(site: Site) -> None:
    browser = site.browser()
    browser.get("/login")
    response = browser.post(
        "/login", {"token": site.world.team.tokens["arno"], "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "CSRF token does not match" in response.text
    assert "charter_session" not in browser.client.cookies


def test_the_login_form_redirects_only_within_the_site(site: Site) -> None:
    browser = site.browser()
    form = browser.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in form.text
    response = browser.post(
        "/login",
        {
            "token": site.world.team.tokens["arno"],
            "next": "https://evil.example/",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_logout_needs_the_csrf_token_and_ends_the_session(site: Site) -> None:
    browser = _logged_in(site, "arno")
    refused = browser.post("/logout", {"csrf_token": "forged"})
    assert refused.status_code == 403
    assert browser.get("/inbox").status_code == 200  # still logged in
    done = browser.form_post("/inbox", "/logout", {}, follow_redirects=False)
    assert done.status_code == 303
    assert browser.get("/inbox", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_the_session_at_once(site: Site) -> None:
    browser = _logged_in(site, "arno")
    tokens = site.registry.list_tokens(actor=site.world.team["ada"], username=None)
    arno = next(t for t in tokens if t.username == "arno")
    site.registry.revoke_token(arno.id, actor=site.world.team["ada"])
    response = browser.get("/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert "was+revoked" in response.headers["location"]


# ------------------------------------------------------------------ navigation
def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="main">(.*?)</nav>', html, re.S)
    assert nav
    return re.findall(r">([A-Za-z]+)</a>", nav.group(1))


@pytest.mark.parametrize("user", ["ada", "dora", "eli", "arno", "otto", "mo"])
def test_the_navigation_shows_what_the_permission_matrix_allows(site: Site, user: str) -> None:
    roles = site.world.team[user].roles
    expected = [
        label
        for label, action in (
            ("Inbox", Action.PROMOTION_APPROVE),
            ("Models", Action.VERSION_READ),
            ("Compare", Action.VERSION_READ),
            ("Audit", Action.AUDIT_READ),
            ("Admin", Action.USER_LIST),
        )
        if any(Role(r) in PERMISSIONS[action] for r in roles)
    ]
    page = _logged_in(site, user).get("/models")
    assert _nav(page.text) == expected


# ------------------------------------------------------------------ inbox
def test_the_inbox_shows_each_request_with_requester_gate_approvals_and_flags(site: Site) -> None:
    page = _logged_in(site, "arno").get("/inbox")
    assert page.status_code == 200
    registry, world = site.registry, site.world
    pending = registry.get_request(world.pending, actor=site.world.team["otto"])
    card = _card(page.text, world.pending)
    assert f"{MODEL_NAME}:{pending.version}" in card
    assert f'<strong class="requester">{pending.requested_by}</strong>' in card
    assert pending.requested_by == "eli"
    assert f"{pending.valid_approvals} of {pending.required_approvals}" in _text(card)
    assert (pending.valid_approvals, pending.required_approvals) == (1, 2)
    assert "1 still needed" in _text(card)
    assert "passes 2 rules" in _text(card)
    assert "retrained on Q3 data" in card and "fairness within bounds" in card
    flagged = _card(page.text, world.flagged)
    assert "needs-review" in flagged and "emma" in flagged
    assert f'action="/requests/{world.pending}/approve"' in card  # a plain form, for no-JS


def _card(html: str, request_id: int) -> str:
    found = re.search(rf'<article[^>]*id="request-{request_id}">(.*?)</article>', html, re.S)
    assert found, f"request {request_id} is not on the page"
    return found.group(1)


def test_an_approver_approves_in_place_without_javascript(site: Site) -> None:
    browser = _logged_in(site, "arno")
    world = site.world
    response = browser.form_post(
        "/inbox",
        f"/requests/{world.pending}/approve",
        {"comment": "read the card"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/inbox?done={world.pending}"
    request = site.registry.get_request(world.pending, actor=site.world.team["otto"])
    assert request.status == "completed"
    assert [a.approver for a in request.approvals] == ["ann", "arno"]
    assert request.approvals[1].comment == "read the card"
    assert (
        site.registry.get_version(MODEL_NAME, "production", actor=site.world.team["otto"]).number
        == 3
    )
    page = browser.get(response.headers["location"])
    assert f"Request {world.pending}" in _text(page.text) and "completed" in page.text


def test_an_approval_through_htmx_returns_the_request_fragment(site: Site) -> None:
    browser = _logged_in(site, "arno")
    token = csrf_of(browser.get("/inbox").text)
    response = browser.post(
        f"/requests/{site.world.pending}/approve",
        {"comment": "", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'id="request-{site.world.pending}"' in response.text
    assert '<span class="badge completed">completed</span>' in response.text
    assert "2 of 2" in _text(response.text)


def test_the_requester_is_refused_with_the_services_message_and_nothing_changes(
    site: Site,
) -> None:
    registry, team = site.registry, site.world.team
    registry.grant("emma", ["approver"], actor=team["ada"])  # emma requested v4
    browser = _logged_in(site, "emma")
    before = registry.get_request(site.world.flagged, actor=site.world.team["otto"])
    response = browser.form_post(
        "/inbox", f"/requests/{site.world.flagged}/approve", {"comment": "mine"}
    )
    assert response.status_code == 403
    text = _text(response.text)
    assert (
        "emma requested this promotion and may not approve it: separation of duties needs "
        "another person holding the role approver" in text
    )
    assert registry.get_request(site.world.flagged, actor=site.world.team["otto"]) == before


def test_an_open_needs_review_flag_refuses_the_last_approval_with_its_message(
    site: Site,
) -> None:
    registry = site.registry
    flagged = site.world.flagged
    first = _logged_in(site, "ann").form_post("/inbox", f"/requests/{flagged}/approve", {})
    assert first.status_code in (200, 303)
    response = _logged_in(site, "arno").form_post(
        "/inbox", f"/requests/{flagged}/approve", {}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "needs-review" in response.text and "refused" in response.text
    assert registry.get_request(flagged, actor=site.world.team["otto"]).status == "refused"
    assert registry.get_version(MODEL_NAME, 4, actor=site.world.team["otto"]).stage is None


def test_an_auditor_sees_no_approve_button_and_a_post_is_refused(site: Site) -> None:
    browser = _logged_in(site, "otto")
    page = browser.get("/inbox")
    assert page.status_code == 200
    assert "retrained on Q3 data" in page.text  # reads the queue
    assert "Approve</button>" not in page.text
    before, head = (
        site.registry.get_request(site.world.pending, actor=site.world.team["otto"]),
        _head(site),
    )
    token = csrf_of(browser.get("/models").text)  # the logout form's token
    response = browser.post(
        f"/requests/{site.world.pending}/approve", {"comment": "", "csrf_token": token}
    )
    assert response.status_code == 403
    assert "otto (auditor) may not promotion.approve: it needs the role approver" in _text(
        response.text
    )
    assert site.registry.get_request(site.world.pending, actor=site.world.team["otto"]) == before
    entries = site.registry.audit_log(actor=site.world.team["otto"], limit=5, descending=True)
    assert entries[0].action == "access.denied" and entries[0].seq == head + 1


def test_a_csrf_mismatch_is_refused_and_changes_nothing(site: Site) -> None:
    browser = _logged_in(site, "arno")
    before, head = (
        site.registry.get_request(site.world.pending, actor=site.world.team["otto"]),
        _head(site),
    )
    other = _logged_in(site, "ann")
    stolen = csrf_of(other.get("/inbox").text)  # another session's token
    for token in ("", "forged", stolen):
        response = browser.post(
            f"/requests/{site.world.pending}/approve", {"comment": "x", "csrf_token": token}
        )
        assert response.status_code == 403
        assert "CSRF token does not match your session: nothing was changed" in response.text
    assert site.registry.get_request(site.world.pending, actor=site.world.team["otto"]) == before
    assert _head(site) == head


def test_rejecting_needs_a_reason_and_records_it(site: Site) -> None:
    browser = _logged_in(site, "arno")
    empty = browser.form_post("/inbox", f"/requests/{site.world.pending}/reject", {"comment": ""})
    assert empty.status_code == 400 and "a rejection needs a reason" in empty.text
    done = browser.form_post(
        "/inbox",
        f"/requests/{site.world.pending}/reject",
        {"comment": "bias in the Q3 sample"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    request = site.registry.get_request(site.world.pending, actor=site.world.team["otto"])
    assert (request.status, request.reason, request.decided_by) == (
        "rejected",
        "bias in the Q3 sample",
        "arno",
    )


# ------------------------------------------------------------------ models and versions
def test_the_models_page_shows_production_staging_and_aliases(site: Site) -> None:
    site.registry.set_alias(MODEL_NAME, "champion", 2, actor=site.world.team["eli"])
    page = _logged_in(site, "otto").get("/models")
    summary = site.registry.list_models(actor=site.world.team["otto"])[0]
    row = _text(re.search(r"<tbody>(.*?)</tbody>", page.text, re.S).group(1))  # type: ignore[union-attr]
    assert row.startswith(f"{MODEL_NAME} v{summary.production} none champion → v2")
    assert f"{summary.versions}" in row


def test_the_production_history_names_who_requested_and_approved_each_change(
    site: Site,
) -> None:
    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}")
    history = site.registry.production_history(MODEL_NAME, actor=site.world.team["otto"])
    assert [(s.version, s.requested_by, s.approvers) for s in history] == [
        (2, "eli", ["ann", "arno"]),
        (1, "eli", ["ann", "arno"]),
    ]
    assert history[0].until is None and history[1].until == history[0].since
    assert history[1].superseded_by == 2
    section = _text(page.text.split('id="production-history"')[1].split("<h2>Versions")[0])
    assert "v2 live" in section
    assert section.count("requested by eli , approved by ann , arno") == 2
    assert "replaced by v2" in section


def test_the_version_page_shows_lineage_findings_and_flags(site: Site) -> None:
    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}/versions/4")
    assert page.status_code == 200
    version = site.registry.get_version(MODEL_NAME, 4, actor=site.world.team["otto"])
    evidence = site.registry.evidence(MODEL_NAME, 4, actor=site.world.team["otto"])
    text = _text(page.text)
    for finding in evidence.findings:
        assert finding.rule_id in text
    assert "min 100" in text and "max 0.05" in text  # the bounds
    assert '<svg class="finding"' in page.text  # drawn against its bounds
    assert version.artifact_sha256 in page.text
    for part in ("Git", "Data", "Environment"):
        assert f"<h3>{part}</h3>" in page.text
    flag = version.open_flags[0]
    assert flag.flag == "needs-review" and flag.reason in text
    # SHAP importances, largest first, as recorded in the evidence
    shap = next(f for f in evidence.findings if f.check == "shap_explanations")
    ranked = sorted(shap.details["importances"].items(), key=lambda kv: -kv[1])
    section = page.text.split("SHAP importances")[1].split("</div>\n")[0]
    shown = re.findall(r"<span>([a-z]+)</span><div>", section)
    assert shown == [name for name, _ in ranked]
    assert f"{ranked[0][1]:.3g}" in section
    assert "Resolve</button>" not in page.text  # an auditor may not resolve


def test_an_approver_resolves_a_flag_from_the_version_page(site: Site) -> None:
    browser = _logged_in(site, "arno")
    page = f"/models/{MODEL_NAME}/versions/4"
    assert "Resolve</button>" in browser.get(page).text
    browser.form_post(
        page, f"{page}/flags/needs-review/resolve", {"reason": "shadow drift explained"}
    )
    flag = site.registry.get_version(MODEL_NAME, 4, actor=site.world.team["otto"]).flags[0]
    assert (flag.resolved_by, flag.resolved_reason) == ("arno", "shadow drift explained")
    assert "resolved by arno" in browser.get(page).text


def test_evidence_and_artifact_downloads_are_the_stored_bytes(site: Site) -> None:
    browser = _logged_in(site, "otto")
    base = f"/models/{MODEL_NAME}/versions/2"
    evidence = browser.get(f"{base}/evidence.json")
    assert evidence.status_code == 200
    stored = site.registry.evidence(MODEL_NAME, 2, actor=site.world.team["otto"])
    assert json.loads(evidence.text) == json.loads(stored.to_json())
    artifact = browser.get(f"{base}/artifact")
    version = site.registry.get_version(MODEL_NAME, 2, actor=site.world.team["otto"])
    assert hashlib.sha256(artifact.content).hexdigest() == version.artifact_sha256


def test_the_card_is_the_registrys_card(site: Site) -> None:
    from charter.cards import model_card, render_card

    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}/versions/2/card")
    card = render_card(
        model_card(site.registry, MODEL_NAME, 2, actor=site.world.team["otto"]), "html"
    )
    assert page.status_code == 200 and page.text == card


def test_an_unknown_version_is_a_404_page_with_the_registrys_hint(site: Site) -> None:
    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}/versions/99")
    assert page.status_code == 404
    assert "version 99" in page.text
    missing = _logged_in(site, "otto").get("/models/credit-risc")
    assert missing.status_code == 404 and "did you mean" in missing.text


# ------------------------------------------------------------------ compare
def test_compare_shows_findings_side_by_side_and_changes_only(site: Site) -> None:
    browser = _logged_in(site, "otto")
    url = f"/compare?a={MODEL_NAME}:1&b={MODEL_NAME}:2"
    full = browser.get(url)
    changes = browser.get(url + "&changes=1")
    one, two = (
        site.registry.get_version(MODEL_NAME, n, actor=site.world.team["otto"]) for n in (1, 2)
    )
    assert one.artifact_sha256 != two.artifact_sha256
    for page in (full, changes):
        assert page.status_code == 200
        assert one.artifact_sha256[:12] in page.text and two.artifact_sha256[:12] in page.text
    # the same evidence rule values on both sides: listed in full, hidden with changes only
    assert "enough-rows" in full.text and "enough-rows" not in changes.text
    assert "no differences" in changes.text
    # SHAP importances side by side, with the difference
    otto = site.world.team["otto"]
    shap = [
        next(
            f
            for f in site.registry.evidence(MODEL_NAME, n, actor=otto).findings
            if f.check == "shap_explanations"
        ).details["importances"]
        for n in (1, 2)
    ]
    section = full.text.split('id="importances"')[1].split("</table>")[0]
    delta = shap[1]["income"] - shap[0]["income"]
    assert f"{delta:+.4g}" in section


# ------------------------------------------------------------------ audit
def test_the_audit_page_filters_pages_by_keyset_and_shows_the_approvals(site: Site) -> None:
    browser = _logged_in(site, "otto")
    otto, ada = site.world.team["otto"], site.world.team["ada"]
    for _ in range(40):  # more than a page of entries
        site.registry.create_token(actor=ada, label="bulk")
    page = browser.get("/audit?action=promotion.approved")
    expected = site.registry.audit_log(actor=otto, action="promotion.approved")
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', page.text)]
    assert seqs == [e.seq for e in reversed(expected)]
    assert len(seqs) == 5
    everything = site.registry.audit_log(actor=otto)
    first = browser.get("/audit")
    shown = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', first.text)]
    assert shown == [e.seq for e in reversed(everything)][:50]
    older = re.search(r'href="\?before=(\d+)">older entries', first.text)
    assert older, "a full page links to the older entries"
    second = browser.get(f"/audit?before={older.group(1)}")
    rest = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', second.text)]
    assert rest == [e.seq for e in reversed(everything)][50:100]
    by_version = browser.get(f"/audit?model={MODEL_NAME}&version=3")
    subjects = set(re.findall(r'<td class="small">(model:[^<]+)</td>', by_version.text))
    assert subjects == {f"model:{MODEL_NAME}/3"}


def test_verifying_the_chain_shows_when_and_up_to_which_entry(site: Site) -> None:
    browser = _logged_in(site, "otto")
    assert "not verified" in browser.get("/audit").text
    browser.form_post("/audit", "/audit/verify", {})
    report = site.registry.verify_audit(actor=site.world.team["otto"])
    page = _text(browser.get("/audit").text)
    assert "chain intact" in page
    assert f"up to entry #{report.head_seq}" in page
    assert re.search(r"verified \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by otto", page)


def test_the_export_is_the_registrys_export_of_the_filter(site: Site) -> None:
    browser = _logged_in(site, "otto")
    page = browser.get("/audit?action=promotion.*&model=" + MODEL_NAME)
    link = re.search(r'href="(/audit/export\.csv[^"]*)"', page.text)
    assert link
    response = browser.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    oracle = io.StringIO()
    site.registry.export_audit(
        oracle, actor=site.world.team["otto"], fmt="csv", action="promotion.*", model=MODEL_NAME
    )
    assert response.text == oracle.getvalue()
    assert response.text.count("\n") > 5


def test_an_approver_may_not_read_the_audit_trail(site: Site) -> None:
    browser = _logged_in(site, "arno")
    for path in ("/audit", "/audit/export.jsonl"):
        response = browser.get(path)
        assert response.status_code == 403
        assert "arno (approver) may not audit.read" in _text(response.text)


def test_the_audit_page_shows_the_request_id_of_an_entry(site: Site) -> None:
    browser = _logged_in(site, "arno")
    browser.form_post(
        "/inbox",
        f"/requests/{site.world.pending}/approve",
        {},
        headers={"X-Request-Id": "inbox-approval-1"},
    )
    entries = site.registry.audit_log(actor=site.world.team["otto"], request_id="inbox-approval-1")
    # the approval and the promotion it completed (with the archive of v2): one HTTP call
    assert [e.action for e in entries] == [
        "promotion.approved",
        "version.archive",
        "promotion.completed",
    ]
    auditor = _logged_in(site, "otto")
    page = auditor.get("/audit?action=promotion.approved")
    row = re.search(rf'<td class="num">{entries[0].seq}</td>(.*?)</tr>', page.text, re.S)
    assert row
    assert ">inbox-approval-1</a></td>" in row.group(1)
    by_call = auditor.get("/audit?request_id=inbox-approval-1")
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', by_call.text)]
    assert seqs == [e.seq for e in reversed(entries)]


# ------------------------------------------------------------------ monitoring
def test_the_monitoring_page_tabulates_the_recorded_windows(site: Site) -> None:
    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}/versions/1/monitoring")
    assert page.status_code == 200
    evidence = site.registry.monitoring_evidence(MODEL_NAME, 1, actor=site.world.team["otto"])[0]
    parity = next(f for f in evidence.findings if f.check == "window_fairness")
    charts = _charts(page.text)
    fairness = charts[f"window_fairness-{parity.rule_id}"]
    windows = parity.details["windows"]
    assert fairness["series"][0]["values"] == [w.get("value") for w in windows]
    assert fairness["series"][0]["low"] == [w["ci"][0] for w in windows]
    assert fairness["bounds"] == [{"value": 0.1, "label": "max 0.1"}]
    # the production changes (v1 and v2 went live today, inside the last window) are marked
    assert [m["label"] for m in fairness["marks"]] == ["v1 live, v2 live"]
    drift = charts["drift-columns"]
    recorded = evidence.extras["monitoring"]["windows"]
    income = [
        next(c["score"] for c in w["drift"]["columns"] if c["column"] == "income") for w in recorded
    ]
    series = next(s for s in drift["series"] if s["label"] == "income")
    assert series["values"] == income
    assert "accuracy" in "".join(charts)
    # the table fallback (what a browser without JavaScript shows) has every window
    box = page.text.split(f'id="box-window_fairness-{parity.rule_id}"')[1].split("</table>")[0]
    assert len(re.findall(r"<tr><td>\d{4}-\d\d-\d\d 00:00</td>", box)) == len(windows)
    assert f"{windows[3]['value']:.4g}" in box


def _charts(html: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert block
    return {c["id"]: c for c in json.loads(block.group(1))}


def test_a_version_without_monitoring_says_so(site: Site) -> None:
    page = _logged_in(site, "otto").get(f"/models/{MODEL_NAME}/versions/5/monitoring")
    assert page.status_code == 200 and "No monitoring evidence is recorded" in page.text


# ------------------------------------------------------------------ admin
def test_an_admin_adds_a_user_whose_token_is_shown_once_and_works(site: Site) -> None:
    browser = _logged_in(site, "ada")
    response = browser.form_post(
        "/admin", "/admin/users", {"username": "rita", "roles": ["approver", "auditor"]}
    )
    assert response.status_code == 201
    token = re.search(r"<div class=\"token-once\" data-token>([^<]+)</div>", response.text)
    assert token
    actor = site.registry.authenticate(token.group(1))
    assert actor.username == "rita" and {str(r) for r in actor.roles} == {"approver", "auditor"}
    assert token.group(1) not in browser.get("/admin").text  # shown once
    tokens = site.registry.list_tokens(actor=site.world.team["ada"], username="rita")
    revoke = browser.form_post("/admin", f"/admin/tokens/{tokens[0].id}/revoke", {})
    assert revoke.status_code == 200  # redirected back to the page
    with pytest.raises(Exception, match="revoked"):
        site.registry.authenticate(token.group(1))


def test_an_auditor_reads_the_admin_page_but_may_not_add_users(site: Site) -> None:
    browser = _logged_in(site, "otto")
    page = browser.get("/admin")
    assert page.status_code == 200 and "Add a user" not in page.text
    users = [u.username for u in site.registry.list_users(actor=site.world.team["otto"])]
    for name in users:
        assert f"<strong>{name}</strong>" in page.text
    response = browser.form_post("/admin", "/admin/users", {"username": "x", "roles": ["auditor"]})
    assert response.status_code == 403 and "otto (auditor) may not user.add" in _text(response.text)
    assert "x" not in [u.username for u in site.registry.list_users(actor=site.world.team["otto"])]


def test_an_approver_may_not_open_the_admin_page(site: Site) -> None:
    response = _logged_in(site, "arno").get("/admin")
    assert response.status_code == 403 and "may not user.list" in response.text


# ------------------------------------------------------------------ without JavaScript
PAGES = [
    "/inbox",
    "/models",
    f"/models/{MODEL_NAME}",
    f"/models/{MODEL_NAME}/versions/1",
    f"/compare?a={MODEL_NAME}:1&b={MODEL_NAME}:2",
    "/audit",
    f"/models/{MODEL_NAME}/versions/1/monitoring",
    "/admin",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_works_without_javascript(site: Site, path: str) -> None:
    user = "ada" if path == "/admin" else ("otto" if path == "/audit" else "arno")
    page = _logged_in(site, user).get(path)
    assert page.status_code == 200, page.text
    # every form posts (or gets) by itself: htmx attributes only add to a working form
    for form in re.findall(r"<form\b[^>]*>", page.text):
        assert re.search(r'\bmethod="(post|get)"', form), form
        assert re.search(r'\baction="/[^"]*"', form), form
    for form in re.findall(r"<form\b[^>]*method=\"post\".*?</form>", page.text, re.S):
        assert 'name="csrf_token"' in form
    # the content is in the HTML, not fetched by a script
    assert "<table" in page.text or "<article" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_the_static_files_are_served_and_nothing_outside_them(site: Site) -> None:
    browser = site.browser()
    htmx = browser.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and htmx.text.startswith("/*! htmx 2.0.11")
    assert browser.get("/static/vendor/uPlot.iife.min.js").text.startswith(
        "/*! https://github.com/leeoniya/uPlot (v1.6.32) */"
    )
    assert browser.get("/static/../session.py").status_code == 404
    assert browser.get("/static/%2e%2e/session.py").status_code == 404


# ------------------------------------------------------------------ sessions and bad input
def test_an_expired_session_asks_to_log_in_again(site: Site) -> None:
    import base64
    import hashlib
    import time

    from cryptography.fernet import Fernet
    from server_support import SECRET

    from charter.server.dashboard.session import SESSION_SECONDS

    digest = hashlib.sha256(b"charter-dashboard-session\0" + SECRET.encode()).digest()
    sealer = Fernet(base64.urlsafe_b64encode(digest))
    payload = json.dumps({"token": site.world.team.tokens["arno"], "sid": "s1"}).encode()
    browser = site.browser()
    fresh = sealer.encrypt_at_time(payload, int(time.time()) - 60).decode()
    browser.client.cookies.set("charter_session", fresh)
    assert browser.get("/inbox").status_code == 200  # the same cookie, sealed a minute ago
    stale = sealer.encrypt_at_time(payload, int(time.time()) - SESSION_SECONDS - 60).decode()
    browser.client.cookies.set("charter_session", stale)
    response = browser.get("/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert "session+expired" in response.headers["location"]


def test_htmx_without_a_session_is_sent_to_the_login_form(site: Site) -> None:
    response = site.browser().post(
        f"/requests/{site.world.pending}/approve", {}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"].startswith("/login?next=%2F")


@pytest.mark.parametrize(
    "path",
    [
        "/models/..%2F..%2Fetc%2Fpasswd",
        "/models/credit-risk/versions/1%2F..%2F..%2F2",
        "/models/%2E%2E/versions/1/evidence.json",
    ],
)
def test_dot_dot_in_a_name_is_a_page_saying_so_and_reads_nothing(site: Site, path: str) -> None:
    response = _logged_in(site, "otto").get(path)
    assert response.status_code in (404, 422)
    # a dashboard route answers with a page; a path no route matches is the app's 404 problem
    kind = response.headers["content-type"]
    assert kind.startswith(("text/html", "application/problem+json"))
    assert "Traceback" not in response.text and "root:" not in response.text


def test_a_bad_audit_filter_is_a_400_page_with_the_hint(site: Site) -> None:
    browser = _logged_in(site, "otto")
    response = browser.get("/audit?since=yesterday")
    assert response.status_code == 400
    assert "is not a date or time" in response.text and "ISO 8601" in response.text
    no_model = browser.get("/audit?version=3")
    assert no_model.status_code == 400 and "needs the model" in no_model.text


def test_the_history_shows_the_latest_spells_and_links_to_the_whole(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.server.dashboard import models

    otto = site.world.team["otto"]
    whole = site.registry.production_history(MODEL_NAME, actor=otto)
    assert site.registry.production_history(MODEL_NAME, actor=otto, limit=1) == whole[:1]
    monkeypatch.setattr(models, "HISTORY", 1)
    browser = _logged_in(site, "otto")
    page = browser.get(f"/models/{MODEL_NAME}")
    history = page.text.split('id="production-history"')[1].split("<h2>Versions")[0]
    assert history.count("<li") == 1 and "The whole history: 2 changes" in history
    everything = browser.get(f"/models/{MODEL_NAME}?history=all")
    assert everything.text.split('id="production-history"')[1].count("<li") == 2
