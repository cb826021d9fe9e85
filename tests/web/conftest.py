"""Fixtures: one ``bastion web`` process per test module, a fresh webhook bot per test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from bastion.storage import AccountRepository, create_engine_for, session_factory, upgrade
from web.harness import WebhookBot, WebProcess, make_bot, start


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """Start ``bastion web`` on a fresh home whose database has an account ``main``."""
    home = tmp_path_factory.mktemp("bastion-home")
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        AccountRepository(session).create("main", "binance")
    process, url = start(home, home / "web-stderr.log")
    try:
        yield WebProcess(url=url, process=process, log_file=home / "web-stderr.log", sessions=sessions)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        engine.dispose()


@pytest.fixture
def bot(web: WebProcess) -> WebhookBot:
    return make_bot(web)


@pytest.fixture
def client(web: WebProcess) -> Iterator[httpx.Client]:
    with web.client() as client:
        yield client
