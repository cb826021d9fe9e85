"""Deals computed by hand on small crafted candle files match ``bastion backtest --json`` exactly.

Market BTC/USDT with tick 0.01, lot 0.0001, minimum notional 5; fee 0.1 % in the asset received;
volume 100,000 per candle, so the book's first level (5 % of the volume over 210 weights =
23.8 BTC) takes every market order whole at one tick from the close.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from bastion.cli.main import main

T0 = 1_672_531_200_000  # 2023-01-01T00:00Z
MINUTE = 60_000
RULES = ";tick=0.01;step=0.0001;min_notional=5"
FEE = Decimal("0.001")
LOT = Decimal("0.0001")
TICK = Decimal("0.01")
Q8 = Decimal("1E-8")


def _csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    lines += [f"{T0 + i * MINUTE},{o},{h},{low},{c},100000" for i, (o, h, low, c) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(tmp_path: Path, config: str, rows: list[tuple[str, str, str, str]]) -> dict:
    (tmp_path / "bot.toml").write_text(config, encoding="utf-8")
    data = _csv(tmp_path / "candles.csv", rows)
    out = tmp_path / "report.json"
    main(["backtest", "--config", str(tmp_path / "bot.toml"), "--data", f"BTC/USDT={data}{RULES}",
          "--json", str(out), "--html", str(tmp_path / "report.html")])  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))


def _lot(x: Decimal) -> Decimal:
    return (x / LOT).to_integral_value(ROUND_DOWN) * LOT


def _q8(x: Decimal) -> Decimal:
    return x.quantize(Q8)


DCA = """
name = "hand-dca"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "100"
safety_order_size = "100"
max_safety_orders = 1
active_safety_orders = 1
price_deviation_pct = "2"
take_profit_pct = "1"
cooldown_s = 3600
"""


def test_dca_with_a_safety_order_and_a_take_profit(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        DCA,
        [
            ("100", "100.5", "99.5", "100"),  # decide at its close: base order at market
            ("100", "100.2", "97.5", "98.5"),  # path 100 -> 100.2 -> 97.5 -> 98.5: the safety order fills
            ("98.5", "101", "98.4", "100.8"),  # path 98.5 -> 98.4 -> 101 -> 100.8: the take-profit fills
            ("100.8", "101.2", "100.5", "101"),  # cooldown: nothing
        ],
    )
    # Base order: 100 USDT at the ask of candle 0's book, close 100 + one tick.
    ask = Decimal("100.01")
    bo_amount = _lot(Decimal(100) / ask)  # 0.9999
    bo_fee = _q8(bo_amount * FEE)  # in BTC
    # Safety order 1: 2 % below the base fill, rounded down to the tick; 100 USDT of it.
    so_price = (ask * Decimal("0.98") / TICK).to_integral_value(ROUND_DOWN) * TICK  # 98.00
    so_amount = _lot(Decimal(100) / so_price)  # 1.0204
    so_fee = _q8(so_amount * FEE)
    # Take-profit: average entry net of fees, +1 %, rounded up to the tick; sells what the lot allows.
    held = bo_amount - bo_fee + so_amount - so_fee
    spent = _q8(bo_amount * ask) + _q8(so_amount * so_price)
    tp_price = (spent / held * Decimal("1.01") / TICK).to_integral_value(ROUND_CEILING) * TICK  # 100.09
    tp_amount = _lot(held)
    received = _q8(tp_amount * tp_price)
    tp_fee = _q8(received * FEE)
    left = held - tp_amount
    profit = _q8(received - tp_fee - spent + left * tp_price)

    fills = [
        (f["leg"], f["role"], f["side"], f["price"], f["amount"], f["fee"], f["fee_asset"]) for f in report["fills"]
    ]
    assert fills == [
        ("base", "entry", "buy", str(ask), str(bo_amount), str(bo_fee), "BTC"),
        ("so1", "safety", "buy", str(so_price), str(so_amount), str(so_fee), "BTC"),
        ("tp.1", "take_profit", "sell", str(tp_price), str(tp_amount), str(tp_fee), "USDT"),
    ]
    assert [f["time"] for f in report["fills"]] == [
        "2023-01-01T00:01:00+00:00",  # candle 0's close
        "2023-01-01T00:01:30+00:00",  # candle 1, second move (the fall)
        "2023-01-01T00:02:30+00:00",  # candle 2, second move (the rise)
    ]
    (deal,) = report["deals"]
    assert deal["status"] == "closed"
    assert deal["outcome"] == "take_profit"
    assert deal["base_order_price"] == str(ask)
    assert deal["safety_orders_filled"] == 1
    assert Decimal(deal["avg_price"]) == spent / held
    assert deal["take_profit_price"] == deal["close_price"] == str(tp_price)
    assert deal["amount"] == format(left, "f")
    assert deal["profit_quote"] == str(profit) == report["profit_quote"] == "1.80841453"
    assert report["closed_deals"] == 1
    assert report["max_capital_used"] == format(_q8(spent), "f")
    assert report["fees_quote"] == str(_q8(bo_fee * ask + so_fee * so_price + tp_fee))
    assert report["profit_pct"] == str((profit / spent * 100).quantize(Decimal("0.01")))
    assert report["balances_end"] == {
        "BTC": format(left, "f"),
        "USDT": str(Decimal(1_000_000_000) - spent + received - tp_fee),
    }
    assert report["candles"] == 4
    assert report["markets"][0] | {} == {
        "symbol": "BTC/USDT", "file": "candles.csv", "tick": "0.01", "step": "0.0001", "min_qty": "0.0001",
        "min_notional": "5", "max_notional": "9000000",
    }  # fmt: skip
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert "<script" not in html
    assert "http" not in html  # nothing fetched: it opens offline


GRID = """
name = "hand-grid"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "90"
upper_price = "110"
grid_count = 2
investment_quote = "200"
"""


def test_a_grid_round_trip(tmp_path: Path) -> None:
    report = _run(
        tmp_path,
        GRID,
        [
            ("100", "100.5", "99.5", "100"),  # start at 100: level 100 stays empty, buy at 90, base for the 110 sell
            ("100", "100.2", "89", "95"),  # the buy at 90 fills; its sell goes to 100
            ("95", "111", "94.5", "105"),  # path 95 -> 94.5 -> 111 -> 105: sell at 100, then the start base at 110
            ("105", "105.5", "104.5", "105"),
        ],
    )
    per_interval = Decimal(100)  # 200 USDT over 2 intervals
    ask = Decimal("100.01")
    start_amount = _lot(per_interval / Decimal(100))  # interval 1 trades 100 USDT at its buy level 100
    start_fee = _q8(start_amount * FEE)
    buy_amount = _lot(per_interval / Decimal(90))  # 1.1111
    buy_fee = _q8(buy_amount * FEE)
    sell_amount = _lot(buy_amount - buy_fee)  # what the buy received, floored to the lot
    sell_fee = _q8(sell_amount * Decimal(100) * FEE)
    top_amount = _lot(start_amount - start_fee)
    top_fee = _q8(top_amount * Decimal(110) * FEE)
    fills = [
        (f["leg"], f["side"], Decimal(f["price"]), Decimal(f["amount"]), Decimal(f["fee"]), f["fee_asset"])
        for f in report["fills"]
    ]
    assert fills == [
        ("start", "buy", ask, start_amount, start_fee, "BTC"),
        ("L0.b.0", "buy", Decimal(90), buy_amount, buy_fee, "BTC"),
        ("L1.s.0", "sell", Decimal(100), sell_amount, sell_fee, "USDT"),
        ("L2.s.0", "sell", Decimal(110), top_amount, top_fee, "USDT"),
    ]
    # The round trip: sold at 100 what was bought at 90, minus the fees.
    trip = sell_amount * 100 - sell_fee - buy_amount * 90
    assert trip == Decimal("10.88001")  # 110.99 - 0.11099 - 99.999
    quote_end = (
        Decimal(1_000_000_000) - _q8(start_amount * ask) - buy_amount * 90
        + sell_amount * 100 - sell_fee + top_amount * 110 - top_fee
    )  # fmt: skip
    base_end = start_amount - start_fee + buy_amount - buy_fee - sell_amount - top_amount
    assert {k: Decimal(v) for k, v in report["balances_end"].items()} == {"BTC": base_end, "USDT": quote_end}
    (deal,) = report["deals"]
    assert deal["status"] == "open"
    assert Decimal(deal["amount"]) == base_end
    # The new orders after the sells rest at 90 (interval 0) and 100 (interval 1): the close 105 reaches neither.
    assert report["closed_deals"] == 0


@pytest.mark.parametrize("bad", ["BTC/USDT", "BTCUSDT=x.csv", "BTC/USDT=x.csv;tick=abc"])
def test_a_bad_data_option_is_a_clear_error(tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bot.toml").write_text(DCA, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["backtest", "--config", str(tmp_path / "bot.toml"), "--data", bad])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--data" in err
    assert "expected" in err or "must" in err


def test_an_order_placed_after_a_fill_fills_later_in_the_same_candle(tmp_path: Path) -> None:
    from bastion.backtest import Backtest, load_market

    data = _csv(
        tmp_path / "c.csv",
        [
            ("100", "100.5", "99.5", "100"),  # base order at market, 100.01
            ("100", "101", "97.5", "100.5"),  # path 100 -> 97.5 -> 101: the safety order at 98, then the new TP
            ("100.5", "101", "100", "100.6"),
        ],
    )
    market = load_market(f"BTC/USDT={data}{RULES}")
    same = Backtest(DCA, [market]).run()
    later = Backtest(DCA, [market], react_in_candle=False).run()
    assert [(f.leg, f.index, f.price) for f in same.fills] == [
        ("base", 0, Decimal("100.01")),
        ("so1", 1, Decimal("98.00")),
        ("tp.1", 1, Decimal("100.09")),  # placed at the safety fill, reached on the way up to 101
    ]
    # Deciding only at closes (the live engine against today's simulator), the take-profit is placed at
    # candle 1's close, 100.5: a sell limit below the best bid (100.49) takes it at once, as the simulator does.
    assert [(f.leg, f.index, f.price) for f in later.fills] == [
        ("base", 0, Decimal("100.01")),
        ("so1", 1, Decimal("98.00")),
        ("tp.1", 1, Decimal("100.49")),
    ]
