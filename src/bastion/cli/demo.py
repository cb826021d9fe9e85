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
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

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
#: The second account, on the simulator's KuCoin flavor (the real ccxt kucoin client, a key with a passphrase).
KUCOIN_ACCOUNT = "demo-kucoin"
KUCOIN = "simulator-kucoin"


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
    max_candles: int = typer.Option(600, help="How many recorded 5-minute candles to replay (600 = ~2 days)."),
) -> None:
    """Run the demo: simulators (Binance and KuCoin flavors), vault, signer, engine with a DCA and a grid bot
    on the first and a DCA bot on the second, on recorded BTC/USDT data; then the portfolio across both."""
    from bastion.custody.audit import verify
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import SignerClient
    from bastion.exchanges.ccxt import CcxtExchange
    from bastion.exchanges.simulator import generate_entry
    from bastion.exchanges.simulator.process import SimulatorProcess
    from bastion.services.vault import create_vault

    console = Console(highlight=False, soft_wrap=True)
    entry = generate_entry(ACCOUNT, {"USDT": "10000"})
    kucoin_entry = generate_entry(KUCOIN_ACCOUNT, {"USDT": "3000"}, passphrase=True)
    passphrase = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="bastion-demo-") as tmp:
        home = Path(tmp) / "home"
        layout = HomeLayout(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        env.update({"BASTION_HOME": str(home), "BASTION_PASSPHRASE": passphrase})
        os.environ["BASTION_HOME"] = str(home)
        os.environ.pop("BASTION_DATABASE_URL", None)
        os.environ.pop("BASTION_KDF_PROFILE", None)
        with (
            SimulatorProcess(Path(tmp) / "binance", speed=0, keys=[entry]) as sim,
            SimulatorProcess(
                Path(tmp) / "kucoin", speed=0, keys=[kucoin_entry], extra_args=("--flavor", "kucoin")
            ) as kucoin,
        ):
            console.print(f"[bold]Simulator[/] {sim.url} replaying recorded BTC/USDT 5m candles (held still)")
            console.print(f"[bold]Simulator, KuCoin flavor[/] {kucoin.url} (the same candles, KuCoin's API)")
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
                    signer.call(
                        "policy_set",
                        account=ACCOUNT,
                        changes={"pairs": [SYMBOL], "max_orders_per_minute": 120},
                        passphrase=passphrase,
                    )
                    console.print(
                        f"Policy: {SYMBOL} allowed; max 1000 USDT per order, 10000 per 24 h, 120 orders/min, "
                        "2 % deviation"
                    )
                    added = signer.call(
                        "keys_add",
                        account=KUCOIN_ACCOUNT,
                        exchange=KUCOIN,
                        url=kucoin.url,
                        api_key=kucoin_entry["api_key"],
                        secret=kucoin_entry["secret"],
                        password=kucoin_entry["passphrase"],
                        passphrase=passphrase,
                    )
                    kucoin_entry.clear()
                    signer.call(
                        "policy_set",
                        account=KUCOIN_ACCOUNT,
                        changes={"pairs": [SYMBOL], "max_orders_per_minute": 120},
                        passphrase=passphrase,
                    )
                    console.print(
                        f"KuCoin key ****{added['key_hint']} (key, secret and passphrase) checked through KuCoin's "
                        f"API-key info, sealed and stored; {SYMBOL} allowed\n"
                    )
                    _trade(console, public, signer, (sim, kucoin), max_candles)
            finally:
                public.close()
                signer_process.terminate()
                signer_process.wait(timeout=30)
        result = verify(layout.audit_log, layout.public_key.read_text().strip())
        console.print(
            f"Audit log {'intact' if result else 'FAILED'}: {result.entries} entries, head signed by the signer's "
            f"Ed25519 key (bastion audit verify)"
        )
        if not result:
            raise typer.Exit(1)


DCA_BOT = """
name = "demo-dca"
type = "dca"
account = "demo"
pairs = ["BTC/USDT"]
base_order_size = "50"
safety_order_size = "50"
base_order_type = "market"
max_safety_orders = 3
active_safety_orders = 2
price_deviation_pct = "0.3"
safety_order_step_scale = "1.5"
safety_order_volume_scale = "1.5"
take_profit_pct = "0.4"
take_profit_type = "total"
max_active_deals = 1
start_condition = {type = "asap"}
"""

KUCOIN_DCA_BOT = """
name = "demo-kucoin-dca"
type = "dca"
account = "demo-kucoin"
pairs = ["BTC/USDT"]
base_order_size = "40"
safety_order_size = "40"
base_order_type = "market"
max_safety_orders = 3
active_safety_orders = 2
price_deviation_pct = "0.3"
safety_order_step_scale = "1.5"
safety_order_volume_scale = "1.5"
take_profit_pct = "0.4"
take_profit_type = "total"
max_active_deals = 1
start_condition = {type = "asap"}
"""

GRID_BOT = """
name = "demo-grid"
type = "grid"
account = "demo"
pair = "BTC/USDT"
lower_price = "16400"
upper_price = "17100"
grid_count = 7
spacing = "arithmetic"
investment_quote = "1000"
"""


def _trade(
    console: Console,
    public: CcxtExchange,
    signer: SignerClient,
    sims: tuple[SimulatorProcess, SimulatorProcess],
    max_candles: int,
) -> None:
    from bastion.services.bots import create_bot, start_bot
    from bastion.services.deals import deal_rows, deal_state

    market: Market = public.load_markets()[SYMBOL]
    ticker = public.fetch_ticker(SYMBOL)
    console.print(
        f"{SYMBOL}: tick {market.tick_size}, lot step {market.lot_step}, min notional {market.min_notional} "
        f"{market.quote}; now bid {ticker.bid} ask {ticker.ask} last {ticker.last}"
    )
    pumped = market.round_price((ticker.last or Decimal(0)) * Decimal("1.09"), "up")
    try:
        signer.call(
            "place_order",
            account=ACCOUNT,
            symbol=SYMBOL,
            side="buy",
            type="limit",
            amount="0.01",
            price=pumped,
            client_order_id="demo-pumped",
        )
    except SignerRefused as refused:
        console.print(f"[yellow]refused by the signer's policy[/] buy @ {pumped} (+9 %): {refused}\n")

    for text in (DCA_BOT, GRID_BOT, KUCOIN_DCA_BOT):
        created = create_bot(text)
        start_bot(created.name)  # the engine starts next
        console.print(f"bot {created.name} ({created.type}) created and started")
    engine = subprocess.Popen(
        [sys.executable, "-m", "bastion", "engine", "--poll-interval", "0.2"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert engine.stdout is not None
    engine.stdout.readline()
    console.print(f"[bold]Engine[/] pid {engine.pid}: no key, public prices, orders through the signer\n")
    seen: dict[int, str] = {}
    try:
        for candle in range(0, max_candles, 2):
            for replay in sims:
                replay.advance(2)
            time.sleep(0.12)
            for deal in deal_rows():
                status = deal["status"].value
                if seen.get(deal["id"]) == status:
                    continue
                seen[deal["id"]] = status
                if status == "open":
                    console.print(f"candle {candle:4}: {deal['bot']} opened deal {deal['id']} on {deal['pair']}")
                else:
                    console.print(
                        f"candle {candle:4}: {deal['bot']} closed deal {deal['id']}: {deal['safety_orders_filled']} "
                        f"safety order(s), avg {_q(deal['avg_price'])}, closed at {_q(deal['close_price'])}, "
                        f"profit {deal['profit_quote']} {market.quote}"
                    )
    finally:
        engine.terminate()
        engine.communicate(timeout=30)
    deals = deal_rows()
    grid_deal = next((d["id"] for d in deals if d["bot"] == "demo-grid"), None)
    grid_state = {} if grid_deal is None else deal_state(grid_deal)
    for bot, venue in (("demo-dca", "Binance flavor"), ("demo-kucoin-dca", "KuCoin flavor")):
        closed = [d for d in deals if d["status"].value == "closed" and d["bot"] == bot]
        total = sum((d["profit_quote"] or Decimal(0) for d in closed), Decimal(0))
        console.print(
            f"\nDCA on the {venue}: {len(closed)} deal(s) closed, profit {total} {market.quote} (fees included)"
        )
    console.print(
        f"Grid: {grid_state.get('trips', '0')} buy/sell round trip(s), profit {grid_state.get('profit', '0')} "
        f"{market.quote}"
    )
    balances = Table(title="Balances")
    for column in ("asset", "free", "locked", "total"):
        balances.add_column(column)
    for currency, b in signer.call("balances", account=ACCOUNT).items():
        balances.add_row(currency, b["free"], b["used"], b["total"])
    console.print(balances)
    for name in (ACCOUNT, KUCOIN_ACCOUNT):
        [check] = signer.call("keys_check", account=name)
        console.print(
            f"Leak check {name}: {len(check['foreign_orders'])} order(s) on the exchange that Bastion did not send, "
            f"{len(check['balance_findings'])} unexplained balance change(s); account state {check['state']}"
        )
    _portfolio(console, signer)
    console.print(f"Requests to unknown endpoints: {sum(len(replay.unknown()) for replay in sims)}")


def _portfolio(console: Console, signer: SignerClient) -> None:
    from bastion.services.portfolio import portfolio

    result = portfolio(quote="USDT", signer=signer)
    per_exchange = ", ".join(f"{exchange} {_q(total)}" for exchange, total in result.by_exchange.items())
    console.print(f"Portfolio (bastion portfolio): {_q(result.total)} {result.quote} ({per_exchange})")


def _q(value: Decimal | None) -> str:
    return "-" if value is None else str(value.quantize(Decimal("0.01")))
