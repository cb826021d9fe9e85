"""The engine core's rules, in memory: identity, fault isolation, denials, IOC expiry, wake, notifications."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.grid import GridBot, GridConfig
from bastion.bots.interface import BotView, DealOutcome, Decision
from bastion.domain import OrderStatus, OrderType
from bastion.engine.core import BotStatus, NotifyGate, NotifyKind, RejectKind
from bastion.engine.core.effects import Notify, SendOrder, StoreBotStatus
from bastion.engine.core.events import (
    Accepted,
    BotDecided,
    BotFailed,
    BotLoaded,
    Expired,
    Filled,
    PriceUpdated,
    Rejected,
    TimeAdvanced,
)
from bastion.engine.core.wake import retry_delay_ms
from support.core_harness import BTC_USDT, ETH_USDT, VENUE, CoreHarness, dca_bot, load_candles

D = Decimal


def _sends(h: CoreHarness) -> list[SendOrder]:
    return [e for e in h.effects if isinstance(e, SendOrder)]


# --------------------------------------------------------------------------- order identity


def test_two_pairs_whose_exchange_ids_collide_keep_their_own_orders():
    """The venue numbers per symbol: both base orders get exchange id 1; fills go to the right one."""
    h = CoreHarness(
        dca_bot(pairs=["BTC/USDT", "ETH/USDT"], max_active_deals=2, base_order_type="limit"),
        {"BTC/USDT": BTC_USDT, "ETH/USDT": ETH_USDT},
        {"BTC/USDT": "16720", "ETH/USDT": "1200"},
    )
    h.decide()
    btc = h.core.by_exchange_id("paper", "BTC/USDT", "1")
    eth = h.core.by_exchange_id("paper", "ETH/USDT", "1")
    assert btc is not None
    assert eth is not None
    assert btc.order.symbol == "BTC/USDT"
    assert eth.order.symbol == "ETH/USDT"
    h.move("ETH/USDT", "1199")  # fills the ETH base only
    assert eth.order.status is OrderStatus.FILLED
    assert btc.order.status is OrderStatus.ACCEPTED
    assert h.core.by_exchange_id("paper", "BTC/USDT", "2") is None


# --------------------------------------------------------------------------- fault isolation


class _Exploding:
    name = "boom"

    def decide(self, view: BotView) -> Decision:
        raise ZeroDivisionError("a bug in a bot")


def _load(h: CoreHarness, bot_id: int, bot: object, name: str) -> None:
    h.core.apply(
        BotLoaded(
            bot_id=bot_id,
            name=name,
            kind="dca",
            account="paper",
            exchange=VENUE,
            bot=bot,  # type: ignore[arg-type]
            config=None,
            config_toml="",
            markets={"BTC/USDT": BTC_USDT},
            pairs=("BTC/USDT",),
        )
    )


def test_a_failing_bot_goes_to_error_with_backoff_and_the_others_go_on():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    _load(h, 2, _Exploding(), "boom")
    assert h.core.due() == [1, 2]
    effects = h.core.apply(BotFailed(bot_id=2, error="ZeroDivisionError: a bug in a bot"))
    slot = h.core.bots[2]
    assert slot.status is BotStatus.ERROR
    assert "ZeroDivisionError" in slot.reason
    assert [type(e) for e in effects] == [StoreBotStatus, Notify]
    assert effects[1].kind is NotifyKind.ERROR  # type: ignore[union-attr]
    assert h.core.apply(BotFailed(bot_id=2, error="ZeroDivisionError: a bug in a bot")) == []  # one per change
    assert h.core.due() == [1]  # not retried before its backoff
    h.settle()  # the healthy bot trades on
    assert len(h.closed) + len(h.deals) == 1
    h.advance(retry_delay_ms(2))
    assert 2 in h.core.due()
    assert retry_delay_ms(1) == 5_000
    assert retry_delay_ms(20) == 300_000


def test_a_failed_bot_that_decides_again_is_running():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.core.apply(BotFailed(bot_id=1, error="TimeoutError: candles"))
    h.advance(retry_delay_ms(1))
    h.decide()
    assert h.core.bots[1].status is BotStatus.RUNNING


# --------------------------------------------------------------------------- denials


def test_a_policy_denial_pauses_the_bot_and_it_does_not_retry():
    h = CoreHarness(dca_bot(base_order_size="20000"), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    view = h.view()
    decision = h.bot.decide(view)
    effects = h.core.apply(BotDecided(bot_id=1, view=view, decision=decision))
    [send] = [e for e in effects if isinstance(e, SendOrder)]
    effects = h.core.apply(
        Rejected(
            client_order_id=send.order.client_order_id, kind=RejectKind.POLICY_DENIED, reason="denied: max notional"
        )
    )
    slot = h.core.bots[1]
    assert slot.status is BotStatus.PAUSED
    assert "policy_denied" in slot.reason
    assert any(isinstance(e, Notify) and e.kind is NotifyKind.POLICY_DENIAL for e in effects)
    assert h.core.due() == []  # paused: no more decisions, no more orders, no denial burst
    h.advance(3_600_000)
    h.move("BTC/USDT", "15000")
    assert h.core.due() == []


def test_repeated_exchange_refusals_pause_the_bot_too():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.refuse = ("base",)
    for _ in range(6):
        if 1 in h.core.due():
            h.decide()
    assert h.core.bots[1].status is BotStatus.PAUSED
    assert len(_sends(h)) == 3
    ended = [d for d in h.core.deals.values() if not d.open]
    assert [d.outcome for d in ended] == [DealOutcome.ENTRY_UNFILLED] * 2  # the third waits for `bot start`


# --------------------------------------------------------------------------- IOC market orders


def test_a_market_base_order_expired_unfilled_cancels_the_deal_cleanly():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    view = h.view()
    effects = h.core.apply(BotDecided(bot_id=1, view=view, decision=h.bot.decide(view)))
    [send] = [e for e in effects if isinstance(e, SendOrder)]
    cid = send.order.client_order_id
    h.core.apply(Accepted(client_order_id=cid, exchange_order_id="9"))
    h.core.apply(Expired(client_order_id=cid))  # the IOC found nothing within the price cap
    h.decide()
    deal = h.core.deals[1]  # (the same decision opens the next deal: asap)
    assert deal.status.value == "cancelled"
    assert deal.outcome is DealOutcome.ENTRY_UNFILLED
    assert deal.profit_quote == 0


def test_a_market_base_order_expired_partly_filled_is_accounted_with_what_filled():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    view = h.view()
    effects = h.core.apply(BotDecided(bot_id=1, view=view, decision=h.bot.decide(view)))
    [send] = [e for e in effects if isinstance(e, SendOrder)]
    order = send.order
    assert order.type is OrderType.MARKET
    assert order.amount == D("0.00119")
    h.core.apply(Accepted(client_order_id=order.client_order_id, exchange_order_id="9"))
    h.core.apply(
        Filled(client_order_id=order.client_order_id, fill=h._fill("buy", D("0.0006"), D("16720"), "BTC/USDT"))
    )
    h.core.apply(Expired(client_order_id=order.client_order_id))
    h.settle()
    [tp] = [o for o in h.only_deal().orders if o.leg.startswith("tp")]
    assert tp.amount == D("0.0006")  # the take-profit sells what filled
    snapshot = h.core.deals[1].snapshot(h.core.orders)
    assert snapshot.amount == D("0.0006")
    assert snapshot.base_order_price == D("16720")


# --------------------------------------------------------------------------- wake rules


def test_the_bot_wakes_only_when_a_watched_level_is_crossed_or_its_order_changed():
    h = CoreHarness(dca_bot(safety_order_size="20", max_safety_orders=2, active_safety_orders=1,
                            price_deviation_pct="1"), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})  # fmt: skip
    h.settle()
    assert not h.due()
    h.move("BTC/USDT", "16700")  # inside every level
    assert not h.due()
    h.move("BTC/USDT", "16700", low="16550")  # crosses so1 (16552.8): a fill changes an order
    assert h.due()


# --------------------------------------------------------------------------- notifications


def test_notifications_are_deduplicated_and_rate_limited_per_bot_and_kind():
    gate = NotifyGate(window_ms=60_000, limit=3)
    sent = [gate.admit(7, "error", "bot x error", f"signer gone #{i % 2}", 1_000 + i * 400) for i in range(24)]
    assert sum(s is not None for s in sent) == 2  # 24 in 10 s -> the two distinct messages once
    assert gate.admit(8, "error", "bot y error", "signer gone #0", 2_000) is not None  # another bot: its own budget
    assert gate.admit(7, "deal_closed", "deal 1 closed", "tp", 2_000) is not None  # another kind too
    later = gate.admit(7, "error", "bot x error", "signer gone #0", 70_000)
    assert later is not None
    assert "22 similar notification(s) suppressed" in later[1]


def test_grid_bot_runs_on_the_core_and_sells_a_level_after_its_buy():
    config = GridConfig.from_mapping(
        {
            "name": "g",
            "type": "grid",
            "account": "paper",
            "pair": "BTC/USDT",
            "lower_price": 16000,
            "upper_price": 17000,
            "grid_count": 10,
            "investment_quote": 1000,
        }
    )
    h = CoreHarness(GridBot(config), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"}, kind="grid")
    h.settle()
    legs = h.active_legs()
    assert len(legs) == 10
    assert "start" not in legs
    h.step("BTC/USDT", "16590", low="16590")  # the 16600 buy fills ...
    filled = [
        o for o in h.only_deal().orders if o.status is OrderStatus.FILLED and o.side == "buy" and o.price == D(16600)
    ]
    assert filled
    sells = [o for o in h.only_deal().orders if o.active and o.side == "sell" and o.price == D(16700)]
    assert sells  # ... and its sell rests one level up


def test_rsi_start_condition_runs_through_the_core():
    candles = load_candles()
    h = CoreHarness(dca_bot(start_condition={"type": "rsi", "period": 14, "timeframe": "5m", "threshold": 30}),
                    {"BTC/USDT": BTC_USDT}, {"BTC/USDT": candles[40].close})  # fmt: skip
    opened_at = None
    for i in range(40, 400):
        h.candles = {"BTC/USDT": tuple(candles[i - 40 : i])}
        h.now_ms = candles[i].ts_ms
        h.quote("BTC/USDT", candles[i].close)
        if h.due() and h.decide().actions and h.core.deals:
            opened_at = i
            break
    assert opened_at is not None, "an RSI below 30 in the first 400 candles opens a deal"
    assert h.core.bots[1].status is BotStatus.RUNNING


def test_time_and_prices_are_events():
    h = CoreHarness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": "16720"})
    h.core.apply(TimeAdvanced(now_ms=h.now_ms - 5))  # the clock never runs backwards
    assert h.view().now_ms == 1_672_677_900_000
    h.core.apply(PriceUpdated(exchange=VENUE, symbol="BTC/USDT", last=D("16800")))
    h.core.apply(PriceUpdated(exchange=VENUE, symbol="BTC/USDT", last=D("16750")))
    price = h.view().prices["BTC/USDT"]
    assert (price.last, price.high, price.low) == (D("16750"), D("16800"), D("16720"))
