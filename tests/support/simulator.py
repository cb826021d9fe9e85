"""Run the REAL simulator (``bastion exchange serve``) as a subprocess for tests.

::

    from support.simulator import SimulatorProcess, make_key

    with SimulatorProcess(tmp_path, keys=[make_key("alice", {"USDT": "10000"})]) as sim:
        client = sim.client("alice")            # ccxt binance client pointed at sim.url
        client.create_order("BTC/USDT", "limit", "buy", 0.001, 16000)
        sim.advance(10)
        assert sim.orders("alice")[0]["status"] == "FILLED"

The process handling and admin calls are ``bastion.exchanges.simulator.process``; this module
adds what only tests need: throwaway keys, ccxt clients per account and hand-signed requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bastion.exchanges.simulator import generate_entry
from bastion.exchanges.simulator.process import SimulatorAdminError, SimulatorStartError
from bastion.exchanges.simulator.process import SimulatorProcess as _SimulatorProcess

__all__ = [
    "SimulatorAdminError",
    "SimulatorProcess",
    "SimulatorStartError",
    "bundled_csv",
    "make_key",
    "sign_query",
]


def make_key(
    account: str,
    balances: Mapping[str, str | int | Decimal] | None = None,
    restrictions: Mapping[str, Any] | None = None,
    *,
    passphrase: bool = False,
) -> dict[str, Any]:
    """Return a keys-file entry with a fresh throwaway 64-character key and secret.

    Parameters
    ----------
    account
        The account the key trades for (several keys may share one).
    balances
        Starting balances such as ``{"USDT": "10000", "BTC": "1"}``.
    restrictions
        apiRestrictions overrides such as ``{"enableWithdrawals": True}``.
    passphrase
        Add a throwaway passphrase (keys of the ``--flavor kucoin`` simulator need one).
    """
    entry = generate_entry(
        account, {asset: str(amount) for asset, amount in (balances or {}).items()}, passphrase=passphrase
    )
    if restrictions:
        entry["restrictions"] = {**entry["restrictions"], **restrictions}
    return entry


def bundled_csv(symbol: str = "BTC/USDT") -> Path:
    """Return the path of bastion's bundled candle file for ``symbol`` (BTC/USDT or ETH/BTC)."""
    name = {"BTC/USDT": "BTC_USDT-5m.csv", "ETH/BTC": "ETH_BTC-5m.csv"}[symbol]
    return Path(str(files("bastion").joinpath("_data", name)))


def sign_query(secret: str, params: Mapping[str, Any] | str) -> str:
    """Return ``params`` url-encoded with ``&signature=`` appended (Binance HMAC-SHA256)."""
    query = params if isinstance(params, str) else urlencode(params)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


class SimulatorProcess(_SimulatorProcess):
    """The simulator process with test conveniences; by default one account "alice" (10000 USDT, 1 BTC)."""

    def __init__(
        self,
        tmp_path: Path,
        markets: Sequence[str] | Mapping[str, Path | str] | None = None,
        speed: float | None = 0,
        keys: Sequence[Mapping[str, Any]] | None = None,
        start: int | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        if keys is None:
            keys = [make_key("alice", {"USDT": "10000", "BTC": "1"})]
        super().__init__(tmp_path, markets, speed, keys, start, extra_args, startup_timeout)

    # --- keys and clients -------------------------------------------------------------------

    def key(self, account: str = "alice") -> dict[str, Any]:
        """Return the first key entry of ``account``."""
        for entry in self.keys:
            if entry["account"] == account:
                return entry
        raise KeyError(f"no key for account {account!r}; accounts: {sorted({k['account'] for k in self.keys})}")

    def client(self, account: str = "alice", *, asynchronous: bool = False, **kwargs: Any) -> Any:
        """Return a ccxt binance client (Bastion's factory) for ``account``'s first key."""
        from bastion.exchanges.ccxt.factory import create_client
        from bastion.exchanges.credentials import ApiCredentials

        entry = self.key(account)
        return create_client(
            "simulator",
            url=self.url,
            credentials=ApiCredentials(entry["api_key"], entry["secret"]),
            asynchronous=asynchronous,
            **kwargs,
        )

    def signed(
        self, method: str, path: str, params: Mapping[str, Any], account: str = "alice", *, in_body: bool = False
    ) -> tuple[int, Any]:
        """Send a signed request by hand (``timestamp`` added unless given); return status and JSON."""
        entry = self.key(account)
        params = dict(params)
        params.setdefault("timestamp", int(time.time() * 1000))
        signed = sign_query(entry["secret"], params)
        headers = {"X-MBX-APIKEY": entry["api_key"]}
        if in_body:
            status, _, raw = self.http(method, path, body=signed, headers=headers)
        else:
            status, _, raw = self.http(method, path, query=signed, headers=headers)
        return status, json.loads(raw)
