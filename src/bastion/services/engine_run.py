"""Run the engine process: one per database (lock), log file, live feed, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

from bastion.services.engine_lock import EngineLock, lock_path, utc_now_text
from bastion.services.feed import EventFeed

__all__ = ["run_engine"]


def _write(line: str) -> None:
    sys.stdout.write(line)
    sys.stdout.flush()


def run_engine(*, poll_interval_s: float, feed: bool = True) -> None:
    """Run the enabled bots through the signer until SIGTERM or Ctrl-C.

    Raises
    ------
    StorageError
        Another engine runs on this database (the message names it), or the database cannot
        be opened or migrated.
    """
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import AsyncSignerClient
    from bastion.engine.runner import Engine, EngineOptions
    from bastion.errors import BastionError
    from bastion.services.accounts import sync_accounts
    from bastion.services.notify import Notifier
    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    layout = HomeLayout.from_env()
    layout.ensure()
    url = database_url()
    lock = EngineLock(lock_path(url, layout.home), started_at=utc_now_text())
    lock.acquire()
    handler = logging.FileHandler(layout.log_dir / "engine.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("bastion")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    db = create_engine_for(url)

    def clock() -> int:
        return time.time_ns() // 1_000_000

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        signer = AsyncSignerClient(layout.socket, timeout=60)
        try:  # production layout: the accounts live in the signer; keep their public part here
            sync_accounts(session_factory(db), await signer.call("key_status"))
        except BastionError as exc:
            logging.getLogger("bastion.engine").warning("accounts not learnt from the signer: %s", exc)
        runner = Engine(
            sessions=session_factory(db),
            signer=signer,
            clock=clock,
            options=EngineOptions(poll_interval_s=poll_interval_s),
            notifier=Notifier.from_environment(home=layout.home),
            feed=EventFeed(_write, clock).event if feed else None,
        )
        _write("engine running\n")
        try:
            await runner.run(stop)
        finally:
            await signer.close()

    try:
        upgrade(db)
        asyncio.run(main())
    finally:
        db.dispose()
        root.removeHandler(handler)
        handler.close()
        lock.release()
