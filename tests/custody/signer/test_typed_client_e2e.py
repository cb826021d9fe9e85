"""The typed signer client against a real signer process and the simulator: typed answers, same error classes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest

from bastion.custody.signer import AsyncSignerClient
from bastion.custody.signer.rpc import (
    BalancesRequest,
    CancelOrderRequest,
    GetOrderRequest,
    KeyStatus,
    MyTradesRequest,
    OpenOrdersRequest,
    PlaceOrderRequest,
    PolicyShowRequest,
)
from bastion.domain import OrderStatus, OrderType
from bastion.errors import DuplicateOrder, OrderNotFound, PolicyDenied, SignerNotFound, SignerRefused


def test_the_typed_client_gets_typed_answers_and_the_signers_own_error_classes(trading):
    home, _sim = trading
    limit = PlaceOrderRequest(
        account="alice",
        symbol="BTC/USDT",
        side="buy",
        type=OrderType.LIMIT,
        amount=Decimal("0.001"),
        price=Decimal("16500"),
        client_order_id="typed-1",
    )
    with home.client() as signer:
        order = signer.place_order(limit)
        assert order.status is OrderStatus.ACCEPTED
        assert (order.amount, order.price, order.client_order_id) == (Decimal("0.001"), Decimal("16500"), "typed-1")
        eid = order.exchange_order_id
        assert signer.get_order(GetOrderRequest(account="alice", symbol="BTC/USDT", exchange_order_id=eid)) == order
        assert [o.exchange_order_id for o in signer.open_orders(OpenOrdersRequest(account="alice"))] == [eid]
        balances = signer.balances(BalancesRequest(account="alice"))
        assert balances["USDT"].used == Decimal("16.5")
        assert balances["USDT"].total == Decimal(10000)

        with pytest.raises(DuplicateOrder):  # the same client id for a different order: the exchange's class
            signer.place_order(replace(limit, side="sell", price=Decimal(16800)))
        with pytest.raises(PolicyDenied) as denied:
            signer.place_order(replace(limit, symbol="DOGE/USDT", client_order_id="d"))
        assert denied.value.rule == "pair_not_allowed"
        with pytest.raises(SignerNotFound):
            signer.balances(BalancesRequest(account="mallory"))

        cancelled = signer.cancel_order(
            CancelOrderRequest(account="alice", symbol="BTC/USDT", client_order_id="typed-1")
        )
        assert cancelled.status is OrderStatus.CANCELLED
        with pytest.raises(OrderNotFound):
            signer.cancel_order(CancelOrderRequest(account="alice", symbol="BTC/USDT", exchange_order_id="987654"))
        with pytest.raises(SignerRefused, match="does not take symbl") as refused:  # a typo is refused, not ignored
            signer.call("open_orders", account="alice", symbl="BTC/USDT")
        assert refused.value.kind == "bad_request"

        [status] = signer.key_status()
        assert isinstance(status, KeyStatus)
        assert status.account == "alice"
        view = signer.policy_show(PolicyShowRequest(account="alice"))
        assert view.policy.pairs == ("BTC/USDT",)
        assert view.usage.orders_last_minute == 1

    async def engine_side() -> None:
        signer = AsyncSignerClient(home.layout.socket)
        try:
            market = PlaceOrderRequest(
                account="alice",
                symbol="BTC/USDT",
                side="buy",
                type=OrderType.MARKET,
                amount=Decimal("0.001"),
                client_order_id="typed-2",
            )
            bought = await signer.place_order(market)
            trades = await signer.my_trades(
                MyTradesRequest(account="alice", symbol="BTC/USDT", exchange_order_id=bought.exchange_order_id)
            )
            assert sum(t.amount for t in trades) == Decimal("0.001")
            assert {t.order_id for t in trades} == {bought.exchange_order_id}
            assert (await signer.ping()).accounts == ("alice",)
        finally:
            await signer.close()

    asyncio.run(engine_side())
