"""Debian's Chromium driven by Playwright (no browser download), with a WebAuthn virtual
authenticator over CDP, and the web app served over real HTTP from a thread of the test.

::

    with serve_web(home_dir) as web, chromium() as browser:
        page = browser.new_page()
        authenticator(page)               # CDP WebAuthn.addVirtualAuthenticator (ctap2, internal, UV)
        page.goto(web.url + "/login")
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["CHROMIUM", "RunningWeb", "authenticator", "chromium", "chromium_missing", "serve_web"]

#: A cheap Argon2id cost for the test's user (the hash carries its parameters).
FAST_COST = {"memory_kib": 1024, "time_cost": 1, "parallelism": 1}

#: Debian's package ``chromium`` (``./dev`` installs it); Playwright never downloads a browser here.
CHROMIUM = "/usr/bin/chromium"


def chromium_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        return "Debian's chromium is not installed (./dev setup installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (./dev setup installs it)"
    return None


@dataclass
class RunningWeb:
    """The web app serving on loopback: its URL (``http://localhost:PORT``), database and uvicorn server."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    server: Any


@contextmanager
def serve_web(database: Path) -> Iterator[RunningWeb]:
    """Serve ``create_app`` over the SQLite file ``database`` on 127.0.0.1 (origin ``http://localhost:PORT``)."""
    import uvicorn

    from bastion.services.users import PasswordParams
    from bastion.storage import create_engine_for, session_factory, upgrade
    from bastion.web import bind, create_app
    from bastion.web.auth import AuthSettings

    fast = PasswordParams(**FAST_COST)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    engine = create_engine_for(f"sqlite:///{database}")
    upgrade(engine)
    sessions = session_factory(engine)
    app = create_app(
        sessions=sessions,
        clock_ms=lambda: time.time_ns() // 1_000_000,
        auth=AuthSettings(
            origins=(f"http://localhost:{port}", f"http://127.0.0.1:{port}"), rp_id="localhost", password=fast
        ),
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the web app did not start"
        time.sleep(0.02)
    try:
        yield RunningWeb(url=f"http://localhost:{port}", engine=engine, sessions=sessions, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()


@contextmanager
def chromium() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright (``executable_path``, no download)."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()


def authenticator(page: Any) -> str:
    """Give ``page`` a virtual platform authenticator (CTAP2, resident keys, user verified); return its id."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(answer["authenticatorId"])
