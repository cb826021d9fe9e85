"""Receiving a webhook signal: authenticate it, check it against its bot, store it. No HTTP here.

The checks, in order, and the HTTP status each refusal maps to:

1. a bot has this webhook uuid (404) and the secret is its secret (401, constant-time
   comparison of SHA-256 digests), checked before the payload is parsed any further
   (:func:`authenticate`; every number in it is also bounded in digits and exponent before it
   is converted, see :func:`bastion.web.schemas.bounded_decimal`);
2. ``bot_uuid`` in the body equals the uuid in the URL (400), the timestamp reads (422);
3. the bot is a signal bot (409), is enabled (409) and its configuration reads (409);
4. the payload was not received before (409; the digest is SHA-256 of the payload's canonical
   JSON without the secret);
5. the timestamp is not older than ``min(max_lag, bot max_lag_s)`` seconds nor more than
   :data:`MAX_CLOCK_SKEW_MS` in the future (422); the pair is one of the bot's (422); the
   direction is one it trades and the size within ``max_order_size`` (422).

5b. 3Commas ``order`` fields: ``order_type`` ``limit`` is refused (entries and exits are at
   market), ``currency_type`` ``position_percent`` only on an exit (422). An exit with an amount
   is a partial exit for a signal bot (``position_percent``: that percent of the position, 100
   or no amount: all of it; ``base``: that much base; ``quote``: worth that much), stored as
   ``percent``/``base``/``quote``. A DCA bot with a signal start takes entries without a size
   and exits: whole (its deal closes at market; a base or quote amount on its exit is not
   used), or a ``position_percent`` share of its position.

A 3Commas DCA-bot message (``message_type``, :func:`receive_dca_message`) goes through the same
steps with ``email_token`` as its secret, the bot's direction as its action and no timestamp.
Its ``delay_seconds`` is kept with the signal (``not_before_ms``, in the database, so an engine
restart does not lose it): the engine hands the signal to the bot only once it is due.

Nothing is stored before step 4. A signal refused at step 5 is stored with status ``refused``
and the reason (so the user can see why, and a replay of it is refused too); an accepted one
is stored ``pending`` for the engine.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import exc
from sqlalchemy.orm import Session, sessionmaker

from bastion.bots.signal import SignalConfig
from bastion.errors import ConfigError
from bastion.storage.repositories import BotRepository, ReplayedSignal, SignalRepository, SignalStatus
from bastion.web.schemas import (
    DcaBotMessage,
    SignalPayload,
    canonical_decimal,
    three_commas_pair,
    timestamp_ms,
)

__all__ = [
    "ATTEMPTS",
    "MAX_CLOCK_SKEW_MS",
    "IntakeResult",
    "authenticate",
    "payload_digest",
    "receive_dca_message",
    "receive_signal",
]

#: How far ahead of this server's clock a signal's timestamp may be.
MAX_CLOCK_SKEW_MS = 5_000
#: How many times a signal's transaction is tried when the database reports a concurrent writer.
ATTEMPTS = 4

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_BOT = "no bot has this webhook uuid; expected the uuid shown when its secret was made"
_WRONG_SECRET = "the secret does not match this bot's webhook secret"  # noqa: S105 - a message
_REPLAY = "this signal was already received (same payload); a replay is refused, expected a new signal"


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What became of a signal: an HTTP status, the reason of a refusal, the id of a stored signal,
    and for a delayed one when it is due (epoch milliseconds)."""

    status: int
    detail: str | None = None
    signal_id: int | None = None
    due_ms: int | None = None


def payload_digest(payload: SignalPayload, sent_ms: int) -> str:
    """Return the SHA-256 hex digest of the payload's canonical JSON, without its secret."""
    text = json.dumps(payload.canonical(sent_ms), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _moment(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def authenticate(
    sessions: sessionmaker[Session], *, path_uuid: str, secret: str, field: str = "secret"
) -> IntakeResult | None:
    """Return the refusal when no bot has this webhook uuid (404) or the secret is not its (401), else None.

    Reads one row and hashes the secret: what an anonymous request may cost before anything else
    in it is parsed.
    """
    with sessions() as session:
        signals = SignalRepository(session)
        bot_id = signals.bot_for_uuid(path_uuid)
        if bot_id is None:
            return IntakeResult(404, _NO_BOT)
        if not signals.check_secret(bot_id, secret):
            return IntakeResult(401, _WRONG_SECRET.replace("the secret", f"the {field}"))
    return None


def receive_signal(
    sessions: sessionmaker[Session], *, path_uuid: str, payload: SignalPayload, now_ms: int
) -> IntakeResult:
    """Check a posted signal and store it (see the module docstring); never raises for a bad signal.

    A transaction that the database refuses for a concurrent writer (SQLite's "database is
    locked") is run again from the start, at most :data:`ATTEMPTS` times in all.

    Parameters
    ----------
    sessions
        Session factory of the Bastion database.
    path_uuid
        The webhook uuid from the URL.
    payload
        The parsed body.
    now_ms
        This server's clock, epoch milliseconds; it is also the signal's ``received_at``.

    Raises
    ------
    sqlalchemy.exc.OperationalError
        The database stayed busy or unreachable.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _receive(sessions, path_uuid=path_uuid, payload=payload, now_ms=now_ms)
        except exc.OperationalError:
            if attempt == ATTEMPTS:
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


def _receive(sessions: sessionmaker[Session], *, path_uuid: str, payload: SignalPayload, now_ms: int) -> IntakeResult:
    received = _moment(now_ms)
    with sessions.begin() as session:
        signals = SignalRepository(session, clock=lambda: received)
        bot_id = signals.bot_for_uuid(path_uuid)
        if bot_id is None:
            return IntakeResult(404, _NO_BOT)
        if not signals.check_secret(bot_id, payload.secret.get_secret_value()):
            return IntakeResult(401, _WRONG_SECRET)
        if payload.bot_uuid != path_uuid:
            return IntakeResult(400, "bot_uuid in the body differs from the webhook URL's uuid; expected the same uuid")
        try:
            sent_ms = timestamp_ms(payload.timestamp)
        except ValueError as exc:
            return IntakeResult(422, str(exc))
        bot = BotRepository(session).get_by_id(bot_id)
        if bot is None:  # the secret row references the bot; only a concurrent delete gets here
            return IntakeResult(404, _NO_BOT)
        if bot.type not in ("signal", "dca"):
            return IntakeResult(
                409,
                f"bot {bot.name!r} is a {bot.type} bot; expected the webhook of a signal bot or of a DCA bot "
                "with a signal start",
            )
        if not bot.enabled:
            return IntakeResult(409, f"bot {bot.name!r} is disabled; enable it to accept signals")
        try:
            config = _rules(bot.type, bot.config_toml)
        except ConfigError as exc:
            return IntakeResult(409, f"bot {bot.name!r} has a configuration that cannot be read: {exc}")
        if config is None:
            return IntakeResult(
                409,
                f"bot {bot.name!r} is a dca bot whose start_condition is not 'signal'; expected the webhook of "
                'a signal bot or of a DCA bot with start_condition = {type = "signal"}',
            )
        digest = payload_digest(payload, sent_ms)
        if signals.seen(bot_id, digest):
            return IntakeResult(409, _REPLAY)
        pair, problem = _pair(config, payload)
        amount = None if payload.order is None else payload.order.amount
        currency: str | None = None if payload.order is None else payload.order.currency_type
        if problem is None:
            problem = _timing(config, payload, sent_ms, now_ms)
        if problem is None:
            problem = _order_problem(payload)
        if currency == "position_percent":  # an exit of that share of the position; 100 (or none): all of it
            currency = "percent"
            if amount is None or amount == 100:
                amount, currency = None, None
        exit_ = payload.action.startswith("exit_")
        if problem is None and bot.type == "dca" and not exit_ and amount is not None:
            problem = (
                f"bot {bot.name!r} is a DCA bot: it sizes its orders from its base_order_size and "
                "safety_order_size; expected a signal without order.amount"
            )
        if bot.type == "dca" and exit_ and currency != "percent":  # base/quote: an entry-sized block, not used
            amount, currency = None, None
        if problem is None and amount is not None and currency is None:
            problem = "order.currency_type is required with order.amount; expected 'base' or 'quote'"
        if problem is None:
            problem = config.refusal(pair=pair, action=payload.action, amount=amount, currency_type=currency)
        values = {
            "action": payload.action,
            "pair": pair,
            "sent_ms": sent_ms,
            "amount": amount,
            "currency_type": currency or config.order_currency,
            "trigger_price": payload.trigger_price,
        }
        try:
            if problem is not None:
                if pair:
                    signals.add(bot_id, digest, status=SignalStatus.REFUSED, reason=problem, **values)  # type: ignore[arg-type]
                return IntakeResult(422, problem)
            record = signals.add(bot_id, digest, **values)  # type: ignore[arg-type]
        except ReplayedSignal:  # the same payload, posted concurrently, was stored first
            return IntakeResult(409, _REPLAY)
        return IntakeResult(202, None, record.id)


def _order_problem(payload: SignalPayload) -> str | None:
    """What Bastion refuses in a 3Commas ``order``: a limit order, a partial or misplaced position_percent."""
    order = payload.order
    if order is None:
        return None
    if order.order_type == "limit":
        return (
            "order.order_type 'limit' is not supported: Bastion's bots enter and exit a signal at market; "
            "expected 'market' or no order_type"
        )
    if order.currency_type != "position_percent":
        return None
    if not payload.action.startswith("exit_"):
        return (
            f"order.currency_type 'position_percent' is for exit signals, but the action is {payload.action!r}; "
            "expected 'base' or 'quote' for an entry"
        )
    if order.amount is not None and order.amount > 100:
        return (
            f"order.amount {canonical_decimal(order.amount)} position_percent is more than the whole position; "
            "expected a percent above 0 and at most 100"
        )
    return None


def receive_dca_message(
    sessions: sessionmaker[Session], *, path_uuid: str, message: DcaBotMessage, now_ms: int
) -> IntakeResult:
    """Check a 3Commas DCA-bot message (start or close a deal) and store it as an entry or exit signal.

    The message has no timestamp: it counts as sent when it arrives, so no lag can be checked and
    its replay digest covers the arrival time too (a copy posted later is a new message, as at
    3Commas; the secret in it is what authenticates it). Same retries as :func:`receive_signal`.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _receive_dca(sessions, path_uuid=path_uuid, message=message, now_ms=now_ms)
        except exc.OperationalError:
            if attempt == ATTEMPTS:
                raise
            time.sleep(0.02 * attempt)
    raise AssertionError("unreachable")


def _receive_dca(
    sessions: sessionmaker[Session], *, path_uuid: str, message: DcaBotMessage, now_ms: int
) -> IntakeResult:
    from bastion.bots.dca import DcaConfig
    from bastion.bots.registry import load_config, takes_signals

    received = _moment(now_ms)
    with sessions.begin() as session:
        signals = SignalRepository(session, clock=lambda: received)
        bot_id = signals.bot_for_uuid(path_uuid)
        if bot_id is None:
            return IntakeResult(404, _NO_BOT)
        if not signals.check_secret(bot_id, message.email_token.get_secret_value()):
            return IntakeResult(401, _WRONG_SECRET.replace("the secret", "the email_token"))
        bot = BotRepository(session).get_by_id(bot_id)
        if bot is None:
            return IntakeResult(404, _NO_BOT)
        if bot.type != "dca":
            return IntakeResult(
                409,
                f"bot {bot.name!r} is a {bot.type} bot; a 3Commas DCA-bot message (message_type 'bot') is for a "
                "DCA bot with a signal start; send a signal bot the signal-bot message (action, bot_uuid, secret)",
            )
        if not bot.enabled:
            return IntakeResult(409, f"bot {bot.name!r} is disabled; enable it to accept signals")
        try:
            dca = load_config(bot.config_toml)
        except ConfigError as exc:
            return IntakeResult(409, f"bot {bot.name!r} has a configuration that cannot be read: {exc}")
        if not isinstance(dca, DcaConfig) or not takes_signals(dca):
            return IntakeResult(
                409,
                f"bot {bot.name!r} is a dca bot whose start_condition is not 'signal'; expected a DCA bot with "
                'start_condition = {type = "signal"}',
            )
        verb = "exit" if message.action == "close_at_market_price" else "enter"
        action = f"{verb}_{dca.direction}"
        canonical = {
            "message_type": message.message_type,
            "bot_id": str(message.bot_id),
            "pair": message.pair,
            "action": message.action,
            "delay_seconds": message.delay_seconds,
            "received_ms": now_ms,
        }
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode("utf-8")).hexdigest()
        if signals.seen(bot_id, digest):
            return IntakeResult(409, _REPLAY)
        problem = None
        if message.pair is not None:
            pair = three_commas_pair(message.pair)
        elif len(dca.pairs) == 1:
            pair = dca.pairs[0]
        else:
            pair, problem = (
                "",
                (
                    f"the message names no pair and bot {bot.name!r} trades several; expected pair, such as "
                    f"{_quote_base(dca.pairs[0])!r} (3Commas' QUOTE_BASE) or {dca.pairs[0]!r}"
                ),
            )
        if problem is None and pair not in dca.pairs:
            expected = ", ".join(f"{_quote_base(p)} ({p})" for p in dca.pairs)
            problem = f"pair {message.pair!r} is not traded by bot {bot.name!r}; expected one of {expected}"
        due_ms = now_ms + message.delay_seconds * 1000 if message.delay_seconds else None
        try:
            if problem is not None:
                if pair:
                    signals.add(bot_id, digest, action=action, pair=pair, sent_ms=now_ms, status=SignalStatus.REFUSED,
                                reason=problem)  # fmt: skip
                return IntakeResult(422, problem)
            record = signals.add(bot_id, digest, action=action, pair=pair, sent_ms=now_ms, not_before_ms=due_ms)
        except ReplayedSignal:
            return IntakeResult(409, _REPLAY)
        return IntakeResult(202, None, record.id, due_ms)


def _quote_base(pair: str) -> str:
    base, _, quote = pair.partition("/")
    return f"{quote}_{base}"


def _rules(bot_type: str, config_toml: str) -> SignalConfig | None:
    """The signal rules of a bot: its own for a signal bot; for a DCA bot with a signal start, the
    equivalent (its pairs, its direction, its base order size); None for a DCA bot without one."""
    if bot_type == "signal":
        return SignalConfig.from_toml(config_toml)
    from bastion.bots.dca import DcaConfig
    from bastion.bots.registry import load_config, takes_signals

    dca = load_config(config_toml)
    if not isinstance(dca, DcaConfig) or not takes_signals(dca):
        return None
    return SignalConfig.from_mapping(
        {
            "name": dca.name,
            "type": "signal",
            "account": dca.account,
            "pairs": list(dca.pairs),
            "directions": [dca.direction],
            "order_size": str(dca.base_order_size),
            "order_currency": "quote",
        }
    )


def _pair(config: SignalConfig, payload: SignalPayload) -> tuple[str, str | None]:
    """The pair the signal names (or the bot's only pair), and a problem when there is none."""
    if payload.pair is not None:
        return payload.pair.strip().upper(), None
    if payload.tv_instrument is not None:
        given = payload.tv_instrument.strip().upper()
        ticker = given.rpartition(":")[2].replace("/", "")
        for pair in config.pairs:
            if pair.replace("/", "") == ticker:
                return pair, None
        expected = ", ".join(p.replace("/", "") for p in config.pairs)
        return given, f"tv_instrument {given!r} is not traded by bot {config.name!r}; expected one of {expected}"
    if len(config.pairs) == 1:
        return config.pairs[0], None
    return "", (
        f"the signal names no pair and bot {config.name!r} trades several; expected pair (such as "
        f"{config.pairs[0]!r}) or tv_instrument"
    )


def _timing(config: SignalConfig, payload: SignalPayload, sent_ms: int, now_ms: int) -> str | None:
    lag_s = config.max_lag_s if payload.max_lag is None else min(payload.max_lag, config.max_lag_s)
    age_ms = now_ms - sent_ms
    sent = _moment(sent_ms).isoformat().replace("+00:00", "Z")
    if age_ms > lag_s * 1000:
        return (
            f"signal timestamp {sent} is {Decimal(age_ms) / 1000} s old, more than the allowed lag of {lag_s} s "
            f"(the lower of the signal's max_lag and the bot's max_lag_s {config.max_lag_s}); expected a fresh signal"
        )
    if -age_ms > MAX_CLOCK_SKEW_MS:
        return (
            f"signal timestamp {sent} is {Decimal(-age_ms) / 1000} s in the future; expected at most "
            f"{MAX_CLOCK_SKEW_MS // 1000} s ahead of this server's clock"
        )
    return None
