"""Run the simulator as a child process and steer it through its loopback admin API.

Used by ``bastion demo``, the benchmarks and the tests: the simulator always runs as its own
process, exactly as ``bastion exchange serve`` would, never inside the caller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from bastion.errors import BastionError

__all__ = ["SimulatorProcess", "SimulatorStartError"]


class SimulatorStartError(BastionError):
    """The simulator process did not start or did not say where it listens."""


class SimulatorProcess:
    """A ``bastion exchange serve`` child process on a free loopback port.

    Parameters
    ----------
    keys_file
        The keys file (JSON list of key entries) the simulator loads.
    markets
        ``SYMBOL=PATH.csv`` specs; None serves the bundled BTC/USDT data.
    speed
        Replayed candles per second; 0 holds still until :meth:`advance`; None is real time.
    start
        Index of the first current candle; None keeps the simulator's default.
    extra_args
        More ``bastion exchange serve`` options.
    log_file
        Where the child's stderr goes (None discards it).
    """

    def __init__(
        self,
        keys_file: Path,
        *,
        markets: Sequence[str] | None = None,
        speed: float | None = 0,
        start: int | None = None,
        extra_args: Sequence[str] = (),
        log_file: Path | None = None,
    ) -> None:
        args = [sys.executable, "-m", "bastion", "exchange", "serve", "--host", "127.0.0.1", "--port", "0"]
        args += ["--keys-file", str(keys_file)]
        for spec in markets or ():
            args += ["--market", spec]
        if speed is not None:
            args += ["--speed", str(speed)]
        if start is not None:
            args += ["--start", str(start)]
        args += list(extra_args)
        self.args = args
        self.log_file = log_file
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self, timeout: float = 30) -> str:
        """Start the process and return its base URL once it listens."""
        stderr = open(self.log_file, "a") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, start_new_session=True
        )
        if stderr is not subprocess.DEVNULL:
            stderr.close()
        found: list[str] = []
        ready = threading.Event()

        stdout = self._proc.stdout

        def read() -> None:
            for line in stdout or ():  # keep draining so the child never blocks on a full pipe
                if not found and line.startswith("listening on "):
                    found.append(line.split("listening on ", 1)[1].strip())
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not found:
            code = self._proc.poll()
            self.stop()
            where = f"; see {self.log_file}" if self.log_file else ""
            raise SimulatorStartError(
                f"the simulator did not report 'listening on ...' within {timeout:.0f} s "
                f"(exit code {code}){where}"
            )
        self.url = found[0]
        return self.url

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- admin API --------------------------------------------------------------------------

    def admin(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """Call ``/_sim/<path>`` and return its decoded JSON answer."""
        url = f"{self.url}/_sim/{path}"
        if params:
            url += "?" + urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (our own loopback URL)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def advance(self, candles: int = 1) -> Any:
        """Replay ``candles`` more candles; return the new current candle(s)."""
        return self.admin("POST", "advance", {"candles": candles})

    def orders(self, account: str) -> list[dict[str, Any]]:
        """Every order of ``account``, as Binance reports orders."""
        return self.admin("GET", "orders", {"account": account})

    def balances(self, account: str) -> Any:
        """Balances of ``account``."""
        return self.admin("GET", "balances", {"account": account})

    def trades(self, account: str) -> Any:
        """Trades of ``account``."""
        return self.admin("GET", "trades", {"account": account})

    def fault(self, kind: str, count: int = 1, **options: Any) -> Any:
        """Inject a fault for the next ``count`` matching requests."""
        return self.admin("POST", "faults", body={"kind": kind, "count": count, **options})

    def unknown(self) -> list[Any]:
        """Requests that hit no known path."""
        return self.admin("GET", "unknown")

    def state(self) -> Any:
        """Replay position and speed."""
        return self.admin("GET", "state")

