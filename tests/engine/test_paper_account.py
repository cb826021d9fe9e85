"""A PAPER account end to end: the simulator's public endpoints only, the real CLI and engine process.

The orders never reach the exchange (no key exists): the engine matches them in process with the
simulator's matching core against the candles ccxt fetches. Listings and notifications say PAPER,
and the paper balances and orders live in the Bastion database.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bastion.cli.main import main
from support.custody import BastionHome
from support.engine_stack import DCA, Stack
from support.simulator import SimulatorProcess, make_key
from support.sink import json_sink

#: A candle of the bundled file where the price moves: deals open and close within a few dozen candles.
START = 2819


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (the engine is the process that matters here; each CLI process costs seconds)."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_dca_bot_on_a_paper_account_opens_and_closes_a_deal_that_never_reaches_the_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [make_key("alice", {"USDT": "10000"})]  # someone's real account there: it must see nothing
    with BastionHome() as home, SimulatorProcess(tmp_path, speed=0, keys=keys, start=START) as sim:
        for variable, value in home.env.items():
            if variable.startswith("BASTION_"):
                monkeypatch.setenv(variable, value)
        code, _, err = _cli(capsys, "account", "add", "paper1", "--exchange", "simulator", "--url", sim.url)
        assert code != 0
        assert "--paper" in err
        code, out, err = _cli(
            capsys, "account", "add", "paper1", "--paper", "--exchange", "simulator", "--url", sim.url,
            "--balance", "USDT=1000",
        )  # fmt: skip
        assert code == 0, err
        assert "PAPER" in out
        (account,) = json.loads(_cli(capsys, "account", "list", "--json")[1])
        assert (account["name"], account["mode"], account["balances"]) == ("paper1", "PAPER", {"USDT": "1000"})
        (home.home / "dca1.toml").write_text(DCA.replace('account = "alice"', 'account = "paper1"'), encoding="utf-8")
        for command in (("bot", "create", "--config", str(home.home / "dca1.toml")), ("bot", "start", "dca1")):
            code, _, err = _cli(capsys, *command)
            assert code == 0, err
        stack = Stack(home, sim)
        try:
            with json_sink() as sink:
                stack.start_engine({"BASTION_NOTIFY_URLS": sink.url(), "NO_PROXY": "127.0.0.1"})
                stack.run_until(
                    lambda: any(d["status"] == "closed" and d["safety_orders_filled"] for d in stack.deals())
                )
                # A manual command on a paper deal: the engine sells what it holds on the paper venue.
                stack.run_until(lambda: any(d["status"] == "open" and d["amount"] != "0" for d in stack.deals()))
                open_deal = next(d for d in stack.deals() if d["status"] == "open")
                code, out, err = _cli(capsys, "deal", "close", str(open_deal["id"]), "--wait", "30")
                assert code == 0, err
                assert "refused" not in out
                stack.run_until(lambda: all(d["status"] != "open" for d in stack.deals() if d["id"] == open_deal["id"]))
                # Stop the bot closing what it holds: then every deal is closed.
                code, out, err = _cli(capsys, "bot", "stop", "dca1", "--deals", "close", "--wait", "30")
                assert code == 0, err
                stack.run_until(lambda: all(d["status"] != "open" for d in stack.deals()))
                time.sleep(0.5)
        finally:
            stack.stop_engine()
            stack.close_db()
        titles = [body["title"] for _, body in sink.received]
        assert any("deal 1 opened" in t for t in titles)
        assert any("deal 1 closed" in t for t in titles)
        assert all("[PAPER] " in t for t in titles), titles
        (bot,) = json.loads(_cli(capsys, "bot", "list", "--json")[1])
        assert bot["mode"] == "PAPER"
        deals = json.loads(_cli(capsys, "deal", "list", "--json")[1])
        closed = next(d for d in deals if d["status"] == "closed" and d["safety_orders_filled"] >= 1)
        assert closed["mode"] == "PAPER"
        assert Decimal(closed["profit_quote"]) > 0
        # Nothing reached the exchange: the paper orders were matched in the engine.
        assert sim.orders("alice") == []
        assert sim.trades("alice") == []
        # The paper balances moved by the deals, as stored in the database.
        (account,) = json.loads(_cli(capsys, "account", "list", "--json")[1])
        usdt = Decimal(account["balances"]["USDT"])
        manual = next(d for d in deals if d["id"] == open_deal["id"])
        assert manual["status"] == "closed"
        assert manual["mode"] == "PAPER"
        assert all(d["status"] == "closed" for d in deals)
        profit = sum(Decimal(d["profit_quote"]) for d in deals)
        # The deals' profit is what the balances gained: quote, plus the base dust the lot step left
        # (fees taken in base), which each deal counted at its close price.
        dust = Decimal(account["balances"].get("BTC", "0"))
        highest = max(Decimal(d["close_price"]) for d in deals)
        lowest = min(Decimal(d["close_price"]) for d in deals)
        assert usdt + dust * lowest <= Decimal(1000) + profit <= usdt + dust * highest, account["balances"]
