import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_support import Team, database_url, team, team_templates  # noqa: F401
from server_support import Api, settings_for

from charter.server.app import create_app


@pytest.fixture
def api(team: Team, tmp_path: Path) -> Iterator[Api]:  # noqa: F811
    """The application on the team's registry, served in process."""
    app = create_app(settings_for(team, tmp_path / "home"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, team)
