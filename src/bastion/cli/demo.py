"""``bastion demo``: everything on the embedded default, no configuration.

Starts the local exchange simulator on the bundled BTC/USDT candles with a throwaway key,
trades through the real ccxt client, replays the market until the resting orders fill, and
prints the fills and balances.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from bastion.domain import OrderStatus
from bastion.exchanges.credentials import ApiCredentials

if TYPE_CHECKING:
    from bastion.exchanges.ccxt import CcxtExchange
    from bastion.exchanges.port import OrderSnapshot
    from bastion.exchanges.simulator.process import SimulatorProcess

SYMBOL = "BTC/USDT"


def _order_line(order: OrderSnapshot) -> str:
    price = "market" if order.price is None else f"{order.price}"
    return (
        f"{order.side:4} {order.type.value:6} {order.amount} {SYMBOL.split('/')[0]} @ {price} "
        f"-> {order.status.value} (filled {order.filled}, id {order.exchange_order_id})"
    )


def demo(
    max_candles: int = typer.Option(2000, help="Give up if the limit orders have not filled after this many candles."),
) -> None:
    """Run the demo on the local exchange simulator and recorded BTC/USDT data."""
    from bastion.exchanges.ccxt import CcxtExchange
    from bastion.exchanges.simulator import generate_entry
    from bastion.exchanges.simulator.process import SimulatorProcess

    console = Console(highlight=False, soft_wrap=True)
    entry = generate_entry("demo", {"USDT": "10000"})
    creds = ApiCredentials(entry["api_key"], entry["secret"])
    with (
        tempfile.TemporaryDirectory(prefix="bastion-demo-") as tmp,
        SimulatorProcess(Path(tmp), speed=0, keys=[entry]) as sim,
    ):
        console.print(f"[bold]Simulator[/] {sim.url} replaying recorded BTC/USDT 5m candles (held still)")
        console.print(f"Throwaway key {creds!r} for account 'demo' with 10000 USDT\n")
        exchange = CcxtExchange("simulator", credentials=creds, url=sim.url)
        try:
            _trade(console, exchange, sim, max_candles)
        finally:
            exchange.close()


def _trade(console: Console, exchange: CcxtExchange, sim: SimulatorProcess, max_candles: int) -> None:
    market = exchange.load_markets()[SYMBOL]
    console.print(
        f"{SYMBOL}: tick {market.tick_size}, lot step {market.lot_step}, min notional {market.min_notional} "
        f"{market.quote}, fees maker {market.maker_fee} / taker {market.taker_fee}"
    )
    ticker = exchange.fetch_ticker(SYMBOL)
    console.print(f"Market now: bid {ticker.bid}  ask {ticker.ask}  last {ticker.last}\n")

    bought = exchange.create_order(
        SYMBOL, "buy", "market", None, client_order_id="demo-market-buy", quote_amount=Decimal("500")
    )
    console.print("placed " + _order_line(bought))
    last = ticker.last or bought.average_price or Decimal(0)
    buy_price = market.round_price(last * Decimal("0.997"), "down")
    limit_buy = exchange.create_order(
        SYMBOL,
        "buy",
        "limit",
        market.floor_amount(Decimal("300") / buy_price),
        buy_price,
        client_order_id="demo-limit-buy",
    )
    console.print("placed " + _order_line(limit_buy))
    base_free = exchange.fetch_balance()[market.base].free
    sell_price = market.round_price(last * Decimal("1.003"), "up")
    limit_sell = exchange.create_order(
        SYMBOL, "sell", "limit", market.floor_amount(base_free), sell_price, client_order_id="demo-limit-sell"
    )
    console.print("placed " + _order_line(limit_sell))

    waiting = {limit_buy.exchange_order_id, limit_sell.exchange_order_id}
    candles = 0
    while waiting and candles < max_candles:
        sim.advance(1)
        candles += 1
        for order_id in sorted(waiting):
            state = exchange.fetch_order(SYMBOL, exchange_order_id=order_id)
            if state.status is OrderStatus.FILLED:
                waiting.discard(order_id)
                candle = exchange.fetch_ohlcv(SYMBOL, "5m", limit=1)[-1]
                console.print(
                    f"after {candles:4} candles (low {candle.low}, high {candle.high}) filled " + _order_line(state)
                )
    if waiting:
        console.print(f"[yellow]{len(waiting)} order(s) still open after {candles} candles[/]")

    trades = Table(title="Fills (from the exchange's trade history)")
    for column in ("trade", "order", "side", "price", "amount", "fee", "maker"):
        trades.add_column(column)
    for t in exchange.fetch_my_trades(SYMBOL):
        trades.add_row(
            t.trade_id, t.order_id, t.side, str(t.price), str(t.amount), f"{t.fee} {t.fee_currency}", str(t.is_maker)
        )
    console.print()
    console.print(trades)

    balances = Table(title="Balances")
    for column in ("asset", "free", "locked", "total"):
        balances.add_column(column)
    for currency, b in exchange.fetch_balance().items():
        balances.add_row(currency, str(b.free), str(b.used), str(b.total))
    console.print(balances)
    unknown = sim.unknown()
    console.print(f"Requests to unknown endpoints: {len(unknown)}")
