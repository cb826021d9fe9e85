"""Deterministic client order ids: (bot, deal, leg, attempt) -> the id the exchange sees.

Deciding twice on the same view yields the same leg names, so the same ids: a retry after a
lost answer finds the order already placed instead of placing a second one.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from bastion.errors import ValidationError

__all__ = ["MAX_CLIENT_ID", "client_order_id"]

#: Binance's limit (``^[.A-Z:/a-z0-9_-]{1,36}$``); other exchanges allow at least as much.
MAX_CLIENT_ID = 36
_ALLOWED = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
_LEG = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@lru_cache(maxsize=4096)  # pure; a backtest asks for the same ids again and again (place, then cancel)
def client_order_id(bot_id: int, deal_id: int, leg: str, attempt: int = 0) -> str:
    """Return the client order id of a bot's order.

    ``b<bot>-<deal>-<leg>`` (``-r<attempt>`` after a rejected first attempt); a leg too long
    for the exchange's 36 characters is replaced by a stable 12-hex digest of it.

    Raises
    ------
    ValidationError
        A negative id or attempt, or a leg with characters an exchange would refuse.
    """
    if bot_id < 1 or deal_id < 1 or attempt < 0:
        raise ValidationError(f"bot id, deal id must be >= 1 and attempt >= 0; got {bot_id}, {deal_id}, {attempt}")
    if not _LEG.match(leg):
        raise ValidationError(f"leg {leg!r} must be 1-64 letters, digits or . _ : -")
    suffix = f"-r{attempt}" if attempt else ""
    cid = f"b{bot_id}-{deal_id}-{leg}{suffix}"
    if len(cid) > MAX_CLIENT_ID or not _ALLOWED.match(cid):
        digest = hashlib.sha256(f"{leg}{suffix}".encode()).hexdigest()[:12]
        cid = f"b{bot_id}-{deal_id}-{digest}"
    return cid
