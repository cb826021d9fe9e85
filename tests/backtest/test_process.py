"""``bastion backtest`` as a process: it loads no exchange client, database or web code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.resources import files
from pathlib import Path

from bastion.backtest.report import DEAL_FIELDS

BTC = Path(str(files("bastion._data") / "BTC_USDT-5m.csv"))
CONFIG = """
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
"""


def test_a_backtest_imports_no_ccxt_sqlalchemy_or_web_stack(tmp_path: Path) -> None:
    (tmp_path / "bot.toml").write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "r.json"
    script = textwrap.dedent(
        f"""
        import sys
        from bastion.cli.main import main
        try:
            main(["backtest", "--config", {str(tmp_path / "bot.toml")!r}, "--data", {f"BTC/USDT={BTC}"!r},
                  "--json", {str(out)!r}, "--html", {str(tmp_path / "r.html")!r}])
        except SystemExit as exc:
            assert not exc.code, exc.code
        forbidden = ("ccxt", "sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "aiohttp", "httpx",
                     "bastion.web", "bastion.storage", "bastion.custody", "bastion.exchanges.ccxt",
                     "pydantic", "pyarrow.compute", "importlib.metadata")  # start-up cost, not needed here
        print(sorted(m for m in sys.modules if m.startswith(forbidden)))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["closed_deals"] > 0
    for key in ("candles", "markets", "deals", "closed_deals", "profit_quote", "profit_pct", "max_drawdown_pct",
                "max_capital_used", "fees_quote", "elapsed_s"):  # fmt: skip
        assert key in report
    assert set(DEAL_FIELDS) <= set(report["deals"][0])
