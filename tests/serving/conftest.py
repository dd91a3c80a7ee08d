import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving_support import Served, make_served


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A fresh registry with one user per role (models are published by each test)."""
    result = make_served(tmp_path / "registry")
    yield result
    result.registry.close()
