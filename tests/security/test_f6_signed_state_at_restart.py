"""Finding 6: a restart trusts only signed state.

Before: at start the audit log checked only its head, but every line was replayed into budgets,
sent orders and policy revisions; and the key status column was not signed. Two attacks worked:
an older signed policy row restored plus a same-length edit of the log before its head gave
``state active`` and a fresh budget, and ``status=active`` written into the database made a key
paused for its withdrawal permission trade again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bastion.custody.audit import AuditError
from bastion.custody.policy import PolicyState
from bastion.custody.signer._model import Refusal
from bastion.custody.signer.service import SignerService
from bastion.storage import PolicyRepository
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.simulator import SimulatorProcess


async def _trading(signer: InProcessSigner, sim: SimulatorProcess) -> SignerService:
    service = await signer.start()
    await signer.add_key(service, sim)
    await service.handle(
        "policy_set",
        {"account": "alice", "changes": {"pairs": ["BTC/USDT"]}, "passphrase": signer.passphrase},
        OPERATOR,
    )
    return service


def _order(service: SignerService, sim: SimulatorProcess, cid: str) -> Any:
    last = Decimal(str(sim.client("alice").fetch_ticker("BTC/USDT")["last"]))
    price = (last * Decimal("0.9")).quantize(Decimal("1"))
    return service.handle(
        "place_order",
        {
            "account": "alice",
            "symbol": "BTC/USDT",
            "side": "buy",
            "type": "limit",
            "amount": "0.001",
            "price": str(price),
            "client_order_id": cid,
        },
        OPERATOR,
    )


def _policy_row(service: SignerService) -> dict[str, Any]:
    with service.sessions.begin() as session:
        stored = PolicyRepository(session).get(service.accounts["alice"].account_id)
        assert stored is not None
        return {
            "config": stored.config,
            "reason": stored.reason,
            "revision": stored.revision,
            "signature": stored.signature,
            "updated_at": stored.updated_at,
        }


def _restore_policy_row(service: SignerService, account_id: int, row: dict[str, Any]) -> None:
    with service.sessions.begin() as session:
        PolicyRepository(session).put(account_id, **row)


def _edit_same_length(path: Any, kind: bytes, old: bytes, new: bytes) -> None:
    assert len(old) == len(new)
    lines = path.read_bytes().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if f'"kind":"{kind.decode()}"'.encode() in line and old in line]
    assert hits, f"no {kind!r} line holds {old!r}"
    for i in hits:
        lines[i] = lines[i].replace(old, new)
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize("checkpoint", ["kept", "deleted"])
def test_an_older_policy_row_plus_a_same_length_edit_of_the_log_does_not_resume_trading(
    signer_home: InProcessSigner, sim: SimulatorProcess, checkpoint: str
) -> None:
    async def scenario() -> None:
        service = await _trading(signer_home, sim)
        try:
            await _order(service, sim, "before-halt-1")
            account_id = service.accounts["alice"].account_id
            active_row = _policy_row(service)  # revision 2: ACTIVE, BTC/USDT allowed, signed
            await service.handle("policy_set", {"account": "alice", "changes": {"state": "halted"}}, OPERATOR)
            halted_revision = service.accounts["alice"].revision
        finally:
            await signer_home.stop(service)
        log = signer_home.layout.audit_log
        # The attack: the old signed row back in the database, and the log edited so that its
        # latest policy revision is the old one and the order no longer counts against the budget.
        _restore_policy_row(service, account_id, active_row)
        old_revision = active_row["revision"]
        _edit_same_length(
            log, b"policy_change", f'"revision":{halted_revision}'.encode(), f'"revision":{old_revision}'.encode()
        )
        _edit_same_length(log, b"request", b'"op":"place_order"', b'"op":"place_ordex"')
        if checkpoint == "deleted":
            service.audit.checkpoint_path.unlink()
        # The signer refuses to start on a log that does not verify: nothing is replayed from it.
        with pytest.raises(AuditError, match=r"altered|does not verify"):
            await signer_home.start()

    run(scenario())


def test_an_older_policy_row_alone_halts_the_account_with_a_clear_message(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await _trading(signer_home, sim)
        try:
            account_id = service.accounts["alice"].account_id
            old_row = _policy_row(service)
            await service.handle(
                "policy_set", {"account": "alice", "changes": {"max_orders_per_minute": 3}}, OPERATOR
            )
        finally:
            await signer_home.stop(service)
        _restore_policy_row(service, account_id, old_row)
        restarted = await signer_home.start()
        try:
            account = restarted.accounts["alice"]
            assert account.policy.state is PolicyState.HALTED
            assert account.reason is not None
            assert "old row restored" in account.reason
            assert "bastion policy set --account alice --state active" in account.reason
        finally:
            await signer_home.stop(restarted)

    run(scenario())


def test_a_key_paused_for_withdrawals_stays_paused_when_the_database_says_active(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    async def scenario() -> None:
        service = await _trading(signer_home, sim)
        try:
            sim.set_restrictions(sim.key("alice")["api_key"], enableWithdrawals=True)
            report = await service.handle("keys_check", {"account": "alice"}, OPERATOR)
            assert report[0]["paused"] is True
        finally:
            await signer_home.stop(service)
        with service.sessions.begin() as session:  # the attacker's edit of the unsigned columns
            session.execute(text("UPDATE api_keys SET status = 'active', status_reason = NULL, checked_at = NULL"))
        restarted = await signer_home.start()
        try:
            with pytest.raises(Refusal) as refused:
                await _order(restarted, sim, "after-edit-1")
            assert refused.value.rule == "key_paused"
            assert sim.orders("alice") == []
        finally:
            await signer_home.stop(restarted)

    run(scenario())
