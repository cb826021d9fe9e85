"""How to revoke an exchange API key by hand: the steps ``bastion panic`` and the leak alerts print.

Bastion cannot delete a key for you: no key-management endpoint is on the signer's allowlist
(and Bybit, for one, lets a key delete itself only when it holds a transfer or withdrawal
permission, which Bastion refuses). The steps of each exchange live in its module of :mod:`bastion.exchanges.venues`
and follow its public help pages.
"""

from __future__ import annotations

import re

from bastion.exchanges.venues import find_venue
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE

__all__ = ["revoke_instructions"]

_SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def _website(exchange_id: str) -> str | None:
    try:
        import ccxt

        if exchange_id not in ccxt.exchanges:
            return None
        www = getattr(ccxt, exchange_id)().urls.get("www")
    except Exception:  # a ccxt class that cannot even be built offline: no URL, the steps stay valid
        return None
    return www if isinstance(www, str) and www.startswith("https://") else None


def _generic(exchange_id: str) -> tuple[str, ...]:
    name = exchange_id if _SAFE_ID.match(exchange_id) else "the exchange"
    website = _website(exchange_id) if name != "the exchange" else None
    where = f"{name}'s website ({website})" if website else f"{name}'s website"
    return (
        f"Log in on {where} and open its API key management page (usually under Account, Security or API Management).",
        "Find the key by its last four characters (Bastion shows ****abcd), delete it and confirm; deleting is "
        "final, disabling or editing is not enough.",
        CANCEL,
        CHECK,
        RECREATE.format(perms="read and spot-trading permissions", ip="the key's IP restriction or whitelist"),
    )


def revoke_instructions(exchange_id: str) -> tuple[str, ...]:
    """Return numbered steps to delete an API key on ``exchange_id`` and check what it did.

    Every exchange with a module in :mod:`bastion.exchanges.venues` gets its own steps (pages,
    buttons, where to look for orders); any other id gets generic steps naming the exchange's
    website when ccxt knows it.

    Parameters
    ----------
    exchange_id
        A Bastion exchange id such as ``"binance"`` or ``"simulator"``, or another ccxt id.
    """
    venue = find_venue(exchange_id)
    steps = venue.revoke_steps if venue is not None and venue.revoke_steps else _generic(exchange_id)
    return tuple(f"{i}. {step}" for i, step in enumerate(steps, 1))
