"""A tradable market and the rounding rules that come with it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Any, Literal

from bastion.domain.money import Price, Qty, to_decimal
from bastion.errors import MarketRuleError, ValidationError

__all__ = ["Market", "Side"]

Side = Literal["buy", "sell"]

_ONE = Decimal(1)
_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


def _opt(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    # ccxt reports market numbers as float; their repr is the exchange's decimal string.
    return to_decimal(repr(value) if isinstance(value, float) else value, what=what)


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """A spot market with its tick size, lot step, limits and fees (all Decimal)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_step: Decimal
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_step"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value <= 0:
                raise ValidationError(f"{self.symbol}: {name} must be a positive Decimal, got {value!r}")

    @classmethod
    def from_ccxt(cls, market: dict[str, Any]) -> Market:
        """Build a Market from a ccxt unified market (precision mode TICK_SIZE).

        Parameters
        ----------
        market
            One value of ``exchange.markets`` after ``load_markets()``.
        """
        symbol = market.get("symbol") or "?"
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        tick = _opt(precision.get("price"), f"{symbol} precision.price")
        step = _opt(precision.get("amount"), f"{symbol} precision.amount")
        if tick is None or step is None:
            raise ValidationError(f"{symbol}: ccxt market has no price/amount precision: {precision!r}")
        amount_limits = limits.get("amount") or {}
        price_limits = limits.get("price") or {}
        cost_limits = limits.get("cost") or {}
        return cls(
            symbol=symbol,
            base=market["base"],
            quote=market["quote"],
            tick_size=tick,
            lot_step=step,
            min_amount=_opt(amount_limits.get("min"), f"{symbol} limits.amount.min"),
            max_amount=_opt(amount_limits.get("max"), f"{symbol} limits.amount.max"),
            min_price=_opt(price_limits.get("min"), f"{symbol} limits.price.min"),
            max_price=_opt(price_limits.get("max"), f"{symbol} limits.price.max"),
            min_notional=_opt(cost_limits.get("min"), f"{symbol} limits.cost.min"),
            max_notional=_opt(cost_limits.get("max"), f"{symbol} limits.cost.max"),
            maker_fee=_opt(market.get("maker"), f"{symbol} maker") or Decimal(0),
            taker_fee=_opt(market.get("taker"), f"{symbol} taker") or Decimal(0),
        )

    # --- rounding -------------------------------------------------------------------------

    def round_price(self, price: object, mode: Literal["nearest", "down", "up"] = "nearest") -> Price:
        """Round ``price`` to a multiple of the tick size.

        ``down`` suits a buy (never pay more than asked), ``up`` a sell.
        """
        value = price if type(price) is Decimal and price.is_finite() else None
        if value is None:
            value = to_decimal(price, what=f"{self.symbol} price")
        ticks = (value / self.tick_size).quantize(_ONE, rounding=_ROUNDING[mode])
        return Price(ticks * self.tick_size)

    def floor_amount(self, amount: object) -> Qty:
        """Floor ``amount`` to a multiple of the lot step (never more than was asked)."""
        value = amount if type(amount) is Decimal and amount.is_finite() else None
        if value is None:
            value = to_decimal(amount, what=f"{self.symbol} amount")
        steps = (value / self.lot_step).quantize(_ONE, rounding=ROUND_DOWN)
        return Qty(steps * self.lot_step)

    # --- checks ---------------------------------------------------------------------------

    def check_price(self, price: Decimal) -> None:
        """Raise MarketRuleError unless ``price`` is on the tick grid and within limits."""
        if price <= 0:
            raise MarketRuleError(
                f"{self.symbol}: price {price} must be positive", rule="price_positive", symbol=self.symbol
            )
        if price % self.tick_size != 0:
            raise MarketRuleError(
                f"{self.symbol}: price {price} is not a multiple of the tick size {self.tick_size}",
                rule="tick_size",
                symbol=self.symbol,
            )
        if self.min_price is not None and price < self.min_price:
            raise MarketRuleError(
                f"{self.symbol}: price {price} is below the minimum price {self.min_price}",
                rule="min_price",
                symbol=self.symbol,
            )
        if self.max_price is not None and price > self.max_price:
            raise MarketRuleError(
                f"{self.symbol}: price {price} is above the maximum price {self.max_price}",
                rule="max_price",
                symbol=self.symbol,
            )

    def check_amount(self, amount: Decimal) -> None:
        """Raise MarketRuleError unless ``amount`` is on the lot grid and within limits."""
        if amount <= 0:
            raise MarketRuleError(
                f"{self.symbol}: amount {amount} must be positive", rule="amount_positive", symbol=self.symbol
            )
        if amount % self.lot_step != 0:
            raise MarketRuleError(
                f"{self.symbol}: amount {amount} is not a multiple of the lot step {self.lot_step}",
                rule="lot_step",
                symbol=self.symbol,
            )
        if self.min_amount is not None and amount < self.min_amount:
            raise MarketRuleError(
                f"{self.symbol}: amount {amount} is below the minimum amount {self.min_amount}",
                rule="min_amount",
                symbol=self.symbol,
            )
        if self.max_amount is not None and amount > self.max_amount:
            raise MarketRuleError(
                f"{self.symbol}: amount {amount} is above the maximum amount {self.max_amount}",
                rule="max_amount",
                symbol=self.symbol,
            )

    def check_notional(self, price: Decimal, amount: Decimal) -> None:
        """Raise MarketRuleError unless ``price * amount`` is within the notional limits."""
        notional = price * amount
        if self.min_notional is not None and notional < self.min_notional:
            raise MarketRuleError(
                f"{self.symbol}: order value {notional} {self.quote} ({amount} x {price}) is below "
                f"the minimum notional {self.min_notional} {self.quote}",
                rule="min_notional",
                symbol=self.symbol,
            )
        if self.max_notional is not None and notional > self.max_notional:
            raise MarketRuleError(
                f"{self.symbol}: order value {notional} {self.quote} is above the maximum notional "
                f"{self.max_notional} {self.quote}",
                rule="max_notional",
                symbol=self.symbol,
            )

    def check_order(self, price: Decimal, amount: Decimal) -> None:
        """Check price, amount and notional together."""
        self.check_price(price)
        self.check_amount(amount)
        self.check_notional(price, amount)

    def fee_rate(self, *, maker: bool) -> Decimal:
        """Return the maker or taker fee rate."""
        return self.maker_fee if maker else self.taker_fee
