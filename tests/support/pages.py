"""Bots and deals stored straight in the web app's database, for the page tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bastion.storage import AccountRepository, BotRepository, DealRepository
from bastion.storage.records import DealRecord, DealStatus
from support.webapp import WebApp

__all__ = ["bot_with_deal"]

DCA = """
name = "{name}"
type = "dca"
account = "{account}"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 2
price_deviation_pct = "1"
take_profit_pct = "1"
"""


def bot_with_deal(web: WebApp, name: str, account: str, *, profit: str | None = None) -> int:
    """Store a DCA bot of ``account`` and one deal of it (open, or closed with ``profit``); return the deal id."""
    with web.sessions.begin() as s:
        record = AccountRepository(s).get(account)
        assert record is not None
        account_id = record.id
        bot = BotRepository(s).create(
            name, type="dca", account_id=account_id, config_toml=DCA.format(name=name, account=account), enabled=False
        )
        status = DealStatus.OPEN if profit is None else DealStatus.CLOSED
        deal = DealRepository(s).save(
            DealRecord(
                bot_id=bot.id,
                pair="BTC/USDT",
                status=status,
                avg_price=Decimal("16500.5"),
                amount=Decimal("0.0012"),
                cost_quote=Decimal("19.8"),
                opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                profit_quote=None if profit is None else Decimal(profit),
                closed_at=None if profit is None else datetime(2026, 1, 2, tzinfo=UTC),
            )
        )
        assert deal.id is not None
        return deal.id
