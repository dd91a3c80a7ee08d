"""Run the installed ``charter`` console script as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def charter_executable() -> str:
    """The console script of the environment running the tests."""
    candidate = Path(sys.executable).parent / "charter"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("charter")
    if found is None:
        raise RuntimeError("the charter console script is not installed; run `make dev`")
    return found


def run_charter(
    *args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``charter ARGS`` and capture its output (never raises on a non-zero exit)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("CHARTER_DEBUG", None) if "CHARTER_DEBUG" not in (env or {}) else None
    return subprocess.run(
        [charter_executable(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
