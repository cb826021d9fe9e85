"""The ``/_sim/`` admin API: advance the replay, inspect accounts, arm faults (loopback only).

Every answer is JSON. Orders and trades use Binance's own field names, plus ``account`` and
``apiKey`` (the placing key as ``****abcd``) so tests can tell whose order it was, including
orders placed outside Bastion. ``POST /_sim/keys/restrictions`` changes a key's restrictions
while the server runs (a key that gains withdrawal permission later, for instance);
``POST /_sim/deposit`` and ``/_sim/withdraw`` move funds in or out of an account as a deposit or
a withdrawal would (balances change with no trade).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from bastion.exchanges.simulator.candles import timeframe_name, volume_of
from bastion.exchanges.simulator.faults import FaultPlan, FaultSpecError
from bastion.exchanges.simulator.format import fmt
from bastion.exchanges.simulator.front import ApiState
from bastion.exchanges.simulator.keys import DEFAULT_RESTRICTIONS, KeyEntry
from bastion.exchanges.simulator.matching import SymbolEngine
from bastion.exchanges.simulator.params import Params
from bastion.exchanges.simulator.render import order_json, restrictions_json, trade_json

__all__ = ["AdminApi", "AdminError"]

_MAX_ADVANCE = 10_000_000
_ASSET = re.compile(r"^[A-Z0-9]{2,12}$")
_AMOUNT = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,18})?$")


class AdminError(Exception):
    """An admin request that cannot be served: HTTP status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AdminApi:
    """Admin endpoints over the front API's venue, the fault plan and the unknown-path log."""

    def __init__(
        self, api: ApiState, faults: FaultPlan, unknown: list[dict[str, Any]], speed: Callable[[], float | str | None]
    ) -> None:
        self.api = api
        self.venue = api.venue
        self.faults = faults
        self.unknown = unknown
        self._speed = speed
        self.routes: dict[tuple[str, str], Callable[[Params, bytes], Any]] = {
            ("POST", "/_sim/advance"): self.advance,
            ("GET", "/_sim/orders"): self.orders,
            ("GET", "/_sim/balances"): self.balances,
            ("GET", "/_sim/trades"): self.trades,
            ("POST", "/_sim/faults"): self.add_fault,
            ("GET", "/_sim/faults"): lambda p, b: self.faults.describe(),
            ("DELETE", "/_sim/faults"): self.clear_faults,
            ("GET", "/_sim/unknown"): lambda p, b: list(self.unknown),
            ("DELETE", "/_sim/unknown"): self.clear_unknown,
            ("GET", "/_sim/state"): self.state,
            ("POST", "/_sim/keys/restrictions"): self.set_restrictions,
            ("POST", "/_sim/deposit"): self.deposit,
            ("POST", "/_sim/withdraw"): self.withdraw,
        }

    def _account(self, params: Params) -> str:
        account = params.get("account")
        if not account:
            raise AdminError(400, "missing query parameter 'account', such as ?account=alice")
        if not self.venue.ledger.has_account(account):
            known = ", ".join(self.venue.ledger.accounts) or "none"
            raise AdminError(404, f"unknown account {account!r}; expected one of: {known}")
        return account

    def _candle(self, engine: SymbolEngine) -> dict[str, Any]:
        c = engine.candle
        d = self.api.market_data[engine.symbol_id].decimals
        return {
            "symbol": engine.rules.symbol,
            "index": engine.index,
            "last_index": len(engine.candles) - 1,
            "openTime": c.ts_ms,
            "closeTime": c.ts_ms + engine.candles.timeframe_ms - 1,
            "open": fmt(c.open, d.price),
            "high": fmt(c.high, d.price),
            "low": fmt(c.low, d.price),
            "close": fmt(c.close, d.price),
            "volume": fmt(volume_of(c), d.qty),
        }

    def advance(self, params: Params, body: bytes) -> Any:
        """POST /_sim/advance?candles=N[&symbol=BTCUSDT]: the new current candle per symbol."""
        raw = params.get("candles", "1")
        try:
            candles = int(raw)
        except ValueError:
            candles = -1
        if not (0 <= candles <= _MAX_ADVANCE):
            raise AdminError(400, f"candles must be an integer within 0..{_MAX_ADVANCE}, got {raw!r}")
        symbol = params.get("symbol") or None
        if symbol is not None and symbol not in self.venue.engines:
            raise AdminError(404, f"unknown symbol {symbol!r}; expected one of {', '.join(self.venue.engines)}")
        engines = self.venue.advance(candles, symbol)
        return {s: self._candle(e) for s, e in engines.items()}

    def orders(self, params: Params, body: bytes) -> Any:
        """GET /_sim/orders?account=NAME: every order of the account, oldest first per symbol."""
        account = self._account(params)
        result = []
        for order in self.venue.orders(account):
            entry = order_json(order, self.api.market_data[order.symbol].decimals)
            entry["account"] = account
            entry["apiKey"] = order.key_hint
            result.append(entry)
        return result

    def balances(self, params: Params, body: bytes) -> Any:
        """GET /_sim/balances?account=NAME: ``{asset: {"free", "locked", "fees"}}``."""
        account = self._account(params)
        fees = self.venue.ledger.fees_paid(account)
        return {
            asset: {"free": str(free), "locked": str(locked), "fees": str(fees.get(asset, 0))}
            for asset, (free, locked) in sorted(self.venue.ledger.balances(account).items())
        }

    def trades(self, params: Params, body: bytes) -> Any:
        """GET /_sim/trades?account=NAME: every trade of the account (myTrades shape)."""
        account = self._account(params)
        return [trade_json(t, self.api.market_data[t.symbol].decimals) for t in self.venue.trades(account)]

    def _transfer(self, params: Params) -> tuple[str, str, Decimal]:
        account = self._account(params)
        asset = params.get("asset") or ""
        if not _ASSET.match(asset):
            raise AdminError(400, f"asset must be 2 to 12 capitals or digits such as USDT, got {asset[:20]!r}")
        raw = params.get("amount") or ""
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount <= 0 or _AMOUNT.match(raw) is None:
            raise AdminError(400, f"amount must be a positive decimal such as 100 or 0.5, got {raw[:30]!r}")
        return account, asset, amount

    def deposit(self, params: Params, body: bytes) -> Any:
        """POST /_sim/deposit?account=NAME&asset=USDT&amount=100: credit the free balance (a deposit)."""
        account, asset, amount = self._transfer(params)
        self.venue.ledger.credit(account, asset, amount)
        return self.balances(params, body)

    def withdraw(self, params: Params, body: bytes) -> Any:
        """POST /_sim/withdraw?account=NAME&asset=USDT&amount=100: take from the free balance (a withdrawal)."""
        account, asset, amount = self._transfer(params)
        free = self.venue.ledger.free(account, asset)
        if free < amount:
            raise AdminError(400, f"account {account!r} has {free} {asset} free; cannot withdraw {amount}")
        self.venue.ledger.spend_free(account, asset, amount)
        return self.balances(params, body)

    def add_fault(self, params: Params, body: bytes) -> Any:
        """POST /_sim/faults with a JSON fault spec (see :mod:`faults`)."""
        try:
            spec = json.loads(body or b"null")
        except ValueError:
            raise AdminError(400, f'expected a JSON body such as {{"kind": "429"}}, got {body[:60]!r}') from None
        try:
            fault = self.faults.add(spec)
        except FaultSpecError as exc:
            raise AdminError(400, str(exc)) from None
        return {"armed": fault.describe(), "faults": self.faults.describe()}

    def clear_faults(self, params: Params, body: bytes) -> Any:
        """DELETE /_sim/faults: disarm every fault."""
        self.faults.clear()
        return []

    def clear_unknown(self, params: Params, body: bytes) -> Any:
        """DELETE /_sim/unknown: forget the recorded unknown requests."""
        self.unknown.clear()
        return []

    def _key(self, api_key: Any) -> KeyEntry:
        if not isinstance(api_key, str) or not api_key:
            raise AdminError(400, f'"api_key" must be the key\'s non-empty string, got {type(api_key).__name__}')
        for entry in self.api.keyring.entries():
            if entry.api_key == api_key:
                return entry
        raise AdminError(
            404,
            f"unknown api_key ****{api_key[-4:]}; the simulator has {len(self.api.keyring)} keys from its keys file",
        )

    def set_restrictions(self, params: Params, body: bytes) -> Any:
        """POST /_sim/keys/restrictions: change a key's restrictions; answers its new apiRestrictions.

        The body is ``{"api_key": "...", "restrictions": {"enableWithdrawals": true, ...}}`` with
        apiRestrictions field names and true/false values; fields not given keep their value.
        """
        example = '{"api_key": "...", "restrictions": {"enableWithdrawals": true}}'
        try:
            spec = json.loads(body or b"null")
        except ValueError:
            raise AdminError(400, f"expected a JSON body such as {example}, got {body[:60]!r}") from None
        if not isinstance(spec, dict) or set(spec) != {"api_key", "restrictions"}:
            given = sorted(spec) if isinstance(spec, dict) else type(spec).__name__
            raise AdminError(
                400, f'expected a JSON object with exactly "api_key" and "restrictions", such as {example}, got {given}'
            )
        changes = spec["restrictions"]
        if not isinstance(changes, dict) or not changes:
            raise AdminError(
                400,
                f'"restrictions" must be a non-empty object such as {{"enableWithdrawals": true}}, got {changes!r:.60}',
            )
        for name, flag in changes.items():
            if name not in DEFAULT_RESTRICTIONS:
                raise AdminError(
                    400, f"unknown restriction {name!r:.40}; expected one of {', '.join(DEFAULT_RESTRICTIONS)}"
                )
            if not isinstance(flag, bool):
                raise AdminError(400, f"restriction {name} must be true or false, got {flag!r:.40}")
        entry = self._key(spec["api_key"])
        # KeyEntry is frozen but its restrictions dict is the one every request of this key reads,
        # so updating it in place takes effect on the next request, signed or admin.
        entry.restrictions.update(changes)
        return {"apiKey": entry.hint, "restrictions": restrictions_json(entry, self.api.started_ms)}

    def state(self, params: Params, body: bytes) -> Any:
        """GET /_sim/state: replay position per symbol and the speed."""
        return {
            "speed": self._speed(),
            "time": self.api.clock(),
            "symbols": {
                s: {
                    **self._candle(e),
                    "timeframe": timeframe_name(e.candles.timeframe_ms),
                    "marketTime": e.market_time,
                    "rules": {
                        "tickSize": str(e.rules.tick_size),
                        "stepSize": str(e.rules.step_size),
                        "minQty": str(e.rules.min_qty),
                        "minNotional": str(e.rules.min_notional),
                    },
                }
                for s, e in self.venue.engines.items()
            },
        }
