"""Shared fixtures and markers.

Tests that need an external service (PostgreSQL, Spark, Chromium) skip with a reason when it is
absent, except when CHARTER_REQUIRE_SERVICES=1 (set by .ci/run), where they fail instead.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("CHARTER_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the test on a laptop; fail it in CI, where every service must be present."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)
