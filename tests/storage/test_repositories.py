"""Repositories store domain values and give back equal ones, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bastion.domain import (
    Candle,
    Fill,
    Market,
    Money,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderType,
)
from bastion.errors import DuplicateFillError, StorageError, ValidationError
from bastion.storage import (
    AccountRepository,
    AccountState,
    BotRepository,
    CandleRepository,
    ColumnValueError,
    DealRecord,
    DealRepository,
    DealStatus,
    EventRepository,
    MarketRepository,
    OrderRepository,
    UpsertCounts,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves one second per call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def account_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return AccountRepository(session).create("main", "binance").id


def _fill(trade_id: str, amount: str, price: str = "0.05123", ts: int = 1_700_000_000_000) -> Fill:
    return Fill(
        trade_id=trade_id,
        price=Decimal(price),
        amount=Decimal(amount),
        fee=Money(Decimal("0.00000123"), "BTC"),
        is_maker=True,
        timestamp_ms=ts,
    )


def _order(client_order_id: str = "bst-1", symbol: str = "ETH/BTC") -> Order:
    return Order(
        client_order_id=client_order_id,
        symbol=symbol,
        side="buy",
        type=OrderType.LIMIT,
        amount=Decimal("1.5"),
        price=Decimal("0.05123"),
    )


# --- accounts ---------------------------------------------------------------------------------


def test_account_is_created_active_and_its_state_changes(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        repo = AccountRepository(session, clock=StepClock())
        created = repo.create("main", "binance")
        assert created.state is AccountState.ACTIVE
        assert created.created_at == T0 + timedelta(seconds=1)
    with sessions.begin() as session:
        halted = AccountRepository(session).set_state("main", AccountState.HALTED)
    with sessions() as session:
        assert AccountRepository(session).get("main") == halted
        assert halted.state is AccountState.HALTED


def test_account_names_are_unique(sessions: sessionmaker[Session], account_id: int) -> None:
    with pytest.raises(ValidationError, match="already taken"), sessions.begin() as session:
        AccountRepository(session).create("main", "kucoin")


# --- markets ----------------------------------------------------------------------------------


def test_market_round_trips_with_exact_decimals_and_upsert_replaces(sessions: sessionmaker[Session]) -> None:
    market = Market(
        symbol="ETH/BTC",
        base="ETH",
        quote="BTC",
        tick_size=Decimal("0.000001"),
        lot_step=Decimal("0.0001"),
        min_amount=Decimal("0.0001"),
        min_notional=Decimal("0.0001"),
        maker_fee=Decimal("0.00075"),
        taker_fee=Decimal("0.001"),
    )
    with sessions.begin() as session:
        MarketRepository(session).upsert("binance", market)
    changed = dataclasses.replace(market, tick_size=Decimal("0.0000001"), max_amount=Decimal("90000"))
    with sessions.begin() as session:
        MarketRepository(session).upsert("binance", changed)
    with sessions() as session:
        repo = MarketRepository(session)
        assert repo.get("binance", "ETH/BTC") == changed
        assert repo.get("kucoin", "ETH/BTC") is None
        assert repo.all("binance") == [changed]


# --- orders -----------------------------------------------------------------------------------


def test_order_round_trips_through_apply_saved_at_every_step(sessions: sessionmaker[Session], account_id: int) -> None:
    order = _order()
    steps = [
        OrderAccepted("x-123", 1_700_000_000_000),
        OrderFilled(_fill("t-1", "0.5")),
        OrderFilled(_fill("t-2", "1.0", price="0.05122")),
    ]
    with sessions.begin() as session:
        OrderRepository(session).save(order, account_id=account_id)
    for event in steps:
        order.apply(event)
        with sessions.begin() as session:
            OrderRepository(session).save(order, account_id=account_id)
    with sessions() as session:
        loaded = OrderRepository(session).get("bst-1")
    assert loaded is not None
    assert loaded.status is OrderStatus.FILLED
    assert loaded.exchange_order_id == "x-123"
    assert loaded.fills == order.fills
    assert loaded.events == order.events
    assert loaded.average_price == order.average_price
    assert loaded.fees() == {"BTC": Decimal("0.00000246")}


def test_saving_the_same_order_twice_stores_its_events_once(sessions: sessionmaker[Session], account_id: int) -> None:
    order = _order()
    order.apply(OrderAccepted("x-1", 1))
    for _ in range(2):
        with sessions.begin() as session:
            OrderRepository(session).save(order, account_id=account_id)
    with sessions() as session:
        assert [e.kind for e in EventRepository(session).for_aggregate("order", "bst-1")] == ["OrderAccepted"]


def test_loaded_status_comes_from_the_events_not_the_status_column(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    order = _order()
    order.apply(OrderAccepted("x-1", 1))
    with sessions.begin() as session:
        OrderRepository(session).save(order, account_id=account_id)
        session.execute(text("UPDATE orders SET status = 'filled'"))
    with pytest.raises(StorageError, match=r"stored status 'filled'.*rebuild 'accepted'"), sessions() as session:
        OrderRepository(session).get("bst-1")


def test_rejected_and_market_orders_round_trip(sessions: sessionmaker[Session], account_id: int) -> None:
    rejected = _order("bst-r")
    rejected.apply(OrderRejected("max notional per day exceeded", 5))
    market = Order(client_order_id="bst-m", symbol="ETH/BTC", side="sell", type=OrderType.MARKET, amount=Decimal(2))
    market.apply(OrderAccepted("x-9", 6))
    market.apply(OrderCancelled(7))
    with sessions.begin() as session:
        repo = OrderRepository(session)
        repo.save(rejected, account_id=account_id)
        repo.save(market, account_id=account_id)
    with sessions() as session:
        repo = OrderRepository(session)
        loaded_rejected, loaded_market = repo.get("bst-r"), repo.get("bst-m")
    assert loaded_rejected is not None
    assert loaded_rejected.reason == "max notional per day exceeded"
    assert loaded_rejected.events == rejected.events
    assert loaded_market is not None
    assert loaded_market.price is None
    assert loaded_market.status is OrderStatus.CANCELLED


def test_a_trade_id_already_stored_for_the_account_and_symbol_is_refused(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    first, second, other_symbol = _order("bst-1"), _order("bst-2"), _order("bst-3", symbol="LTC/BTC")
    for order in (first, second, other_symbol):
        order.apply(OrderAccepted(f"x-{order.client_order_id}", 1))
        order.apply(OrderFilled(_fill("t-1", "0.5")))
    with sessions.begin() as session:
        OrderRepository(session).save(first, account_id=account_id)
        OrderRepository(session).save(other_symbol, account_id=account_id)  # same trade id, other market
    duplicate = "trade t-1 on ETH/BTC is already stored for order bst-1"
    with pytest.raises(DuplicateFillError, match=duplicate), sessions.begin() as session:
        OrderRepository(session).save(second, account_id=account_id)
    with sessions() as session:
        assert OrderRepository(session).get("bst-2") is None


def test_a_stale_copy_of_an_order_is_refused(sessions: sessionmaker[Session], account_id: int) -> None:
    order = _order()
    with sessions.begin() as session:
        OrderRepository(session).save(order, account_id=account_id)
    stale = _order()
    order.apply(OrderAccepted("x-1", 1))
    stale.apply(OrderRejected("no", 1))
    with sessions.begin() as session:
        OrderRepository(session).save(order, account_id=account_id)
    with pytest.raises(StorageError, match="expected this copy to extend"), sessions.begin() as session:
        OrderRepository(session).save(stale, account_id=account_id)


def test_a_client_order_id_cannot_be_reused_for_another_order(sessions: sessionmaker[Session], account_id: int) -> None:
    with sessions.begin() as session:
        OrderRepository(session).save(_order(), account_id=account_id)
    other = Order(client_order_id="bst-1", symbol="ETH/BTC", side="sell", type=OrderType.MARKET, amount=Decimal(1))
    with pytest.raises(StorageError, match="side is stored as 'buy', got 'sell'"), sessions.begin() as session:
        OrderRepository(session).save(other, account_id=account_id)


def test_open_orders_are_the_accepted_and_partially_filled_ones(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    new, accepted, partial, filled = (_order(f"bst-{i}") for i in range(4))
    for order in (accepted, partial, filled):
        order.apply(OrderAccepted(f"x-{order.client_order_id}", 1))
    partial.apply(OrderFilled(_fill("t-p", "0.5")))
    filled.apply(OrderFilled(_fill("t-f", "1.5")))
    with sessions.begin() as session:
        for order in (new, accepted, partial, filled):
            OrderRepository(session).save(order, account_id=account_id)
    with sessions() as session:
        repo = OrderRepository(session)
        assert [o.client_order_id for o in repo.open_orders(account_id)] == ["bst-1", "bst-2"]
        assert repo.open_orders(account_id, symbol="LTC/BTC") == []
        found = repo.get_by_exchange_id(account_id, found_symbol := partial.symbol, "x-bst-2")
        assert found is not None
        assert found.filled == Decimal("0.5")
        assert repo.get_by_exchange_id(account_id, "LTC/BTC" if found_symbol != "LTC/BTC" else "X/Y", "x-bst-2") is None


# --- bots and deals ---------------------------------------------------------------------------


def test_bot_is_created_disabled_and_can_be_enabled_and_reconfigured(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    config = 'pair = "ETH/BTC"\nbase_order = "0.001"\n'
    with sessions.begin() as session:
        bots = BotRepository(session)
        bot = bots.create("dca-eth", type="dca", account_id=account_id, config_toml=config)
        assert bot.enabled is False
        bots.set_enabled("dca-eth", True)
        bots.set_config("dca-eth", config + "safety_orders = 5\n")
    with sessions() as session:
        bots = BotRepository(session)
        loaded = bots.get("dca-eth")
        assert loaded is not None
        assert loaded.enabled is True
        assert loaded.config_toml.endswith("safety_orders = 5\n")
        assert bots.all(enabled=True) == [loaded]
    with pytest.raises(ValidationError, match="already taken"), sessions.begin() as session:
        BotRepository(session).create("dca-eth", type="grid", account_id=account_id, config_toml="")


def test_deal_is_opened_updated_and_closed(sessions: sessionmaker[Session], account_id: int) -> None:
    with sessions.begin() as session:
        bot = BotRepository(session).create("dca", type="dca", account_id=account_id, config_toml="")
        deal = DealRepository(session).save(
            DealRecord(
                bot_id=bot.id,
                pair="ETH/BTC",
                base_order_price=Decimal("0.05123"),
                avg_price=Decimal("0.05123"),
                take_profit_price=Decimal("0.0517423"),
                amount=Decimal("0.02"),
                cost_quote=Decimal("0.0010246"),
                opened_at=T0,
            )
        )
    assert deal.id is not None
    closed = dataclasses.replace(
        deal,
        status=DealStatus.CLOSED,
        safety_orders_filled=2,
        close_price=Decimal("0.0517423"),
        profit_quote=Decimal("0.000010246000000000000001"),
        closed_at=T0 + timedelta(hours=3),
    )
    with sessions.begin() as session:
        DealRepository(session).save(closed)
    with sessions() as session:
        deals = DealRepository(session)
        assert deals.get(deal.id) == closed
        assert deals.for_bot(bot.id, status=DealStatus.OPEN) == []
        assert deals.for_bot(bot.id) == [closed]


def test_closed_summary_counts_finished_deals_and_finds_the_last_close(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    with sessions.begin() as session:
        bot = BotRepository(session).create("dca", type="dca", account_id=account_id, config_toml="")
        deals = DealRepository(session)
        assert deals.closed_summary(bot.id) == (0, None)
        for hours, status in ((5, DealStatus.CLOSED), (30, DealStatus.CANCELLED), (2, DealStatus.CLOSED)):
            deals.save(
                DealRecord(
                    bot_id=bot.id,
                    pair="ETH/BTC",
                    status=status,
                    opened_at=T0,
                    closed_at=T0 + timedelta(hours=hours),
                )
            )
        deals.save(DealRecord(bot_id=bot.id, pair="ETH/BTC", opened_at=T0 + timedelta(hours=40)))
    with sessions() as session:
        assert DealRepository(session).closed_summary(bot.id) == (3, T0 + timedelta(hours=30))


def test_a_closed_deal_needs_a_close_time(sessions: sessionmaker[Session], account_id: int) -> None:
    with sessions.begin() as session:
        bot = BotRepository(session).create("dca", type="dca", account_id=account_id, config_toml="")
    deal = DealRecord(bot_id=bot.id, pair="ETH/BTC", status=DealStatus.CLOSED, opened_at=T0)
    with pytest.raises(ValidationError, match="no closed_at"), sessions.begin() as session:
        DealRepository(session).save(deal)


# --- events -----------------------------------------------------------------------------------


def test_events_come_back_in_append_order(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        events = EventRepository(session, clock=StepClock())
        for i in range(3):
            events.append("Tick", "bot", "a", {"i": i, "price": f"0.{i}"})
            events.append("Tick", "bot", "b", {"i": i})
    with sessions() as session:
        events = EventRepository(session)
        a = events.for_aggregate("bot", "a")
        everything = events.since(0)
        tail = events.since(everything[3].id)
    assert [e.payload for e in a] == [{"i": 0, "price": "0.0"}, {"i": 1, "price": "0.1"}, {"i": 2, "price": "0.2"}]
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert [(e.aggregate_id, e.payload["i"]) for e in everything] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2),
    ]  # fmt: skip
    assert [e.ts for e in everything] == sorted(e.ts for e in everything)
    assert tail == everything[4:]


@pytest.mark.parametrize("payload", [{"price": 0.1}, {"nested": [{"fee": Decimal("0.1")}]}])
def test_event_payload_numbers_must_not_be_floats(sessions: sessionmaker[Session], payload: dict) -> None:
    with pytest.raises(ValidationError, match="decimal strings"), sessions.begin() as session:
        EventRepository(session).append("X", "test", "1", payload)


# --- candles ----------------------------------------------------------------------------------


def _candles(n: int, start: int = 1_515_560_100_000) -> list[Candle]:
    return [
        Candle(
            start + i * 300_000,
            Decimal("0.0984") + i,
            Decimal("0.0994766") + i,
            Decimal("0.09828605") + i,
            Decimal("0.0994766") + i,
            None if i == 0 else Decimal("1820.54447418"),
        )
        for i in range(n)
    ]


def test_candle_bulk_upsert_is_idempotent_and_counts_changes(sessions: sessionmaker[Session]) -> None:
    candles = _candles(1200)
    key = ("simulator", "ETH/BTC", "5m")
    with sessions.begin() as session:
        assert CandleRepository(session).upsert_many(*key, candles) == UpsertCounts(1200, 0, 0)
    with sessions.begin() as session:
        assert CandleRepository(session).upsert_many(*key, candles) == UpsertCounts(0, 0, 1200)
    changed = [dataclasses.replace(c, close=c.close + Decimal("1E-8")) for c in candles[:3]]
    more = _candles(2, start=candles[-1].ts_ms + 300_000)
    with sessions.begin() as session:
        assert CandleRepository(session).upsert_many(*key, changed + more) == UpsertCounts(2, 3, 0)
    with sessions() as session:
        repo = CandleRepository(session)
        stored = repo.series(*key)
        assert repo.count(*key) == 1202
        assert repo.count("simulator", "ETH/BTC", "1m") == 0
    assert stored == changed + candles[3:] + more
    assert stored[0].volume is None
    assert stored[0].close.as_tuple() == Decimal("0.09947661").as_tuple()


def test_candle_upsert_refuses_repeated_times_and_floats(sessions: sessionmaker[Session]) -> None:
    candle = _candles(1)[0]
    with pytest.raises(ValidationError, match="appears twice"), sessions.begin() as session:
        CandleRepository(session).upsert_many("simulator", "ETH/BTC", "5m", [candle, candle])
    with pytest.raises(ColumnValueError, match="float"), sessions.begin() as session:
        CandleRepository(session).upsert_many(
            "simulator",
            "ETH/BTC",
            "5m",
            [dataclasses.replace(candle, open=0.1)],  # type: ignore[arg-type]
        )


def test_engine_numbered_deals_bot_status_and_the_command_queue(
    sessions: sessionmaker[Session], account_id: int
) -> None:
    from bastion.storage import CommandRepository, CommandStatus

    with sessions.begin() as session:
        bot = BotRepository(session).create("dca2", type="dca", account_id=account_id, config_toml="")
        assert bot.status == "stopped"
        deals = DealRepository(session)
        assert deals.max_id() == 0
        deals.put(DealRecord(id=7, bot_id=bot.id, pair="ETH/BTC", opened_at=T0))  # the engine core numbers deals
        deals.put(DealRecord(id=7, bot_id=bot.id, pair="ETH/BTC", amount=Decimal("0.02"), opened_at=T0))
        BotRepository(session).set_status(bot.id, "paused", "order base refused (policy_denied)", enabled=False)
        queued = CommandRepository(session).enqueue("close_deal", deal_id=7, payload={"limit_price": None})
    with sessions.begin() as session:
        assert DealRepository(session).max_id() == 7
        assert DealRepository(session).get(7).amount == Decimal("0.02")  # type: ignore[union-attr]
        paused = BotRepository(session).get("dca2")
        assert paused is not None
        assert (paused.status, paused.status_reason, paused.enabled) == (
            "paused",
            "order base refused (policy_denied)",
            False,
        )
        commands = CommandRepository(session)
        assert [c.id for c in commands.pending()] == [queued.id]
        commands.finish(queued.id, ok=True, result="deal 7 closed")
    with sessions() as session:
        done = CommandRepository(session).get(queued.id)
        assert done is not None
        assert (done.status, done.result) == (CommandStatus.DONE, "deal 7 closed")
        assert CommandRepository(session).pending() == []
