"""3Commas webhook payloads as TradingView sends them, against the real ``bastion web`` process.

The payloads are 3Commas' own templates (signal bot "custom signal" and "strategy" messages,
DCA-bot start and close messages) with TradingView's placeholders filled in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from bastion.storage import SignalStatus
from web.harness import WebhookBot, WebProcess, make_bot, pending, recent

DCA_SIGNAL = """
name = "dca-3c-{n}"
type = "dca"
account = "main"
pairs = [{pairs}]
base_order_size = "25"
take_profit_pct = "1"
start_condition = {{type = "signal"}}
"""


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _custom_signal(bot: WebhookBot, **changes: object) -> dict[str, object]:
    """3Commas' "custom signal" message for a signal bot, as a TradingView alert fills it in."""
    body: dict[str, object] = {
        "secret": bot.secret,
        "max_lag": "300",
        "timestamp": _now_iso(),
        "trigger_price": "64123.45",
        "tv_exchange": "BINANCE",
        "tv_instrument": "BTCUSDT",
        "action": "enter_long",
        "bot_uuid": bot.uuid,
        "order": {"amount": "50", "currency_type": "quote", "order_type": "market"},
        "take_profit": {"enabled": True, "steps": [{"order_type": "limit", "price_percent": 1, "volume_percent": 100}]},
        "stop_loss": {"enabled": True, "order_type": "market", "trigger_price_percent": 2},
    }
    body.update(changes)
    return body


def _dca_start(bot: WebhookBot, **changes: object) -> dict[str, object]:
    """3Commas' "message for deal start signal" of a DCA bot."""
    body: dict[str, object] = {
        "message_type": "bot",
        "bot_id": 14_358_231,
        "email_token": bot.secret,
        "delay_seconds": 0,
        "pair": "USDT_BTC",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def _dca_bot(web: WebProcess, pairs: str = '"BTC/USDT"') -> WebhookBot:
    return make_bot(web, type="dca", config=DCA_SIGNAL.format(n=time.monotonic_ns(), pairs=pairs))


def test_a_custom_signal_with_fields_bastion_does_not_use_is_accepted_and_they_are_named(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    answer = client.post(f"/api/v1/signals/{bot.uuid}", json=_custom_signal(bot))
    assert answer.status_code == 202, answer.text
    assert answer.json()["ignored_fields"] == ["stop_loss", "take_profit"]
    [stored] = pending(web, bot)
    assert (stored.action, stored.pair, str(stored.amount), stored.currency_type) == (
        "enter_long",
        "BTC/USDT",
        "50",
        "quote",
    )
    log = web.log()
    assert "ignored unknown field(s) stop_loss, take_profit" in log
    assert bot.secret not in log


def test_a_strategy_alert_and_a_position_percent_exit_are_understood(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    strategy = _custom_signal(
        bot,
        strategy_info={
            "market_position": "long",
            "market_position_size": "0.00078",
            "prev_market_position": "flat",
            "prev_market_position_size": "0",
        },
        order={"amount": "25", "currency_type": "quote"},
        take_profit=None,
        stop_loss=None,
    )
    strategy = {k: v for k, v in strategy.items() if v is not None}
    entered = client.post(f"/api/v1/signals/{bot.uuid}", json=strategy)
    assert entered.status_code == 202, entered.text
    assert entered.json()["ignored_fields"] == ["strategy_info"]
    exit_all = _custom_signal(
        bot, action="exit_long", order={"amount": 100, "currency_type": "position_percent"}, take_profit=None
    )
    exit_all = {k: v for k, v in exit_all.items() if v is not None}
    exited = client.post(f"/api/v1/signals/{bot.uuid}", json=exit_all)
    assert exited.status_code == 202, exited.text
    assert [(s.action, s.amount) for s in pending(web, bot)] == [("enter_long", 25), ("exit_long", None)]


def test_partial_exits_are_stored_as_a_share_of_the_position_for_a_signal_bot(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    exits = [
        {"amount": "40", "currency_type": "position_percent"},
        {"amount": "0.0015", "currency_type": "base", "order_type": "market"},
        {"amount": "30", "currency_type": "quote"},
    ]
    for n, order in enumerate(exits):
        body = {k: v for k, v in _custom_signal(bot, action="exit_long", order=order, trigger_price=f"6412{n}",
                                                take_profit=None, stop_loss=None).items() if v is not None}  # fmt: skip
        answer = client.post(f"/api/v1/signals/{bot.uuid}", json=body)
        assert answer.status_code == 202, answer.text
    assert [(s.action, str(s.amount), s.currency_type) for s in pending(web, bot)] == [
        ("exit_long", "40", "percent"),
        ("exit_long", "0.0015", "base"),
        ("exit_long", "30", "quote"),
    ]


BAD_ORDERS = {
    "more than the whole position": (
        {"action": "exit_long", "order": {"amount": "150", "currency_type": "position_percent"}},
        "order.amount 150 position_percent is more than the whole position",
    ),
    "position_percent on an entry": (
        {"order": {"amount": "50", "currency_type": "position_percent"}},
        "order.currency_type 'position_percent' is for exit signals, but the action is 'enter_long'",
    ),
    "a limit entry": (
        {"order": {"amount": "50", "currency_type": "quote", "order_type": "limit"}},
        "order.order_type 'limit' is not supported",
    ),
    "a futures margin percent": (
        {"order": {"amount": "5", "currency_type": "margin_percent"}},
        "field 'order.currency_type': Input should be 'base', 'quote' or 'position_percent'",
    ),
    "an unknown order type": (
        {"order": {"amount": "5", "currency_type": "quote", "order_type": "stop"}},
        "field 'order.order_type': Input should be 'market' or 'limit'",
    ),
}


def test_bad_3commas_order_values_are_refused_naming_the_field_and_the_expectation(
    web: WebProcess, client: httpx.Client
) -> None:
    for case, (changes, expected) in BAD_ORDERS.items():
        bot = make_bot(web)
        answer = client.post(f"/api/v1/signals/{bot.uuid}", json=_custom_signal(bot, **changes))
        assert answer.status_code == 422, (case, answer.text)
        assert expected in answer.json()["detail"], case
        assert pending(web, bot) == [], case


def test_a_dca_bot_starts_and_closes_deals_from_3commas_dca_messages(web: WebProcess, client: httpx.Client) -> None:
    bot = _dca_bot(web)
    started = client.post(f"/api/v1/signals/{bot.uuid}", json=_dca_start(bot))
    assert started.status_code == 202, started.text
    closed = client.post(f"/api/v1/signals/{bot.uuid}", json=_dca_start(bot, action="close_at_market_price"))
    assert closed.status_code == 202, closed.text
    single = client.post(f"/api/v1/signals/{bot.uuid}", json=_dca_start(bot, pair=None, note="from TV"))
    assert single.status_code == 202, single.text  # one pair: no pair needed
    assert single.json()["ignored_fields"] == ["note"]
    assert [(s.action, s.pair) for s in pending(web, bot)] == [
        ("enter_long", "BTC/USDT"),
        ("exit_long", "BTC/USDT"),
        ("enter_long", "BTC/USDT"),
    ]
    assert bot.secret not in web.log()


def test_a_delayed_dca_start_is_stored_with_its_due_time_and_a_dca_exit_may_close_a_share(
    web: WebProcess, client: httpx.Client
) -> None:
    dca = _dca_bot(web)
    before = int(time.time() * 1000)
    started = client.post(f"/api/v1/signals/{dca.uuid}", json=_dca_start(dca, delay_seconds=30))
    assert started.status_code == 202, started.text
    [stored] = pending(web, dca)
    assert stored.not_before_ms is not None
    assert stored.not_before_ms == stored.received_ms + 30_000
    assert stored.received_ms >= before - 1000
    assert started.json()["not_before_ms"] == stored.not_before_ms
    partial = {"secret": dca.secret, "bot_uuid": dca.uuid, "action": "exit_long", "timestamp": _now_iso(),
               "order": {"amount": "50", "currency_type": "position_percent"}}  # fmt: skip
    accepted = client.post(f"/api/v1/signals/{dca.uuid}", json=partial)
    assert accepted.status_code == 202, accepted.text
    entry_sized = {**partial, "timestamp": int(time.time()), "order": {"amount": "25", "currency_type": "quote"}}
    whole = client.post(f"/api/v1/signals/{dca.uuid}", json=entry_sized)
    assert whole.status_code == 202, whole.text  # a DCA exit closes the whole deal: the quote amount is not used
    assert [(s.action, s.amount, s.currency_type) for s in pending(web, dca)][1:] == [
        ("exit_long", Decimal(50), "percent"),
        ("exit_long", None, "quote"),
    ]


def test_bad_dca_messages_are_refused_naming_the_field_and_the_expectation(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    dca = _dca_bot(web, pairs='"BTC/USDT", "ETH/USDT"')
    cases = [
        (dca, _dca_start(dca, email_token="not-the-token"), 401, "the email_token does not match"),
        (dca, _dca_start(dca, pair="USDT_SOL"), 422, "expected one of USDT_BTC (BTC/USDT), USDT_ETH (ETH/USDT)"),
        (dca, _dca_start(dca, pair=None), 422, "the message names no pair and bot"),
        (dca, _dca_start(dca, message_type="deal"), 422, "field 'message_type': Input should be 'bot'"),
        (dca, _dca_start(dca, bot_id=None), 422, "field 'bot_id' is required"),
        (dca, _dca_start(dca, delay_seconds=-1), 422, "field 'delay_seconds': Input should be greater than"),
        (dca, _dca_start(dca, action="add_funds_in_quote"), 422, "field 'action': Input should be"),
        (bot, _dca_start(bot), 409, "a 3Commas DCA-bot message (message_type 'bot') is for a DCA bot"),
    ]
    for target, body, status, expected in cases:
        answer = client.post(f"/api/v1/signals/{target.uuid}", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert expected in answer.json()["detail"], (expected, answer.text)
    assert pending(web, dca) == []
    refused = recent(web, dca)
    assert {s.status for s in refused} == {SignalStatus.REFUSED}  # those that named a pair, with the reason
    assert dca.secret not in web.log()
