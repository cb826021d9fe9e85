"""Attack: a bot sized above the account's policy (or a compromised config) keeps sending orders the
signer denies; five denials in a minute would HALT the account and stop every other bot on it.

The engine core pauses the bot at its first policy denial, so one bot can never produce the burst:
whatever the price does and however long the engine runs, that bot sends one order. (The end-to-end
version, with the real signer and its burst halt, is tests/engine/test_engine_many_bots.py.)
"""

from __future__ import annotations

from bastion.engine.core import BotStatus, RejectKind
from bastion.engine.core.effects import SendOrder
from support.core_harness import BTC_USDT, CoreHarness, dca_bot


def test_a_bot_whose_orders_are_denied_sends_one_order_then_pauses_for_good():
    bot = dca_bot(base_order_size="20000", base_order_type="limit")
    h = CoreHarness(bot, {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.refuse, h.refuse_kind = ("base",), RejectKind.POLICY_DENIED  # the signer's policy denies it
    for minute in range(60):  # an hour of steps: new prices, new wakes
        h.advance(60_000)
        h.move("BTC/USDT", str(16720 + (minute % 7) * 10))
        for _ in range(5):
            if not h.due():
                break
            h.decide()
    sent = [e for e in h.effects if isinstance(e, SendOrder)]
    assert len(sent) == 1, f"{len(sent)} orders reached the signer; the account's burst halt is 5"
    assert h.core.bots[1].status is BotStatus.PAUSED
    assert "policy_denied" in h.core.bots[1].reason
