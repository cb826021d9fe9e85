"""An in-process signer on a real home (vault, audit log, SQLite) against the real simulator.

The signer's start-up runs exactly as ``run_signer`` does it (open vault and audit log, migrate,
replay the audit log, load the accounts) but inside the test's event loop, so a test can race
requests with ``asyncio.gather`` and restart the signer cheaply.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

from bastion.custody.layout import HomeLayout
from bastion.custody.signer._model import SignerOptions
from bastion.custody.signer.server import _open
from bastion.custody.signer.service import SignerService
from bastion.storage import create_engine_for, database_url, session_factory, upgrade
from support.simulator import SimulatorProcess

__all__ = ["OPERATOR", "InProcessSigner", "run"]

OPERATOR = {"pid": 1, "uid": os.getuid()}


@dataclass
class InProcessSigner:
    """A Bastion home whose signer runs in the calling event loop."""

    layout: HomeLayout
    passphrase: str
    options: SignerOptions = field(default_factory=SignerOptions)
    clock: Any = None
    engines: list[Any] = field(default_factory=list)

    async def start(self) -> SignerService:
        """Start a signer the way ``run_signer`` does (without the socket)."""
        vault, audit, key = _open(self.layout, self.passphrase)
        engine = create_engine_for(database_url())
        self.engines.append(engine)
        upgrade(engine)
        extra = {} if self.clock is None else {"clock": self.clock}
        service = SignerService(
            layout=self.layout,
            vault=vault,
            audit=audit,
            signing_key=key,
            sessions=session_factory(engine),
            options=self.options,
            **extra,
        )
        try:
            replayed = service.replay_audit()
            service._append("lifecycle", {"account": "*", "event": "started", "pid": os.getpid(), "replayed": replayed})
            await service.load_accounts()
        except BaseException:
            audit.close(sign=False)
            vault.close()
            raise
        return service

    async def add_key(
        self, service: SignerService, sim: SimulatorProcess, account: str = "alice", *, exchange: str = "simulator"
    ) -> None:
        """Add ``account``'s simulator key (``exchange="simulator-kucoin"`` for the KuCoin flavor)."""
        entry = sim.key(account)
        params = {
            "account": account,
            "exchange": exchange,
            "url": sim.url,
            "api_key": entry["api_key"],
            "secret": entry["secret"],
            "passphrase": self.passphrase,
        }
        if entry.get("passphrase"):
            params["password"] = entry["passphrase"]
        await service.handle("keys_add", params, OPERATOR)

    async def stop(self, service: SignerService) -> None:
        await service.shutdown()

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()




def run(coro: Any) -> Any:
    """Run a coroutine in a fresh event loop."""
    return asyncio.run(coro)
