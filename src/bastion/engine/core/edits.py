"""Which config fields a running bot may change (``bastion bot edit``).

A field in :data:`LIVE_FIELDS` applies to the orders the bot places from now on, so it may change
at any time. Any other field shapes the deals already open (their pair, direction, levels, entry),
so it may change only while the bot has no open deal. ``name``, ``type`` and ``account`` never
change: they identify the bot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["FIXED_FIELDS", "LIVE_FIELDS", "changed_fields", "refused_fields"]

FIXED_FIELDS = frozenset({"name", "type", "account"})

LIVE_FIELDS: Mapping[str, frozenset[str]] = {
    "dca": frozenset(
        {
            "base_order_size",
            "base_order_type",
            "safety_order_size",
            "max_safety_orders",
            "active_safety_orders",
            "price_deviation_pct",
            "safety_order_step_scale",
            "safety_order_volume_scale",
            "take_profit_pct",
            "take_profit_type",
            "take_profit_steps",
            "trailing_enabled",
            "trailing_deviation_pct",
            "stop_loss_pct",
            "stop_loss_type",
            "stop_loss_timeout_s",
            "start_condition",
            "max_active_deals",
            "cooldown_s",
        }
    ),
    "grid": frozenset({"stop_loss_price", "take_profit_price", "on_stop", "trailing_up", "trailing_down"}),
    "smart_trade": frozenset({"take_profit", "stop_loss"}),
    "signal": frozenset(
        {
            "directions",
            "order_size",
            "order_currency",
            "max_order_size",
            "max_lag_s",
            "take_profit_pct",
            "stop_loss_pct",
            "max_active_deals",
        }
    ),
}


def changed_fields(old: Any, new: Any) -> list[str]:
    """Return the names of the config fields whose values differ, in declaration order."""
    return [f.name for f in dataclasses.fields(old) if getattr(old, f.name) != getattr(new, f.name, None)]


def refused_fields(kind: str, changed: list[str], *, deals_open: bool) -> list[str]:
    """Return the changed fields this edit may not change now (empty: the edit is allowed)."""
    fixed = [name for name in changed if name in FIXED_FIELDS]
    if fixed or not deals_open:
        return fixed
    live = LIVE_FIELDS.get(kind, frozenset())
    return [name for name in changed if name not in live]
