"""Sealed key entry: the signer alone opens a key sealed in the page; the web process relays a blob it cannot open.

Attacks: a blob altered in transit, a blob re-addressed to another account, exchange or URL
(the associated data), a replayed blob, a blob sealed to a previous signer's key, a key with
withdrawal rights sealed properly (the same checks as ``keys add`` still refuse it). And a
canary secret sealed by the page never appears in the web process's memory, answers or logs.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from bastion.custody.signer._model import Refusal
from bastion.custody.signer.service import SignerService
from bastion.errors import SignerBadRequest
from support.inprocess_signer import InProcessSigner, run
from support.sealed import b64url, seal_like_the_page, unb64url
from support.simulator import SimulatorProcess, make_key

WEB = {"pid": 2, "uid": 4242}


async def _published(service: SignerService) -> dict[str, Any]:
    answer = await service.handle("seal_public_key", {}, WEB)
    assert set(answer) == {"key_id", "public_key", "suite", "label"}
    assert len(unb64url(answer["public_key"])) == 32
    return answer


def _sealed_for(
    published: dict[str, Any], sim: SimulatorProcess, account: str = "alice", **extra: Any
) -> dict[str, Any]:
    entry = sim.key(account)
    return seal_like_the_page(
        published,
        account=account,
        exchange="simulator",
        url=sim.url,
        api_key=entry["api_key"],
        secret=entry["secret"],
        **extra,
    )


def _flip(text: str, at: int = -3) -> str:
    raw = bytearray(unb64url(text))
    raw[at] ^= 0x01
    return b64url(bytes(raw))


def test_a_key_sealed_like_the_page_is_opened_checked_and_stored_by_the_signer(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            published = await _published(service)
            added = await service.handle("keys_add_sealed", _sealed_for(published, sim), WEB)
            assert added["account"] == "alice"
            assert added["key_hint"] == sim.key("alice")["api_key"][-4:]
            assert added["permissions"]  # the exchange was asked, as `keys add` does
            [status] = await service.handle("key_status", {"account": "alice"}, WEB)
            assert status["status"] == "active"
            balances = await service.handle("balances", {"account": "alice"}, {"pid": 1, "uid": 0})
            assert Decimal(balances["USDT"]["total"]) == 10000  # the key works: the signer reads alice's balance
            with pytest.raises(Refusal, match="already has a key"):  # as `keys add`: remove the old key first
                await service.handle("keys_add_sealed", _sealed_for(published, sim), WEB)
        finally:
            await signer_home.stop(service)
        audit = signer_home.layout.audit_log.read_text()
        assert sim.key("alice")["secret"] not in audit
        assert sim.key("alice")["api_key"] not in audit
        assert '"op":"keys_add_sealed"' in audit.replace(" ", "")

    run(scenario())


CHANGES = [
    ("ciphertext", "does not open"),
    ("enc", "does not open"),
    ("account", "does not open"),
    ("exchange", "does not open"),
    ("url", "does not open"),
    ("allow_unrestricted_ip", "does not open"),
    ("key_id", "reload the page"),
]


def _altered(body: dict[str, Any], change: str) -> dict[str, Any]:
    body = dict(body)
    if change in ("ciphertext", "enc"):
        body[change] = _flip(body[change], -3 if change == "ciphertext" else 5)
    elif change == "account":
        body["account"] = "mallory"
    elif change == "exchange":
        body["exchange"] = "binance"
    elif change == "url":
        body["url"] = "http://127.0.0.1:9/"  # a compromised web points the key at its own server
    elif change == "allow_unrestricted_ip":
        body["allow_unrestricted_ip"] = True
    else:
        body["key_id"] = "0" * 16
    return body


def test_a_blob_altered_or_readdressed_in_transit_is_refused_and_nothing_is_stored(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            published = await _published(service)
            for change, expected in CHANGES:
                body = _altered(_sealed_for(published, sim), change)
                with pytest.raises(Refusal, match=expected) as refused:
                    await service.handle("keys_add_sealed", body, WEB)
                assert refused.value.kind == "bad_request", change
                assert service.accounts == {}, change
            assert await service.handle("key_status", {}, WEB) == []
            # the untouched blob still opens: the refusals above were the alterations
            await service.handle("keys_add_sealed", _sealed_for(published, sim), WEB)
            assert list(service.accounts) == ["alice"]
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_a_replayed_blob_is_refused_even_after_its_first_use_failed(
    signer_home: InProcessSigner, tmp_path: Any
) -> None:
    withdrawing = make_key("alice", {"USDT": "100"}, restrictions={"enableWithdrawals": True})
    with SimulatorProcess(tmp_path / "sim", keys=[withdrawing]) as sim:

        async def scenario() -> None:
            service = await signer_home.start()
            try:
                body = _sealed_for(await _published(service), sim)
                with pytest.raises(Refusal) as first:  # the same checks as `keys add`: withdrawal refused
                    await service.handle("keys_add_sealed", body, WEB)
                assert "withdraw" in first.value.message.lower()
                with pytest.raises(Refusal, match="already used once") as again:
                    await service.handle("keys_add_sealed", body, WEB)
                assert again.value.kind == "bad_request"
                assert service.accounts == {}
            finally:
                await signer_home.stop(service)
            audit = signer_home.layout.audit_log.read_text()
            assert withdrawing["secret"] not in audit

        run(scenario())


def test_a_blob_sealed_to_a_previous_signer_does_not_open_after_a_restart(signer_home: InProcessSigner) -> None:
    async def scenario() -> None:
        first = await signer_home.start()
        body = seal_like_the_page(
            await _published(first), account="alice", exchange="simulator", api_key="k" * 24, secret="s" * 24
        )
        await signer_home.stop(first)
        second = await signer_home.start()
        try:
            assert (await _published(second))["key_id"] != body["key_id"]
            with pytest.raises(Refusal, match="reload the page"):
                await second.handle("keys_add_sealed", body, WEB)
            assert second.accounts == {}
        finally:
            await signer_home.stop(second)

    run(scenario())


def test_malformed_sealed_fields_are_named_without_echoing_them(signer_home: InProcessSigner) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            published = await _published(service)
            good = seal_like_the_page(published, account="a", exchange="simulator", api_key="k" * 20, secret="s" * 20)
            cases = {
                "enc": (b64url(b"\x01" * 31), "32-byte"),
                "ciphertext": ("not base64!", "not base64url"),
            }
            for field, (value, expected) in cases.items():
                with pytest.raises(Refusal, match=expected):
                    await service.handle("keys_add_sealed", {**good, field: value}, WEB)
            low_order = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
            with pytest.raises(Refusal, match=r"low-order|does not open"):
                await service.handle("keys_add_sealed", {**good, "enc": low_order}, WEB)
            with pytest.raises(SignerBadRequest, match="does not take api_key"):
                await service.handle("keys_add_sealed", {**good, "api_key": "x"}, WEB)
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_the_sealing_key_has_no_repr_of_its_secret_and_the_opened_key_none_of_its_credentials(
    signer_home: InProcessSigner,
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            published = await _published(service)
            body = seal_like_the_page(
                published, account="a", exchange="simulator", api_key="canary-key-1234", secret="canary-secret-5678"
            )
            opened = service.sealing.open(
                key_id=body["key_id"],
                enc=body["enc"],
                ciphertext=body["ciphertext"],
                account="a",
                exchange="simulator",
                url=None,
                allow_unrestricted_ip=False,
            )
            assert opened.api_key == "canary-key-1234"
            assert "canary" not in repr(opened)
            assert repr(service.sealing) == f"SealingKey(key_id={published['key_id']!r})"
            assert "canary" not in json.dumps(published)
        finally:
            await signer_home.stop(service)

    run(scenario())


def _memory_holds(pid: int, needles: list[bytes]) -> dict[bytes, bool]:
    """Scan every readable mapping of process ``pid`` for each needle (as root or its owner)."""
    found = dict.fromkeys(needles, False)
    with open(f"/proc/{pid}/maps", encoding="ascii") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            for needle in needles:
                found[needle] = found[needle] or needle in chunk
    return found


def test_the_web_process_relays_a_sealed_canary_and_never_holds_it_in_memory_or_logs(tmp_path: Any) -> None:
    """Real processes: `bastion signer`, `bastion web`, the simulator; the test plays the browser."""
    import subprocess
    import sys
    import time

    import httpx
    import pyotp

    from support.custody import BastionHome

    canary = make_key("canary", {"USDT": "50"})
    with BastionHome() as home, SimulatorProcess(tmp_path / "sim", keys=[canary]) as sim:
        home.init_vault()
        home.start_signer()
        home.ok("user", "add", "ann", "--role", "trader", "--password-fd", "0", input="a long password 12345\n")
        web = subprocess.Popen(
            [sys.executable, "-m", "bastion", "web", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=home.env,
        )
        try:
            assert web.stdout is not None
            ready = web.stdout.readline()
            assert "listening on" in ready, ready + (web.stderr.read() if web.poll() is not None and web.stderr else "")
            url = ready.split("listening on", 1)[1].strip().replace("127.0.0.1", "localhost")
            with httpx.Client(base_url=url, headers={"Origin": url}, timeout=30) as client:
                login = client.post("/api/v1/auth/login", json={"name": "ann", "password": "a long password 12345"})
                assert login.status_code == 200, login.text
                client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
                secret = client.post("/api/v1/auth/totp/enrol").json()["secret"]
                now = time.time()
                confirm = client.post("/api/v1/auth/totp/confirm", json={"code": pyotp.TOTP(secret).at(now - 30)})
                assert confirm.status_code == 204, confirm.text
                fresh = client.post("/api/v1/auth/totp/verify", json={"code": pyotp.TOTP(secret).at(now)})
                assert fresh.status_code == 200, fresh.text
                client.headers["X-CSRF-Token"] = fresh.json()["csrf_token"]
                published = client.get("/api/v1/seal/public-key").json()
                body = seal_like_the_page(
                    published,
                    account="canary",
                    exchange="simulator",
                    url=sim.url,
                    api_key=canary["api_key"],
                    secret=canary["secret"],
                )
                added = client.post("/api/v1/accounts/sealed-key", json=body)
                assert added.status_code == 201, added.text
                assert canary["secret"] not in added.text
            found = _memory_holds(
                web.pid,
                [canary["secret"].encode(), canary["api_key"].encode(), body["ciphertext"].encode()],
            )
            assert found[body["ciphertext"].encode()], "control: the scan finds what the web process did receive"
            assert not found[canary["secret"].encode()], "the web process holds the API secret"
            assert not found[canary["api_key"].encode()], "the web process holds the API key"
            status = home.client().key_status()
            assert [s.account for s in status] == ["canary"]
        finally:
            web.terminate()
            out, err = web.communicate(timeout=15)
        for text in (out, err, *home.outputs):
            assert canary["secret"] not in text
            assert canary["api_key"] not in text
        for path in home.files():
            data = path.read_bytes()
            assert canary["secret"].encode() not in data, path
