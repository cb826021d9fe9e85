"""Deal and order queries: ``deal list``, ``deal show`` and ``order list`` (read-only).

Rows are plain dicts of the fields named by :data:`DEAL_FIELDS` and :data:`ORDER_FIELDS`, with
Decimals, datetimes and enums as they are; the caller formats them (table or JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bastion.errors import ValidationError
from bastion.services._db import session
from bastion.services.deal_fields import DEAL_FIELDS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bastion.storage.records import DealRecord

__all__ = ["DEAL_FIELDS", "LISTED_DEAL_FIELDS", "ORDER_FIELDS", "deal_rows", "deal_state", "order_rows", "show_deal"]

#: ``deal list`` adds ``mode``: PAPER for a paper account's deals, live otherwise.
LISTED_DEAL_FIELDS = (*DEAL_FIELDS, "mode")

ORDER_FIELDS = (
    "client_order_id",
    "exchange_order_id",
    "bot",
    "deal",
    "pair",
    "side",
    "type",
    "price",
    "amount",
    "filled",
    "status",
)


def _bot_ids(s: Session, bot: str | None) -> tuple[dict[int, str], int | None]:
    from bastion.storage import BotRepository

    bots = {b.id: b.name for b in BotRepository(s).all()}
    if bot is None:
        return bots, None
    bot_id = next((i for i, n in bots.items() if n == bot), None)
    if bot_id is None:
        raise ValidationError(f"no bot named {bot!r}")
    return bots, bot_id


def _deal_row(deal: DealRecord, bots: dict[int, str], paper: set[int] | None = None) -> dict[str, Any]:
    row = {**{f: getattr(deal, f, None) for f in DEAL_FIELDS if f != "bot"}, "bot": bots.get(deal.bot_id)}
    return {**row, "mode": "PAPER" if paper is not None and deal.bot_id in paper else "live"}


def _paper_bots(s: Session) -> set[int]:
    from bastion.storage import AccountRepository, BotRepository

    paper = {a.id for a in AccountRepository(s).all() if a.paper}
    return {b.id for b in BotRepository(s).all() if b.account_id in paper}


def deal_rows(bot: str | None = None) -> list[dict[str, Any]]:
    """Return the deals (of one bot, or all) as rows with :data:`DEAL_FIELDS`.

    Raises
    ------
    ValidationError
        ``bot`` names no bot.
    """
    from bastion.storage import DealRepository

    with session() as s:
        bots, bot_id = _bot_ids(s, bot)
        paper = _paper_bots(s)
        return [_deal_row(d, bots, paper) for d in DealRepository(s).all(bot_id=bot_id)]


def show_deal(deal_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return one deal's row and its orders' rows.

    Raises
    ------
    ValidationError
        No deal with this id.
    """
    from bastion.storage import DealRepository

    with session() as s:
        deal = DealRepository(s).get(deal_id)
        if deal is None:
            raise ValidationError(f"no deal with id {deal_id}; `bastion deal list` shows them")
        bots, _ = _bot_ids(s, None)
        row = _deal_row(deal, bots, _paper_bots(s))
        orders = [o for o in _orders(s, deal.bot_id, bots) if o["deal"] == deal_id]
    return row, orders


def order_rows(bot: str | None = None) -> list[dict[str, Any]]:
    """Return the bots' orders (of one bot, or all) as rows with :data:`ORDER_FIELDS`.

    Raises
    ------
    ValidationError
        ``bot`` names no bot.
    """
    with session() as s:
        bots, bot_id = _bot_ids(s, bot)
        return _orders(s, bot_id, bots)


def _orders(s: Session, bot_id: int | None, bots: dict[int, str]) -> list[dict[str, Any]]:
    from bastion.storage import OrderRepository

    return [
        {
            "client_order_id": o.client_order_id,
            "exchange_order_id": o.exchange_order_id,
            "bot": bots.get(b) if b is not None else None,
            "deal": d,
            "pair": o.symbol,
            "side": o.side,
            "type": o.type.value,
            "price": o.price,
            "amount": o.amount,
            "filled": o.filled,
            "status": o.status.value,
        }
        for o, b, d, _leg in OrderRepository(s).for_bot(bot_id)
    ]


def deal_state(deal_id: int) -> dict[str, str]:
    """Return the values a bot saved for one deal (a grid's ``trips`` and ``profit``)."""
    from bastion.storage import DealRepository

    with session() as s:
        return DealRepository(s).state(deal_id)
