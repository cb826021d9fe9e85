"""The fields of a deal as ``bastion deal list --json`` and ``bastion backtest --json`` show it.

A module of its own, importing nothing, so a backtest can name them without loading storage.
"""

from __future__ import annotations

__all__ = ["DEAL_FIELDS"]

DEAL_FIELDS = (
    "id",
    "bot",
    "pair",
    "status",
    "direction",
    "base_order_price",
    "safety_orders_filled",
    "avg_price",
    "take_profit_price",
    "close_price",
    "amount",
    "profit_quote",
    "opened_at",
    "closed_at",
)
