"""Panic from the web works when the web is not the operator, and only for an admin with a fresh factor.

End to end through ``POST /api/v1/panic`` with a REAL signer on its socket that gives this uid the
web role only (as ``bastion web`` running as its own user gets it) and the real simulator: the
signer cancels the account's open order, purges its keys and stops; its audit log names the web
user who panicked. A trader, or an admin without a fresh second factor, gets 403 and the signer
keeps running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.storage import BotRepository
from support.web_signer import WebSignerStack, web_signer_stack
from support.webapp import dca_toml


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebSignerStack]:
    with web_signer_stack(monkeypatch, tmp_path, "alice") as stack:
        yield stack


def test_an_admin_with_a_fresh_factor_panics_through_the_web_role(stack: WebSignerStack) -> None:
    stack.web.user("ann", role="admin")
    account_id = stack.add_key("alice", "ann")
    with stack.web.sessions.begin() as s:
        BotRepository(s).create("a-dca", type="dca", account_id=account_id, config_toml=dca_toml("a-dca", "alice"),
                                enabled=True)  # fmt: skip
    order = stack.sim.client("alice").create_order("BTC/USDT", "limit", "buy", 0.001, 10000)
    assert [o["status"] for o in stack.sim.orders("alice")] == ["NEW"]

    trader = stack.fresh_client("tess")
    assert trader.post("/api/v1/panic").status_code == 403
    stale = stack.web.login("ann")  # the admin, with a password only: no fresh second factor
    refused = stale.post("/api/v1/panic")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "fresh second factor required"
    assert not stack.signer.stopping.is_set()

    admin = stack.fresh_client("adam", role="admin")
    answer = admin.post("/api/v1/panic")
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["problem"] is None, done["problem"]
    assert done["bots_stopped"] == 1
    [entry] = done["report"]["accounts"]
    assert entry["account"] == "alice"
    assert entry["cancelled"] == [str(order["id"])]
    assert entry["open_orders_left"] == 0
    assert entry["revoke"]  # the steps to revoke the key on the exchange
    assert stack.signer.stopping.is_set()  # the signer purges its secrets and stops
    assert [o["status"] for o in stack.sim.orders("alice")] == ["CANCELED"]
    with stack.web.sessions() as s:
        bot = BotRepository(s).get("a-dca")
        assert bot is not None
        assert not bot.enabled
    panics = [json.loads(line)["payload"] for line in stack.audit_text().splitlines() if '"kind":"panic"' in line]
    assert panics == [{"account": "*", "peer": panics[0]["peer"], "requested_by": "web:adam"}]


def test_the_panic_page_form_works_through_the_web_role(stack: WebSignerStack) -> None:
    stack.add_key("alice", stack.web.user("ann", role="admin").name)
    order = stack.sim.client("alice").create_order("BTC/USDT", "limit", "buy", 0.001, 10000)
    admin = stack.fresh_client("ada", role="admin")
    token = admin.headers.pop("X-CSRF-Token")
    page = admin.post("/panic", data={"csrf_token": token}, headers={"Origin": "null"})  # a plain form post
    assert page.status_code == 200, page.text
    assert 'id="panic-done"' in page.text, page.text[-2000:]
    assert "cancelled 1 order(s)" in page.text
    assert stack.signer.stopping.is_set()
    assert [(o["orderId"], o["status"]) for o in stack.sim.orders("alice")] == [(int(order["id"]), "CANCELED")]
    assert '"requested_by":"web:ada"' in stack.audit_text().replace(" ", "")


def test_a_panic_the_signer_answers_late_is_not_reported_as_not_done(
    stack: WebSignerStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exchange takes 4 s to answer the cancel; the web waits 1.5 s. The signer got the panic and
    goes on: the page must say it may still be cancelling, never that the orders were NOT cancelled."""
    import time

    from bastion.services import panic as panic_service
    from bastion.web.signer_relay import SignerRelay

    stack.add_key("alice", stack.web.user("ann", role="admin").name)
    stack.sim.client("alice").create_order("BTC/USDT", "limit", "buy", 0.001, 10000)
    stack.web.app.state.signer = lambda: SignerRelay(stack.layout.socket, timeout=1)
    monkeypatch.setattr(panic_service, "PANIC_ANSWER_S", 1.5)  # the web client is raised to this, not 120 s
    stack.sim.fault("timeout", count=5, method="DELETE", seconds=4, process=True)
    admin = stack.fresh_client("adam", role="admin")
    answer = admin.post("/api/v1/panic")
    assert answer.status_code == 200, answer.text
    problem = answer.json()["problem"]
    assert "gave no answer within 1.5 s: it may still be cancelling" in problem
    assert "NOT cancelled" not in problem
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stack.signer.stopping.is_set():
        time.sleep(0.1)
    assert stack.signer.stopping.is_set()  # the signer finished the panic it was given
    assert [o["status"] for o in stack.sim.orders("alice")] == ["CANCELED"]
