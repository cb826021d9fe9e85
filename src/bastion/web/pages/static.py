"""``/static/...``: the dashboard's own CSS and scripts and the vendored packages, from the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

__all__ = ["STATIC", "router"]

router = APIRouter(include_in_schema=False)

STATIC = Path(str(resources.files("bastion.web").joinpath("static"))).resolve()

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",
}


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    """A file under ``static/`` (nothing outside it: ``..`` and absolute paths answer 404)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    kind = _TYPES.get(target.suffix)
    if kind is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(
        target, media_type=kind, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    )
