"""Loosening a policy from the web: only with the vault passphrase sealed in the page, never in clear.

The signer gives this process's uid the web role only (the production layout's role table), so
every call below is judged as a ``bastion web`` running as its own user would be. Attacks:

- the web role sends the passphrase in clear, or loosens without it: refused by the signer;
- a wrong sealed passphrase: refused, nothing changes, audited;
- a replayed ciphertext, or one re-addressed to another change, account or revision: refused;
- no fresh second factor: nothing is relayed;
- guessing the passphrase by sealing guesses (anyone can seal to the public key): locked out after
  a few wrong ones, even for the right passphrase, and alerted;
- the passphrase never appears in an answer, the web's log or the signer's audit log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bastion.custody.signer.policies import SEALED_FAILURES_ALLOWED
from bastion.errors import SignerRefused
from bastion.services.users import set_owner
from bastion.web.signer_relay import SignerRelay
from support.sealed import seal_passphrase_like_the_page
from support.web_signer import WebSignerStack, web_signer_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSignerStack]:
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        web_signer_stack(monkeypatch, tmp_path_factory.mktemp("loosen"), "alice", "bob") as stack,
    ):
        stack.add_key("alice", stack.web.user("ann").name)
        stack.add_key("bob", stack.web.user("bea").name)
        yield stack


def _policy(client: TestClient, account_id: int) -> dict[str, Any]:
    shown = client.get(f"/api/v1/accounts/{account_id}/policy")
    assert shown.status_code == 200, shown.text
    return shown.json()


def _tightened(client: TestClient, account_id: int) -> tuple[dict[str, Any], str]:
    """Tighten max_order_notional by 10 (whatever earlier tests left); return the policy and a looser limit."""
    current = _policy(client, account_id)["policy"].get("max_order_notional")
    limit = (Decimal(current) if current else Decimal(10_000)) - 10
    answer = client.post(f"/api/v1/accounts/{account_id}/policy/tighten",
                         json={"changes": {"max_order_notional": str(limit)}})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return _policy(client, account_id), str(limit + 5)


def _sealed(
    client: TestClient, account: str, revision: int, passphrase: str, limit: str, **extra: Any
) -> dict[str, Any]:
    published = client.get("/api/v1/seal/public-key")
    assert published.status_code == 200, published.text
    return seal_passphrase_like_the_page(published.json(), account=account, changes={"max_order_notional": limit},
                                         expected_revision=revision, passphrase=passphrase, **extra)  # fmt: skip


def test_the_web_role_cannot_loosen_with_the_passphrase_in_clear_nor_without_it(stack: WebSignerStack) -> None:
    relay = SignerRelay(stack.layout.socket)
    current = relay.call("policy_show", account="alice")["policy"]["max_order_notional"]
    looser = {"max_order_notional": str(Decimal(current or 10_000) + 1000)}
    with pytest.raises(SignerRefused) as in_clear:
        relay.call("policy_set", account="alice", changes=looser, passphrase=stack.passphrase)
    assert in_clear.value.kind == "forbidden"
    with pytest.raises(SignerRefused) as without:
        relay.call("policy_set", account="alice", changes=looser)
    assert without.value.kind == "unauthorized"
    assert relay.call("policy_show", account="alice")["policy"]["max_order_notional"] == current


def test_a_loosening_sealed_in_the_page_after_a_fresh_factor_is_applied_and_audited(stack: WebSignerStack) -> None:
    client = _fresh_owner(stack, "bob")
    account_id = _account_id(stack, "bob")
    shown, looser = _tightened(client, account_id)
    body = _sealed(client, "bob", shown["revision"], stack.passphrase, looser, reason="more room")
    answer = client.post(f"/api/v1/accounts/{account_id}/policy/loosen", json=body)
    assert answer.status_code == 200, answer.text
    assert Decimal(answer.json()["policy"]["max_order_notional"]) == Decimal(looser)
    assert answer.json()["revision"] == shown["revision"] + 1
    changes = [json.loads(line) for line in stack.audit_text().splitlines() if '"policy_change"' in line]
    last = changes[-1]["payload"]
    assert last["account"] == "bob"
    assert last["loosening"]
    assert last["user_confirmed"] is True
    assert last["requested_by"].startswith("web:")


def test_a_wrong_sealed_passphrase_is_refused_and_changes_nothing(stack: WebSignerStack) -> None:
    client = _fresh_owner(stack, "alice")
    shown = _policy(client, _account_id(stack, "alice"))
    before = shown["policy"]["max_order_notional"]
    answer = client.post(f"/api/v1/accounts/{_account_id(stack, 'alice')}/policy/loosen",
                         json=_sealed(client, "alice", shown["revision"], "not-the-passphrase", "1000000"))  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert "passphrase is wrong" in answer.json()["detail"]
    assert _policy(client, _account_id(stack, "alice"))["policy"]["max_order_notional"] == before
    assert "wrong sealed vault passphrase" in stack.audit_text()
    stack.signer._sealed_failures.clear()  # this test's one failure must not count toward the lockout test


def test_a_replayed_or_readdressed_ciphertext_is_refused(stack: WebSignerStack) -> None:
    client = _fresh_owner(stack, "alice")
    account_id = _account_id(stack, "alice")
    shown, looser = _tightened(client, account_id)
    body = _sealed(client, "alice", shown["revision"], stack.passphrase, looser)
    other_change = {**body, "changes_json": json.dumps({"max_order_notional": "1000000"}, separators=(",", ":"))}
    refused = client.post(f"/api/v1/accounts/{account_id}/policy/loosen", json=other_change)
    assert refused.status_code == 422, refused.text
    assert "does not open" in refused.json()["detail"]
    stale = _sealed(client, "alice", shown["revision"] - 1, stack.passphrase, looser)  # an older revision
    assert client.post(f"/api/v1/accounts/{account_id}/policy/loosen", json=stale).status_code == 409
    applied = client.post(f"/api/v1/accounts/{account_id}/policy/loosen", json=body)
    assert applied.status_code == 200, applied.text
    assert Decimal(applied.json()["policy"]["max_order_notional"]) == Decimal(looser)
    shown, _ = _tightened(client, account_id)
    replayed = client.post(f"/api/v1/accounts/{account_id}/policy/loosen", json=body)
    assert replayed.status_code == 422, replayed.text
    assert "already used once" in replayed.json()["detail"]
    assert _policy(client, account_id)["policy"] == shown["policy"]


def test_without_a_fresh_second_factor_nothing_is_relayed(stack: WebSignerStack) -> None:
    stack.web.user("tom")
    client = stack.web.login("tom")  # a password only
    set_owner(stack.web.sessions, "alice", "tom")
    account_id = _account_id(stack, "alice")
    shown = _policy(client, account_id)
    answer = client.post(f"/api/v1/accounts/{account_id}/policy/loosen",
                         json=_sealed(client, "alice", shown["revision"], stack.passphrase, "1000000"))  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["detail"] == "fresh second factor required"
    assert _policy(client, account_id) == shown


def test_guessing_the_passphrase_by_sealing_guesses_locks_loosening_and_alerts(
    stack: WebSignerStack, caplog: pytest.LogCaptureFixture
) -> None:
    client = _fresh_owner(stack, "alice")
    account_id = _account_id(stack, "alice")
    shown, looser = _tightened(client, account_id)
    try:
        for n in range(SEALED_FAILURES_ALLOWED):
            guess = client.post(f"/api/v1/accounts/{account_id}/policy/loosen",
                                json=_sealed(client, "alice", shown["revision"], f"guess-{n}", looser))  # fmt: skip
            assert guess.status_code == 403, guess.text
        right = client.post(f"/api/v1/accounts/{account_id}/policy/loosen",
                            json=_sealed(client, "alice", shown["revision"], stack.passphrase, looser))  # fmt: skip
        assert right.status_code == 429, right.text
        assert "bastion policy set" in right.json()["detail"]
        assert _policy(client, account_id) == shown
        assert '"kind":"alert"' in stack.audit_text().replace(" ", "")
        assert "loosening from the web is locked" in stack.audit_text()
    finally:
        stack.signer._sealed_failures.clear()


def test_the_passphrase_never_appears_in_an_answer_or_a_log(
    stack: WebSignerStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = _fresh_owner(stack, "bob")
    account_id = _account_id(stack, "bob")
    shown, looser = _tightened(client, account_id)
    answers = [
        client.post(f"/api/v1/accounts/{account_id}/policy/loosen",
                    json=_sealed(client, "bob", shown["revision"], stack.passphrase + "x", looser)),
        client.post(f"/api/v1/accounts/{account_id}/policy/loosen",
                    json=_sealed(client, "bob", shown["revision"], stack.passphrase, looser)),
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [403, 200]
    stack.signer._sealed_failures.clear()
    seen = "".join(a.text for a in answers) + caplog.text + stack.audit_text()
    assert stack.passphrase not in seen
    assert "requested_by" in stack.audit_text()


_USERS = iter(range(1_000_000))


def _fresh_owner(stack: WebSignerStack, account: str) -> TestClient:
    """A new trader with a fresh second factor who now owns ``account``."""
    name = f"u{next(_USERS)}"
    client = stack.fresh_client(name)
    set_owner(stack.web.sessions, account, name)
    return client


def _account_id(stack: WebSignerStack, name: str) -> int:
    from bastion.storage import AccountRepository

    with stack.web.sessions() as session:
        record = AccountRepository(session).get(name)
    assert record is not None
    return record.id
