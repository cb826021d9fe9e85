"""A DCA deal end to end on the simulator's KuCoin flavor: the real ccxt kucoin client in the
signer (permission check, allowlist, IOC cap, leak detector) and the engine, real processes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.engine_stack import DCA, Stack, create_bot
from support.simulator import SimulatorProcess, make_key

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def kucoin_stack(tmp_path: Path) -> Iterator[Stack]:
    keys = [make_key("alice", {"USDT": "10000", "BTC": "0"}, passphrase=True)]
    with (
        BastionHome() as home,
        SimulatorProcess(tmp_path, speed=0, keys=keys, extra_args=("--flavor", "kucoin")) as sim,
    ):
        home.init_vault()
        home.start_signer()
        added = home.add_key("alice", sim, exchange="simulator-kucoin")
        assert added.returncode == 0, added.stderr
        home.allow("alice", "BTC/USDT")
        running = Stack(home, sim)
        try:
            yield running
        finally:
            running.stop_engine()
            running.close_db()


def test_a_dca_bot_closes_a_deal_on_kucoin_through_the_signer(kucoin_stack: Stack):
    stack = kucoin_stack
    create_bot(stack, DCA, "dca1")
    stack.start_engine()
    stack.run_until(lambda: any(d["status"] == "closed" for d in stack.deals()))
    deal = next(d for d in stack.deals() if d["status"] == "closed")
    assert Decimal(deal["profit_quote"]) > 0
    orders = [o for o in stack.orders() if o["deal"] == deal["id"]]
    # the market base order left the signer as a LIMIT IOC capped at the reference price + 2 %
    base = next(o for o in orders if o["client_order_id"].endswith("-base"))
    sent = {o["clientOrderId"]: o for o in stack.sim.orders("alice")}
    assert sent[base["client_order_id"]]["type"] == "LIMIT"
    assert sent[base["client_order_id"]]["timeInForce"] == "IOC"
    # the leak detector reconciles the KuCoin account: every fill is ours, no finding (a deposit
    # caught on KuCoin: tests/security/test_f12_kucoin_signer.py)
    check = stack.home.cli("keys", "check")
    log = stack.home.layout.signer_log
    assert check.returncode == 0, check.stdout + check.stderr + (log.read_text()[-4000:] if log.exists() else "")
