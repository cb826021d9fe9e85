"""The overview shows portfolio values when the web runs under its own signer role (not the operator).

A real signer on its socket gives this uid the web role only; the overview reads the user's
balances through its ``balances`` operation and prices them from the simulator's public ticker.
Another user's account is neither valued nor named.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from support.web_signer import WebSignerStack, web_signer_stack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebSignerStack]:
    with web_signer_stack(monkeypatch, tmp_path, "alice", "bob") as stack:
        yield stack


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def test_the_overview_values_the_users_accounts_through_the_web_role(stack: WebSignerStack) -> None:
    stack.add_key("alice", stack.web.user("ann").name)
    stack.add_key("bob", stack.web.user("bea").name)
    last = Decimal(str(stack.sim.client("alice").fetch_ticker("BTC/USDT")["last"]))
    client = stack.web.login("ann")
    page = client.get("/")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    expected = _plain(Decimal(10_000) + last)  # 10000 USDT and 1 BTC at the last price
    assert "Value · alice" in text
    assert f"{expected} USDT" in text, text[text.find("Overview") :][:1500]
    assert "Value · total (live)" in text
    assert "Not read" not in text
    assert "Value · bob" not in text  # bea's account
    balances = [line for line in stack.audit_text().splitlines() if '"op":"balances"' in line.replace(" ", "")]
    assert balances
    assert all('"alice"' in line for line in balances)  # only ann's account was read


def test_views_of_the_overview_share_the_apps_price_cache(stack: WebSignerStack) -> None:
    """Each view values the accounts, but the exchange's markets are read once, not per view."""
    from bastion.services import portfolio as portfolio_module
    from bastion.services.portfolio import PriceCache, PriceSource

    opened: list[str] = []

    def build(exchange_id: str, url: str | None) -> PriceSource:
        opened.append(exchange_id)
        return portfolio_module._fresh_prices(exchange_id, url)

    stack.web.app.state.prices = PriceCache(build=build)
    stack.add_key("alice", stack.web.user("ann").name)
    client = stack.web.login("ann")
    for _ in range(3):
        page = client.get("/")
        assert page.status_code == 200, page.text
        assert "Value · alice" in html.unescape(page.text)
        assert "Not read" not in html.unescape(page.text)
    assert len(opened) == 1  # markets read once for three views
    stack.web.app.state.prices.close()
