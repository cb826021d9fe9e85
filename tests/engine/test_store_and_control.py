"""The shell's storage side and the control services on real SQLite (no process, no signer).

The core's effects are stored write-ahead and load back into a fresh core unchanged (what a
restart sees); manual commands are checked and queued by services.control.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.engine.core import EngineCore
from bastion.engine.core.effects import STORED
from bastion.engine.store import load_deals, store_effects
from bastion.errors import ValidationError
from bastion.services import control
from bastion.storage import (
    AccountRepository,
    BotRepository,
    CommandRepository,
    CommandStatus,
    DealRepository,
    OrderRepository,
    create_engine_for,
    session_factory,
    upgrade,
)
from support.core_harness import BTC_USDT, CoreHarness, dca_bot

DCA = """
name = "btc-dca"
type = "dca"
account = "paper"
pairs = ["BTC/USDT"]
base_order_size = "20"
take_profit_pct = "1"
safety_order_size = "20"
max_safety_orders = 2
active_safety_orders = 2
price_deviation_pct = "1"
"""


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bastion.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        account = AccountRepository(session).create("paper", "simulator")
        BotRepository(session).create("btc-dca", type="dca", account_id=account.id, config_toml=DCA, enabled=True)
    return factory


def _store(sessions: sessionmaker[Session], h: CoreHarness) -> None:
    with sessions.begin() as session:
        store_effects(session, [e for e in h.effects if isinstance(e, STORED)], {"paper": 1})
    h.effects.clear()


def test_the_cores_effects_stored_load_back_into_a_fresh_core(sessions: sessionmaker[Session]):
    h = CoreHarness(dca_bot(**{"safety_order_size": "20", "max_safety_orders": 2, "active_safety_orders": 2,
                               "price_deviation_pct": "1"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})  # fmt: skip
    h.settle()
    _store(sessions, h)
    h.step("BTC/USDT", "16600", low="16550")  # so1 fills, the take-profit is replaced
    _store(sessions, h)
    with sessions() as session:
        [deal] = DealRepository(session).all()
        assert (deal.safety_orders_filled, deal.amount) == (1, Decimal("0.00239"))
        assert deal.take_profit_price == h.core.deals[1].snapshot(h.core.orders).take_profit_price
        loaded = load_deals(session, {1: "paper"})
        orders = {o.client_order_id: o for o, _b, _d, _l in OrderRepository(session).for_bot(1)}
    fresh = EngineCore()
    for event in loaded:
        fresh.apply(event)
    assert fresh.next_deal_id == 2
    assert set(fresh.orders) == set(h.core.orders) == set(orders)
    for cid, entry in h.core.orders.items():
        again = fresh.orders[cid]
        assert (again.order.status, again.order.filled, again.tag) == (
            entry.order.status,
            entry.order.filled,
            entry.tag,
        )


def test_order_identity_is_unique_per_account_symbol_and_exchange_id(sessions: sessionmaker[Session]):
    from bastion.domain import Order, OrderAccepted, OrderType
    from bastion.errors import StorageError

    def order(cid: str, symbol: str) -> Order:
        o = Order(
            client_order_id=cid, symbol=symbol, side="buy", type=OrderType.LIMIT, amount=Decimal(1), price=Decimal(1)
        )
        o.apply(OrderAccepted("1", 1))
        return o

    with sessions.begin() as session:
        repo = OrderRepository(session)
        repo.save(order("a", "BTC/USDT"), account_id=1)
        repo.save(order("b", "ETH/BTC"), account_id=1)  # the same exchange id on another symbol: fine
        assert repo.get_by_exchange_id(1, "ETH/BTC", "1").client_order_id == "b"  # type: ignore[union-attr]
    with pytest.raises(StorageError), sessions.begin() as session:
        OrderRepository(session).save(order("c", "BTC/USDT"), account_id=1)


def test_control_services_check_and_queue_commands(sessions: sessionmaker[Session]):
    with pytest.raises(ValidationError, match="no deal with id 5"):
        control.close_deal(sessions, 5)
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.settle()
    _store(sessions, h)
    with pytest.raises(ValidationError, match="--limit must be a positive number"):
        control.close_deal(sessions, 1, limit_price="-3")
    queued = control.close_deal(sessions, 1, limit_price="17000")
    assert queued.status is CommandStatus.PENDING
    assert queued.payload == {"limit_price": "17000"}
    with pytest.raises(ValidationError, match="--deals must be one of keep, cancel, close"):
        control.stop_bot(sessions, "btc-dca", deals="sell")
    stop = control.stop_bot(sessions, "btc-dca", deals="close")
    with sessions() as session:
        assert BotRepository(session).get("btc-dca").enabled is False  # type: ignore[union-attr]
        assert [c.id for c in CommandRepository(session).pending()] == [queued.id, stop.id]
    with pytest.raises(ValidationError, match=r"pairs cannot change while 1 deal\(s\) are open"):
        control.edit_bot(sessions, "btc-dca", DCA.replace('["BTC/USDT"]', '["ETH/BTC"]'))
    edit = control.edit_bot(sessions, "btc-dca", DCA.replace('take_profit_pct = "1"', 'take_profit_pct = "2"'))
    assert edit.kind == "edit_bot"
    ticks = iter(range(100))
    waited = control.wait(sessions, edit.id, timeout_s=3, sleep=lambda _s: None, monotonic=lambda: next(ticks))
    assert waited.status is CommandStatus.PENDING  # no engine ran: still queued
