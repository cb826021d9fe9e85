"""Binance error answers: HTTP status, code and message, exactly as Binance sends them.

The matching core raises :class:`ApiError` for refusals that Binance reports with a code
(filters, balances, unknown orders); the HTTP layer turns any ApiError into the response
``{"code": N, "msg": "..."}`` with its status.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "bad_param",
    "duplicate_order",
    "filter_failure",
    "insufficient_balance",
    "invalid_symbol",
    "mandatory",
    "one_of_mandatory",
    "would_take",
]


class ApiError(Exception):
    """A Binance error answer.

    ``reason`` names the refusal for the other fronts (KuCoin) where Binance's code is shared by
    several refusals: ``insufficient_balance``, ``duplicate_order``, ``would_take``, or the filter
    (``PRICE_FILTER``, ``LOT_SIZE``, ``NOTIONAL``).
    """

    def __init__(self, code: int, msg: str, *, status: int = 400, reason: str | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.reason = reason


# Codes and messages (Binance spot "Error codes" page).
UNKNOWN = -1000
DISCONNECTED = -1001
TOO_MANY_REQUESTS = -1003
TIMEOUT = -1007
SERVER_BUSY = -1008
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
BAD_PARAM = -1104
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_INTERVAL = -1120
BAD_SYMBOL = -1121
INVALID_PARAMETER = -1130
BAD_RECV_WINDOW = -1131
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015
INVALID_QUANTITY_OR_FILTER = -1013

MSG_INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MSG_DUPLICATE_ORDER = "Duplicate order sent."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_ORDER_DOES_NOT_EXIST = "Order does not exist."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_BAD_SIGNATURE = "Signature for this request is not valid."
MSG_BAD_KEY_FORMAT = "API-key format invalid."
MSG_REJECTED_KEY = "Invalid API-key, IP, or permissions for action."
MSG_OUTSIDE_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."
MSG_AHEAD_OF_SERVER = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_BAD_RECV_WINDOW = "recvWindow must be less than 60000."
MSG_TOO_MANY_REQUESTS = (
    "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API."
)


def mandatory(name: str) -> ApiError:
    """Return -1102 for a missing mandatory parameter ``name``."""
    return ApiError(
        MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def one_of_mandatory(first: str, second: str) -> ApiError:
    """Return -1102 when neither of two alternative parameters was sent."""
    return ApiError(
        MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Param '{first}' or '{second}' must be sent, but both were empty/null!",
    )


def bad_param(name: str, legal: str) -> ApiError:
    """Return -1100 for a parameter with characters outside its ``legal`` pattern."""
    return ApiError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def invalid_symbol() -> ApiError:
    """Return -1121 for a symbol the exchange does not list."""
    return ApiError(BAD_SYMBOL, "Invalid symbol.")


def filter_failure(filter_type: str) -> ApiError:
    """Return -1013 for an order that breaks ``filter_type`` (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""
    return ApiError(INVALID_QUANTITY_OR_FILTER, f"Filter failure: {filter_type}", reason=filter_type)


def insufficient_balance() -> ApiError:
    """Return -2010 for an order the free balance cannot pay for."""
    return ApiError(NEW_ORDER_REJECTED, MSG_INSUFFICIENT_BALANCE, reason="insufficient_balance")


def duplicate_order() -> ApiError:
    """Return -2010 for a client order id already used by an open order of the account."""
    return ApiError(NEW_ORDER_REJECTED, MSG_DUPLICATE_ORDER, reason="duplicate_order")


def would_take() -> ApiError:
    """Return -2010 for a LIMIT_MAKER order that would take liquidity."""
    return ApiError(NEW_ORDER_REJECTED, MSG_WOULD_TAKE, reason="would_take")
