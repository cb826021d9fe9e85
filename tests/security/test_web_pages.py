"""Attacks on the dashboard's pages: user B reaching user A's deals and bots by id, a state change
without the CSRF token, a viewer changing something, a static path escaping static/, a login
that sends the browser to another site afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.pages import bot_with_deal
from support.webapp import WebApp, make_webapp


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebApp]:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    webapp = make_webapp(tmp_path)
    try:
        yield webapp
    finally:
        webapp.close()


def test_user_b_sees_none_of_user_as_deals_and_gets_no_for_its_deal_page(web: WebApp) -> None:
    web.account("a-acc")
    web.account("b-acc")
    web.user("anna", accounts=["a-acc"])
    web.user("bert", accounts=["b-acc"])
    deal_a = bot_with_deal(web, "bot-of-anna", "a-acc")
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


def test_a_state_change_without_the_csrf_token_is_refused(web: WebApp) -> None:
    web.account("main")
    web.user("dora", accounts=["main"])
    deal = bot_with_deal(web, "d1", "main")
    client = web.login("dora")
    del client.headers["X-CSRF-Token"]
    assert client.post(f"/deals/{deal}/close").status_code == 403
    assert client.post("/bots/d1/stop", data={"deals": "keep"}).status_code == 403


def test_a_viewer_cannot_close_a_deal(web: WebApp) -> None:
    web.account("main")
    web.user("vic", role="viewer", accounts=["main"])
    deal = bot_with_deal(web, "d1", "main")
    client = web.login("vic")
    answer = client.post(f"/deals/{deal}/close")
    assert answer.status_code == 403
    assert "may not change anything" in answer.text
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


def test_panic_needs_an_admin_and_a_fresh_second_factor(web: WebApp) -> None:
    web.user("tom", role="trader")
    web.user("ada", role="admin")
    trader = web.login("tom")
    assert "may not panic" in trader.post("/panic").text
    admin = web.login("ada")
    answer = admin.post("/panic")
    assert answer.status_code == 403
    assert "fresh second factor required" in answer.text


def test_the_live_stream_needs_a_session(web: WebApp) -> None:
    assert web.client().get("/live").status_code == 401
