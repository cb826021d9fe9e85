"""``bastion backtest sweep``: the cartesian product of config fields, serial or on Ray, same rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bastion.backtest import Backtest, load_market
from bastion.backtest.report import report
from bastion.backtest.sweep import SweepData, combinations, parse_param, run_sweep, sort_rows
from bastion.errors import ConfigError
from support.simulator import bundled_csv

DATA = f"BTC/USDT={bundled_csv()}"
DCA = """
name = "dca"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "10"
safety_order_size = "10"
max_safety_orders = 3
active_safety_orders = 3
price_deviation_pct = "1"
take_profit_pct = "1"
start_condition = {type = "asap"}
"""
# A short slice keeps every run quick.
CUT = {"start_ms": 1672678800000, "end_ms": 1672678800000 + 3_000 * 300_000}


def test_a_param_is_split_on_commas_and_read_as_toml_values() -> None:
    param = parse_param('take_profit_pct=1, 1.5,"2"')
    assert param.name == "take_profit_pct"
    assert param.values == (1, 1.5, "2")
    assert param.texts == ("1", "1.5", '"2"')
    assert parse_param('pairs=["BTC/USDT", "ETH/USDT"],["BTC/USDT"]').values == (
        ["BTC/USDT", "ETH/USDT"],
        ["BTC/USDT"],
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("take_profit_pct", "NAME=v1,v2"),
        ("take_profit_pct=", "NAME=v1,v2"),
        ("take_profit_pct=1,,2", "an empty value"),
        ("take_profit_pct=1,1", "given twice"),
    ],
)
def test_a_malformed_param_says_what_is_expected(option: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_param(option)


def test_an_unknown_field_is_named_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"--param take_proft_pct: 'take_proft_pct' is not a field of a dca bot; "
                       r"expected one of .*take_profit_pct"):  # fmt: skip
        combinations(DCA, [parse_param("take_proft_pct=1,2")])


def test_a_value_the_config_refuses_names_the_field_and_the_rule() -> None:
    with pytest.raises(ConfigError, match=r"--param take_profit_pct=-1 is refused: take_profit_pct must be"):
        combinations(DCA, [parse_param("take_profit_pct=1,-1")])
    with pytest.raises(ConfigError, match=r"--param max_safety_orders=abc is refused: max_safety_orders"):
        combinations(DCA, [parse_param("max_safety_orders=abc")])
    with pytest.raises(ConfigError, match="given twice"):
        combinations(DCA, [parse_param("take_profit_pct=1"), parse_param("take_profit_pct=2")])


def test_the_product_covers_every_combination_in_order_and_inline_tables() -> None:
    combos = combinations(DCA, [parse_param("take_profit_pct=1,2"), parse_param("start_condition.type=asap,signal")])
    assert [p for p, _ in combos] == [
        {"take_profit_pct": "1", "start_condition.type": "asap"},
        {"take_profit_pct": "1", "start_condition.type": "signal"},
        {"take_profit_pct": "2", "start_condition.type": "asap"},
        {"take_profit_pct": "2", "start_condition.type": "signal"},
    ]
    assert 'start_condition = {type = "signal"}' in combos[1][1]


def test_a_serial_sweep_row_is_the_backtest_of_that_config() -> None:
    spec = SweepData(data=(DATA,), **CUT)
    rows = run_sweep(spec, DCA, [parse_param("take_profit_pct=0.5,1.5"), parse_param("price_deviation_pct=0.5,1")])
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    market = load_market(DATA, **CUT)
    alone = report(Backtest(DCA.replace('take_profit_pct = "1"', "take_profit_pct = 1.5"), [market]).run(), bot="x")
    row = rows[2]  # take_profit_pct=1.5, price_deviation_pct=0.5 is index 2; 1.5 and 1 is index 3
    assert (row["take_profit_pct"], row["price_deviation_pct"]) == ("1.5", "0.5")
    row = rows[3]
    for key in ("profit_quote", "closed_deals", "max_capital_used", "fees_quote", "profit_pct"):
        assert row[key] == alone[key]
    assert Decimal(row["profit_quote"]) > 0
    best = sort_rows(rows, "profit_pct")
    assert [Decimal(r["profit_pct"]) for r in best] == sorted((Decimal(r["profit_pct"]) for r in rows), reverse=True)
    with pytest.raises(ConfigError, match="--sort must be one of"):
        sort_rows(rows, "profit")


def _ray_processes(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def test_a_sweep_on_two_ray_workers_gives_the_serial_rows_and_leaves_no_ray_process(tmp_path: Path) -> None:
    config = tmp_path / "dca.toml"
    config.write_text(DCA, encoding="utf-8")
    common = [
        "backtest", "sweep", "--config", str(config), "--data", DATA,
        "--start", str(CUT["start_ms"]), "--end", str(CUT["end_ms"]),
        "--param", "take_profit_pct=0.5,1.5", "--param", "price_deviation_pct=0.5,1",
    ]  # fmt: skip
    # Serial, and a plain backtest, in a process that must not import Ray.
    plain = ["backtest", "--config", str(config), "--data", DATA, "--end", str(CUT["end_ms"])]
    script = textwrap.dedent(
        f"""
        import sys
        from bastion.cli.main import main
        for argv in ({[*common, "--json", str(tmp_path / "serial.json")]!r}, {plain!r}):
            try:
                main(argv)
            except SystemExit as exc:
                assert not exc.code, exc.code
        print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    # On a local Ray of two workers, with its own short temporary folder to find its processes by.
    ray_tmp = tempfile.mkdtemp(prefix="bray")
    try:
        env = {**os.environ, "RAY_TMPDIR": ray_tmp, "RAY_USAGE_STATS_ENABLED": "0"}
        done = subprocess.run(
            [sys.executable, "-m", "bastion", *common, "--workers", "2", "--json", str(tmp_path / "ray.json")],
            capture_output=True, text=True, timeout=240, check=False, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        left = _ray_processes(ray_tmp)
        for _ in range(20):  # ray.shutdown() ends them; give the last a moment to exit
            if not left:
                break
            time.sleep(0.25)
            left = _ray_processes(ray_tmp)
        assert left == []
        assert any(Path(ray_tmp).iterdir())  # Ray did use the folder its processes are found by
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    serial = json.loads((tmp_path / "serial.json").read_text(encoding="utf-8"))
    on_ray = json.loads((tmp_path / "ray.json").read_text(encoding="utf-8"))
    assert len(serial["rows"]) == 4
    assert on_ray["rows"] == serial["rows"]
    assert on_ray["workers"] == 2
