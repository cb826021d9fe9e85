"""``POST /api/v1/signals/{uuid}`` against the real ``bastion web`` process over loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from bastion.storage import SignalStatus
from web.harness import WebhookBot, WebProcess, make_bot, pending, recent


def post(client: httpx.Client, bot: WebhookBot, body: object, uuid: str | None = None) -> httpx.Response:
    return client.post(f"/api/v1/signals/{uuid or bot.uuid}", json=body)


# --- accepted -------------------------------------------------------------------------------------


def test_health_answers_ok(client: httpx.Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_valid_signal_is_stored_pending_with_exact_decimals(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    sent = int(time.time())
    raw = json.dumps(bot.payload(timestamp=sent, trigger_price="64000.10"))
    # A JSON number with more digits than a float holds is kept exactly.
    raw = raw[:-1] + ', "order": {"amount": 99.123456789012345678, "currency_type": "quote"}}'
    response = client.post(f"/api/v1/signals/{bot.uuid}", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    [stored] = pending(web, bot)
    assert stored.id == body["signal_id"]
    assert stored.action == "enter_long"
    assert stored.pair == "BTC/USDT"
    assert stored.amount == Decimal("99.123456789012345678")
    assert stored.currency_type == "quote"
    assert stored.trigger_price == Decimal("64000.10")
    assert stored.sent_ms == sent * 1000
    assert abs(stored.received_ms - time.time() * 1000) < 10_000


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")


FORMS: dict[str, tuple[Callable[[float], dict[str, object]], str]] = {
    "ISO 8601 with Z": (lambda now: {"timestamp": _iso(now)}, "BTC/USDT"),
    "ISO 8601 with an offset": (
        lambda now: {"timestamp": datetime.fromtimestamp(int(now), UTC).astimezone().isoformat()},
        "BTC/USDT",
    ),
    "epoch milliseconds": (lambda now: {"timestamp": int(now * 1000)}, "BTC/USDT"),
    "epoch seconds as text": (lambda now: {"timestamp": str(int(now))}, "BTC/USDT"),
    "TradingView instrument": (
        lambda now: {"pair": None, "tv_exchange": "BINANCE", "tv_instrument": "ETHUSDT"},
        "ETH/USDT",
    ),
    "instrument with exchange prefix, max_lag as text": (
        lambda now: {"pair": None, "tv_instrument": "BINANCE:ETHUSDT", "max_lag": "30"},
        "ETH/USDT",
    ),
    "exit whose amount is not used": (
        lambda now: {"action": "exit_long", "order": {"amount": "5", "currency_type": "base"}},
        "BTC/USDT",
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_timestamp_forms_and_tradingview_instruments_are_understood(
    web: WebProcess, client: httpx.Client, bot: WebhookBot, form: str
) -> None:
    changes, pair = FORMS[form]
    now = time.time()
    response = post(client, bot, bot.payload(**changes(now)))
    assert response.status_code == 202, response.text
    [stored] = pending(web, bot)
    assert stored.pair == pair
    assert abs(stored.sent_ms - now * 1000) < 2_000


def test_a_replayed_signal_is_refused_and_stored_once(web: WebProcess, client: httpx.Client, bot: WebhookBot) -> None:
    body = bot.payload()
    assert post(client, bot, body).status_code == 202
    again = post(client, bot, body)
    assert again.status_code == 409
    assert again.json() == {
        "detail": "this signal was already received (same payload); a replay is refused, expected a new signal"
    }
    # The same amount written another way is the same payload; another max_lag makes a new one.
    assert post(client, bot, {**body, "order": {"amount": 25, "currency_type": "quote"}}).status_code == 202
    assert post(client, bot, {**body, "order": {"amount": "25.00", "currency_type": "quote"}}).status_code == 409
    assert post(client, bot, {**body, "order": {"amount": 25.0, "currency_type": "quote"}}).status_code == 409
    assert post(client, bot, {**body, "max_lag": 60}).status_code == 202
    assert len(pending(web, bot)) == 3


def test_the_replay_of_a_refused_signal_is_refused_as_a_replay(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    body = bot.payload(pair="SOL/USDT")
    first = post(client, bot, body)
    assert first.status_code == 422
    again = post(client, bot, body)
    assert again.status_code == 409
    [refused] = recent(web, bot)
    assert refused.status is SignalStatus.REFUSED
    assert refused.reason == first.json()["detail"]


# --- refused --------------------------------------------------------------------------------------

Case = Callable[[WebhookBot], tuple[dict[str, object] | str, str | None]]

REFUSALS: dict[str, tuple[Case, int, str]] = {
    "unknown uuid": (
        lambda b: (b.payload(bot_uuid="7d0f2d9e-0000-4000-8000-000000000000"), "7d0f2d9e-0000-4000-8000-000000000000"),
        404,
        "no bot has this webhook uuid; expected the uuid shown when its secret was made",
    ),
    "uuid in body differs from the URL": (
        lambda b: (b.payload(bot_uuid="7d0f2d9e-0000-4000-8000-000000000000"), None),
        400,
        "bot_uuid in the body differs from the webhook URL's uuid; expected the same uuid",
    ),
    "wrong secret": (
        lambda b: (b.payload(secret=b.secret[:-1] + ("A" if b.secret[-1] != "A" else "B")), None),
        401,
        "the secret does not match this bot's webhook secret",
    ),
    "stale timestamp": (
        lambda b: (b.payload(timestamp=int(time.time()) - 61), None),
        422,
        "s old, more than the allowed lag of 60 s",
    ),
    "older than the signal's own max_lag": (
        lambda b: (b.payload(timestamp=int(time.time()) - 20, max_lag=10), None),
        422,
        "more than the allowed lag of 10 s (the lower of the signal's max_lag and the bot's max_lag_s 60)",
    ),
    "a max_lag above the bot's does not raise it": (
        lambda b: (b.payload(timestamp=int(time.time()) - 90, max_lag=3600), None),
        422,
        "more than the allowed lag of 60 s",
    ),
    "timestamp in the future": (
        lambda b: (b.payload(timestamp=int(time.time()) + 60), None),
        422,
        "s in the future; expected at most 5 s ahead of this server's clock",
    ),
    "pair not traded": (
        lambda b: (b.payload(pair="SOL/USDT"), None),
        422,
        "pair 'SOL/USDT' is not traded by bot",
    ),
    "instrument not traded": (
        lambda b: (b.payload(pair=None, tv_instrument="SOLUSDT"), None),
        422,
        "tv_instrument 'SOLUSDT' is not traded by bot",
    ),
    "no pair for a bot with several": (
        lambda b: (b.payload(pair=None), None),
        422,
        "the signal names no pair and bot",
    ),
    "direction not traded": (
        lambda b: (b.payload(action="enter_short"), None),
        422,
        "action 'enter_short' is short, which bot",
    ),
    "size over max_order_size": (
        lambda b: (b.payload(order={"amount": "100.01", "currency_type": "quote"}), None),
        422,
        "order amount 100.01 (quote) is above the max_order_size 100 of bot",
    ),
    "size in the other currency": (
        lambda b: (b.payload(order={"amount": "0.001", "currency_type": "base"}), None),
        422,
        "expected currency_type 'quote'",
    ),
    "amount without currency_type": (
        lambda b: (b.payload(order={"amount": "10"}), None),
        422,
        "order.currency_type is required with order.amount; expected 'base' or 'quote'",
    ),
    "unknown action": (
        lambda b: (b.payload(action="buy"), None),
        422,
        "invalid signal: field 'action': Input should be 'enter_long', 'exit_long', 'enter_short' or 'exit_short'",
    ),
    "missing timestamp": (
        lambda b: (b.payload(timestamp=None), None),
        422,
        "invalid signal: field 'timestamp' is required",
    ),
    "timestamp without time zone": (
        lambda b: (b.payload(timestamp="2024-05-01T12:00:00"), None),
        422,
        "has no time zone; expected an ISO 8601 time with one",
    ),
    "amount that is no number": (
        lambda b: (b.payload(order={"amount": "lots", "currency_type": "quote"}), None),
        422,
        "invalid signal: field 'order.amount': must be a number or a decimal string such as '25.5', got 'lots'",
    ),
    "negative trigger price": (
        lambda b: (b.payload(trigger_price=-1), None),
        422,
        "invalid signal: field 'trigger_price': must be positive, got -1",
    ),
    "boolean max_lag": (
        lambda b: (b.payload(max_lag=True), None),
        422,
        "invalid signal: field 'max_lag': must be a whole number of seconds",
    ),
    "body that is not JSON": (
        lambda b: ("{not json", None),
        422,
        "request body is not valid JSON (Expecting property name enclosed in double quotes); expected a JSON object",
    ),
    "body that is a JSON array": (
        lambda b: ("[1, 2]", None),
        422,
        "request body is a JSON array; expected a JSON object",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_refusal_answers_its_status_and_reason_and_leaves_nothing_pending(
    web: WebProcess, client: httpx.Client, bot: WebhookBot, case: str
) -> None:
    build, status, reason = REFUSALS[case]
    body, uuid = build(bot)
    if isinstance(body, str):
        response = client.post(
            f"/api/v1/signals/{uuid or bot.uuid}", content=body, headers={"content-type": "application/json"}
        )
    else:
        response = post(client, bot, body, uuid)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert reason in detail
    assert bot.secret not in response.text
    assert pending(web, bot) == []


def test_only_authenticated_refusals_are_kept_for_the_audit_trail(
    web: WebProcess, client: httpx.Client, bot: WebhookBot
) -> None:
    assert post(client, bot, bot.payload(secret="wrong")).status_code == 401
    assert post(client, bot, bot.payload(action="enter_short")).status_code == 422
    [kept] = recent(web, bot)
    assert kept.status is SignalStatus.REFUSED
    assert kept.action == "enter_short"
    assert "which bot" in str(kept.reason)


def test_a_disabled_bot_refuses_signals(web: WebProcess, client: httpx.Client) -> None:
    bot = make_bot(web, enabled=False)
    response = post(client, bot, bot.payload())
    assert response.status_code == 409
    assert response.json() == {"detail": f"bot {bot.name!r} is disabled; enable it to accept signals"}
    assert recent(web, bot) == []


def test_a_bot_that_takes_no_signals_refuses_them(web: WebProcess, client: httpx.Client) -> None:
    bot = make_bot(web, type="grid", config='name = "x"\n')
    response = post(client, bot, bot.payload())
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"bot {bot.name!r} is a grid bot; expected the webhook of a signal bot or of a DCA bot with a "
        "signal start"
    }
    asap = make_bot(web, type="dca", config=DCA_CONFIG.format(start="asap"))
    response = post(client, asap, asap.payload())
    assert response.status_code == 409
    assert "start_condition is not 'signal'" in response.json()["detail"]
    assert recent(web, bot) == []
    assert recent(web, asap) == []


DCA_CONFIG = """
name = "dca-tv"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "25"
take_profit_pct = "1"
start_condition = {{type = "{start}"}}
"""


def test_a_dca_bot_with_a_signal_start_takes_entries_without_size_and_exits(
    web: WebProcess, client: httpx.Client
) -> None:
    bot = make_bot(web, type="dca", config=DCA_CONFIG.format(start="signal"))
    sized = post(client, bot, bot.payload(order={"amount": "5000", "currency_type": "quote"}))
    assert sized.status_code == 422  # not silently ignored: the DCA bot sizes its own orders
    assert "sizes its orders from its base_order_size and safety_order_size" in sized.json()["detail"]
    entered = post(client, bot, bot.payload())
    assert entered.status_code == 202
    exited = post(client, bot, bot.payload(action="exit_long"))  # closes the deal at market (3Commas)
    assert exited.status_code == 202, exited.text
    assert [(s.action, s.amount) for s in pending(web, bot)] == [("enter_long", None), ("exit_long", None)]


def test_a_signal_bot_with_a_broken_config_refuses_signals(web: WebProcess, client: httpx.Client) -> None:
    bot = make_bot(web, config='name = "x"\naccount = "main"\npairs = ["BTC/USDT"]\norder_size = "25"\nlag = 3\n')
    response = post(client, bot, bot.payload())
    assert response.status_code == 409
    assert "has a configuration that cannot be read: unknown field 'lag'" in response.json()["detail"]


def test_a_single_pair_bot_needs_no_pair_in_the_signal(web: WebProcess, client: httpx.Client) -> None:
    config = 'name = "one"\naccount = "main"\npairs = ["ETH/USDT"]\norder_size = "25"\n'
    bot = make_bot(web, config=config)
    assert post(client, bot, bot.payload(pair=None)).status_code == 202
    assert [s.pair for s in pending(web, bot)] == ["ETH/USDT"]


def test_a_body_over_16_kib_is_refused_unread(web: WebProcess, client: httpx.Client, bot: WebhookBot) -> None:
    response = post(client, bot, bot.payload(tv_exchange="x" * 20_000))
    assert response.status_code == 413
    assert "expected at most 16384" in response.json()["detail"]
    assert pending(web, bot) == []


def test_a_secret_of_the_wrong_type_is_refused_without_echoing_it(client: httpx.Client, bot: WebhookBot) -> None:
    response = post(client, bot, bot.payload(secret={"value": bot.secret}))
    assert response.status_code == 422
    assert response.json() == {"detail": "invalid signal: field 'secret': Input should be a valid string"}


def test_the_server_log_never_holds_a_secret(web: WebProcess, client: httpx.Client) -> None:
    bot = make_bot(web)
    post(client, bot, bot.payload())
    post(client, bot, bot.payload(secret=bot.secret + "x"))
    post(client, bot, bot.payload(pair="SOL/USDT"))
    time.sleep(0.2)
    log = web.log()
    assert f"POST /api/v1/signals/{bot.uuid}" in log
    assert bot.secret not in log


def test_concurrent_copies_of_one_signal_store_it_once(web: WebProcess, bot: WebhookBot) -> None:
    body = bot.payload()

    def send(_: int) -> int:
        with web.client() as client:
            return post(client, bot, body).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(send, range(16)))
    assert statuses == [202] + [409] * 15
    assert len(pending(web, bot)) == 1


def test_concurrent_distinct_signals_are_all_stored(web: WebProcess, bot: WebhookBot) -> None:
    sent = int(time.time())

    def send(n: int) -> int:
        with web.client() as client:
            return post(client, bot, bot.payload(timestamp=sent, trigger_price=str(100 + n))).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(16)))
    assert statuses == [202] * 16
    assert len(pending(web, bot)) == 16
