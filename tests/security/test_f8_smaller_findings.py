"""Finding 8, the smaller ones.

- A symbol with a lone surrogate counted a denial, then failed the audit append: five of them
  HALTed the account in memory with no audit entry and no alert.
- When the audit log cannot be written the signer must refuse, and say so to the user.
- ``keys remove`` needs the vault passphrase and is audited, also with the signer stopped.
- A frame that makes the JSON parser raise RecursionError or ValueError gets an error answer.
- Every halt message says how to resume; ``bastion trade`` prints decimals.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from decimal import Decimal
from typing import Any

import pytest

from bastion.cli.main import main
from bastion.custody.audit import verify
from bastion.custody.policy import OrderRequest, PolicyConfig, PolicyEngine, PolicyState, ReferenceMarket
from bastion.custody.signer._model import Refusal
from bastion.custody.signer.server import SignerServer
from bastion.custody.signer.service import SignerService
from bastion.storage import ApiKeyRepository
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.simulator import SimulatorProcess
from support.sink import json_sink


async def _trading(signer: InProcessSigner, sim: SimulatorProcess) -> SignerService:
    service = await signer.start()
    await signer.add_key(service, sim)
    await service.handle(
        "policy_set",
        {"account": "alice", "changes": {"pairs": ["BTC/USDT"]}, "passphrase": signer.passphrase},
        OPERATOR,
    )
    return service


def _order(symbol: str, cid: str) -> dict[str, Any]:
    return {
        "account": "alice",
        "symbol": symbol,
        "side": "buy",
        "type": "limit",
        "amount": "0.001",
        "price": "10000",
        "client_order_id": cid,
    }


def _entries(service: SignerService) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.layout.audit_log.read_bytes().splitlines()]


def test_a_symbol_with_a_lone_surrogate_is_refused_before_any_denial_is_counted(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await _trading(signer_home, sim)
        try:
            account = service.accounts["alice"]
            for n in range(account.policy.config.denial_burst + 2):
                with pytest.raises(Refusal) as refused:
                    await service.handle("place_order", _order("BTC/USDT\ud800", f"bad-{n}"), OPERATOR)
                assert refused.value.kind == "bad_request"
                assert "invalid character" in refused.value.message
            assert account.policy.state is PolicyState.ACTIVE
            assert account.policy.usage(service.clock()).denials_in_window == 0
            refused_entries = [e for e in _entries(service) if e["kind"] == "refused"]
            assert len(refused_entries) == account.policy.config.denial_burst + 2
            assert verify(service.layout.audit_log, service.audit.public_key).ok
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_the_signer_refuses_and_alerts_when_its_audit_log_cannot_be_written(
    signer_home: InProcessSigner, sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    with json_sink() as sink:
        monkeypatch.setenv("BASTION_NOTIFY_URLS", sink.url())

        async def scenario() -> None:
            service = await _trading(signer_home, sim)
            try:
                full = os.open("/dev/full", os.O_WRONLY)
                os.dup2(full, service.audit._fd)  # the disk is full from now on
                os.close(full)
                with pytest.raises(Refusal) as refused:
                    await service.handle("place_order", _order("BTC/USDT", "disk-full-1"), OPERATOR)
                assert refused.value.kind == "audit_unavailable"
                assert "cannot be written" in refused.value.message
                with pytest.raises(Refusal):  # and it stays refused
                    await service.handle("place_order", _order("BTC/USDT", "disk-full-2"), OPERATOR)
            finally:
                await signer_home.stop(service)

        run(scenario())
        alerts = [body for _, body in sink.received if "audit log" in str(body.get("title", ""))]
    assert alerts, sink.received
    assert sim.orders("alice") == []


def test_keys_remove_through_the_signer_needs_the_passphrase_and_is_audited(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await _trading(signer_home, sim)
        try:
            with pytest.raises(Refusal) as refused:
                await service.handle("keys_remove", {"account": "alice"}, OPERATOR)
            assert refused.value.kind == "unauthorized"
            assert "alice" in service.accounts
            await service.handle("keys_remove", {"account": "alice", "passphrase": signer_home.passphrase}, OPERATOR)
            assert "alice" not in service.accounts
            events = [e["payload"]["event"] for e in _entries(service) if e["kind"] == "key_event"]
            assert events[-1] == "removed"
        finally:
            await signer_home.stop(service)

    run(scenario())


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


def test_keys_remove_with_the_signer_stopped_needs_the_passphrase_and_is_audited(
    signer_home: InProcessSigner,
    sim: SimulatorProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def add() -> SignerService:
        service = await _trading(signer_home, sim)
        await signer_home.stop(service)
        return service

    service = run(add())

    def stored_keys() -> int:
        with service.sessions.begin() as session:
            return len(ApiKeyRepository(session).all())

    monkeypatch.setenv("BASTION_PASSPHRASE", "not-the-passphrase")
    code, out = _cli(capsys, "keys", "remove", "--account", "alice")
    assert code != 0, out
    assert stored_keys() == 1
    monkeypatch.setenv("BASTION_PASSPHRASE", signer_home.passphrase)
    code, out = _cli(capsys, "keys", "remove", "--account", "alice")
    assert code == 0, out
    assert stored_keys() == 0
    last = _entries(service)[-1]
    assert last["kind"] == "key_event"
    assert last["payload"]["event"] == "removed"
    assert last["payload"]["offline"] is True
    assert verify(service.layout.audit_log, service.audit.public_key).unsigned_entries == 0

    async def restart() -> None:
        restarted = await signer_home.start()  # the offline entry verifies at the next start
        try:
            assert "alice" not in restarted.accounts
        finally:
            await signer_home.stop(restarted)

    run(restart())


async def _ask(path: str, body: bytes) -> dict[str, Any] | None:
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 22)
    try:
        writer.write(struct.pack(">I", len(body)) + body)
        await writer.drain()
        header = await asyncio.wait_for(reader.read(4), 10)
        if len(header) < 4:
            return None
        (size,) = struct.unpack(">I", header)
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(reader.readexactly(size), 10))
        return answer
    finally:
        writer.close()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"id":1,"op":"ping","params":{"n":' + b"9" * 5000 + b"}}",
        b'{"id":1,"op":"ping","params":' + b'{"a":' * 50 + b"1" + b"}" * 50 + b"}",
        b'{"id":1,"op":"ping","params":{"symbol":"\\ud800"}}',
    ],
    ids=["deep-nesting", "5000-digit-integer", "nested-params", "lone-surrogate"],
)
def test_a_frame_the_parser_cannot_take_gets_an_error_answer(signer_home: InProcessSigner, body: bytes) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        server = SignerServer(service, signer_home.layout)
        await server.start()
        try:
            answer = await _ask(str(signer_home.layout.socket), body)
            assert answer is not None, "the connection was dropped without an answer"
            assert answer["ok"] is False
            assert answer["error"]["kind"] == "bad_request"
            alive = await _ask(str(signer_home.layout.socket), b'{"id":2,"op":"ping","params":{}}')
            assert alive is not None
            assert alive["ok"] is True
        finally:
            await server.close()
            await signer_home.stop(service)

    run(scenario())


def test_a_burst_halt_says_how_to_resume() -> None:
    engine = PolicyEngine(account="alice", config=PolicyConfig(pairs=("BTC/USDT",)))
    reference = ReferenceMarket(symbol="BTC/USDT", price=Decimal(20000), as_of_ms=1_000)
    decision: Any = None
    for n in range(engine.config.denial_burst):
        request = OrderRequest(
            account="alice",
            symbol="ETH/USDT",
            side="buy",
            type="limit",
            amount=Decimal("1"),
            price=Decimal("1000"),
            client_order_id=f"c{n}",
        )
        decision = engine.evaluate(request, reference, 1_000 + n)
    assert decision.halted_now
    assert "`bastion policy set --account alice --state active`" in decision.alert


def test_bastion_trade_prints_decimals_not_floats() -> None:
    from bastion.cli.trade import order_line

    line = order_line(
        {
            "exchange_order_id": "7",
            "status": "open",
            "side": "buy",
            "type": "limit",
            "amount": 1e-08,
            "symbol": "BTC/USDT",
            "price": "6E+4",
            "client_order_id": "manual-1",
            "filled": "0E-8",
        }
    )
    assert "0.00000001 BTC/USDT @ 60000" in line
    assert "filled 0)" in line
    assert "e-" not in line.lower()
