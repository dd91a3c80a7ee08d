"""A logged-in browser stand-in for the dashboard's in-process tests, and the world it sees."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from dashboard_world import World, build_world
from fastapi.testclient import TestClient
from registry_support import Team
from server_support import settings_for

from charter.registry import Registry
from charter.server.app import create_app

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


class Browser:
    """A TestClient with a cookie jar, logging in through the login form like a person."""

    def __init__(self, client: TestClient, team: Team) -> None:
        self.client = client
        self.team = team

    def login(self, user: str) -> httpx.Response:
        form = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"token": self.team.tokens[user], "next": "/", "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return response

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object], **kwargs: object) -> httpx.Response:
        return self.client.post(path, data=data, **kwargs)  # type: ignore[arg-type]

    def form_post(
        self, page: str, path: str, data: dict[str, object], **kwargs: object
    ) -> httpx.Response:
        """POST ``data`` to ``path`` with the CSRF token of ``page``, as a submitted form."""
        token = csrf_of(self.get(page).text)
        return self.post(path, {**data, "csrf_token": token}, **kwargs)


@dataclass
class Site:
    """The world, the application serving it, and a way to open browsers on it."""

    world: World
    registry: Registry
    app: object
    client: TestClient

    def browser(self) -> Browser:
        client = TestClient(self.app, raise_server_exceptions=False)  # type: ignore[arg-type]
        return Browser(client, self.world.team)


def copy_world(template: Path, world: World, target: Path) -> World:
    """A copy of the world's SQLite file in ``target`` (artifacts are shared: read only)."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template / "registry.db", target / "registry.db")
    url = f"sqlite:///{target / 'registry.db'}"
    registry = Registry.open(url, artifact_store=str(world.team.store))
    team = Team(
        registry=registry,
        url=url,
        store=world.team.store,
        tokens=dict(world.team.tokens),
        actors=dict(world.team.actors),
    )
    return World(
        team=team, pending=world.pending, flagged=world.flagged, monitoring=world.monitoring
    )


@contextmanager
def serve_world(world: World, home: Path) -> Iterator[Site]:
    """The application (its own registry, as in production) on ``world``, in process."""
    app = create_app(settings_for(world.team, home))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Site(world=world, registry=world.team.registry, app=app, client=client)


def world_template(folder: Path) -> World:
    """Build the world once (the tests copy it); its registry is closed, its file complete."""
    world = build_world(folder)
    world.team.registry.close()
    return world
