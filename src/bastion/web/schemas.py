"""Request and response bodies of the REST API (pydantic), with exact Decimal amounts.

A signal is what a TradingView alert (or any sender) posts to a signal bot's webhook; the field
names follow the common signal-bot template::

    {
      "secret": "…", "bot_uuid": "…", "action": "enter_long",
      "timestamp": "{{timenow}}", "max_lag": "300", "trigger_price": "{{close}}",
      "tv_exchange": "{{exchange}}", "tv_instrument": "{{ticker}}",
      "order": {"amount": "25", "currency_type": "quote"}
    }

Amounts and prices may be JSON strings or numbers; the body is parsed with numbers kept as
their decimal text, so ``0.1`` is exactly ``Decimal("0.1")``.

3Commas compatibility (the payloads users already have in TradingView):

- the signal-bot message above, with ``order.order_type`` (``market``; a ``limit`` entry is
  refused, Bastion's signal bots enter at market) and ``order.currency_type``
  ``position_percent`` on an exit (``amount`` 100: the whole position; less: a partial exit
  of that share, for a signal bot);
- the DCA-bot deal-start message :class:`DcaBotMessage`
  ``{"message_type": "bot", "bot_id": 123, "email_token": "...", "delay_seconds": 0,
  "pair": "USDT_BTC"}`` (3Commas pairs are ``QUOTE_BASE``; ``delay_seconds``: the deal starts
  that long after the message arrives), and the same with ``"action": "close_at_market_price"``
  to close the deal;
- fields 3Commas defines that Bastion does not use (``strategy_info``, ``take_profit``,
  ``stop_loss`` ...) and any other unknown field are ignored, as 3Commas does, and their names
  (never their values) are logged and answered in ``ignored_fields``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

__all__ = [
    "AcceptedSignal",
    "DcaBotMessage",
    "Health",
    "Problem",
    "SignalOrder",
    "SignalPayload",
    "bounded_decimal",
    "canonical_decimal",
    "three_commas_pair",
    "timestamp_ms",
    "unknown_fields",
]

#: Epoch values above this are milliseconds (10^11 seconds is the year 5138; 10^11 ms is 1973).
_MS_THRESHOLD = 10**11
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
#: The most significant digits a number in a request may have, and the largest magnitude of its
#: decimal exponent (``1e30`` / ``1e-30``). Checked before any conversion: turning ``1e1500000``
#: into an integer costs seconds of CPU, so such a number is refused unconverted.
MAX_DIGITS = 40
MAX_EXPONENT = 30
_MAX_INT_BITS = (10**MAX_DIGITS).bit_length()  # an int with more bits has more than MAX_DIGITS digits


def bounded_decimal(value: Decimal) -> Decimal:
    """Return ``value`` if its digits and exponent are within bounds; raise ``ValueError`` otherwise.

    Only the number's stored digits and exponent are inspected (no arithmetic on it), so the
    check costs the same for ``1e1500000`` as for ``25``.
    """
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or Infinity
        raise ValueError(f"must be a finite number, got {value!r}")
    magnitude = len(digits) + exponent - 1  # the adjusted exponent, computed without arithmetic on value
    if len(digits) > MAX_DIGITS or not -MAX_EXPONENT <= magnitude <= MAX_EXPONENT:
        raise ValueError(
            f"has {len(digits)} digits and a decimal exponent of {magnitude}; expected at most {MAX_DIGITS} digits "
            f"and an exponent between -{MAX_EXPONENT} and {MAX_EXPONENT}"
        )
    return value


def _bounded_int(value: int) -> int:
    if value.bit_length() > _MAX_INT_BITS:  # cheaper than counting its decimal digits
        raise ValueError(f"has more than {MAX_DIGITS} digits; expected at most {MAX_DIGITS} digits")
    return value


def _decimal_text(text: str) -> Decimal:
    """Parse decimal text (linear in its length; the body is at most 16 KiB), then bound it."""
    return bounded_decimal(Decimal(text))


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("must be a number or a decimal string such as '25.5', got true/false")
    if isinstance(value, Decimal):
        result = bounded_decimal(value)
    elif isinstance(value, int | float):
        if isinstance(value, int):
            _bounded_int(value)
        result = bounded_decimal(Decimal(str(value)))  # str() of a float is its shortest repr
    elif isinstance(value, str):
        try:
            result = _decimal_text(value.strip())
        except InvalidOperation:
            raise ValueError(f"must be a number or a decimal string such as '25.5', got {value[:40]!r}") from None
    else:
        raise ValueError(f"must be a number or a decimal string such as '25.5', got a {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"must be a finite number, got {value!r}")
    if result <= 0:
        raise ValueError(f"must be positive, got {result}")
    return result


def _seconds(value: object) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(bounded_decimal(value))
    if isinstance(value, str) and value.strip().isdigit():
        value = int(_decimal_text(value.strip()))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number of seconds such as 300, got {str(value)[:40]!r}")
    if value < 1:
        raise ValueError(f"must be at least 1 second, got {value}")
    return value


def _timestamp(value: object) -> int | str | Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise ValueError("must be epoch seconds or milliseconds, or an ISO 8601 time such as 2024-05-01T12:00:00Z")
    if isinstance(value, float):
        value = Decimal(str(value))  # its shortest repr: the number as written
    if isinstance(value, Decimal):
        bounded_decimal(value)
    elif isinstance(value, int):
        _bounded_int(value)
    elif isinstance(value, str) and len(value) > 64:
        raise ValueError(
            f"has {len(value)} characters; expected epoch seconds or milliseconds (at most {MAX_DIGITS} digits) "
            "or an ISO 8601 time"
        )
    return value


PositiveDecimal = Annotated[Decimal, BeforeValidator(_decimal)]
LagSeconds = Annotated[int, BeforeValidator(_seconds)]
Timestamp = Annotated[int | str | Decimal, BeforeValidator(_timestamp)]


def canonical_decimal(value: Decimal | None) -> str | None:
    """Return ``value`` as plain decimal text without trailing zeros (``"25"`` for ``25.0``)."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def timestamp_ms(value: int | str | Decimal | float) -> int:
    """Return a signal timestamp in epoch milliseconds.

    Numbers (or digit strings) above 10^11 are milliseconds, others seconds (a fraction is
    kept to the millisecond). Other strings are ISO 8601 and must carry a time zone (``Z`` or
    ``+02:00``), as TradingView's ``{{timenow}}`` does.

    Raises
    ------
    ValueError
        The value is none of these; the message says what was expected.
    """
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            value = _decimal_text(text)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"timestamp {text[:40]!r} is not epoch seconds/milliseconds nor an ISO 8601 time such as "
                    "2024-05-01T12:00:00Z"
                ) from None
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(
                    f"timestamp {text[:40]!r} has no time zone; expected an ISO 8601 time with one, such as "
                    "2024-05-01T12:00:00Z"
                )
            return (moment - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(value, int):
        _bounded_int(value)
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number <= 0:
        raise ValueError(f"timestamp must be a positive epoch time, got {value}")
    try:
        bounded_decimal(number)
    except ValueError as exc:
        raise ValueError(f"timestamp {exc}") from None
    if number <= 0:
        raise ValueError(f"timestamp must be a positive epoch time, got {value}")
    ms = int(number) if number > _MS_THRESHOLD else int(number * 1000)
    if ms > _MAX_MS:
        raise ValueError(f"timestamp {value} is after the year 9999; expected epoch seconds or milliseconds")
    return ms


def _upper(text: str | None) -> str | None:
    return None if text is None else text.strip().upper()


class SignalOrder(BaseModel):
    """The entry size a signal asks for; without ``amount`` the bot uses its own ``order_size``.

    ``currency_type`` ``position_percent`` is for an exit (3Commas): ``amount`` is the percent
    of the position to close. ``order_type`` is 3Commas' entry order type.
    """

    model_config = ConfigDict(extra="ignore")

    amount: PositiveDecimal | None = None
    currency_type: Literal["base", "quote", "position_percent"] | None = None
    order_type: Literal["market", "limit"] | None = None


class SignalPayload(BaseModel):
    """A signal posted to ``POST /api/v1/signals/{bot_uuid}``.

    ``pair`` (``"BTC/USDT"``) or ``tv_instrument`` (``"BTCUSDT"``, ``"BINANCE:BTCUSDT"``) names
    the market; neither is needed for a bot that trades one pair. ``max_lag`` (seconds) may only
    lower the bot's ``max_lag_s``. Unknown fields are ignored (see :func:`unknown_fields`).
    """

    model_config = ConfigDict(extra="ignore")

    secret: SecretStr = Field(min_length=1, max_length=256)
    bot_uuid: str = Field(min_length=1, max_length=64)
    action: Literal["enter_long", "exit_long", "enter_short", "exit_short"]
    timestamp: Timestamp
    max_lag: LagSeconds | None = None
    trigger_price: PositiveDecimal | None = None
    pair: str | None = Field(default=None, max_length=64)
    tv_exchange: str | None = Field(default=None, max_length=64)
    tv_instrument: str | None = Field(default=None, max_length=64)
    order: SignalOrder | None = None

    def canonical(self, sent_ms: int) -> dict[str, Any]:
        """Return the payload without its secret, values in one canonical form (what the digest covers)."""
        order = None
        if self.order is not None:
            order = {"amount": canonical_decimal(self.order.amount), "currency_type": self.order.currency_type}
            if self.order.order_type is not None:
                order["order_type"] = self.order.order_type
        return {
            "action": self.action,
            "bot_uuid": self.bot_uuid,
            "max_lag": self.max_lag,
            "order": order,
            "pair": _upper(self.pair),
            "timestamp": sent_ms,
            "trigger_price": canonical_decimal(self.trigger_price),
            "tv_exchange": _upper(self.tv_exchange),
            "tv_instrument": _upper(self.tv_instrument),
        }


class DcaBotMessage(BaseModel):
    """3Commas' DCA-bot message: start a deal (no ``action``) or close it (``close_at_market_price``).

    ``email_token`` is the bot's webhook secret here; ``bot_id`` (3Commas' number for the bot) is
    not used, the webhook URL names the bot. ``pair`` is 3Commas' ``QUOTE_BASE`` (``USDT_BTC``) or
    ``BASE/QUOTE``; without it the bot's only pair.
    """

    model_config = ConfigDict(extra="ignore")

    message_type: Literal["bot"]
    bot_id: int | str = Field(union_mode="left_to_right")
    email_token: SecretStr = Field(min_length=1, max_length=256)
    delay_seconds: int = Field(default=0, ge=0, le=86_400, strict=True)
    pair: str | None = Field(default=None, min_length=1, max_length=64)
    action: Literal["close_at_market_price"] | None = None

    @field_validator("bot_id")
    @classmethod
    def _bot_id(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            _bounded_int(value)
        elif len(value) > 64:
            raise ValueError(f"has {len(value)} characters; expected 3Commas' bot id, a number")
        return value


def three_commas_pair(text: str) -> str:
    """Return a 3Commas pair (``USDT_BTC``: quote, then base) as ``BTC/USDT``; ``BTC/USDT`` stays."""
    given = text.strip().upper()
    if "/" in given or "_" not in given:
        return given
    quote, _, base = given.partition("_")
    return f"{base}/{quote}"


_KNOWN = {
    "signal": frozenset(SignalPayload.model_fields),
    "order": frozenset(SignalOrder.model_fields),
    "dca": frozenset(DcaBotMessage.model_fields),
}
_SHOWN_NAMES = 20


def unknown_fields(data: dict[str, Any]) -> list[str]:
    """Return the names of the fields of a webhook body that Bastion ignores (never their values).

    Names are shortened to 40 characters and control characters replaced, so they are fit for a log.
    """
    if "message_type" in data:
        names = [str(k) for k in data if k not in _KNOWN["dca"]]
    else:
        names = [str(k) for k in data if k not in _KNOWN["signal"]]
        order = data.get("order")
        if isinstance(order, dict):
            names += [f"order.{k}" for k in order if k not in _KNOWN["order"]]
    cleaned = ["".join(c if c.isprintable() else "?" for c in name[:40]) for name in names]
    return sorted(cleaned)[:_SHOWN_NAMES]


class AcceptedSignal(BaseModel):
    """A signal stored for the engine, and the fields of it that Bastion ignored."""

    signal_id: int
    status: Literal["pending"] = "pending"
    ignored_fields: list[str] = Field(default_factory=list)
    not_before_ms: int | None = Field(
        default=None, description="A delayed start (delay_seconds): the bot gets it from this time on (epoch ms)"
    )


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


class Health(BaseModel):
    """The web process answers and its database opens."""

    status: Literal["ok"] = "ok"
