"""Finding 3: a HALT cannot be undone without the passphrase, not even by a request queued behind it.

``policy_set`` used to take its config snapshot before waiting for the account lock, so a no-op
"tightening" queued behind a halt wrote back the pre-halt ACTIVE state (and, after a leak halt,
acknowledged the foreign orders). These tests race halts against no-op tightenings in many
``asyncio.gather`` rounds and check that no round ends with an unauthorised state change.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bastion.custody.policy import PolicyState
from bastion.custody.signer._model import Refusal, SignerOptions
from bastion.custody.signer.service import SignerService
from bastion.storage import PolicyRepository
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.simulator import SimulatorProcess

ROUNDS = 6


def _stored_state(service: SignerService) -> str:
    account = service.accounts["alice"]
    with service.sessions.begin() as session:
        stored = PolicyRepository(session).get(account.account_id)
        assert stored is not None
        return str(stored.config["state"])


def _no_op(service: SignerService) -> Any:
    current = service.accounts["alice"].policy.config.max_orders_per_minute
    return service.handle("policy_set", {"account": "alice", "changes": {"max_orders_per_minute": current}}, OPERATOR)


async def _resume(signer: InProcessSigner, service: SignerService) -> None:
    account = service.accounts["alice"]
    if account.foreign:
        await service.handle("ack_findings", {"account": "alice", "passphrase": signer.passphrase}, OPERATOR)
    await service.handle(
        "policy_set",
        {"account": "alice", "changes": {"state": "active"}, "passphrase": signer.passphrase},
        OPERATOR,
    )
    assert account.policy.state is PolicyState.ACTIVE


def test_no_op_tightenings_racing_a_leak_halt_never_resume_the_account(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    foreign_client = sim.client("alice")  # the same key, used from elsewhere

    async def scenario() -> None:
        service = await signer_home.start()
        try:
            await signer_home.add_key(service, sim)
            await service.handle(
                "policy_set",
                {"account": "alice", "changes": {"pairs": ["BTC/USDT"]}, "passphrase": signer_home.passphrase},
                OPERATOR,
            )
            account = service.accounts["alice"]
            for round_ in range(ROUNDS):
                foreign_client.create_order("BTC/USDT", "limit", "buy", 0.001, 10000 + round_)
                results = await asyncio.gather(
                    service.handle("keys_check", {"account": "alice"}, OPERATOR),
                    *(_no_op(service) for _ in range(3)),
                    return_exceptions=True,
                )
                for result in results:
                    assert not isinstance(result, BaseException) or isinstance(result, Refusal), result
                assert account.policy.state is PolicyState.HALTED, f"round {round_}: the halt was undone"
                assert _stored_state(service) == "halted", f"round {round_}: the stored policy was resumed"
                assert account.foreign, f"round {round_}: the foreign order was acknowledged without the passphrase"
                await _resume(signer_home, service)
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_no_op_tightenings_racing_a_burst_of_denials_never_resume_the_account(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    signer_home.options = SignerOptions(reference_refresh_ms=0)  # every order awaits the exchange under the lock

    def too_big(round_: int, n: int) -> Any:
        return service_ref[0].handle(
            "place_order",
            {
                "account": "alice",
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "limit",
                "amount": "5",
                "price": "16000",
                "client_order_id": f"burst-{round_}-{n}",
            },
            OPERATOR,
        )

    service_ref: list[SignerService] = []

    async def scenario() -> None:
        service = await signer_home.start()
        service_ref.append(service)
        try:
            await signer_home.add_key(service, sim)
            await service.handle(
                "policy_set",
                {"account": "alice", "changes": {"pairs": ["BTC/USDT"]}, "passphrase": signer_home.passphrase},
                OPERATOR,
            )
            account = service.accounts["alice"]
            burst = account.policy.config.denial_burst
            for round_ in range(ROUNDS):
                calls = []
                for n in range(burst):
                    calls.append(too_big(round_, n))
                    calls.append(_no_op(service))
                results = await asyncio.gather(*calls, return_exceptions=True)
                for result in results:
                    assert not isinstance(result, BaseException) or isinstance(result, Refusal), result
                assert account.policy.state is PolicyState.HALTED, f"round {round_}: the halt was undone"
                assert _stored_state(service) == "halted", f"round {round_}: the stored policy was resumed"
                await _resume(signer_home, service)
        finally:
            await signer_home.stop(service)

    run(scenario())


@pytest.mark.parametrize("start", ["halted", "reducing"])
def test_leaving_halted_or_reducing_needs_the_passphrase(
    signer_home: InProcessSigner, sim: SimulatorProcess, start: str
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            await signer_home.add_key(service, sim)
            await service.handle("policy_set", {"account": "alice", "changes": {"state": start}}, OPERATOR)
            with pytest.raises(Refusal) as refused:
                await service.handle("policy_set", {"account": "alice", "changes": {"state": "active"}}, OPERATOR)
            assert refused.value.kind == "unauthorized"
            assert service.accounts["alice"].policy.state.value == start
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_acknowledging_leak_findings_needs_the_passphrase_and_is_audited(
    signer_home: InProcessSigner, sim: SimulatorProcess
) -> None:
    foreign_client = sim.client("alice")

    async def scenario() -> None:
        service = await signer_home.start()
        try:
            await signer_home.add_key(service, sim)
            foreign_client.create_order("BTC/USDT", "limit", "buy", 0.001, 10000)
            await service.handle("keys_check", {"account": "alice"}, OPERATOR)
            account = service.accounts["alice"]
            assert account.foreign
            assert account.reason is not None
            assert "`bastion keys ack-findings --account alice`" in account.reason  # the halt says how to resume
            assert "`bastion policy set --account alice --state active`" in account.reason
            with pytest.raises(Refusal) as refused:
                await service.handle("ack_findings", {"account": "alice", "passphrase": "wrong"}, OPERATOR)
            assert refused.value.kind == "unauthorized"
            assert account.foreign
            # resuming with the passphrase but without acknowledging is refused too
            with pytest.raises(Refusal) as refused:
                await service.handle(
                    "policy_set",
                    {"account": "alice", "changes": {"state": "active"}, "passphrase": signer_home.passphrase},
                    OPERATOR,
                )
            assert "ack-findings" in refused.value.message
            assert account.policy.state is PolicyState.HALTED
            await service.handle("ack_findings", {"account": "alice", "passphrase": signer_home.passphrase}, OPERATOR)
            assert not account.foreign
            assert account.policy.state is PolicyState.HALTED  # acknowledging does not resume
            kinds = [line for line in service.layout.audit_log.read_text().splitlines() if '"kind":"leak_ack"' in line]
            assert len(kinds) == 1
            assert '"user_confirmed":true' in kinds[0]
        finally:
            await signer_home.stop(service)

    run(scenario())
