"""The dashboard's HTML pages (web-ui provides them; an empty router until then)."""

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
