"""The pages in process: each renders for its user with the anti-phishing phrase, shows only that
user's accounts, redirects to /login without a session, and loads no script but our own files."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bastion.storage import AccountRepository, BotRepository, DealRepository
from bastion.storage.records import DealRecord, DealStatus
from support.webapp import WebApp

PAGES = ("/", "/accounts", "/bots", "/deals", "/backtests", "/webhooks", "/audit", "/alerts", "/security", "/panic")

DCA = """
name = "{name}"
type = "dca"
account = "{account}"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 2
price_deviation_pct = "1"
take_profit_pct = "1"
"""


def _bot_with_deal(web: WebApp, name: str, account: str, *, profit: str | None = None) -> int:
    with web.sessions.begin() as s:
        record = AccountRepository(s).get(account)
        assert record is not None
        account_id = record.id
        bot = BotRepository(s).create(
            name, type="dca", account_id=account_id, config_toml=DCA.format(name=name, account=account), enabled=False
        )
        status = DealStatus.OPEN if profit is None else DealStatus.CLOSED
        deal = DealRepository(s).save(
            DealRecord(
                bot_id=bot.id,
                pair="BTC/USDT",
                status=status,
                avg_price=Decimal("16500.5"),
                amount=Decimal("0.0012"),
                cost_quote=Decimal("19.8"),
                opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                profit_quote=None if profit is None else Decimal(profit),
                closed_at=None if profit is None else datetime(2026, 1, 2, tzinfo=UTC),
            )
        )
        assert deal.id is not None
        return deal.id


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_login_and_back(web: WebApp, path: str) -> None:
    answer = web.client().get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_every_page_renders_with_the_users_phrase_and_only_our_own_scripts(web: WebApp) -> None:
    web.account("alice-main", owner=None)
    web.user("alice", role="admin", accounts=["alice-main"], phrase="heron at dawn 42")
    _bot_with_deal(web, "dca-a", "alice-main")
    client = web.login("alice")
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        html = answer.text
        assert 'id="anti-phishing"' in html, path
        assert "heron at dawn 42" in html, path
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
        assert scripts, path
        for attributes, body in scripts:
            assert body.strip() == "", f"inline script on {path}"
            source = re.search(r'src="([^"]+)"', attributes)
            assert source is not None, (path, attributes)
            assert source.group(1).startswith("/static/"), (path, attributes)
        assert "http://" not in re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", html, flags=re.S).replace(
            "http://localhost:8080", ""
        ).replace("http://127.0.0.1:8765", ""), path


def test_user_b_sees_none_of_user_as_deals_and_gets_no_for_its_deal_page(web: WebApp) -> None:
    web.account("a-acc")
    web.account("b-acc")
    web.user("anna", accounts=["a-acc"])
    web.user("bert", accounts=["b-acc"])
    deal_a = _bot_with_deal(web, "bot-of-anna", "a-acc")
    bert = web.login("bert")
    assert "bot-of-anna" not in bert.get("/deals").text
    assert "bot-of-anna" not in bert.get("/bots").text
    assert bert.get(f"/deals/{deal_a}").status_code == 404
    assert bert.get(f"/deals/{deal_a}/chart.json").status_code == 404
    assert bert.get("/bots/bot-of-anna").status_code == 404
    assert bert.get("/bots/bot-of-anna/export").status_code == 404
    close = bert.post(f"/deals/{deal_a}/close", data={"csrf_token": bert.headers["X-CSRF-Token"]})
    assert "no deal with id" in close.text
    anna = web.login("anna")
    assert "bot-of-anna" in anna.get("/deals").text
    assert anna.get(f"/deals/{deal_a}").status_code == 200


def test_the_overview_sums_profit_per_quote_today_and_all_time(web: WebApp) -> None:
    web.account("main")
    web.user("carol", accounts=["main"])
    _bot_with_deal(web, "d1", "main", profit="1.25")
    _bot_with_deal(web, "d2", "main", profit="-0.5")
    html = web.login("carol").get("/").text
    all_time = re.search(r'id="pnl-all">(.*?)</div>', html, flags=re.S)
    assert all_time is not None
    assert "0.75 USDT" in all_time.group(1)


def test_a_state_change_without_the_csrf_token_is_refused(web: WebApp) -> None:
    web.account("main")
    web.user("dora", accounts=["main"])
    deal = _bot_with_deal(web, "d1", "main")
    client = web.login("dora")
    del client.headers["X-CSRF-Token"]
    assert client.post(f"/deals/{deal}/close").status_code == 403
    assert client.post("/bots/d1/stop", data={"deals": "keep"}).status_code == 403


def test_a_viewer_cannot_close_a_deal(web: WebApp) -> None:
    web.account("main")
    web.user("vic", role="viewer", accounts=["main"])
    deal = _bot_with_deal(web, "d1", "main")
    client = web.login("vic")
    answer = client.post(f"/deals/{deal}/close")
    assert "may not close the deal" in answer.text
    from bastion.storage import CommandRepository

    with web.sessions() as s:
        assert CommandRepository(s).pending() == []


def test_static_files_stay_inside_static(web: WebApp) -> None:
    client = web.client()
    assert client.get("/static/js/app.js").status_code == 200
    assert client.get("/static/vendor/htmx/htmx.min.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../pages/__init__.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404


def test_the_login_page_never_sends_the_browser_to_another_site(web: WebApp) -> None:
    html = web.client().get("/login?next=//evil.example/x").text
    assert 'data-next="/"' in html
