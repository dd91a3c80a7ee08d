"""The committed OpenAPI document: ``python -m charter.server.openapi [--check]``.

Writes ``docs/openapi.json`` from :func:`create_app` (sorted keys, two-space indent, final
newline), or with ``--check`` exits 1 when the file differs from what the code describes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from charter.server.app import create_app
from charter.server.settings import ServerSettings

DEFAULT_PATH = Path("docs/openapi.json")
REGENERATE = "python -m charter.server.openapi"


def document() -> dict[str, Any]:
    """The OpenAPI document of the service (built without opening a registry)."""
    placeholder = Path("/nonexistent/charter-openapi")
    settings = ServerSettings(
        home=placeholder,
        database_url=f"sqlite:///{placeholder / 'registry.db'}",
        inference_log=placeholder / "inference",
        secret_key="openapi-document-only-not-a-secret-0000",
    )
    return create_app(settings).openapi()


def text() -> str:
    """The document as committed: sorted keys, two-space indent, final newline."""
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document, or check it (``--check``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    target = Path(paths[0]) if paths else DEFAULT_PATH
    wanted = text()
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != wanted:
            print(f"{target} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(wanted, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
