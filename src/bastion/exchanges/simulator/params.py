"""Request parameters: decoding the raw query and body, and Binance's typed parameter checks."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import unquote_plus

from bastion.exchanges.simulator.apierrors import ApiError, bad_param, mandatory

__all__ = ["Params", "parse_params"]

_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DECIMAL_LEGAL = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_CLIENT_ID_LEGAL = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
_INT = re.compile(r"^-?[0-9]{1,20}$")


def parse_params(raw_query: bytes, raw_body: bytes) -> Params:
    """Decode query and form body; a parameter in both takes the query's value (as Binance)."""
    values = Params()
    if raw_body:
        _decode_into(values, raw_body.decode("utf-8", "replace"))
    if raw_query:
        _decode_into(values, raw_query.decode("utf-8", "replace"))
    return values


def _decode_into(values: dict[str, str], raw: str) -> None:
    # urllib.parse.parse_qsl semantics for form data, without its per-call overhead.
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        values[name] = value


class Params(dict[str, str]):
    """Decoded request parameters with Binance-style typed accessors."""

    def text(self, name: str) -> str | None:
        """Return the parameter, or None if absent or empty."""
        value = self.get(name)
        return value if value else None

    def required(self, name: str) -> str:
        """Return the parameter; -1102 if it is missing or empty."""
        value = self.get(name)
        if not value:
            raise mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        """Return the parameter as a Decimal; -1100 if it is not a plain decimal number."""
        value = self.get(name)
        if not value:
            return None
        if _DECIMAL.match(value) is None:
            raise bad_param(name, _DECIMAL_LEGAL)
        return Decimal(value)

    def integer(self, name: str) -> int | None:
        """Return the parameter as an int; -1100 if it is not an integer."""
        value = self.get(name)
        if not value:
            return None
        if _INT.match(value) is None:
            raise bad_param(name, "^[0-9]{1,20}$")
        return int(value)

    def limit(self, default: int, maximum: int) -> int:
        """Return ``limit``: ``default`` when absent, capped at ``maximum``; -1130 when not positive."""
        value = self.integer("limit")
        if value is None:
            return default
        if value <= 0:
            raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
        return min(value, maximum)

    def client_order_id(self, name: str) -> str | None:
        """Return a client order id parameter; -1100 if it breaks Binance's pattern."""
        value = self.get(name)
        if not value:
            return None
        if _CLIENT_ID.match(value) is None:
            raise bad_param(name, _CLIENT_ID_LEGAL)
        return value
