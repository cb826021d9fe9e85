"""API key permission checks: read what a key may do from the exchange, and refuse dangerous keys.

The signer refuses a key that can move money off the account (withdrawals, internal or
universal transfers, and the like), that cannot read or cannot trade spot (the bots could not
work), or that a live exchange accepts from any IP address. It checks at connect and again
every day, so a key that gains a permission later is caught.

Where each exchange reports a key's permissions, and what its settings are called, is in its
module of :mod:`bastion.exchanges.venues` (``permission_method``, ``parse_permissions``,
``words``, ``extra_refusals``). An exchange whose API does not report them (Gate, Kraken)
cannot have its keys checked, so they are refused.
"""

from __future__ import annotations

import inspect
from typing import Any

import ccxt

from bastion.errors import ConfigError, ExchangeError, KeyRefused
from bastion.exchanges.ccxt.errors import translate
from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues import VENUES, Venue, get_venue
from bastion.exchanges.venues.binance import parse_permissions as parse_binance
from bastion.exchanges.venues.bybit import parse_permissions as parse_bybit
from bastion.exchanges.venues.coinbase import parse_permissions as parse_coinbase
from bastion.exchanges.venues.kucoin import parse_permissions as parse_kucoin
from bastion.exchanges.venues.okx import parse_permissions as parse_okx

__all__ = [
    "SUPPORTED_EXCHANGES",
    "assess",
    "check_key",
    "fetch_permissions",
    "parse_binance",
    "parse_bybit",
    "parse_coinbase",
    "parse_kucoin",
    "parse_okx",
]

#: Exchange ids whose key permissions can be read and assessed.
SUPPORTED_EXCHANGES = tuple(v.id for v in VENUES.values() if v.permission_method is not None)


def _checkable(exchange_id: str) -> Venue:
    try:
        venue = get_venue(exchange_id)
    except ConfigError:
        venue = None
    if venue is None or venue.permission_method is None or venue.parse_permissions is None or venue.words is None:
        why = (
            f"{venue.title}'s API does not report what a key may do, so Bastion cannot check that it cannot "
            "withdraw; such keys are refused"
            if venue is not None
            else "Bastion has no exchange module for it"
        )
        raise ExchangeError(
            f"reading API key permissions is not supported for exchange {exchange_id!r} ({why}); "
            f"supported exchange ids: {', '.join(SUPPORTED_EXCHANGES)}",
            exchange=exchange_id,
        )
    return venue


async def fetch_permissions(client: Any, exchange_id: str) -> ApiRestrictions:
    """Ask the exchange what the client's API key may do.

    Parameters
    ----------
    client
        A ccxt client with the key (asyncio or sync), normally guarded by
        :func:`bastion.custody.signer.endpoints.guard_client`.
    exchange_id
        One of :data:`SUPPORTED_EXCHANGES`.

    Raises
    ------
    ExchangeError
        Unknown exchange id or one whose API does not report permissions (the message names the
        supported ones), a ccxt without the query, an answer of an unexpected shape, or the
        exchange's error translated (such as AuthenticationFailed).
    """
    venue = _checkable(exchange_id)
    name = venue.permission_method
    assert name is not None
    assert venue.parse_permissions is not None
    method = getattr(client, name, None)
    if method is None:
        raise ExchangeError(
            f"{exchange_id}: this ccxt ({getattr(ccxt, '__version__', '?')}) has no {name}() to read the API key's "
            f"permissions; the key cannot be checked, so it is not used",
            exchange=exchange_id,
        )
    try:
        raw = method()
        if inspect.isawaitable(raw):
            raw = await raw
    except ccxt.BaseError as exc:
        raise translate(exc, client, exchange=exchange_id) from None
    return venue.parse_permissions(raw)


def assess(perms: ApiRestrictions, *, exchange_id: str, allow_unrestricted_ip: bool) -> tuple[str, ...]:
    """Return the reasons to refuse a key, one sentence each; empty when the key is acceptable.

    Refused: any permission that moves money off the account (withdrawals, internal transfer,
    universal transfer and exchange-specific ones such as Bybit P2P), a key that cannot read or
    cannot trade spot, and, on a live exchange (not a simulator), a key without an IP
    restriction unless ``allow_unrestricted_ip``. Each sentence says which setting to change and
    where, in the exchange's own words.

    Raises
    ------
    ExchangeError
        Unknown exchange id, or one whose keys cannot be checked; the message names the supported ones.
    """
    venue = _checkable(exchange_id)
    words = venue.words
    assert words is not None
    reasons: list[str] = []
    if perms.can_withdraw:
        reasons.append(f"Withdrawals are enabled on this key: on {words.where}, {words.withdraw}.")
    if perms.can_internal_transfer:
        reasons.append(
            f"Internal transfer (to other accounts or sub-accounts) is enabled on this key: "
            f"on {words.where}, {words.internal}."
        )
    if perms.can_universal_transfer:
        reasons.append(f"Universal transfer is enabled on this key: on {words.where}, {words.universal}.")
    reasons.extend(venue.extra_refusals(perms, words))
    if not perms.can_read:
        reasons.append(f"The key cannot read the account, so the bots could not work: on {words.where}, {words.read}.")
    if not perms.can_trade_spot:
        reasons.append(
            f"The key cannot trade spot, so the bots could not work: enable spot trading on {words.where}: "
            f"{words.trade}."
        )
    if not venue.simulator and not perms.ip_restricted and not allow_unrestricted_ip:
        reasons.append(
            f"The key is not restricted to an IP address, so anyone who steals it can trade from anywhere: "
            f"restrict it to the signer's IP on {words.where}: {words.ip}; or start the signer with "
            f"--allow-unrestricted-ip to accept that risk."
        )
    return tuple(reasons)


def check_key(perms: ApiRestrictions, *, exchange_id: str, allow_unrestricted_ip: bool) -> None:
    """Raise KeyRefused listing every reason :func:`assess` finds; return quietly for a safe key.

    Raises
    ------
    KeyRefused
        With ``reasons`` set to the tuple from :func:`assess`.
    ExchangeError
        Unknown exchange id.
    """
    reasons = assess(perms, exchange_id=exchange_id, allow_unrestricted_ip=allow_unrestricted_ip)
    if reasons:
        listed = "\n".join(f"  {i}. {reason}" for i, reason in enumerate(reasons, 1))
        problems = "1 problem" if len(reasons) == 1 else f"{len(reasons)} problems"
        raise KeyRefused(
            f"the {exchange_id} API key is refused ({problems}):\n{listed}",
            reasons=reasons,
        )
