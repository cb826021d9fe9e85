"""The firewall's answer: :class:`Allowed` or :class:`Denied`, and the rule names."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["RULES", "Allowed", "Decision", "Denied", "Rule"]


class Rule(enum.StrEnum):
    """Stable names of the rules a denial can cite (stored in the audit log: never rename)."""

    STATE_HALTED = "state_halted"
    BAD_REQUEST = "bad_request"
    PAIR_NOT_ALLOWED = "pair_not_allowed"
    STATE_REDUCING = "state_reducing"
    REFERENCE_INVALID = "reference_invalid"
    REFERENCE_STALE = "reference_stale"
    MIN_VOLUME_24H = "min_volume_24h"
    MAX_DEVIATION = "max_deviation"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    MAX_DAILY_NOTIONAL = "max_daily_notional"
    MAX_ORDERS_PER_MINUTE = "max_orders_per_minute"


RULES: frozenset[str] = frozenset(rule.value for rule in Rule)


@dataclass(frozen=True, slots=True, kw_only=True)
class Allowed:
    """The order passed every rule. Call ``record_sent`` once it has been sent.

    Parameters
    ----------
    client_order_id
        The request's client order id.
    quote
        The quote currency the notional is in.
    expected_price
        The limit price, or for a market order the best ask (buy) / best bid (sell), or the
        reference price when the book side is unknown.
    notional
        The order's value in ``quote``; this is what ``record_sent`` adds to the daily total.
    """

    client_order_id: str
    quote: str
    expected_price: Decimal
    notional: Decimal

    @property
    def allowed(self) -> bool:
        """Return True."""
        return True

    @property
    def halted_now(self) -> bool:
        """Return False: an allowed order never halts the account."""
        return False

    @property
    def alert(self) -> None:
        """Return None: an allowed order raises no alert."""
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Denied:
    """The order broke a rule; the signer turns this into an ``OrderDenied`` audit entry.

    Parameters
    ----------
    rule
        One of :data:`RULES`.
    message
        Starts with the rule name and says what was compared, e.g. ``"max_deviation: buy limit
        270.00 is 35.00 % above the reference 200.00; the limit is 2 %"``.
    compared_values
        The values the rule compared, as strings.
    halted_now
        True when this denial completed a burst and HALTED the account.
    alert
        When ``halted_now``, a notification text for the user; else None.
    """

    rule: Rule
    message: str
    compared_values: dict[str, str] = field(default_factory=dict)
    halted_now: bool = False
    alert: str | None = None

    @property
    def allowed(self) -> bool:
        """Return False."""
        return False


Decision = Allowed | Denied
