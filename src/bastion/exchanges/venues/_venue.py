"""What Bastion knows about one exchange: the shape every module in this package fills in.

A :class:`Venue` is data plus two small functions (parse the key-permission answer, and any
exchange-specific refusals). The signer's allowlist guard, its key-permission check, the
revoke steps of ``bastion panic``, the ccxt client factory and the adapter's client-order-id
lookups all read it from :func:`bastion.exchanges.venues.get_venue`; none of them names an
exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from bastion.exchanges.port import ApiRestrictions

__all__ = ["Endpoint", "KeyWords", "TradePaging", "Venue"]

#: How the leak detector pages through an account's own trades: by increasing trade id
#: (Binance ``fromId``) or by time (KuCoin ``startAt``, newest first).
TradePaging = Literal["trade_id", "time"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One (HTTP method, path) the signer may send a key to, and what for.

    ``{name}`` in ``path`` stands for one segment of letters, digits, ``_`` or ``-``.
    ``public`` marks unsigned market-data reads (such as a list of markets).
    """

    method: Literal["GET", "POST", "DELETE"]
    path: str
    why: str
    public: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyWords:
    """How an exchange names its key settings and where they are, for refusal messages."""

    where: str
    withdraw: str
    internal: str
    universal: str
    read: str
    trade: str
    ip: str


def _no_extra(perms: ApiRestrictions, words: KeyWords) -> list[str]:
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Venue:
    """One exchange as Bastion trades it: ccxt options, allowlist, key checks, revoke steps, quirks.

    Parameters
    ----------
    id
        Bastion's exchange id (what ``keys add --exchange`` takes).
    ccxt_id
        The ccxt client class behind it (``binance`` for the ``simulator``).
    title
        The exchange's own name, for messages.
    endpoints
        The signer's allowlist: spot market data, the narrow trading RPC, balances, own trades
        and the key's permissions; never a withdrawal, transfer, key-management, margin or
        futures path.
    options
        ccxt ``options`` that keep the unified spot methods inside ``endpoints``.
    aliases
        Other ids accepted for this one (``gateio`` for ``gate``).
    simulator
        A local simulator front: loopback only, no rate limit, tickers in replay time, no IP
        restriction required.
    permission_method
        The ccxt implicit method that reads the key's permissions; None when the exchange has
        no such query (such a key cannot be checked, so the signer refuses it).
    parse_permissions
        Turns that method's answer into :class:`ApiRestrictions`.
    words
        The exchange's names of the key settings, for the refusal messages.
    extra_refusals
        Exchange-specific permissions that also move money off the account.
    revoke_steps
        What to do by hand to delete a key (``bastion panic`` prints them numbered).
    lookup_client_id_param
        The ccxt ``params`` key that finds or cancels an order by our client order id; None
        when the exchange cannot (then only the exchange's order id works).
    client_id_as_order_id
        For exchanges that take the client order id in place of the order id (Gate), how it
        is written there; then ``lookup_client_id_param`` is not used.
    client_id_escapes
        Characters the exchange refuses in a client order id, each written as ``_`` plus a
        letter (``_`` itself as ``__``), so every id of ours round-trips: KuCoin and Bybit
        refuse the ``.`` of ``b1-1-tp.0``.
    fetch_order_params
        ccxt ``params`` every ``fetch_order`` needs here (Bybit: ``acknowledged``).
    client_id_max_length
        Longest client order id the exchange accepts.
    trade_paging
        How the leak detector pages through own trades.
    quirks
        Notes on what differs here from the other exchanges (shown by ``bastion exchanges``).
    patch_client
        Called on a fresh ccxt client when the guard is installed, for quirks that options
        cannot reach.
    """

    id: str
    ccxt_id: str
    title: str
    endpoints: tuple[Endpoint, ...]
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    aliases: tuple[str, ...] = ()
    simulator: bool = False
    permission_method: str | None = None
    parse_permissions: Callable[[Mapping[str, Any]], ApiRestrictions] | None = None
    words: KeyWords | None = None
    extra_refusals: Callable[[ApiRestrictions, KeyWords], list[str]] = _no_extra
    revoke_steps: tuple[str, ...] = ()
    lookup_client_id_param: str | None = "clientOrderId"
    client_id_as_order_id: Callable[[str], str] | None = None
    fetch_order_params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    client_id_escapes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    client_id_max_length: int = 36
    trade_paging: TradePaging = "trade_id"
    quirks: tuple[str, ...] = ()
    patch_client: Callable[[Any], None] | None = None

    def client_options(self) -> dict[str, Any]:
        """Return a fresh copy of :attr:`options` (nested dicts copied too)."""
        return {name: dict(value) if isinstance(value, Mapping) else value for name, value in self.options.items()}

    def encode_client_id(self, client_order_id: str) -> str:
        """Return ``client_order_id`` as this exchange accepts it (see :attr:`client_id_escapes`)."""
        if not self.client_id_escapes:
            return client_order_id
        out = client_order_id.replace("_", "__")
        for char, code in self.client_id_escapes.items():
            out = out.replace(char, "_" + code)
        return out

    def decode_client_id(self, sent: str) -> str:
        """Return the client order id of ours that :meth:`encode_client_id` wrote as ``sent``.

        An id not written by us (no valid escape) comes back unchanged.
        """
        if not self.client_id_escapes or "_" not in sent:
            return sent
        codes = {code: char for char, code in self.client_id_escapes.items()}
        out: list[str] = []
        i = 0
        while i < len(sent):
            char = sent[i]
            following = sent[i + 1] if i + 1 < len(sent) else ""
            if char == "_" and following == "_":
                out.append("_")
                i += 2
            elif char == "_" and following in codes:
                out.append(codes[following])
                i += 2
            elif char == "_":
                return sent  # not one of ours
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def lookup(self, client_order_id: str) -> tuple[str | None, dict[str, Any]]:
        """Return the ccxt ``(id, params)`` that find or cancel an order by ``client_order_id``.

        Raises
        ------
        ValueError
            The exchange cannot look orders up by client order id.
        """
        if self.client_id_as_order_id is not None:
            return self.client_id_as_order_id(self.encode_client_id(client_order_id)), {}
        if self.lookup_client_id_param is None:
            raise ValueError(f"{self.title} cannot find an order by client order id; use the exchange's order id")
        return None, {self.lookup_client_id_param: self.encode_client_id(client_order_id)}
