"""KuCoin error answers: HTTP status, KuCoin's string code and message.

KuCoin answers every request with the envelope ``{"code": "200000", "data": ...}``; a refusal
carries another code and a ``msg``. The matching core raises Binance's :class:`ApiError`
(its refusals are the same facts on both fronts); :func:`from_binance` gives the KuCoin answer
for each of them.
"""

from __future__ import annotations

from decimal import Decimal

from bastion.exchanges.simulator import apierrors as B
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.rules import MarketRules

__all__ = ["KucoinError", "bad_param", "from_binance"]

OK = "200000"
# Authentication (KuCoin "Error codes": HTTP 401).
MISSING_HEADER = "400001"
BAD_TIMESTAMP = "400002"
UNKNOWN_KEY = "400003"
BAD_PASSPHRASE = "400004"  # noqa: S105 - an error code, not a passphrase
BAD_SIGNATURE = "400005"
IP_NOT_ALLOWED = "400006"
ACCESS_DENIED = "400007"
# Requests and orders.
NOT_FOUND = "404000"
BAD_PARAMS = "400100"
BAD_SYMBOL = "900001"
INSUFFICIENT_BALANCE = "200004"
MIN_FUNDS = "600101"
DUPLICATE_CLIENT_OID = "126044"
TOO_MANY_REQUESTS = "429000"
INTERNAL = "500000"

_FILTERS = frozenset({"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"})
MSG_TOO_MANY_REQUESTS = "Too many requests in a short period of time, please retry later."
MSG_ORDER_NOT_EXIST = "order not exist."
MSG_CANCEL_NOT_EXIST = "order_not_exist_or_not_allow_to_cancel"


class KucoinError(Exception):
    """A KuCoin error answer."""

    def __init__(self, code: str, msg: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


def bad_param(message: str) -> KucoinError:
    """Return 400100 for a missing or malformed parameter."""
    return KucoinError(BAD_PARAMS, message)


def _filter(kind: str, rules: MarketRules | None, size: Decimal | None) -> KucoinError:
    if kind == "NOTIONAL" and rules is not None:
        return KucoinError(MIN_FUNDS, f"The order funds should more then {rules.min_notional} {rules.quote}.")
    if kind == "LOT_SIZE":
        if rules is not None and size is not None and size < rules.min_qty:
            return KucoinError(BAD_PARAMS, "Order size below the minimum requirement.")
        return KucoinError(BAD_PARAMS, "Order size increment invalid.")
    if kind == "PRICE_FILTER":
        return KucoinError(BAD_PARAMS, "Price increment invalid.")
    return KucoinError(BAD_PARAMS, "Order size below the minimum requirement.")


def from_binance(exc: ApiError, rules: MarketRules | None = None, size: Decimal | None = None) -> KucoinError:
    """Return KuCoin's answer for a refusal of the matching core.

    Parameters
    ----------
    exc
        What the core raised (Binance's code and message).
    rules
        The market's rules, for the minimum-funds message.
    size
        The order's base size, to tell "below the minimum" from "off the step grid".
    """
    if exc.reason in _FILTERS:
        return _filter(exc.reason, rules, size)
    if exc.reason == "insufficient_balance":
        return KucoinError(INSUFFICIENT_BALANCE, "Balance insufficient!")
    if exc.reason == "duplicate_order":
        return KucoinError(DUPLICATE_CLIENT_OID, "clientOid duplicate")
    if exc.reason == "would_take":
        return KucoinError(BAD_PARAMS, "postOnly order would take liquidity")
    if exc.code == B.BAD_SYMBOL:
        return KucoinError(BAD_SYMBOL, "Unsupported trading pair.")
    if exc.code in (B.CANCEL_REJECTED, B.NO_SUCH_ORDER):
        return KucoinError(BAD_PARAMS, MSG_CANCEL_NOT_EXIST)
    return KucoinError(BAD_PARAMS, exc.msg)
