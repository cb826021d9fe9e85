"""Fixtures: the web app in process on a fresh home (``BASTION_HOME`` points at it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.webapp import WebApp, make_webapp


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebApp]:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    webapp = make_webapp(tmp_path)
    try:
        yield webapp
    finally:
        webapp.close()
