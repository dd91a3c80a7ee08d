"""The dashboard's own static files (stylesheet, chart script, vendored htmx and uPlot)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import FileResponse

from charter.errors import NotFoundError
from charter.server.dashboard.site import STATIC

router = APIRouter(include_in_schema=False)

_TYPES = {".css": "text/css", ".js": "text/javascript", ".md": "text/markdown"}


@router.get("/static/{path:path}")
def static(path: str) -> FileResponse:
    """A file under ``static/``; nothing outside it, whatever the path says."""
    root = STATIC.resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFoundError(f"no static file '{path}'")
    return FileResponse(
        target,
        media_type=_TYPES.get(target.suffix, "application/octet-stream"),
        headers={"Cache-Control": "public, max-age=3600"},
    )
