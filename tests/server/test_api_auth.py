"""Every API route refuses a caller without a token (401), and every route performing a
restricted action refuses a caller without the role (403, audited with the request id).

The routes come from the application and the roles from the permission matrix, so a new route
cannot be forgotten: it must declare the registry actions it performs (``performs(...)``, shown
in the OpenAPI document) and have a sample request below, or these tests fail.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from registry_support import MODEL_NAME, TEAM, Candidate, Team, make_candidate, register
from server_support import Api, candidate_files

from charter.evidence import Evidence
from charter.registry import PERMISSIONS, Action, Role

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
#: Routes that act only on the caller's own things and need no role.
UNRESTRICTED = {("GET", "/api/v1/whoami"), ("GET", "/api/v1/jobs/{job_id}")}
#: Routes whose roles another suite checks route by route (they read their bodies raw, for
#: speed, and authorize inside): tag -> the suite. They still need a token, tested here.
DELEGATED_TAGS = {"serving": "tests/serving/test_api.py (roles of predict, labels, suspend)"}


class World:
    """A registry with a version, a pending request, a monitoring-ready evidence and a token."""

    def __init__(self, team: Team, candidate: Candidate) -> None:
        register(team, candidate)
        self.candidate = candidate
        self.request_id = team.registry.request_promotion(
            MODEL_NAME, 1, "production", actor=team["eli"]
        ).id
        self.token_id = team.registry.create_token(actor=team["ann"], label="other's").id
        self.ivy_token_id = team.registry.create_token(
            actor=team["ada"], username="ivy", label="ivy's own"
        ).id
        self.evidence = Evidence.read(candidate.evidence / "evidence.json")


Sample = Callable[[World], dict[str, Any]]

#: A request for each (method, path, action) that reaches the registry's authorization.
SAMPLES: dict[tuple[str, str, str], Sample] = {
    ("POST", "/api/v1/models/{name}/versions", "model.register"): lambda w: {
        "files": candidate_files(w.candidate, train=False),
        "headers": {"Prefer": "wait=60"},
    },
    ("PUT", "/api/v1/models/{name}/versions/{ref}/evidence", "evidence.attach"): lambda w: {
        "files": {"evidence": ("evidence.json", w.evidence.to_json().encode())}
    },
    ("POST", "/api/v1/models/{name}/versions/{ref}/archive", "version.archive"): lambda w: {
        "json": {"reason": "x"}
    },
    ("POST", "/api/v1/models/{name}/versions/{ref}/flags", "version.flag"): lambda w: {
        "json": {"flag": "needs-review", "reason": "x"}
    },
    (
        "POST",
        "/api/v1/models/{name}/versions/{ref}/flags/{flag}/resolve",
        "flag.resolve",
    ): lambda w: {"json": {"reason": "x"}},
    (
        "POST",
        "/api/v1/models/{name}/versions/{ref}/monitoring",
        "monitoring.record",
    ): lambda w: {"json": w.evidence.to_dict()},
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", "alias.set"): lambda w: {
        "json": {"version": "1"}
    },
    ("DELETE", "/api/v1/models/{name}/aliases/{alias}", "alias.set"): lambda w: {},
    (
        "POST",
        "/api/v1/models/{name}/versions/{ref}/promotions",
        "promotion.request",
    ): lambda w: {"json": {"to": "staging"}},
    ("POST", "/api/v1/requests/{request_id}/approve", "promotion.approve"): lambda w: {"json": {}},
    ("POST", "/api/v1/requests/{request_id}/reject", "promotion.reject"): lambda w: {
        "json": {"reason": "x"}
    },
    ("POST", "/api/v1/users", "user.add"): lambda w: {
        "json": {"username": "newbie", "roles": ["auditor"]}
    },
    ("POST", "/api/v1/users/{username}/roles", "user.grant"): lambda w: {
        "json": {"roles": ["auditor"]}
    },
    ("DELETE", "/api/v1/users/{username}/roles/{role}", "user.grant"): lambda w: {},
    ("POST", "/api/v1/users/{username}/disable", "user.disable"): lambda w: {},
    ("POST", "/api/v1/tokens", "token.manage"): lambda w: {"json": {"username": "ann"}},
    ("DELETE", "/api/v1/tokens/{token_id}", "token.manage"): lambda w: {},
    ("GET", "/api/v1/tokens", "token.manage"): lambda w: {"params": {"username": "ann"}},
    ("POST", "/api/v1/tokens", "token.create"): lambda w: {"json": {}},
    ("DELETE", "/api/v1/tokens/{token_id}", "token.create"): lambda w: {
        "path": {"token_id": str(w.ivy_token_id)}
    },
    ("GET", "/api/v1/users", "user.list"): lambda w: {},
    ("GET", "/api/v1/audit", "audit.read"): lambda w: {},
    ("GET", "/api/v1/audit/verify", "audit.read"): lambda w: {},
    ("GET", "/api/v1/audit/export", "audit.read"): lambda w: {},
}


def _path(template: str, world: World | None, **overrides: str) -> str:
    values = {
        "name": MODEL_NAME,
        "ref": "1",
        "alias": "champion",
        "flag": "needs-review",
        "request_id": str(world.request_id if world else 1),
        "username": "ann",
        "role": "approver",
        "token_id": str(world.token_id if world else 1),
        "run": "1",
        "job_id": "00000000-0000-0000-0000-000000000000",
    }
    return template.format(**(values | overrides))


def api_routes(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every API route, from the application's OpenAPI."""
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return [
        (method.upper(), path, operation)
        for path, operations in sorted(paths.items())
        if path.startswith("/api/v1")
        for method, operation in sorted(operations.items())
    ]


def delegated(operation: dict[str, Any]) -> bool:
    return any(tag in DELEGATED_TAGS for tag in operation.get("tags", []))


def declared_actions(operation: dict[str, Any]) -> list[Action]:
    return [Action(a) for a in operation.get("x-charter-actions", [])]


def restricted(action: Action) -> bool:
    return PERMISSIONS[action] != frozenset(Role)


def without_role(action: Action) -> str:
    """The first member of the standard team holding none of the roles ``action`` needs."""
    return next(u for u, roles in TEAM.items() if not set(roles) & PERMISSIONS[action])


def test_every_route_declares_what_it_performs_and_has_a_sample(api: Api) -> None:
    missing, unsampled = [], []
    for method, path, operation in api_routes(api):
        if delegated(operation):
            continue
        actions = declared_actions(operation)
        if not actions and (method, path) not in UNRESTRICTED:
            missing.append(f"{method} {path}")
        for action in actions:
            key = (method, path, action.value)
            if restricted(action) and method in MUTATING and key not in SAMPLES:
                unsampled.append(f"{method} {path} ({action.value})")
        if method in MUTATING:
            assert any(restricted(a) for a in actions), f"{method} {path} checks no role"
    assert not missing, f"routes without performs(...): {missing}"
    assert not unsampled, f"add a sample request to SAMPLES for: {unsampled}"
    assert set(SAMPLES) <= set(restricted_routes(api)), (
        "SAMPLES names a route or action that no longer exists"
    )


def restricted_routes(api: Api) -> dict[tuple[str, str, str], Sample]:
    """Every (method, path, action) a caller may be refused, with its sample request
    (a read needs none: its path is enough)."""
    return {
        (method, path, action.value): SAMPLES.get((method, path, action.value), lambda w: {})
        for method, path, operation in api_routes(api)
        if not delegated(operation)
        for action in declared_actions(operation)
        if restricted(action)
    }


def test_every_api_route_needs_a_token(api: Api) -> None:
    routes = api_routes(api)
    assert len(routes) >= 35
    for method, path, _ in routes:
        body = {"json": {}} if method in MUTATING else {}  # a sane request, but no token
        response = api.client.request(method, _path(path, None), **body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.fixture
def world(team: Team, tmp_path: Path) -> World:
    return World(team, make_candidate(tmp_path / "c"))


def test_every_restricted_route_refuses_a_caller_without_the_role(
    api: Api, team: Team, world: World
) -> None:
    checked = 0
    routes = restricted_routes(api)
    for (method, template, action_name), sample in routes.items():
        action = Action(action_name)
        user = without_role(action)
        request_id = f"denied-{checked}"
        kwargs = sample(world)
        headers = {**kwargs.pop("headers", {}), "X-Request-Id": request_id}
        path = _path(template, world, **kwargs.pop("path", {}))
        response = api.client.request(method, path, headers={**api.auth(user), **headers}, **kwargs)
        where = f"{method} {template} as {user}"
        assert response.status_code == 403, (where, response.text)
        body = response.json()
        assert f"may not {action.value}" in body["detail"], where
        assert body["code"] == "permission_denied", where
        assert f"grant {user} the role {body['role']}" in body["hint"], where
        assert body["user"] == user and Role(body["role"]) in PERMISSIONS[action], where
        [denial] = team.registry.audit_log(actor=team["otto"], request_id=request_id)
        assert (denial.action, denial.actor) == ("access.denied", user), where
        assert denial.details["attempted"] == action.value, where
        checked += 1
    assert checked == len(routes) >= 40
