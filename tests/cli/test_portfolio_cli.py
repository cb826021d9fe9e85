"""``bastion portfolio`` prints what the portfolio service computed (the service is tested on its own)."""

from __future__ import annotations

import json
from decimal import Decimal

import typer
from typer.testing import CliRunner

from bastion.cli.portfolio import portfolio as command
from bastion.exchanges.port import Ticker
from bastion.services import portfolio as service
from bastion.services.portfolio import AccountBalances, value_accounts


class Prices:
    def symbols(self) -> frozenset[str]:
        return frozenset({"BTC/USDT", "ETH/BTC"})

    def ticker(self, symbol: str) -> Ticker:
        last, open_ = {"BTC/USDT": ("50000", "40000"), "ETH/BTC": ("0.05", "0.05")}[symbol]
        return Ticker(
            symbol=symbol,
            bid=None,
            ask=None,
            last=Decimal(last),
            base_volume=None,
            quote_volume=None,
            timestamp_ms=None,
            open_24h=Decimal(open_),
        )


def _app(monkeypatch) -> typer.Typer:
    accounts = [
        AccountBalances(account="main", exchange="simulator", balances={"USDT": Decimal(1000), "ETH": Decimal(1)}),
        AccountBalances(account="p", exchange="simulator", balances={"BTC": Decimal(1)}, paper=True),
    ]
    monkeypatch.setattr(service, "portfolio", lambda quote: value_accounts(accounts, lambda a: Prices(), quote=quote))
    app = typer.Typer()
    app.command()(command)
    app.command(name="other")(lambda: None)
    return app


def test_the_table_shows_totals_routes_the_24h_change_and_paper_apart(monkeypatch):
    result = CliRunner().invoke(_app(monkeypatch), ["portfolio"])
    assert result.exit_code == 0, result.output
    assert "total: 3,500.00 USDT  (+16.67 % in 24 h)" in result.output
    assert "via ETH/BTC * BTC/USDT" in result.output
    assert "paper accounts (not in the total):" in result.output


def test_json_and_another_quote(monkeypatch):
    result = CliRunner().invoke(_app(monkeypatch), ["portfolio", "--json", "--quote", "btc"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["quote"] == "BTC"
    assert data["total"] == "0.07"  # 1000 / 50000 + 0.05
