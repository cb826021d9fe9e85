"""The policy configuration: pair allowlist, notional/rate/deviation/volume limits, state.

Defaults (used for every field left unset) and why
---------------------------------------------------
``pairs = ()``
    Nothing is allowed until the user names the pairs they trade. The incident's attackers
    bought thin coins the victims had never traded; an allowlist alone stops that.
``max_order_notional = 1000`` USDT
    A typical retail DCA base or safety order is well below it; it bounds one bad order.
``max_daily_notional = 10000`` USDT over a rolling 24 h
    Ten maximum orders a day: the worst a compromised engine can trade within all other rules.
``min_volume_24h = 1000000`` USDT of quote volume
    Pumped coins are thin. At 1M/day a 1000 USDT order is at most 0.1 % of a day's volume,
    so the account's own orders cannot move the price much either.
``max_orders_per_minute = 30``
    DCA and grid bots place a few orders a minute; 30 still lets a 30-level grid be built at
    once. The incident ran at 50 a minute (4,200 in 84 minutes).
``max_deviation_pct = 2``
    Covers spread and slippage on liquid pairs; the incident paid ~9x (+800 %).
``max_reference_age_ms = 30000``
    A reference price older than 30 s is not a reference on a moving market.
``state = ACTIVE``; ``denial_burst = 5`` denials within ``denial_window_ms = 60000``
    A healthy engine is almost never denied; five denials in a minute means it is broken or
    hostile, so the account HALTs until the user re-activates it.

Quote currencies
----------------
The top-level notional and volume limits are in **USDT** (:data:`PRIMARY_QUOTE`). A pair quoted
in anything else (``ETH/BTC``, ``BTC/EUR``, even ``BTC/USDC``) needs an explicit entry in
``quote_limits`` with all three limits in that currency; a config that lists such a pair
without one is rejected. There is no conversion and no fallback, so no quote currency is ever
traded against limits meant for another.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from bastion.domain.money import to_decimal
from bastion.errors import ConfigError, ValidationError

__all__ = [
    "DEFAULT_DENIAL_BURST",
    "DEFAULT_DENIAL_WINDOW_MS",
    "DEFAULT_MAX_DAILY_NOTIONAL",
    "DEFAULT_MAX_DEVIATION_PCT",
    "DEFAULT_MAX_ORDERS_PER_MINUTE",
    "DEFAULT_MAX_ORDER_NOTIONAL",
    "DEFAULT_MAX_REFERENCE_AGE_MS",
    "DEFAULT_MIN_VOLUME_24H",
    "PRIMARY_QUOTE",
    "PolicyConfig",
    "PolicyState",
    "QuoteLimits",
    "split_symbol",
]

PRIMARY_QUOTE = "USDT"
DEFAULT_MAX_ORDER_NOTIONAL = Decimal(1000)
DEFAULT_MAX_DAILY_NOTIONAL = Decimal(10000)
DEFAULT_MIN_VOLUME_24H = Decimal(1000000)
DEFAULT_MAX_ORDERS_PER_MINUTE = 30
DEFAULT_MAX_DEVIATION_PCT = Decimal(2)
DEFAULT_MAX_REFERENCE_AGE_MS = 30_000
DEFAULT_DENIAL_BURST = 5
DEFAULT_DENIAL_WINDOW_MS = 60_000

# Limits beyond this are typos or attacks, and keep every product exact and printable.
_MAX_LIMIT = Decimal("1E+30")
_CODE = r"[A-Z0-9][A-Z0-9._-]{0,31}"
_CODE_RE = re.compile(_CODE)
_SYMBOL_RE = re.compile(rf"({_CODE})/({_CODE})")


class PolicyState(enum.StrEnum):
    """Trading state of an account: what the firewall lets through.

    ``ACTIVE`` lets through every order the limits allow, ``REDUCING`` only sells that reduce
    exposure, ``HALTED`` nothing. Cancels are never evaluated by the firewall: the signer
    always lets them through, in every state, because a cancel cannot spend funds.
    """

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def openness(self) -> int:
        """Return 0 for HALTED, 1 for REDUCING and 2 for ACTIVE (higher lets more through)."""
        return _OPENNESS[self]


_OPENNESS = {PolicyState.HALTED: 0, PolicyState.REDUCING: 1, PolicyState.ACTIVE: 2}


def split_symbol(symbol: object) -> tuple[str, str] | None:
    """Return ``(base, quote)`` of a spot symbol such as ``"BTC/USDT"``, or None if malformed."""
    if not isinstance(symbol, str):
        return None
    match = _SYMBOL_RE.fullmatch(symbol)
    return None if match is None else (match.group(1), match.group(2))


def _fail(message: str) -> ConfigError:
    return ConfigError(message)


def _decimal(value: object, name: str, *, positive: bool) -> Decimal:
    try:
        result = to_decimal(value, what=name)
    except ValidationError as exc:
        raise _fail(str(exc)) from None
    if positive and result <= 0:
        raise _fail(f"{name} must be positive, got {value!r}")
    if result < 0:
        raise _fail(f"{name} must not be negative, got {value!r}")
    if result > _MAX_LIMIT:
        raise _fail(f"{name} must be at most {_MAX_LIMIT}, got {value!r}")
    return result


def _integer(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise _fail(f"{name} must be at least {minimum}, got {value}")
    return value


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _check_keys(data: object, known: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(f"{where} must be a mapping, got {type(data).__name__}")
    known_set = set(known)
    unknown = sorted(str(key) for key in data if key not in known_set)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise _fail(f"unknown field {names} in {where}; expected only: {', '.join(sorted(known_set))}")
    return data


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteLimits:
    """Notional and volume limits in one quote currency.

    Parameters
    ----------
    max_order_notional
        Largest value of one order, in the quote currency.
    max_daily_notional
        Largest value of all orders sent in a rolling 24 h, in the quote currency.
    min_volume_24h
        Smallest 24 h quote volume a pair must have to be traded.
    """

    max_order_notional: Decimal
    max_daily_notional: Decimal
    min_volume_24h: Decimal

    def __post_init__(self) -> None:
        for name in ("max_order_notional", "max_daily_notional"):
            object.__setattr__(self, name, _decimal(getattr(self, name), name, positive=True))
        object.__setattr__(
            self, "min_volume_24h", _decimal(self.min_volume_24h, "min_volume_24h", positive=False)
        )

    def to_dict(self) -> dict[str, str]:
        """Return the limits with Decimals as plain strings."""
        return {
            "max_order_notional": _plain(self.max_order_notional),
            "max_daily_notional": _plain(self.max_daily_notional),
            "min_volume_24h": _plain(self.min_volume_24h),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "quote limits") -> QuoteLimits:
        """Build limits from a mapping that gives all three fields and nothing else.

        Raises
        ------
        ConfigError
            A field is unknown, missing or not a valid amount.
        """
        names = [f.name for f in fields(cls)]
        data = _check_keys(data, names, where)
        missing = [name for name in names if name not in data]
        if missing:
            raise _fail(
                f"{where} must give {', '.join(names)}; missing {', '.join(missing)} "
                "(there are no defaults outside USDT)"
            )
        return cls(**{name: data[name] for name in names})


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    """What the signer lets through for one account. Frozen, keyword-only.

    See the module docstring for the defaults and why they were chosen.

    Parameters
    ----------
    pairs
        Allowlist of spot symbols (``"BTC/USDT"``). Empty allows nothing. Stored sorted.
    max_order_notional, max_daily_notional, min_volume_24h
        Limits in USDT for USDT-quoted pairs.
    quote_limits
        Limits for every other quote currency a listed pair uses, keyed by currency code.
    max_orders_per_minute
        Orders sent in any rolling 60 s.
    max_deviation_pct
        How far (percent, in (0, 100]) an order's price may be from the reference price in the
        direction that costs the user.
    max_reference_age_ms
        How old (or how far in the future) the reference may be.
    state
        ``ACTIVE``, ``REDUCING`` or ``HALTED``.
    denial_burst, denial_window_ms
        This many denials within this window HALT the account.

    Raises
    ------
    ConfigError
        A value is out of range, a pair is malformed or has no limits for its quote currency.
        An unknown keyword is a ``TypeError`` naming it; :meth:`from_mapping` turns it into a
        ``ConfigError``.
    """

    pairs: tuple[str, ...] = ()
    max_order_notional: Decimal = DEFAULT_MAX_ORDER_NOTIONAL
    max_daily_notional: Decimal = DEFAULT_MAX_DAILY_NOTIONAL
    min_volume_24h: Decimal = DEFAULT_MIN_VOLUME_24H
    quote_limits: Mapping[str, QuoteLimits] = field(default_factory=lambda: MappingProxyType({}))
    max_orders_per_minute: int = DEFAULT_MAX_ORDERS_PER_MINUTE
    max_deviation_pct: Decimal = DEFAULT_MAX_DEVIATION_PCT
    max_reference_age_ms: int = DEFAULT_MAX_REFERENCE_AGE_MS
    state: PolicyState = PolicyState.ACTIVE
    denial_burst: int = DEFAULT_DENIAL_BURST
    denial_window_ms: int = DEFAULT_DENIAL_WINDOW_MS

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "pairs", self._normalise_pairs(self.pairs))
        for name in ("max_order_notional", "max_daily_notional"):
            setter(self, name, _decimal(getattr(self, name), name, positive=True))
        setter(self, "min_volume_24h", _decimal(self.min_volume_24h, "min_volume_24h", positive=False))
        deviation = _decimal(self.max_deviation_pct, "max_deviation_pct", positive=True)
        if deviation > 100:
            raise _fail(f"max_deviation_pct must be in (0, 100], got {self.max_deviation_pct!r}")
        setter(self, "max_deviation_pct", deviation)
        _integer(self.max_orders_per_minute, "max_orders_per_minute", minimum=1)
        _integer(self.max_reference_age_ms, "max_reference_age_ms", minimum=1)
        _integer(self.denial_burst, "denial_burst", minimum=1)
        _integer(self.denial_window_ms, "denial_window_ms", minimum=1)
        setter(self, "state", self._normalise_state(self.state))
        setter(self, "quote_limits", self._normalise_quote_limits(self.quote_limits))
        for pair in self.pairs:
            quote = pair.split("/")[1]
            if self.limits_for(quote) is None:
                configured = ", ".join([PRIMARY_QUOTE, *self.quote_limits])
                raise _fail(
                    f"pair {pair} is quoted in {quote} but limits exist only for {configured}; "
                    f"add quote_limits[{quote!r}] with max_order_notional, max_daily_notional and "
                    f"min_volume_24h in {quote}"
                )

    @staticmethod
    def _normalise_pairs(pairs: object) -> tuple[str, ...]:
        if isinstance(pairs, str) or not isinstance(pairs, Iterable):
            raise _fail(f"pairs must be a list of symbols such as ['BTC/USDT'], got {pairs!r}")
        result = set()
        for pair in pairs:
            if split_symbol(pair) is None:
                raise _fail(
                    f"pairs: {pair!r} is not an upper-case spot symbol 'BASE/QUOTE' such as 'BTC/USDT'"
                )
            result.add(pair)
        return tuple(sorted(result))

    @staticmethod
    def _normalise_state(state: object) -> PolicyState:
        if isinstance(state, PolicyState):
            return state
        if isinstance(state, str):
            try:
                return PolicyState(state.lower())
            except ValueError:
                pass
        expected = ", ".join(s.value for s in PolicyState)
        raise _fail(f"state must be one of {expected}, got {state!r}")

    @staticmethod
    def _normalise_quote_limits(limits: object) -> Mapping[str, QuoteLimits]:
        if not isinstance(limits, Mapping):
            raise _fail(f"quote_limits must be a mapping of currency to QuoteLimits, got {limits!r}")
        result: dict[str, QuoteLimits] = {}
        for quote in sorted(limits, key=str):
            value = limits[quote]
            if not isinstance(quote, str) or _CODE_RE.fullmatch(quote) is None:
                raise _fail(f"quote_limits: {quote!r} is not an upper-case currency code such as 'BTC'")
            if quote == PRIMARY_QUOTE:
                raise _fail(
                    f"quote_limits: set {PRIMARY_QUOTE} limits with the top-level max_order_notional, "
                    "max_daily_notional and min_volume_24h, not in quote_limits"
                )
            if not isinstance(value, QuoteLimits):
                raise _fail(f"quote_limits[{quote!r}] must be a QuoteLimits, got {type(value).__name__}")
            result[quote] = value
        return MappingProxyType(result)

    def __hash__(self) -> int:
        plain = tuple(getattr(self, f.name) for f in fields(self) if f.name != "quote_limits")
        return hash((plain, tuple(self.quote_limits.items())))

    # --- queries ----------------------------------------------------------------------------

    def limits_for(self, quote: str) -> QuoteLimits | None:
        """Return the limits for pairs quoted in ``quote``, or None if there are none."""
        if quote == PRIMARY_QUOTE:
            return QuoteLimits(
                max_order_notional=self.max_order_notional,
                max_daily_notional=self.max_daily_notional,
                min_volume_24h=self.min_volume_24h,
            )
        return self.quote_limits.get(quote)

    def all_limits(self) -> dict[str, QuoteLimits]:
        """Return the limits of every configured quote currency, USDT included."""
        primary = self.limits_for(PRIMARY_QUOTE)
        assert primary is not None
        return {PRIMARY_QUOTE: primary, **self.quote_limits}

    # --- serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a plain, stable dict: Decimals as strings, ints as ints, state as its value.

        ``PolicyConfig.from_mapping(config.to_dict()) == config`` always holds.
        """
        return {
            "pairs": list(self.pairs),
            "max_order_notional": _plain(self.max_order_notional),
            "max_daily_notional": _plain(self.max_daily_notional),
            "min_volume_24h": _plain(self.min_volume_24h),
            "quote_limits": {quote: limits.to_dict() for quote, limits in self.quote_limits.items()},
            "max_orders_per_minute": self.max_orders_per_minute,
            "max_deviation_pct": _plain(self.max_deviation_pct),
            "max_reference_age_ms": self.max_reference_age_ms,
            "state": self.state.value,
            "denial_burst": self.denial_burst,
            "denial_window_ms": self.denial_window_ms,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PolicyConfig:
        """Build a config from a mapping such as parsed TOML/JSON or :meth:`to_dict` output.

        Fields left out take their defaults. Amounts must be strings, ints or Decimals; a float
        is refused because it cannot hold most decimal amounts exactly.

        Parameters
        ----------
        data
            Field name to value; ``quote_limits`` maps a currency to a mapping of its three limits.

        Raises
        ------
        ConfigError
            A field is unknown (the message names it) or a value is invalid.
        """
        data = _check_keys(data, [f.name for f in fields(cls)], "policy config")
        kwargs = dict(data)
        if "quote_limits" in kwargs:
            raw = kwargs["quote_limits"]
            if not isinstance(raw, Mapping):
                raise _fail(f"quote_limits must be a mapping of currency to limits, got {raw!r}")
            kwargs["quote_limits"] = {
                quote: value
                if isinstance(value, QuoteLimits)
                else QuoteLimits.from_mapping(value, where=f"quote_limits[{quote!r}]")
                for quote, value in raw.items()
            }
        return cls(**kwargs)
