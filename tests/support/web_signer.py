"""The web app in process over a REAL signer that gives this process's uid the web role only.

The signer runs in a thread of the test process and serves its real Unix socket with a
configuration naming ``os.getuid()`` as a ``web`` client (the production layout's roles): every
call the app makes through :class:`~bastion.web.signer_relay.SignerRelay` is checked by the
signer's role table exactly as for a ``bastion web`` running as its own user. Set-up calls a
test makes as the operator (adding a key, placing an order) go straight to the service.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyotp
import pytest
from fastapi.testclient import TestClient

from bastion.custody.layout import HomeLayout
from bastion.custody.signer.roles import Client, Role, SignerConfig
from bastion.custody.signer.server import SignerServer
from bastion.custody.signer.service import SignerService
from bastion.services.users import set_owner
from bastion.services.vault import create_vault
from bastion.storage import AccountRepository
from bastion.web.signer_relay import SignerRelay
from support.inprocess_signer import OPERATOR, InProcessSigner
from support.simulator import SimulatorProcess, make_key
from support.webapp import WebApp, make_webapp

__all__ = ["WebSignerStack", "web_signer_stack"]

T = TypeVar("T")


@dataclass
class WebSignerStack:
    """The app, the signer (web role for this uid), its home and passphrase, the simulator."""

    web: WebApp
    signer: SignerService
    layout: HomeLayout
    passphrase: str
    sim: SimulatorProcess
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine in the signer's event loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def operator(self, op: str, **params: Any) -> Any:
        """Call the signer as the operator (set-up only: no role check)."""
        return self.run(self.signer.handle(op, params, OPERATOR))

    def add_key(self, account: str, owner: str) -> int:
        """Add ``account``'s simulator key as the operator, give the account to ``owner``; return its id."""
        entry = self.sim.key(account)
        self.operator("keys_add", account=account, exchange="simulator", url=self.sim.url, api_key=entry["api_key"],
                      secret=entry["secret"], passphrase=self.passphrase)  # fmt: skip
        set_owner(self.web.sessions, account, owner)
        with self.web.sessions() as session:
            record = AccountRepository(session).get(account)
        assert record is not None
        return record.id

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

    def audit_text(self) -> str:
        """The signer's audit log as written so far."""
        self.signer.audit.sync()
        return self.layout.audit_log.read_text(encoding="utf-8")


@contextmanager
def web_signer_stack(monkeypatch: pytest.MonkeyPatch, work: Path, *accounts: str) -> Iterator[WebSignerStack]:
    """Start the simulator (each of ``accounts`` with 10000 USDT and 1 BTC), the signer and the app."""
    home = Path(tempfile.mkdtemp(prefix="bw-"))  # a socket path must fit in 107 bytes
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
    config = SignerConfig(clients=(Client(uid=os.getuid(), roles=frozenset({Role.WEB})),))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def up() -> tuple[SignerService, SignerServer]:
        service = await holder.start()
        server = SignerServer(service, layout, config=config)
        await server.start()
        return service, server

    service, server = asyncio.run_coroutine_threadsafe(up(), loop).result(60)
    keys = [make_key(name, {"USDT": "10000", "BTC": "1"}) for name in accounts]
    try:
        sim = SimulatorProcess(work, speed=0, keys=keys)
        with sim:
            yield WebSignerStack(web=web, signer=service, layout=layout, passphrase=passphrase, sim=sim, loop=loop)
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
