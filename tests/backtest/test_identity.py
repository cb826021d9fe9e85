"""One execution path: the same configs over the same recorded candles give the same deals live and in a backtest.

(a) The live engine (the real :class:`~bastion.engine.runner.Engine` shell, driven step by step in
this process) trades through the real signer process on the real simulator process, which replays
the bundled BTC/USDT file one candle at a time; after each candle the engine steps until no bot
is due. (b) ``bastion backtest`` runs the same config over the same candles. Deals (prices, amounts,
profit) and every fill (price, amount, fee) must be equal to the last digit.

The backtest runs with ``--decide-at close``: the live engine sees a candle's fills after the
simulator replayed the whole candle and decides at its close, and so does the backtest then
(fills still follow each candle's path: the simulator's rules).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bastion.backtest import load_market
from bastion.cli.main import main
from support.custody import BastionHome
from support.engine_stack import DCA, Stack
from support.simulator import SimulatorProcess, bundled_csv, make_key

#: The first replayed candle and how many follow: a slice where the price moves (bundled 5m file).
START = 2819
CANDLES = 40
BALANCE = {"USDT": "10000"}
#: Deal fields compared (the id is the database's sequence; the deals are compared in id order).
DEAL_KEYS = ("status", "outcome", "base_order_price", "safety_orders_filled", "avg_price",
             "take_profit_price", "close_price", "amount", "profit_quote")  # fmt: skip

GRID = """
name = "grid"
type = "grid"
account = "grid"
pair = "BTC/USDT"
lower_price = "18000"
upper_price = "18300"
grid_count = 6
spacing = "arithmetic"
investment_quote = "300"
"""
SMART = """
name = "smart"
type = "smart_trade"
account = "smart"
pair = "BTC/USDT"
amount_quote = 100
entry = { type = "limit", price = 18190 }
take_profit = [
    { profit_pct = 0.3, amount_pct = 50 },
    { profit_pct = 0.6, amount_pct = 50 },
]
stop_loss = { loss_pct = 1 }
"""
CONFIGS = {
    "dca": DCA.replace('name = "dca1"', 'name = "dca"').replace('account = "alice"', 'account = "dca"'),
    "grid": GRID,
    "smart": SMART,
}


@pytest.fixture(scope="module")
def home() -> Iterator[tuple[BastionHome, ExitStack]]:
    """One home and signer; each config's simulator stays up to the end (its bot is still loaded by the next engine)."""
    with BastionHome() as running, ExitStack() as simulators:
        running.init_vault()
        running.start_signer()
        yield running, simulators


def _set_up(home: BastionHome, sim: SimulatorProcess, name: str, config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key, policy and bot, in process (each CLI process would cost seconds): the services the CLI calls."""
    from bastion.services.bots import create_bot, start_bot

    key = sim.key(name)
    with home.client() as signer:
        signer.call("keys_add", account=name, exchange="simulator", url=sim.url, api_key=key["api_key"],
                    secret=key["secret"], allow_unrestricted_ip=False, passphrase=home.passphrase)  # fmt: skip
        changes = {"pairs": ["BTC/USDT"], "max_orders_per_minute": 1000}
        signer.call("policy_set", account=name, changes=changes, passphrase=home.passphrase)
        for variable, value in home.env.items():
            if variable.startswith("BASTION_"):
                monkeypatch.setenv(variable, value)
        create_bot(config, signer=signer)
        start_bot(name, signer=signer)


def _covers(name: str, report: dict[str, Any]) -> None:
    """What each config must do in the slice for the comparison to mean something."""
    closed = [d for d in report["deals"] if d["status"] == "closed"]
    roles = [(f["role"], f["side"]) for f in report["fills"]]
    if name == "dca":  # deals closed by the take profit after safety orders filled
        assert any(d["outcome"] == "take_profit" and d["safety_orders_filled"] >= 1 for d in closed)
    elif name == "grid":  # round trips on both sides
        assert roles.count(("grid", "buy")) >= 5
        assert roles.count(("grid", "sell")) >= 5
    else:  # a limit entry, then both targets
        assert [r for r, _ in roles] == ["entry", "take_profit", "take_profit"]
        assert len(closed) == 1


def _value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _deal(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_value(row[k]) if row[k] is not None else None for k in DEAL_KEYS)


async def _drive(home: BastionHome, sim: SimulatorProcess, times: list[int]) -> None:
    """Step the engine at each candle's close until no bot is due, then let the simulator replay the next."""
    from bastion.custody.signer import AsyncSignerClient
    from bastion.engine.runner import Engine
    from bastion.storage import create_engine_for, session_factory

    now = [0]
    db = create_engine_for(f"sqlite:///{home.home / 'bastion.db'}")
    signer = AsyncSignerClient(home.layout.socket, timeout=60)
    engine = Engine(sessions=session_factory(db), signer=signer, clock=lambda: times[now[0]])
    try:
        await engine.start()
        for i in range(len(times)):
            now[0] = i
            for _ in range(10):
                if not await engine.step():
                    break
            else:
                raise AssertionError(f"the engine did not settle at candle {START + i}")
            if i + 1 < len(times):
                sim.advance(1)
    finally:
        await engine.close()
        await signer.close()
        db.dispose()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_live_engine_on_the_simulator_and_the_backtest_give_identical_deals_and_fills(
    home: tuple[BastionHome, ExitStack], tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bastion, simulators = home
    config = CONFIGS[name]
    csv = bundled_csv()
    whole = load_market(f"BTC/USDT={csv}")
    ts = [int(t) for t in whole.arrays.ts[START : START + CANDLES + 1]]
    closes = [t + whole.timeframe_ms for t in ts]

    # (b) `bastion backtest` over candles START .. START + CANDLES
    (tmp_path / "bot.toml").write_text(config, encoding="utf-8")
    out = tmp_path / "report.json"
    main(["backtest", "--config", str(tmp_path / "bot.toml"), "--data", f"BTC/USDT={csv}", "--start", str(ts[0]),
          "--end", str(ts[-1] + 1), "--balance", "USDT=10000", "--decide-at", "close", "--json", str(out)])  # fmt: skip
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["candles"] == CANDLES + 1
    expected_deals = [_deal(d) for d in report["deals"]]
    expected_fills = [
        (f["side"], Decimal(f["price"]), Decimal(f["amount"]), Decimal(f["fee"]), f["fee_asset"])
        for f in report["fills"]
    ]
    _covers(name, report)

    # (a) engine + signer + simulator replaying the same file from the same candle
    sim = simulators.enter_context(SimulatorProcess(tmp_path, speed=0, keys=[make_key(name, BALANCE)], start=START))
    _set_up(bastion, sim, name, config, monkeypatch)
    asyncio.run(_drive(bastion, sim, closes))
    stack = Stack(bastion, sim)
    try:
        live_deals = [_deal(d) for d in stack.deals() if d["bot"] == name]
    finally:
        stack.close_db()
    trades = sim.trades(name)
    live_fills = [
        ("buy" if t["isBuyer"] else "sell", Decimal(t["price"]), Decimal(t["qty"]), Decimal(t["commission"]),
         t["commissionAsset"])
        for t in trades
    ]  # fmt: skip

    assert len(expected_fills) >= 3, "the slice must trade"
    assert live_fills == expected_fills
    assert live_deals == expected_deals
