"""The application on a served registry, in process, with a client per user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from serving_support import Served

from charter.server.app import create_app
from charter.server.settings import ServerSettings


class Client:
    """A TestClient acting as one of the registry's users per call."""

    def __init__(self, client: TestClient, served: Served, log: Path) -> None:
        self.client = client
        self.served = served
        self.log = log

    def post(self, path: str, user: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.served.tokens[user]}"}
        headers.update(kwargs.pop("headers", None) or {})
        return self.client.post(path, headers=headers, **kwargs)

    def get(self, path: str, user: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.served.tokens[user]}"} if user else {}
        return self.client.get(path, headers=headers, **kwargs)

    @property
    def serving(self) -> Any:
        return self.client.app.state.serving  # type: ignore[attr-defined]


@contextmanager
def running(served: Served, home: Path) -> Iterator[Client]:
    """The app on ``served``'s registry, its inference log in ``home/log``."""
    settings = ServerSettings.model_validate(
        {
            "home": home,
            "database_url": served.url,
            "artifact_store": str(served.store),
            "inference_log": home / "log",
            "secret_key": "s" * 48,
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Client(client, served, home / "log")
