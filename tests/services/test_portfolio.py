"""The portfolio: balances valued in one quote currency through direct, inverse and bridged pairs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.errors import ValidationError
from bastion.exchanges.port import Ticker
from bastion.services.portfolio import AccountBalances, price_in, value_accounts


class Prices:
    """A price source from a table: symbol -> (last, 24 h open)."""

    def __init__(self, table: dict[str, tuple[str, str | None]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def symbols(self) -> frozenset[str]:
        return frozenset(self.table)

    def ticker(self, symbol: str) -> Ticker | None:
        self.asked.append(symbol)
        last, open_ = self.table[symbol]
        return Ticker(
            symbol=symbol,
            bid=None,
            ask=None,
            last=Decimal(last),
            base_volume=None,
            quote_volume=None,
            timestamp_ms=None,
            open_24h=None if open_ is None else Decimal(open_),
        )


EXCHANGE = Prices(
    {
        "BTC/USDT": ("50000", "40000"),
        "ETH/BTC": ("0.05", "0.05"),
        "USDT/TRY": ("40", "40"),
        "SOL/USDT": ("100", None),
    }
)


def test_each_route_prices_an_asset_and_says_which_pairs_it_used():
    assert price_in(EXCHANGE, "USDT", "USDT") == (1, 1, ())
    assert price_in(EXCHANGE, "BTC", "USDT") == (50000, 40000, ("BTC/USDT",))
    assert price_in(EXCHANGE, "TRY", "USDT") == (Decimal(1) / 40, Decimal(1) / 40, ("USDT/TRY",))
    assert price_in(EXCHANGE, "ETH", "USDT") == (2500, 2000, ("ETH/BTC", "BTC/USDT"))
    assert price_in(EXCHANGE, "USDT", "BTC") == (Decimal(1) / 50000, Decimal(1) / 40000, ("BTC/USDT",))
    assert price_in(EXCHANGE, "DOGE", "USDT") is None


def test_totals_per_exchange_and_asset_with_paper_accounts_apart_and_unpriced_assets_named():
    accounts = [
        AccountBalances(account="main", exchange="binance", balances={"USDT": Decimal(1000), "BTC": Decimal("0.1")}),
        AccountBalances(account="kc", exchange="kucoin", balances={"ETH": Decimal(2), "DOGE": Decimal(5)}),
        AccountBalances(account="p1", exchange="binance", balances={"BTC": Decimal(1)}, paper=True),
    ]
    result = value_accounts(accounts, lambda a: EXCHANGE, quote="USDT")
    assert result.total == Decimal(1000) + Decimal(5000) + Decimal(5000)
    assert result.by_exchange == {"binance": Decimal(6000), "kucoin": Decimal(5000)}
    assert result.by_asset["BTC"] == (Decimal("0.1"), Decimal(5000))
    assert result.by_asset["DOGE"] == (Decimal(5), None)
    assert result.unpriced == ("DOGE",)
    assert [a.account for a in result.paper] == ["p1"]
    assert result.paper[0].total == 50000  # shown, never added to the live total
    # 24 h ago: 1000 + 0.1 x 40000 + 2 x 0.05 x 40000
    assert result.total_24h_ago == Decimal(1000) + Decimal(4000) + Decimal(4000)
    assert result.change_24h_pct == (Decimal(11000) - 9000) / 9000 * 100
    data = result.to_json()
    assert data["total"] == "11000"
    assert data["accounts"][1]["holdings"][1]["route"] == ["ETH/BTC", "BTC/USDT"]


def test_a_missing_24h_open_leaves_the_change_unknown_and_a_bad_quote_is_refused():
    accounts = [AccountBalances(account="a", exchange="x", balances={"SOL": Decimal(3)})]
    result = value_accounts(accounts, lambda a: EXCHANGE)
    assert result.total == 300
    assert result.change_24h_pct is None
    with pytest.raises(ValidationError, match="upper-case currency code"):
        value_accounts(accounts, lambda a: EXCHANGE, quote="usdt")


def test_an_account_that_cannot_be_read_is_listed_with_its_error_and_counts_nothing():
    result = value_accounts([], lambda a: None, errors={"gone": "balances unavailable: signer refused"})
    assert result.total == 0
    assert [(a.account, a.error) for a in result.accounts] == [("gone", "balances unavailable: signer refused")]
