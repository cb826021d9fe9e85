"""The data API over the services: what a user sees and does on their own accounts, bots and deals."""

from __future__ import annotations

import pytest

from bastion.storage import BotRepository, CommandRepository
from support.webapp import Stocked, WebApp, dca_toml, stock


@pytest.fixture
def stocked(web: WebApp) -> Stocked:
    return stock(web)


def test_a_user_lists_only_their_accounts_bots_and_deals(web: WebApp, stocked: Stocked) -> None:
    alice = web.login("alice")
    assert [a["name"] for a in alice.get("/api/v1/accounts").json()] == ["main"]
    assert alice.get(f"/api/v1/accounts/{stocked.accounts['alice']}").json()["exchange"] == "binance"
    bots = alice.get("/api/v1/bots").json()
    assert [(b["name"], b["account"], b["state"], b["open_deals"]) for b in bots] == [("a-dca", "main", "stopped", 1)]
    deals = alice.get("/api/v1/deals").json()
    assert [(d["id"], d["bot"], d["amount"]) for d in deals] == [(stocked.deals["alice"], "a-dca", "0.001")]
    detail = alice.get(f"/api/v1/deals/{stocked.deals['alice']}").json()
    assert detail["deal"]["pair"] == "BTC/USDT"
    assert detail["orders"] == []


def test_show_and_export_a_bot(web: WebApp, stocked: Stocked) -> None:
    alice = web.login("alice")
    shown = alice.get("/api/v1/bots/a-dca").json()
    assert shown["config_toml"] == dca_toml("a-dca", "main")
    exported = alice.get("/api/v1/bots/a-dca/export")
    assert exported.headers["content-type"].startswith("application/toml")
    assert exported.text == dca_toml("a-dca", "main")


def test_edit_stop_and_delete_queue_or_apply_through_the_services(web: WebApp, stocked: Stocked) -> None:
    alice = web.login("alice")
    edited = alice.put("/api/v1/bots/a-dca/config", json={"config_toml": dca_toml("a-dca", "main", "2")})
    assert edited.status_code == 202, edited.text
    assert edited.json()["kind"] == "edit_bot"
    assert edited.json()["status"] == "pending"
    refused = alice.put("/api/v1/bots/a-dca/config", json={"config_toml": dca_toml("a-dca", "main").replace(
        'pairs = ["BTC/USDT"]', 'pairs = ["ETH/USDT"]')})  # fmt: skip
    assert refused.status_code == 422
    assert "cannot change while 1 deal(s) are open" in refused.json()["detail"]
    bad = alice.put("/api/v1/bots/a-dca/config", json={"config_toml": "name = 'a-dca'\ntype = 'dca'\nnope = 1"})
    assert bad.status_code == 422
    stopped = alice.post("/api/v1/bots/a-dca/stop", json={"deals": "cancel"})
    assert stopped.status_code == 202
    assert stopped.json()["kind"] == "stop_bot"
    with web.sessions() as s:
        assert [(c.kind, c.payload) for c in CommandRepository(s).pending()][-1] == ("stop_bot", {"deals": "cancel"})
    command = alice.get(f"/api/v1/commands/{stopped.json()['id']}").json()
    assert command["status"] == "pending"
    with web.sessions.begin() as s:
        BotRepository(s).create("a-idle", type="dca", account_id=stocked.accounts["alice"],
                                config_toml=dca_toml("a-idle", "main"))  # fmt: skip
    assert alice.delete("/api/v1/bots/a-idle").status_code == 204
    assert alice.get("/api/v1/bots/a-idle").status_code == 404


def test_close_cancel_and_add_funds_queue_commands_for_the_engine(web: WebApp, stocked: Stocked) -> None:
    alice = web.login("alice")
    deal = stocked.deals["alice"]
    close = alice.post(f"/api/v1/deals/{deal}/close", json={"limit_price": "17100"})
    cancel = alice.post(f"/api/v1/deals/{deal}/cancel")
    funds = alice.post(f"/api/v1/deals/{deal}/add-funds", json={"amount": "0.001", "price": "16500"})
    assert [r.status_code for r in (close, cancel, funds)] == [202, 202, 202]
    with web.sessions() as s:
        queued = [(c.kind, c.deal_id, dict(c.payload)) for c in CommandRepository(s).pending()]
    assert queued == [
        ("close_deal", deal, {"limit_price": "17100"}),
        ("cancel_deal", deal, {}),
        ("add_funds", deal, {"amount": "0.001", "price": "16500"}),
    ]
    assert alice.post(f"/api/v1/deals/{deal}/add-funds", json={"amount": "-1"}).status_code == 422


def test_a_bot_for_an_account_that_is_not_yours_is_refused_before_anything_is_fetched(
    web: WebApp, stocked: Stocked
) -> None:
    alice = web.login("alice")
    refused = alice.post("/api/v1/bots", json={"config_toml": dca_toml("a-new", "bobs")})
    assert refused.status_code == 404
    assert refused.json() == {"detail": "you have no account named 'bobs'"}
    invalid = alice.post("/api/v1/bots", json={"config_toml": "type = 'dca'\nname = 'x'\nsurprise = 1"})
    assert invalid.status_code == 422


def test_users_are_listed_for_admins_only(web: WebApp, stocked: Stocked) -> None:
    web.user("root", role="admin")
    assert web.login("alice").get("/api/v1/users").status_code == 403
    users = web.login("root").get("/api/v1/users").json()
    assert {(u["name"], u["role"], tuple(u["accounts"])) for u in users} == {
        ("alice", "trader", ("main",)), ("bob", "trader", ("bobs",)), ("vera", "viewer", ("veras",)),
        ("root", "admin", ()),
    }  # fmt: skip


def test_an_account_given_to_a_user_is_theirs_and_another_users_account_is_not_taken(
    web: WebApp, stocked: Stocked
) -> None:
    from bastion.errors import ValidationError
    from bastion.services.users import give_account

    web.account("fresh")
    with web.sessions() as s:
        from bastion.storage.repositories.users import UserRepository

        alice = UserRepository(s).get("alice")
    assert alice is not None
    assert give_account(web.sessions, "fresh", alice.id).name == "fresh"
    assert [a["name"] for a in web.login("alice").get("/api/v1/accounts").json()] == ["fresh", "main"]
    with pytest.raises(ValidationError, match="belongs to another user"):
        give_account(web.sessions, "bobs", alice.id)


def test_preview_shows_the_safety_order_ladder_with_the_money_each_needs(
    web: WebApp, stocked: Stocked, simulator: object
) -> None:
    from bastion.storage import AccountRepository

    with web.sessions.begin() as s:
        AccountRepository(s).create("sim", "simulator", url=simulator.url)  # type: ignore[attr-defined]
    from bastion.services.users import set_owner

    set_owner(web.sessions, "sim", "alice")
    alice = web.login("alice")
    answer = alice.post("/api/v1/bots/preview", json={"config_toml": dca_toml("preview", "sim")})
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    ladder = plan["deals"]["BTC/USDT"]
    assert [o["side"] for o in ladder] == ["buy", "buy", "buy"]  # base + 2 safety orders
    prices = [float(o["price"]) for o in ladder[1:]]
    assert prices == sorted(prices, reverse=True)  # each safety order lower
    assert sum(float(o["notional"]) for o in ladder) == pytest.approx(float(plan["deal_notional"]["BTC/USDT"]))
    with web.sessions() as s:
        assert BotRepository(s).get("preview") is None  # nothing stored
    assert alice.post("/api/v1/bots/preview", json={"config_toml": dca_toml("p", "bobs")}).status_code == 404


def test_a_signer_that_does_not_answer_is_an_alert(web: WebApp, stocked: Stocked) -> None:
    alerts = web.login("alice").get("/api/v1/alerts").json()  # no signer runs in this home
    assert [(a["kind"], a["severity"]) for a in alerts] == [("signer", "critical")]
    assert alerts[0]["message"].startswith("the signer does not answer")
