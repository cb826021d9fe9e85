"""Finding 12 (quote limits): the per-quote limits ``policy set --quote-limit`` writes are part of
the signed policy row, so raising them in the database (BTC=0.05 -> 500) halts the account at the
next start instead of letting ETH/BTC orders through at the new limit."""

from __future__ import annotations

from bastion.custody.policy import PolicyState
from bastion.storage import PolicyRepository
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.simulator import SimulatorProcess

BTC = {"max_order_notional": "0.05", "max_daily_notional": "0.5", "min_volume_24h": "20"}


def test_raising_a_quote_limit_in_the_database_halts_the_account(signer_home: InProcessSigner, sim: SimulatorProcess):
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            await signer_home.add_key(service, sim)
            shown = await service.handle(
                "policy_set",
                {
                    "account": "alice",
                    "changes": {"pairs": ["ETH/BTC"], "quote_limits": {"BTC": BTC}},
                    "passphrase": signer_home.passphrase,
                },
                OPERATOR,
            )
            assert shown["policy"]["quote_limits"] == {"BTC": BTC}
            account_id = service.accounts["alice"].account_id
        finally:
            await signer_home.stop(service)
        with service.sessions.begin() as session:  # the attack: the row's limit raised, its signature kept
            repo = PolicyRepository(session)
            stored = repo.get(account_id)
            assert stored is not None
            config = {**stored.config, "quote_limits": {"BTC": {**BTC, "max_order_notional": "500"}}}
            repo.put(
                account_id,
                config=config,
                reason=stored.reason,
                revision=stored.revision,
                signature=stored.signature,
                updated_at=stored.updated_at,
            )
        restarted = await signer_home.start()
        try:
            account = restarted.accounts["alice"]
            assert account.policy.state is PolicyState.HALTED
            assert "signature does not verify" in (account.reason or "")
            assert account.policy.config.limits_for("BTC") is None  # nothing of the edited row is used
        finally:
            await signer_home.stop(restarted)

    run(scenario())
