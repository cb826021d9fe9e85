"""``GET /api/v1/seal/public-key`` and ``POST /api/v1/accounts/sealed-key`` over a real signer on its socket.

The app runs in process (TestClient); the signer runs in a thread of this process and serves
its real Unix socket, so the relay, the wire format and the signer's checks are the real ones.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from bastion.custody.layout import HomeLayout
from bastion.custody.signer.server import SignerServer
from bastion.custody.signer.service import SignerService
from bastion.services.vault import create_vault
from bastion.storage import AccountRepository
from bastion.storage.repositories.users import UserRepository
from bastion.web.signer_relay import SignerRelay
from support.inprocess_signer import InProcessSigner
from support.sealed import seal_like_the_page
from support.simulator import SimulatorProcess
from support.webapp import WebApp, make_webapp


@dataclass
class Stack:
    web: WebApp
    signer: SignerService
    sim: SimulatorProcess
    loop: asyncio.AbstractEventLoop

    def fresh_client(self, name: str, role: str = "trader") -> TestClient:
        """A user logged in whose second factor (TOTP) was given just now."""
        self.web.user(name, role=role)
        client = self.web.login(name)
        secret = client.post("/api/v1/auth/totp/enrol").json()["secret"]
        code = pyotp.TOTP(secret).at(self.web.clock.ms // 1000)
        assert client.post("/api/v1/auth/totp/confirm", json={"code": code}).status_code == 204
        self.web.clock.advance(30)
        done = client.post("/api/v1/auth/totp/verify", json={"code": pyotp.TOTP(secret).at(self.web.clock.ms // 1000)})
        assert done.status_code == 200, done.text
        client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
        return client

    def sealed(self, client: TestClient, account: str = "main", **extra: Any) -> dict[str, Any]:
        published = client.get("/api/v1/seal/public-key")
        assert published.status_code == 200, published.text
        entry = self.sim.key("alice")
        return seal_like_the_page(
            published.json(),
            account=account,
            exchange="simulator",
            url=self.sim.url,
            api_key=entry["api_key"],
            secret=entry["secret"],
            **extra,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One signer, simulator and app for the module (each test uses its own users and accounts)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from _stack(monkeypatch, tmp_path_factory.mktemp("sealed"))


def _stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="bs-"))  # a socket path must fit in 107 bytes
    for name in list(os.environ):
        if name.startswith("BASTION_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    layout = HomeLayout(home)
    passphrase = "test-pass-" + secrets.token_hex(12)
    create_vault(layout, passphrase)
    web = make_webapp(home)
    web.app.state.signer = lambda: SignerRelay(layout.socket)  # the web's custody-free client
    holder = InProcessSigner(layout=layout, passphrase=passphrase)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def up() -> tuple[SignerService, SignerServer]:
        service = await holder.start()
        server = SignerServer(service, layout)
        await server.start()
        return service, server

    service, server = asyncio.run_coroutine_threadsafe(up(), loop).result(60)
    try:
        with SimulatorProcess(tmp_path) as sim:
            yield Stack(web=web, signer=service, sim=sim, loop=loop)
    finally:

        async def down() -> None:
            await server.close()
            await holder.stop(service)

        asyncio.run_coroutine_threadsafe(down(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        holder.dispose()
        web.close()
        shutil.rmtree(home, ignore_errors=True)


def test_a_trader_with_a_fresh_factor_adds_a_sealed_key_and_owns_the_account(stack: Stack) -> None:
    client = stack.fresh_client("ann")
    answer = client.post("/api/v1/accounts/sealed-key", json=stack.sealed(client))
    assert answer.status_code == 201, answer.text
    added = answer.json()
    assert set(added) == {"account", "exchange", "key_hint", "fingerprint", "permissions"}
    assert added["key_hint"] == stack.sim.key("alice")["api_key"][-4:]
    assert "main" in stack.signer.accounts
    with stack.web.sessions() as session:
        record = AccountRepository(session).get("main")
        assert record is not None
        owner = UserRepository(session).account_owner(record.id)
        ann = UserRepository(session).get("ann")
    assert ann is not None
    assert owner == ann.id
    for secret in (stack.sim.key("alice")["secret"], stack.sim.key("alice")["api_key"]):
        assert secret not in answer.text


def test_without_session_csrf_role_or_fresh_factor_nothing_is_relayed(stack: Stack) -> None:
    anonymous = stack.web.client()
    assert anonymous.get("/api/v1/seal/public-key").status_code == 401
    trader = stack.fresh_client("amy")
    body = stack.sealed(trader, account="amys")
    assert anonymous.post("/api/v1/accounts/sealed-key", json=body).status_code in (401, 403)

    no_csrf = trader.post("/api/v1/accounts/sealed-key", json=body, headers={"X-CSRF-Token": "wrong"})
    assert no_csrf.status_code == 403
    assert "CSRF" in no_csrf.json()["detail"]

    stack.web.user("vic", role="viewer")
    viewer = stack.web.login("vic")
    refused = viewer.post("/api/v1/accounts/sealed-key", json=body)
    assert refused.status_code == 403

    stack.web.user("tom")
    stale = stack.web.login("tom")  # logged in with a password only: no second factor given
    refused = stale.post("/api/v1/accounts/sealed-key", json=body)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "fresh second factor required"

    stack.web.clock.advance(6 * 60)  # amy's factor is no longer fresh
    refused = trader.post("/api/v1/accounts/sealed-key", json=body)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "fresh second factor required"
    assert "amys" not in stack.signer.accounts


def test_an_account_of_another_user_cannot_get_a_key_through_the_web(stack: Stack) -> None:
    stack.web.account("bobs", exchange="simulator")
    stack.web.user("bob", accounts=["bobs"])
    client = stack.fresh_client("cal")
    refused = client.post("/api/v1/accounts/sealed-key", json=stack.sealed(client, account="bobs"))
    assert refused.status_code == 403
    assert "not yours" in refused.json()["detail"]
    assert "bobs" not in stack.signer.accounts


def test_bad_values_are_named_and_the_signers_refusals_come_back_as_4xx(stack: Stack) -> None:
    client = stack.fresh_client("dee")
    body = stack.sealed(client, account="dees")
    malformed = client.post("/api/v1/accounts/sealed-key", json={**body, "enc": "!!"})
    assert malformed.status_code == 422
    assert "enc" in malformed.json()["detail"]
    extra = client.post("/api/v1/accounts/sealed-key", json={**body, "api_key": "x" * 20})
    assert extra.status_code == 422
    readdressed = client.post("/api/v1/accounts/sealed-key", json={**body, "account": "other"})
    assert readdressed.status_code == 422
    assert "does not open" in readdressed.json()["detail"]
    assert client.post("/api/v1/accounts/sealed-key", json=body).status_code == 201
    replayed = client.post("/api/v1/accounts/sealed-key", json=body)
    assert replayed.status_code == 422
    assert "already used once" in replayed.json()["detail"]


def test_a_stopped_signer_is_a_503_that_says_so(stack: Stack) -> None:
    client = stack.fresh_client("eve")
    factory = stack.web.app.state.signer
    stack.web.app.state.signer = lambda: SignerRelay(stack.web.home / "no-such.sock", timeout=2)
    try:
        answer = client.get("/api/v1/seal/public-key")
    finally:
        stack.web.app.state.signer = factory
    assert answer.status_code == 503
    assert "the signer does not answer" in answer.json()["detail"]
