"""The pages in process: each renders for its user with the anti-phishing phrase, shows only that
user's accounts, redirects to /login without a session, and loads no script but our own files."""

from __future__ import annotations

import re

import pytest

from support.pages import bot_with_deal
from support.webapp import WebApp

PAGES = ("/", "/accounts", "/bots", "/deals", "/backtests", "/webhooks", "/audit", "/alerts", "/security", "/panic")


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_redirects_to_login_and_back(web: WebApp, path: str) -> None:
    answer = web.client().get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_every_page_renders_with_the_users_phrase_and_only_our_own_scripts(web: WebApp) -> None:
    web.account("alice-main", owner=None)
    web.user("alice", role="admin", accounts=["alice-main"], phrase="heron at dawn 42")
    bot_with_deal(web, "dca-a", "alice-main")
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


def test_the_overview_sums_profit_per_quote_today_and_all_time(web: WebApp) -> None:
    web.account("main")
    web.user("carol", accounts=["main"])
    bot_with_deal(web, "d1", "main", profit="1.25")
    bot_with_deal(web, "d2", "main", profit="-0.5")
    html = web.login("carol").get("/").text
    all_time = re.search(r'id="pnl-all">(.*?)</div>', html, flags=re.S)
    assert all_time is not None
    assert "0.75 USDT" in all_time.group(1)


def test_a_backtest_runs_from_the_page_on_the_bundled_candles(web: WebApp) -> None:
    web.account("main")
    web.user("erin", accounts=["main"])
    bot_with_deal(web, "bt1", "main")
    client = web.login("erin")
    answer = client.post("/backtests", data={"bot": "bt1", "dataset": "BTC/USDT 5m (bundled)", "fee": "0.1"})
    assert answer.status_code == 200, answer.text[:400]
    assert "Report · bt1" in answer.text
    assert "Closed / open deals" in answer.text
    refused = client.post("/backtests", data={"bot": "bt1", "dataset": "BTC/USDT 5m (bundled)", "fee": "abc"})
    assert "must be decimal numbers" in refused.text


def test_the_live_stream_needs_a_session_and_frames_every_line() -> None:
    from bastion.web.pages.live import sse

    assert sse("deals", "<p>a</p>\n<p>b</p>") == b"event: deals\ndata: <p>a</p>\ndata: <p>b</p>\n\n"


def test_stop_and_edit_from_the_bot_page_queue_commands_for_the_engine(web: WebApp) -> None:
    from bastion.storage import CommandRepository

    web.account("main")
    web.user("finn", accounts=["main"])
    bot_with_deal(web, "e1", "main")
    client = web.login("finn")
    stopped = client.post("/bots/e1/stop", data={"deals": "keep"}, follow_redirects=False)
    assert stopped.status_code == 303
    assert "stopping" in stopped.headers["location"]
    edited = client.post("/bots/e1/edit", data={"type": "dca", "f.name": "e1", "f.account": "main",
                                                "f.pairs": "BTC/USDT", "f.base_order_size": "20",
                                                "f.take_profit_pct": "1.5"}, follow_redirects=False)  # fmt: skip
    assert edited.status_code == 303, edited.text[:300]
    moved = client.post("/bots/e1/edit", data={"config_toml": DCA_OTHER_ACCOUNT})
    assert "the account cannot change" in moved.text
    with web.sessions() as s:
        assert [c.kind for c in CommandRepository(s).pending()] == ["stop_bot", "edit_bot"]


DCA_OTHER_ACCOUNT = """
name = "e1"
type = "dca"
account = "elsewhere"
pairs = ["BTC/USDT"]
base_order_size = "20"
take_profit_pct = "1"
"""
