"""The rules, as pure functions: each returns a :class:`Denied` or None.

Call them inside :data:`EXACT` (``decimal.localcontext(EXACT)``): inputs are bounded by
:func:`check_request` and :func:`check_reference`, so with 300 digits every product and sum
the rules form is exact and a limit is met *exactly* at its boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from bastion.custody.policy.config import PolicyConfig, PolicyState, QuoteLimits, split_symbol
from bastion.custody.policy.decision import Denied, Rule
from bastion.custody.policy.request import OrderRequest, ReferenceMarket

__all__ = [
    "EXACT",
    "check_daily_notional",
    "check_deviation",
    "check_halted",
    "check_order_notional",
    "check_pair",
    "check_rate",
    "check_reducing",
    "check_reference",
    "check_request",
    "check_volume",
    "expected_price",
    "order_notional",
]

EXACT = Context(prec=300, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

# Accepted magnitudes of request and reference numbers: anything outside is not a real order
# and would make the arithmetic inexact (or overflow).
_MIN_ADJUSTED = -30
_MAX_ADJUSTED = 30
_MAX_DIGITS = 40
_MAX_ID_LENGTH = 64
_SHOWN_PAIRS = 10


def _num(value: Decimal) -> str:
    return format(value, "f")


def _show(value: object) -> str:
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _deny(rule: Rule, text: str, **values: object) -> Denied:
    compared = {key: _num(v) if isinstance(v, Decimal) else str(v) for key, v in values.items()}
    return Denied(rule=rule, message=f"{rule.value}: {text}", compared_values=compared)


def _number_problem(value: object, name: str, *, zero_ok: bool = False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        return f"{name} must be a Decimal, got {_show(value)} ({type(value).__name__})"
    if not value.is_finite():
        return f"{name} must be a finite number, got {value}"
    if value < 0 or (value == 0 and not zero_ok):
        return f"{name} must be {'non-negative' if zero_ok else 'positive'}, got {value}"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    magnitude = value.adjusted() if value else exponent
    if not _MIN_ADJUSTED <= magnitude <= _MAX_ADJUSTED or exponent < _MIN_ADJUSTED - _MAX_DIGITS:
        return f"{name} must be between 1E{_MIN_ADJUSTED} and 1E+{_MAX_ADJUSTED}, got {value}"
    if len(digits) > _MAX_DIGITS:
        return f"{name} must have at most {_MAX_DIGITS} significant digits, got {value}"
    return None


def _first(problems: Iterable[str | None]) -> str | None:
    return next((p for p in problems if p is not None), None)


# --- request and state ---------------------------------------------------------------------


def check_halted(state: PolicyState) -> Denied | None:
    """Deny everything while the account is HALTED."""
    if state is PolicyState.HALTED:
        return _deny(
            Rule.STATE_HALTED,
            "the account is HALTED; nothing passes until the user sets it ACTIVE or REDUCING",
            state=state.value,
        )
    return None


def _shape_problem(request: object, account: str) -> str | None:
    if not isinstance(request, OrderRequest):
        return f"expected an OrderRequest, got {type(request).__name__}"
    if not isinstance(request.account, str) or request.account != account:
        return f"the request is for account {_show(request.account)}, this policy guards {account!r}"
    cid = request.client_order_id
    if not isinstance(cid, str) or not cid or len(cid) > _MAX_ID_LENGTH or not cid.isprintable():
        return f"client_order_id must be 1 to {_MAX_ID_LENGTH} printable characters, got {_show(cid)}"
    if not isinstance(request.symbol, str) or split_symbol(request.symbol) is None:
        return f"symbol must be a spot symbol 'BASE/QUOTE' such as 'BTC/USDT', got {_show(request.symbol)}"
    if not isinstance(request.side, str) or request.side not in ("buy", "sell"):
        return f"side must be 'buy' or 'sell', got {_show(request.side)}"
    if not isinstance(request.reduces_exposure, bool):
        return f"reduces_exposure must be True or False, got {_show(request.reduces_exposure)}"
    if not isinstance(request.type, str) or request.type not in ("limit", "market"):
        return f"type must be 'limit' or 'market', got {_show(request.type)}"
    if request.type == "limit":
        if request.quote_amount is not None:
            given = _show(request.quote_amount)
            return f"a limit order is sized by amount; quote_amount must be None, got {given}"
        if request.price is None:
            return "a limit order needs a price, got None"
        return _first([_number_problem(request.amount, "amount"), _number_problem(request.price, "price")])
    if request.price is not None:
        return f"a market order takes no price, got {_show(request.price)}"
    if (request.amount is None) == (request.quote_amount is None):
        return (
            "a market order needs exactly one of amount and quote_amount, got "
            f"amount={_show(request.amount)} and quote_amount={_show(request.quote_amount)}"
        )
    if request.amount is not None:
        return _number_problem(request.amount, "amount")
    return _number_problem(request.quote_amount, "quote_amount")


def check_request(request: object, account: str) -> Denied | None:
    """Deny a request that is malformed or for another account (rule ``bad_request``).

    Checks types, sides, order types, that a limit order has a positive price and amount and no
    quote amount, that a market order has no price and exactly one positive size, and that
    numbers are finite, between 1E-30 and 1E+30, with at most 40 significant digits.
    """
    problem = _shape_problem(request, account)
    if problem is None:
        return None
    return _deny(Rule.BAD_REQUEST, problem, account=account)


def check_pair(request: OrderRequest, config: PolicyConfig) -> Denied | None:
    """Deny a symbol that is not on the allowlist (or whose quote has no limits)."""
    pairs = config.pairs
    if request.symbol not in pairs:
        shown = ", ".join(pairs[:_SHOWN_PAIRS])
        if len(pairs) > _SHOWN_PAIRS:
            shown += f" and {len(pairs) - _SHOWN_PAIRS} more"
        return _deny(
            Rule.PAIR_NOT_ALLOWED,
            f"{request.symbol} is not in the allowlist ({shown or 'empty: no pair is configured'})",
            symbol=request.symbol,
            allowed_pairs=",".join(pairs),
        )
    quote = request.symbol.split("/")[1]
    if config.limits_for(quote) is None:  # PolicyConfig refuses such pairs; kept as a backstop
        return _deny(
            Rule.PAIR_NOT_ALLOWED,
            f"{request.symbol} is quoted in {quote}, which has no limits configured",
            symbol=request.symbol,
            quote=quote,
        )
    return None


def check_reducing(request: OrderRequest, state: PolicyState) -> Denied | None:
    """In REDUCING, deny everything but sells the signer marked as reducing exposure."""
    if state is PolicyState.REDUCING and not (request.side == "sell" and request.reduces_exposure):
        return _deny(
            Rule.STATE_REDUCING,
            f"the account is REDUCING: only sells that reduce exposure pass, got a {request.side} "
            f"with reduces_exposure={request.reduces_exposure}",
            state=state.value,
            side=request.side,
            reduces_exposure=request.reduces_exposure,
        )
    return None


# --- reference market ----------------------------------------------------------------------


def _reference_problem(request: OrderRequest, reference: object) -> str | None:
    if not isinstance(reference, ReferenceMarket):
        return f"expected a ReferenceMarket, got {type(reference).__name__}"
    if not isinstance(reference.symbol, str) or reference.symbol != request.symbol:
        return f"the reference is for {_show(reference.symbol)}, the order for {request.symbol}"
    problem = _first(
        [
            _number_problem(reference.price, "reference price"),
            None if reference.bid is None else _number_problem(reference.bid, "reference bid"),
            None if reference.ask is None else _number_problem(reference.ask, "reference ask"),
            None
            if reference.quote_volume_24h is None
            else _number_problem(reference.quote_volume_24h, "reference quote_volume_24h", zero_ok=True),
        ]
    )
    if problem is not None:
        return problem
    if reference.bid is not None and reference.ask is not None and reference.bid > reference.ask:
        return f"the reference book is crossed: bid {reference.bid} is above ask {reference.ask}"
    if isinstance(reference.as_of_ms, bool) or not isinstance(reference.as_of_ms, int):
        return f"reference as_of_ms must be epoch milliseconds as an int, got {_show(reference.as_of_ms)}"
    return None


def check_reference(
    request: OrderRequest, reference: object, now_ms: int, config: PolicyConfig
) -> Denied | None:
    """Deny when the reference is unusable (``reference_invalid``) or too old (``reference_stale``).

    A reference dated further in the future than ``max_reference_age_ms`` is stale too: one of
    the clocks is wrong, so its age is unknown.
    """
    problem = _reference_problem(request, reference)
    if problem is not None:
        return _deny(Rule.REFERENCE_INVALID, problem, symbol=request.symbol)
    assert isinstance(reference, ReferenceMarket)
    age = now_ms - reference.as_of_ms
    limit = config.max_reference_age_ms
    if abs(age) > limit:
        when = f"{age} ms old" if age > 0 else f"{-age} ms in the future"
        return _deny(
            Rule.REFERENCE_STALE,
            f"the reference price of {request.symbol} is {when}; the limit is {limit} ms",
            reference_as_of_ms=reference.as_of_ms,
            now_ms=now_ms,
            age_ms=age,
            max_reference_age_ms=limit,
        )
    return None


def check_volume(
    request: OrderRequest, reference: ReferenceMarket, quote: str, limits: QuoteLimits
) -> Denied | None:
    """Deny a pair whose 24 h quote volume is unknown or below ``min_volume_24h``."""
    volume = reference.quote_volume_24h
    minimum = limits.min_volume_24h
    if volume is None or volume < minimum:
        shown = "unknown" if volume is None else f"{_num(volume)} {quote}"
        return _deny(
            Rule.MIN_VOLUME_24H,
            f"{request.symbol} traded {shown} in 24 h; the minimum is {_num(minimum)} {quote}",
            symbol=request.symbol,
            quote_volume_24h="unknown" if volume is None else volume,
            min_volume_24h=minimum,
        )
    return None


# --- price and value -----------------------------------------------------------------------


def _price_source(request: OrderRequest, reference: ReferenceMarket) -> tuple[Decimal, str]:
    if request.type == "limit":
        assert request.price is not None
        return request.price, "limit"
    if request.side == "buy":
        return (reference.price, "reference") if reference.ask is None else (reference.ask, "best ask")
    return (reference.price, "reference") if reference.bid is None else (reference.bid, "best bid")


def expected_price(request: OrderRequest, reference: ReferenceMarket) -> Decimal:
    """Return the price the order is expected to trade at.

    A limit order's own price; for a market buy the best ask, for a market sell the best bid,
    or the reference price when that side of the book is unknown.
    """
    return _price_source(request, reference)[0]


def check_deviation(
    request: OrderRequest, reference: ReferenceMarket, config: PolicyConfig
) -> Denied | None:
    """Deny an order priced beyond ``max_deviation_pct`` from the reference, against the user.

    A buy may not be priced (or, at market, expected to fill) more than the limit *above* the
    reference, a sell not more than the limit *below* it. Buys below and sells above the
    reference (resting DCA safety orders, take-profits) pass however far away they are.
    """
    price, source = _price_source(request, reference)
    ref = reference.price
    limit = config.max_deviation_pct
    if request.side == "buy":
        breached = price * 100 > ref * (100 + limit)
        deviation = (price - ref) * 100 / ref
        direction = "above"
    else:
        breached = price * 100 < ref * (100 - limit)
        deviation = (ref - price) * 100 / ref
        direction = "below"
    if not breached:
        return None
    what = (
        f"{request.side} limit {_num(price)}"
        if source == "limit"
        else f"market {request.side} at the {source} {_num(price)}"
    )
    return _deny(
        Rule.MAX_DEVIATION,
        f"{what} is {deviation:.2f} % {direction} the reference {_num(ref)}; the limit is {_num(limit)} %",
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        price_source=source,
        price=price,
        reference_price=ref,
        deviation_pct=f"{deviation:.2f}",
        max_deviation_pct=limit,
    )


def order_notional(request: OrderRequest, price: Decimal) -> Decimal:
    """Return the order's value in the quote currency: ``quote_amount``, else amount x price."""
    if request.quote_amount is not None:
        return request.quote_amount
    assert request.amount is not None
    return request.amount * price


def check_order_notional(
    request: OrderRequest, price: Decimal, quote: str, limits: QuoteLimits
) -> Denied | None:
    """Deny an order worth more than ``max_order_notional``."""
    notional = order_notional(request, price)
    limit = limits.max_order_notional
    if notional <= limit:
        return None
    how = (
        "quote_amount"
        if request.quote_amount is not None or request.amount is None
        else f"{_num(request.amount)} x {_num(price)}"
    )
    return _deny(
        Rule.MAX_ORDER_NOTIONAL,
        f"order value {_num(notional)} {quote} ({how}) is above the limit {_num(limit)} {quote}",
        symbol=request.symbol,
        notional=notional,
        max_order_notional=limit,
        quote=quote,
    )


def check_daily_notional(
    notional: Decimal, used_24h: Decimal, quote: str, limits: QuoteLimits
) -> Denied | None:
    """Deny an order that would take the rolling 24 h total above ``max_daily_notional``."""
    total = used_24h + notional
    limit = limits.max_daily_notional
    if total <= limit:
        return None
    return _deny(
        Rule.MAX_DAILY_NOTIONAL,
        f"this order's {_num(notional)} {quote} on top of {_num(used_24h)} {quote} sent in the last "
        f"24 h makes {_num(total)} {quote}, above the limit {_num(limit)} {quote}",
        notional=notional,
        sent_24h=used_24h,
        total=total,
        max_daily_notional=limit,
        quote=quote,
    )


def check_rate(sent_last_minute: int, config: PolicyConfig) -> Denied | None:
    """Deny an order when ``max_orders_per_minute`` were already sent in the last 60 s."""
    limit = config.max_orders_per_minute
    if sent_last_minute < limit:
        return None
    return _deny(
        Rule.MAX_ORDERS_PER_MINUTE,
        f"{sent_last_minute} orders were sent in the last 60 s; the limit is {limit} a minute",
        sent_last_minute=sent_last_minute,
        max_orders_per_minute=limit,
    )
