"""The grid bot: ``decide(view) -> Decision`` over one long-lived deal.

Start
-----
The grid has ``N + 1`` levels and ``N`` intervals; interval ``k`` holds one order at a time,
a buy at level ``k`` or the sell of that buy's base at level ``k + 1``. At start, the level
nearest the current price stays empty (ties: the lower one), as on the hosted grid bots:
every interval below it gets its buy, and every interval above it needs base to sell. That
base is bought with **one market buy at start** (leg ``start``), sized as the sum of those
intervals' amounts; when it has filled, each gets its sell (its share of what was received
after base fees). Base bought at start is inventory, not a grid round trip, so its sells do not
count in ``profit``/``trips``; the engine's deal profit, computed from fills, includes them.

Every interval trades ``investment_quote / grid_count`` of quote at its buy level, floored to
the lot. A buy's sell sells what it received (filled minus base fees, floored to the lot).

Running
-------
A filled buy places the sell one level up; a filled sell books the round trip (sell cost -
sell quote fee - buy cost - buy quote fee) and places the buy one level down. Legs are
``L<level>.b.<cycle>`` and ``L<level>.s.<cycle>``, the cycle counting the buys (sells) placed at
that level so far (kept in the deal state), so a re-placed level always has a new leg. An order
that ends without filling (cancelled by hand, rejected, expired) leaves its interval idle rather
than re-trying (a buy that filled in part still gets its sell). A price outside the range at
start is allowed: below it every interval sells base bought at start, above it every one buys.

Trailing: when the last price is above the top level (``trailing_up``) or below the bottom
(``trailing_down``), the grid shifts one level that way per decision: the far interval's order
is cancelled and, once the cancel is confirmed, what it held moves to a new interval on the near
side (quote as a buy at its lower level, base as a sell at its upper level).

Stop: see :mod:`bastion.bots.grid._stop`. A grid that has closed its deal does not start again.

Watch: the stop-loss and take-profit prices, and one tick beyond each trailing edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bastion.bots.grid import _stop
from bastion.bots.grid._cycle import advance, allocate_start, complete_shift, maybe_trail
from bastion.bots.grid._state import START, GridState
from bastion.bots.grid._turn import Turn
from bastion.bots.grid.config import GridConfig
from bastion.bots.grid.levels import Ladder
from bastion.bots.interface import BotView, Decision, OpenDeal, OrderRole, PlaceOrder, PriceView, SaveState, Watch
from bastion.domain import Market, OrderType

__all__ = ["GridBot"]

_REF = "grid"


class GridBot:
    """A grid bot. Pure: it reads only the view, and the same view gives the same decision.

    Parameters
    ----------
    config
        Its configuration (checked against the markets with :meth:`GridConfig.check_markets`
        when the bot is created).
    """

    __slots__ = ("_config", "_ladder", "_saved")

    def __init__(self, config: GridConfig) -> None:
        self._config = config
        self._ladder: tuple[Market, Ladder] | None = None
        # The state values this bot last saved and what reading them back gives: when the deal's
        # state is exactly those values (the usual case), it is not parsed again. A cache only.
        self._saved: tuple[dict[str, str], GridState] | None = None

    def _load(self, values: Mapping[str, str]) -> tuple[GridState, dict[str, str]]:
        saved = self._saved
        if saved is not None and values == saved[0]:
            return saved[1].copy(), saved[0]
        state = GridState.load(values, self._config.grid_count)
        return state, state.unsorted_values()

    def _ladder_on(self, market: Market) -> Ladder:
        # The same rules give the same ladder: its level prices are computed once per market object.
        cached = self._ladder
        if cached is None or cached[0] is not market:
            cached = self._ladder = (market, self._config.ladder(market))
        return cached[1]

    @property
    def name(self) -> str:
        """The bot's unique name."""
        return self._config.name

    @property
    def config(self) -> GridConfig:
        """Its configuration."""
        return self._config

    def decide(self, view: BotView) -> Decision:
        """Return the grid's decision for this view (see the module docstring)."""
        config = self._config
        market = view.markets.get(config.pair)
        price = view.prices.get(config.pair)
        if market is None or price is None:
            return Decision(notes=(f"waiting: no market rules or price for {config.pair}",))
        deal = next((d for d in view.deals if d.pair == config.pair), None)
        if deal is None:
            if view.closed_deals > 0:
                return Decision(notes=("grid finished: it does not start again",))
            return self._start(market, price)
        state, saved = self._load(deal.state)
        turn = Turn(
            config=config,
            market=market,
            ladder=self._ladder_on(market),
            price=price,
            deal=deal,
            state=state,
            saved=saved,
            view_balance=view.balances.get(market.base),
        )
        decision = self._turn(turn)
        if turn.emitted is not None:
            self._saved = (dict(turn.emitted), turn.state.reloaded())
        return decision

    def _turn(self, turn: Turn) -> Decision:
        state = turn.state
        if state.phase != "running":
            return _stop.proceed(turn)
        reason = _stop.stop_reason(turn)
        if reason is not None:
            return _stop.begin(turn, reason)
        shifted = complete_shift(turn)
        allocate_start(turn)
        for interval in list(state.window):
            if interval not in turn.touched:
                advance(turn, interval)
        if not shifted:
            maybe_trail(turn)
        return turn.decision(self._watch(turn))

    def _start(self, market: Market, price: PriceView) -> Decision:
        config = self._config
        ladder = self._ladder_on(market)
        count = config.grid_count
        levels = [ladder.price(i) for i in range(count + 1)]
        empty = min(range(count + 1), key=lambda i: (abs(levels[i] - price.last), i))
        state = GridState(count=count)
        orders: list[PlaceOrder] = []
        start_amount = Decimal(0)
        for interval in range(count):
            amount = ladder.amount(interval)
            if interval >= empty:
                state.slots[interval] = START
                start_amount += amount
                continue
            leg = state.next_leg(interval, "buy")
            state.slots[interval] = leg
            orders.append(
                PlaceOrder(
                    deal=_REF,
                    leg=leg,
                    role=OrderRole.GRID,
                    symbol=config.pair,
                    side="buy",
                    type=OrderType.LIMIT,
                    amount=amount,
                    price=levels[interval],
                )
            )
        if start_amount > 0:
            orders.insert(
                0,
                PlaceOrder(
                    deal=_REF,
                    leg="start",
                    role=OrderRole.ENTRY,
                    symbol=config.pair,
                    side="buy",
                    type=OrderType.MARKET,
                    amount=start_amount,
                ),
            )
        buys = count - len([s for s in state.slots.values() if s == START])
        return Decision(
            actions=(
                OpenDeal(ref=_REF, pair=config.pair, direction="long"),
                *orders,
                SaveState(deal=_REF, values=state.values()),
            ),
            watch=self._watch_levels(market, levels[0], levels[-1]),
            notes=(
                f"grid started at {price.last}: {buys} buys, {count - buys} sells after a start buy of "
                f"{start_amount} {market.base}",
            ),
        )

    def _watch(self, turn: Turn) -> tuple[Watch, ...]:
        state = turn.state
        return self._watch_levels(turn.market, turn.ladder.price(state.lo), turn.ladder.price(state.lo + state.count))

    def _watch_levels(self, market: Market, bottom: Decimal, top: Decimal) -> tuple[Watch, ...]:
        config = self._config
        watch = []
        if config.stop_loss_price is not None or config.take_profit_price is not None:
            watch.append(Watch(symbol=config.pair, above=config.take_profit_price, below=config.stop_loss_price))
        if config.trailing_up:
            watch.append(Watch(symbol=config.pair, above=top + market.tick_size))
        if config.trailing_down:
            watch.append(Watch(symbol=config.pair, below=bottom - market.tick_size))
        return tuple(watch)
