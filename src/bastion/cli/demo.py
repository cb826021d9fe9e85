"""``bastion demo``: everything on the embedded default, no configuration.

In a throwaway home: starts the local exchange simulator on the bundled BTC/USDT candles, creates
a vault (production Argon2id parameters, a generated passphrase), starts the real signer process,
hands it a throwaway key (it checks the key's permissions, seals and stores it), allows BTC/USDT,
then trades through the signer only: market data comes from public calls, every order passes the
policy firewall and the audit log. It shows one order the firewall refuses, replays the market
until the resting orders fill, prints fills and balances, reconciles the exchange's orders with
the audit log (no foreign order), stops the signer and verifies the signed audit log.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from bastion.errors import SignerRefused

if TYPE_CHECKING:
    from bastion.custody.signer import SignerClient
    from bastion.domain import Market
    from bastion.exchanges.ccxt import CcxtExchange
    from bastion.exchanges.simulator.process import SimulatorProcess

SYMBOL = "BTC/USDT"
ACCOUNT = "demo"


def _order_line(order: dict[str, Any]) -> str:
    price = "market" if order["price"] is None else order["price"]
    return (
        f"{order['side']:4} {order['type']:6} {order['amount']} {SYMBOL.split('/')[0]} @ {price} "
        f"-> {order['status']} (filled {order['filled']}, id {order['exchange_order_id']})"
    )


def _start_signer(env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bastion", "signer"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "signer ready" not in line:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise RuntimeError(f"the signer did not start: {err.strip() or line.strip()}")
    return process


def demo(
    max_candles: int = typer.Option(2000, help="Give up if the limit orders have not filled after this many candles."),
) -> None:
    """Run the demo: simulator, vault, signer and policy firewall, on recorded BTC/USDT data."""
    from bastion.custody.audit import verify
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import SignerClient
    from bastion.exchanges.ccxt import CcxtExchange
    from bastion.exchanges.simulator import generate_entry
    from bastion.exchanges.simulator.process import SimulatorProcess
    from bastion.services.vault import create_vault

    console = Console(highlight=False, soft_wrap=True)
    entry = generate_entry(ACCOUNT, {"USDT": "10000"})
    passphrase = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="bastion-demo-") as tmp:
        home = Path(tmp) / "home"
        layout = HomeLayout(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        env.update({"BASTION_HOME": str(home), "BASTION_PASSPHRASE": passphrase})
        os.environ["BASTION_HOME"] = str(home)
        os.environ.pop("BASTION_DATABASE_URL", None)
        os.environ.pop("BASTION_KDF_PROFILE", None)
        with SimulatorProcess(Path(tmp), speed=0, keys=[entry]) as sim:
            console.print(f"[bold]Simulator[/] {sim.url} replaying recorded BTC/USDT 5m candles (held still)")
            created = create_vault(layout, passphrase)
            console.print(f"[bold]Vault[/] {created.header} ({created.kdf}); audit key {created.public_key[:16]}…")
            signer_process = _start_signer(env)
            console.print(f"[bold]Signer[/] pid {signer_process.pid} on {layout.socket} (mode 0600, same uid only)")
            public = CcxtExchange("simulator", url=sim.url)  # public market data: no key in this process
            try:
                with SignerClient(layout.socket, timeout=60) as signer:
                    added = signer.call(
                        "keys_add",
                        account=ACCOUNT,
                        exchange="simulator",
                        url=sim.url,
                        api_key=entry["api_key"],
                        secret=entry["secret"],
                        passphrase=passphrase,
                    )
                    entry.clear()
                    console.print(
                        f"Key ****{added['key_hint']} ({added['fingerprint']}) checked (no withdrawal or transfer "
                        "permission), sealed and stored; only the signer holds it in clear"
                    )
                    signer.call("policy_set", account=ACCOUNT, changes={"pairs": [SYMBOL]}, passphrase=passphrase)
                    console.print(f"Policy: {SYMBOL} allowed; max 1000 USDT per order, 10000 per 24 h, 2 % deviation\n")
                    _trade(console, public, signer, sim, max_candles)
            finally:
                public.close()
                signer_process.terminate()
                signer_process.wait(timeout=30)
        result = verify(layout.audit_log, layout.public_key.read_text().strip())
        console.print(
            f"Audit log {'intact' if result else 'FAILED'}: {result.entries} entries, head signed by the signer's "
            f"Ed25519 key (bastion audit verify)"
        )


def _place(signer: SignerClient, **order: Any) -> dict[str, Any]:
    return signer.call("place_order", account=ACCOUNT, symbol=SYMBOL, **order)


def _trade(
    console: Console, public: CcxtExchange, signer: SignerClient, sim: SimulatorProcess, max_candles: int
) -> None:
    market: Market = public.load_markets()[SYMBOL]
    console.print(
        f"{SYMBOL}: tick {market.tick_size}, lot step {market.lot_step}, min notional {market.min_notional} "
        f"{market.quote}, fees maker {market.maker_fee} / taker {market.taker_fee}"
    )
    ticker = public.fetch_ticker(SYMBOL)
    console.print(f"Market now: bid {ticker.bid}  ask {ticker.ask}  last {ticker.last}\n")
    last = ticker.last or Decimal(0)

    pumped = market.round_price(last * Decimal("1.09"), "up")
    try:
        _place(signer, side="buy", type="limit", amount="0.01", price=pumped, client_order_id="demo-pumped")
    except SignerRefused as refused:
        console.print(f"[yellow]refused by the signer's policy[/] buy @ {pumped} (+9 %): {refused}")

    bought = _place(signer, side="buy", type="market", quote_amount="500", client_order_id="demo-market-buy")
    console.print("placed " + _order_line(bought))
    buy_price = market.round_price(last * Decimal("0.997"), "down")
    limit_buy = _place(
        signer,
        side="buy",
        type="limit",
        amount=market.floor_amount(Decimal("300") / buy_price),
        price=buy_price,
        client_order_id="demo-limit-buy",
    )
    console.print("placed " + _order_line(limit_buy))
    base_free = Decimal(signer.call("balances", account=ACCOUNT)[market.base]["free"])
    sell_price = market.round_price(last * Decimal("1.003"), "up")
    limit_sell = _place(
        signer,
        side="sell",
        type="limit",
        amount=market.floor_amount(base_free),
        price=sell_price,
        client_order_id="demo-limit-sell",
    )
    console.print("placed " + _order_line(limit_sell))

    waiting = {limit_buy["exchange_order_id"], limit_sell["exchange_order_id"]}
    candles = 0
    while waiting and candles < max_candles:
        sim.advance(1)
        candles += 1
        for order_id in sorted(waiting):
            state = signer.call("get_order", account=ACCOUNT, symbol=SYMBOL, exchange_order_id=order_id)
            if state["status"] == "filled":
                waiting.discard(order_id)
                candle = public.fetch_ohlcv(SYMBOL, "5m", limit=1)[-1]
                console.print(
                    f"after {candles:4} candles (low {candle.low}, high {candle.high}) filled " + _order_line(state)
                )
    if waiting:
        console.print(f"[yellow]{len(waiting)} order(s) still open after {candles} candles[/]")

    trades = Table(title="Fills (from the exchange's trade history, through the signer)")
    for column in ("trade", "order", "side", "price", "amount", "fee", "maker"):
        trades.add_column(column)
    for t in signer.call("my_trades", account=ACCOUNT, symbol=SYMBOL):
        trades.add_row(
            t["trade_id"],
            t["order_id"],
            t["side"],
            t["price"],
            t["amount"],
            f"{t['fee']} {t['fee_currency']}",
            str(t["is_maker"]),
        )
    console.print()
    console.print(trades)

    balances = Table(title="Balances")
    for column in ("asset", "free", "locked", "total"):
        balances.add_column(column)
    for currency, b in signer.call("balances", account=ACCOUNT).items():
        balances.add_row(currency, b["free"], b["used"], b["total"])
    console.print(balances)
    [check] = signer.call("keys_check", account=ACCOUNT)
    console.print(
        f"Leak check: {len(check['foreign_orders'])} order(s) on the exchange that Bastion did not send; "
        f"account state {check['state']}"
    )
    console.print(f"Requests to unknown endpoints: {len(sim.unknown())}")
