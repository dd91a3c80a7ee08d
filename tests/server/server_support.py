"""Helpers of the HTTP service tests: settings on a team's registry, a client per member."""

import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import Team

from charter.server.settings import ServerSettings

SECRET = "s" * 48


def settings_for(team: Team, home: Path, **overrides: object) -> ServerSettings:
    values: dict[str, object] = {
        "home": home,
        "database_url": team.url,
        "artifact_store": str(team.store),
        "inference_log": home / "inference",
        "secret_key": SECRET,
    }
    values.update(overrides)
    return ServerSettings.model_validate(values)


class Api:
    """A TestClient on the team's registry, acting as one of its members per call."""

    def __init__(self, client: TestClient, team: Team) -> None:
        self.client = client
        self.team = team

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.team.tokens[user]}"}

    def get(self, path: str, user: str | None = None, **kwargs: object):
        return self.client.get(path, headers=self._headers(user, kwargs), **kwargs)

    def post(self, path: str, user: str | None = None, **kwargs: object):
        return self.client.post(path, headers=self._headers(user, kwargs), **kwargs)

    def put(self, path: str, user: str | None = None, **kwargs: object):
        return self.client.put(path, headers=self._headers(user, kwargs), **kwargs)

    def delete(self, path: str, user: str | None = None, **kwargs: object):
        return self.client.delete(path, headers=self._headers(user, kwargs), **kwargs)

    def _headers(self, user: str | None, kwargs: dict[str, object]) -> dict[str, str]:
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
        if user is not None:
            headers.update(self.auth(user))
        return headers


def candidate_files(candidate, *, train: bool = True, report: bool = True) -> dict:
    """The multipart files of a registration from a registry_support Candidate."""
    files = {
        "model": ("model.skops", candidate.model.read_bytes(), "application/octet-stream"),
        "evidence": (
            "evidence.json",
            (candidate.evidence / "evidence.json").read_bytes(),
            "application/json",
        ),
        "policy": ("policy.yaml", candidate.policy.read_bytes(), "application/yaml"),
    }
    if report:
        files["report"] = ("report.html", (candidate.evidence / "report.html").read_bytes())
    if train:
        files["train_data"] = ("train.parquet", candidate.train.read_bytes())
    return files
