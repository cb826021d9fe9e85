"""Run the simulator as a child process and steer it through its loopback admin API.

Used by ``bastion demo``, the benchmarks and the tests: the simulator always runs as its own
process, exactly as ``bastion exchange serve`` would, never inside the caller. Everything
talks to 127.0.0.1 through ``http.client``, so no proxy setting applies.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

from bastion.errors import BastionError

__all__ = ["SimulatorAdminError", "SimulatorProcess", "SimulatorStartError"]


class SimulatorStartError(BastionError):
    """The simulator process exited or did not print ``listening on ...`` in time."""


class SimulatorAdminError(BastionError):
    """An admin call answered an HTTP error."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"admin API answered {status}: {body}")
        self.status = status
        self.body = body


class SimulatorProcess:
    """A ``bastion exchange serve`` subprocess on a free loopback port.

    Parameters
    ----------
    work_dir
        A directory for the keys file and the server's stderr log.
    markets
        ``SYMBOL=PATH.csv[;rules]`` strings, or ``{symbol: path}``; None serves bundled BTC/USDT.
    speed
        Replayed candles per second; 0 holds the replay until :meth:`advance`; None is real time.
    keys
        Keys-file entries (see ``bastion.exchanges.simulator.generate_entry``).
    start
        Index of the first current candle; None keeps the server's default (200).
    extra_args
        More ``serve`` options, such as ``("--maker-fee", "0.002")``.
    startup_timeout
        Seconds to wait for ``listening on ...``.
    """

    def __init__(
        self,
        work_dir: Path,
        markets: Sequence[str] | Mapping[str, Path | str] | None = None,
        speed: float | None = 0,
        keys: Sequence[Mapping[str, Any]] = (),
        start: int | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.keys: list[dict[str, Any]] = [dict(k) for k in keys]
        if isinstance(markets, Mapping):
            specs = [f"{symbol}={path}" for symbol, path in markets.items()]
        else:
            specs = list(markets or ())
        self.keys_file = self._unique("simulator-keys", ".json")
        self.log_file = self._unique("simulator-stderr", ".log")
        args = [sys.executable, "-m", "bastion", "exchange", "serve", "--host", "127.0.0.1", "--port", "0"]
        args += ["--keys-file", str(self.keys_file)]
        for spec in specs:
            args += ["--market", spec]
        if speed is not None:
            args += ["--speed", str(speed)]
        if start is not None:
            args += ["--start", str(start)]
        self.args = [*args, *extra_args]
        self.startup_timeout = startup_timeout
        self.url = ""
        self.host = ""
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def _unique(self, stem: str, suffix: str) -> Path:
        path = self.work_dir / f"{stem}{suffix}"
        n = 1
        while path.exists():
            n += 1
            path = self.work_dir / f"{stem}-{n}{suffix}"
        return path

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> SimulatorProcess:
        """Write the keys file, start the server and wait until it listens."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.keys_file.write_text(json.dumps(self.keys, indent=2))
        with self.log_file.open("w") as log:
            self._proc = subprocess.Popen(
                self.args,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                start_new_session=True,
            )
        found: list[str] = []
        ready = threading.Event()
        stdout = self._proc.stdout

        def drain() -> None:
            for line in stdout or ():  # keep reading so the child never blocks on a full pipe
                if not found and line.startswith("listening on "):
                    found.append(line[len("listening on ") :].strip())
                    ready.set()
            ready.set()

        threading.Thread(target=drain, name="simulator-stdout", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not found:
            code = self._proc.poll()
            self.stop()
            raise SimulatorStartError(
                f"simulator did not print 'listening on ...' within {self.startup_timeout:.0f} s "
                f"(exit code {code}); stderr: {self.stderr()[-2000:]}"
            )
        self.url = found[0]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        return self

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 5 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """Return the server's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def stderr(self) -> str:
        """Return what the server wrote to stderr so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # --- raw HTTP ---------------------------------------------------------------------------

    def http(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request to the server; return status, headers and raw body."""
        target = path + (f"?{query}" if query else "")
        data = body.encode() if isinstance(body, str) else body
        all_headers = dict(headers or {})
        if data and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, target, body=data or None, headers=all_headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    # --- admin API --------------------------------------------------------------------------

    def admin(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """Call ``/_sim/<path>`` and return its JSON; raise SimulatorAdminError on HTTP errors."""
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        status, _, raw = self.http(method, f"/_sim/{path}", urlencode(params or {}), data, headers)
        if status >= 400:
            raise SimulatorAdminError(status, raw.decode(errors="replace"))
        return json.loads(raw)

    def advance(self, n: int = 1, symbol: str | None = None) -> dict[str, Any]:
        """Advance the replay ``n`` candles (every symbol, or one); return the new current candles."""
        params: dict[str, Any] = {"candles": n}
        if symbol is not None:
            params["symbol"] = symbol
        return self.admin("POST", "advance", params)

    def orders(self, account: str = "alice") -> list[dict[str, Any]]:
        """Return every order of ``account`` (Binance fields plus ``account`` and ``apiKey``)."""
        return self.admin("GET", "orders", {"account": account})

    def balances(self, account: str = "alice") -> dict[str, dict[str, str]]:
        """Return ``{asset: {"free", "locked", "fees"}}`` of ``account`` (decimal strings)."""
        return self.admin("GET", "balances", {"account": account})

    def trades(self, account: str = "alice") -> list[dict[str, Any]]:
        """Return every trade of ``account`` (myTrades fields)."""
        return self.admin("GET", "trades", {"account": account})

    def deposit(self, account: str, asset: str, amount: str) -> dict[str, dict[str, str]]:
        """Credit ``amount`` of ``asset`` to ``account`` as a deposit would; return its balances."""
        return self.admin("POST", "deposit", {"account": account, "asset": asset, "amount": amount})

    def withdraw(self, account: str, asset: str, amount: str) -> dict[str, dict[str, str]]:
        """Take ``amount`` of ``asset`` out of ``account`` as a withdrawal would; return its balances."""
        return self.admin("POST", "withdraw", {"account": account, "asset": asset, "amount": amount})

    def fault(self, kind: str, count: int = 1, **options: Any) -> dict[str, Any]:
        """Arm a fault for the next ``count`` matching requests (path, method, seconds, fraction...)."""
        return self.admin("POST", "faults", body={"kind": kind, "count": count, **options})

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.admin("DELETE", "faults")

    def unknown(self) -> list[dict[str, Any]]:
        """Return the requests that hit no known path (method, path, time)."""
        return self.admin("GET", "unknown")

    def state(self) -> dict[str, Any]:
        """Return the replay position per symbol and the speed."""
        return self.admin("GET", "state")

    def set_restrictions(self, api_key: str, **fields: bool) -> dict[str, Any]:
        """Change a running key's restrictions, such as ``enableWithdrawals=True``.

        Fields use Binance's apiRestrictions names; those not given keep their value. The next
        ``GET /sapi/v1/account/apiRestrictions`` (and every permission check) sees the change.

        Returns
        -------
        dict
            ``{"apiKey": "****abcd", "restrictions": <the new apiRestrictions answer>}``.

        Raises
        ------
        SimulatorAdminError
            400 for an unknown field or a value that is not true/false, 404 for an unknown key.
        """
        result = self.admin("POST", "keys/restrictions", body={"api_key": api_key, "restrictions": fields})
        for entry in self.keys:
            if entry.get("api_key") == api_key:
                entry["restrictions"] = {**entry.get("restrictions", {}), **fields}
        return result
