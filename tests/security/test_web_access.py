"""Attacks on the web's access claims, route by route (every route the app has, also ones added later).

- no route works without a session (health, webhooks, the password step and the login page aside);
- a state change without the session's CSRF token is refused (403);
- a viewer changes nothing;
- user A cannot read or act on user B's account, bots, deals or commands by changing an id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from bastion.web.auth.deps import FRESH_FACTOR_REQUIRED
from support.webapp import (
    NO_SESSION,
    UNSAFE,
    Stocked,
    WebApp,
    dca_toml,
    fill,
    make_webapp,
    refused_without_session,
    routes,
    snapshot,
    stock,
)

#: Route parameters: Bob's things (what Alice and the viewer try to reach).
SELF_SERVICE = "/api/v1/auth/"  # logout, second factors: every user's own session


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebApp]:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    webapp = make_webapp(tmp_path)
    try:
        yield webapp
    finally:
        webapp.close()


@pytest.fixture
def stocked(web: WebApp) -> Stocked:
    return stock(web)


def _values(stocked: Stocked, who: str) -> dict[str, object]:
    names = {"alice": "a-dca", "bob": "b-dca", "vera": "v-dca"}
    return {
        "account_id": stocked.accounts[who],
        "deal_id": stocked.deals[who],
        "name": names[who],
        "bot_uuid": "00000000-0000-0000-0000-000000000000",
        "command_id": 1,
        "passkey_id": 1,
    }


def _body(method: str, path: str, account: str, bot: str) -> dict[str, object] | None:
    """A body the route would accept, so that a missing check would really change something."""
    if path.endswith("/policy/tighten") or path.endswith("/policy/loosen"):
        return {"changes": {"max_order_notional": "1"}}
    if path == "/api/v1/bots" or path.endswith("/config"):
        return {"config_toml": dca_toml(bot if path.endswith("/config") else "new-bot", account, "2")}
    if path.endswith("/add-funds"):
        return {"amount": "0.001"}
    if path.endswith("/stop"):
        return {"deals": "close"}
    return {} if method in UNSAFE else None


def test_no_route_works_without_a_session(web: WebApp, stocked: Stocked) -> None:
    client = web.client()
    checked = 0
    for method, path in routes(web.app):
        if (method, path) in NO_SESSION:
            continue
        url = fill(path, _values(stocked, "alice"))
        answer = client.request(method, url, json=_body(method, path, "main", "a-dca"), follow_redirects=False)
        assert refused_without_session(answer.status_code, answer.headers.get("location")), (method, path, answer.text)
        checked += 1
    assert checked >= 25


def test_every_state_change_without_the_csrf_token_is_refused(web: WebApp, stocked: Stocked) -> None:
    web.user("root", role="admin")
    client = web.login("alice")
    client.headers.pop("X-CSRF-Token")
    before = snapshot(web)
    unsafe = [(m, p) for m, p in routes(web.app) if m in UNSAFE and (m, p) not in NO_SESSION]
    assert len(unsafe) >= 15
    for method, path in unsafe:
        url = fill(path, _values(stocked, "alice"))
        answer = client.request(method, url, json=_body(method, path, "main", "a-dca"))
        assert answer.status_code == 403, (method, path, answer.text)
        assert "CSRF" in answer.json()["detail"]
    assert snapshot(web) == before


def test_a_state_change_from_another_origin_is_refused_even_with_the_token(web: WebApp, stocked: Stocked) -> None:
    client = web.login("alice")
    answer = client.post(f"/api/v1/deals/{stocked.deals['alice']}/cancel", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403


def test_a_viewer_changes_nothing_even_on_an_account_of_their_own(web: WebApp, stocked: Stocked) -> None:
    viewer = web.login("vera")
    before = snapshot(web)
    changes = [(m, p) for m, p in routes(web.app) if m in UNSAFE and (m, p) not in NO_SESSION]
    for method, path in changes:
        if path.startswith(SELF_SERVICE) or path == "/logout":  # a viewer logs out too
            continue
        answer = viewer.request(
            method, fill(path, _values(stocked, "vera")), json=_body(method, path, "veras", "v-dca")
        )
        assert answer.status_code == 403, (method, path, answer.text)
    assert snapshot(web) == before
    assert viewer.get("/api/v1/bots").json()[0]["name"] == "v-dca"  # reading is allowed


def test_user_a_cannot_read_or_act_on_user_bs_things_by_id(web: WebApp, stocked: Stocked) -> None:
    bob = web.login("bob")
    command = bob.post(f"/api/v1/deals/{stocked.deals['bob']}/cancel").json()["id"]
    alice = web.login("alice")
    before = snapshot(web)
    bobs = {**_values(stocked, "bob"), "command_id": command}
    reached = []
    for method, path in routes(web.app):
        if "{" not in path or path.startswith(SELF_SERVICE) or (method, path) in NO_SESSION:
            continue
        answer = alice.request(method, fill(path, bobs), json=_body(method, path, "bobs", "b-dca"))
        if answer.status_code == 403 and answer.json()["detail"] == FRESH_FACTOR_REQUIRED:
            continue  # refused before any id is looked at; with a fresh factor: the next test
        if answer.status_code != 404:
            reached.append((method, path, answer.status_code))
        else:
            assert "bobs" not in answer.text
            assert "b-dca'" not in answer.text.replace("'b-dca'", "")
    assert reached == []
    assert snapshot(web) == before
    assert [d["bot"] for d in alice.get("/api/v1/deals").json()] == ["a-dca"]
    assert alice.get("/api/v1/deals", params={"bot": "b-dca"}).status_code == 404
    # the answer for another user's id is the answer for an id that does not exist
    mine_missing = alice.get("/api/v1/deals/999999").json()["detail"]
    assert mine_missing == "you have no deal with id 999999"
    assert alice.get(f"/api/v1/deals/{stocked.deals['bob']}").json()["detail"] == (
        f"you have no deal with id {stocked.deals['bob']}"
    )


def test_with_a_fresh_second_factor_user_a_still_cannot_loosen_user_bs_policy(web: WebApp, stocked: Stocked) -> None:
    alice = web.login("alice")
    secret = alice.post("/api/v1/auth/totp/enrol").json()["secret"]
    totp = pyotp.TOTP(secret)
    assert alice.post("/api/v1/auth/totp/confirm", json={"code": totp.at(web.clock.ms // 1000)}).status_code == 204
    web.clock.advance(30)
    assert alice.post("/api/v1/auth/totp/verify", json={"code": totp.at(web.clock.ms // 1000)}).status_code == 200
    assert alice.get("/api/v1/auth/whoami").json()["fresh_factor"] is True
    sealed = {"changes_json": '{"max_order_notional":"100000"}', "expected_revision": 1, "key_id": "0" * 16,
              "enc": "A" * 43, "ciphertext": "A" * 40}  # well-formed: the ownership check answers  # fmt: skip
    answer = alice.post(f"/api/v1/accounts/{stocked.accounts['bob']}/policy/loosen", json=sealed)
    assert answer.status_code == 404
    assert answer.json() == {"detail": f"you have no account with id {stocked.accounts['bob']}"}
