"""The engine's live feed: one line per event; a closed terminal never stops the engine."""

from __future__ import annotations

from bastion.services.feed import EventFeed

NOON = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def test_each_event_is_one_timestamped_labelled_line() -> None:
    lines: list[str] = []
    feed = EventFeed(lines.append, lambda: NOON)
    feed.event("deal_opened", "dca1: deal 3 opened", "long BTC/USDT")
    feed.event("safety_order_filled", "deal 3: safety order so1 filled", "buy 0.001 BTC/USDT at 59400")
    feed.event("deal_closed", "deal 3 closed: take profit", "BTC/USDT closed at 60300,\nprofit 1.2 USDT")
    feed.event("bot_paused", "dca2 paused", "order denied by policy: max_order_notional")
    assert lines == [
        "22:13:20 OPEN    dca1: deal 3 opened: long BTC/USDT\n",
        "22:13:20 FILL    deal 3: safety order so1 filled: buy 0.001 BTC/USDT at 59400\n",
        "22:13:20 CLOSE   deal 3 closed: take profit: BTC/USDT closed at 60300, profit 1.2 USDT\n",
        "22:13:20 PAUSE   dca2 paused: order denied by policy: max_order_notional\n",
    ]


def test_a_broken_terminal_silences_the_feed_without_raising() -> None:
    calls = []

    def broken(line: str) -> None:
        calls.append(line)
        raise BrokenPipeError(32, "Broken pipe")

    feed = EventFeed(broken, lambda: NOON)
    feed.event("error", "bot x: error", "boom")
    feed.event("error", "bot x: error", "again")
    assert len(calls) == 1
