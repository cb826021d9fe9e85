"""What a bot sees of the core's deals and orders: frozen views, rebuilt only where an order changed."""

from __future__ import annotations

from bastion.bots.interface import DealView
from bastion.engine.core.deal_cache import order_view
from bastion.engine.core.state import DealState, OrderEntry

__all__ = ["deal_view", "order_view"]


def deal_view(deal: DealState, orders: dict[str, OrderEntry]) -> DealView:
    """The deal with its orders in placing order, as the bot sees it."""
    return deal.cache.deal_view(deal, orders)
