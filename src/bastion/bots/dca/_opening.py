"""When and where the bot opens a new deal: limits, cooldown, disable flag and start condition."""

from __future__ import annotations

from bastion.bots.dca._deal import EXIT_SIGNAL_REASON
from bastion.bots.dca._orders import base_order
from bastion.bots.dca._outcome import Outcome
from bastion.bots.dca.config import DcaConfig
from bastion.bots.dca.formulas import rsi
from bastion.bots.dca.start import RsiStart, SignalStart
from bastion.bots.interface import BotView, OpenDeal

#: Bot-level state keys (``SaveState(deal=None, ...)``).
DISABLED_KEY = "disabled"
SIGNAL_KEY = "signal_seen."


def open_deals(config: DcaConfig, view: BotView, out: Outcome) -> None:
    """Open deals on free pairs whose start condition holds, within the bot's limits."""
    fresh_signals = _consume_signals(config, view, out) if isinstance(config.start_condition, SignalStart) else set()
    disabled = out.disabled or view.state.get(DISABLED_KEY, "")
    if disabled:
        out.note(f"no new deals: disabled ({disabled})")
        return
    # Deals closed by this very decision free their slot and pair now, and start the cooldown now.
    still_open = [deal for deal in view.deals if deal.id not in out.closed]
    slots = config.max_active_deals - len(still_open)
    if slots <= 0:
        return
    last_closed = view.now_ms if out.closed else view.last_closed_ms
    if config.cooldown_s and last_closed is not None:
        end = last_closed + config.cooldown_s * 1000
        if view.now_ms < end:
            out.wake(end)
            out.note(f"no new deals: cooling down until {end}")
            return
    busy = {deal.pair for deal in still_open}
    waiting_for_candle = False
    for pair in config.pairs:
        if slots == 0:
            break
        if pair in busy:
            continue
        market = view.markets.get(pair)
        price = view.prices.get(pair)
        if market is None or price is None:
            out.note(f"{pair}: no {'market rules' if market is None else 'price'} in the view; no deal opened")
            continue
        condition = config.start_condition
        if isinstance(condition, RsiStart):
            ready, why = _rsi_ready(config, condition, view, pair)
            if not ready:
                waiting_for_candle = True
                out.note(f"{pair}: {why}")
                continue
        elif isinstance(condition, SignalStart) and pair not in fresh_signals:
            continue
        ref = f"new.{pair}"
        order, problem = base_order(config, ref, market, config.direction, price.last)
        if order is None:
            out.note(f"{pair}: no deal opened, the base order would be refused: {problem}")
            continue
        out.act(OpenDeal(ref=ref, pair=pair, direction=config.direction))
        out.act(order)
        out.note(f"{pair}: opened a {config.direction} deal ({condition.type}) at about {price.last}")
        slots -= 1
    if waiting_for_candle and isinstance(config.start_condition, RsiStart):
        step = config.start_condition.timeframe_ms
        out.wake((view.now_ms // step + 1) * step)


def _rsi_ready(config: DcaConfig, condition: RsiStart, view: BotView, pair: str) -> tuple[bool, str]:
    closes = [candle.close for candle in view.candles.get(pair, ())]
    value = rsi(closes, condition.period)
    if value is None:
        return False, f"RSI({condition.period}) needs {condition.period + 1} candles, have {len(closes)}"
    if config.direction == "long":
        return value < condition.threshold, f"RSI({condition.period}) {value:.2f} not below {condition.threshold}"
    bar = 100 - condition.threshold
    return value > bar, f"RSI({condition.period}) {value:.2f} not above {bar}"


def _consume_signals(config: DcaConfig, view: BotView, out: Outcome) -> set[str]:
    # Pairs with a new entry signal for the bot's direction; every signal seen is remembered.
    #
    # A signal counts once: the newest ``received_ms`` seen per pair is saved in the bot's state,
    # and older or equal ones are ignored from then on, also those that arrived while the pair
    # was busy, disabled or cooling down (they are dropped, not queued).
    wanted = "enter_long" if config.direction == "long" else "enter_short"
    fresh: set[str] = set()
    for pair in config.pairs:
        key = SIGNAL_KEY + pair
        seen_text = view.state.get(key, "")
        seen = int(seen_text) if seen_text else None
        newest = seen
        for signal in view.signals:
            if signal.pair != pair or (seen is not None and signal.received_ms <= seen):
                continue
            if signal.action == wanted:
                fresh.add(pair)
            newest = signal.received_ms if newest is None else max(newest, signal.received_ms)
        if newest != seen:
            out.save(None, {key: str(newest)})
    return fresh


def exit_signals(config: DcaConfig, view: BotView) -> dict[int, str]:
    """Return the open deals a new exit signal closes (deal id -> why), for a bot with a signal start.

    An ``exit_long`` (``exit_short`` for a short bot) newer than the last signal seen on its pair
    closes that pair's deal at market, as 3Commas closes a DCA deal on an exit signal. It is marked
    seen with the pair's other signals (:func:`open_deals`), so it acts once. One with a
    ``percent`` amount below 100 closes that share only: the reason is then
    ``"partial <signal id> <percent>"`` (see :mod:`bastion.bots.dca._deal`).
    """
    if not isinstance(config.start_condition, SignalStart):
        return {}
    wanted = "exit_long" if config.direction == "long" else "exit_short"
    closing: dict[int, str] = {}
    for deal in view.deals:
        seen_text = view.state.get(SIGNAL_KEY + deal.pair, "")
        seen = int(seen_text) if seen_text else None
        for signal in sorted(view.signals, key=lambda s: (s.received_ms, s.id)):
            if signal.pair != deal.pair or signal.action != wanted or (seen is not None and signal.received_ms <= seen):
                continue
            partial = signal.currency_type == "percent" and signal.amount is not None and signal.amount < 100
            whole = f"{EXIT_SIGNAL_REASON} {signal.id}"
            closing[deal.id] = f"partial {signal.id} {signal.amount}" if partial else whole
            break
    return closing
