"""The per-account firewall: rules plus the memory they need (rate window, 24 h ledger, denials).

Order of the rules, first failure wins::

    state_halted -> bad_request -> pair_not_allowed -> state_reducing -> reference_invalid
    -> reference_stale -> min_volume_24h -> max_deviation -> max_order_notional
    -> max_daily_notional -> max_orders_per_minute

Budget is consumed by :meth:`PolicyEngine.record_sent`, not by ``evaluate``: an order that is
denied, or allowed but never sent (the signer crashed, the exchange refused the connection),
does not use up the minute's orders or the day's notional. The price of that choice is that
``evaluate -> send -> record_sent`` must run under one lock per account: two evaluations in
flight at once would both see the same remaining budget. When a send times out and may have
landed, the signer records it as sent.

Every denial counts towards the burst that HALTs the account (``denial_burst`` within
``denial_window_ms``), ``state_reducing`` and ``bad_request`` included, except three that say
nothing about the engine: ``state_halted`` (already halted), ``reference_invalid`` and
``reference_stale`` (the signer's own market data is missing or old).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import NamedTuple

from bastion.custody.policy import rules
from bastion.custody.policy.config import PolicyConfig, PolicyState, split_symbol
from bastion.custody.policy.decision import Allowed, Decision, Denied, Rule
from bastion.custody.policy.request import OrderRequest, ReferenceMarket
from bastion.errors import ValidationError

__all__ = ["PolicyEngine", "PolicyUsage"]

RATE_WINDOW_MS = 60_000
DAY_MS = 86_400_000
# Allowed-but-not-yet-recorded decisions kept for record_sent; older ones are forgotten.
_MAX_PENDING = 10_000
# Denials that say nothing about the engine: the account is already halted, or the signer's own
# market data is missing or old. They do not count towards a burst.
_NOT_COUNTED = frozenset({Rule.STATE_HALTED, Rule.REFERENCE_INVALID, Rule.REFERENCE_STALE})


class _Sent(NamedTuple):
    at_ms: int
    quote: str
    notional: Decimal


class _Pending(NamedTuple):
    request: OrderRequest
    quote: str
    notional: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyUsage:
    """How much of its budget an account has used, at one moment.

    Parameters
    ----------
    state
        The account's state.
    orders_last_minute
        Orders recorded as sent in the last 60 s.
    notional_24h
        Value of the orders sent in the last 24 h, by quote currency.
    denials_in_window
        Denials counting towards a burst within ``denial_window_ms``.
    """

    state: PolicyState
    orders_last_minute: int
    notional_24h: MappingProxyType[str, Decimal]
    denials_in_window: int


def _check_clock(now_ms: object, what: str = "now_ms") -> int:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int) or now_ms < 0:
        raise ValidationError(f"{what} must be epoch milliseconds as a non-negative int, got {now_ms!r}")
    return now_ms


class PolicyEngine:
    """The trade-policy firewall of one account. No I/O: the caller passes data and the clock.

    Parameters
    ----------
    account
        The account this engine guards; requests for any other are ``bad_request``.
    config
        The policy; its ``state`` is the account's starting state.

    Examples
    --------
    >>> from decimal import Decimal
    >>> engine = PolicyEngine(account="alice", config=PolicyConfig(pairs=("BTC/USDT",)))
    >>> ref = ReferenceMarket(symbol="BTC/USDT", price=Decimal("60000"), bid=Decimal("59999"),
    ...                       ask=Decimal("60001"), quote_volume_24h=Decimal("5E+8"), as_of_ms=1_000)
    >>> order = OrderRequest(account="alice", symbol="BTC/USDT", side="buy", type="limit",
    ...                      amount=Decimal("0.01"), price=Decimal("59000"), client_order_id="b1")
    >>> decision = engine.evaluate(order, ref, now_ms=2_000)
    >>> decision.allowed, decision.notional
    (True, Decimal('590.00'))
    >>> engine.record_sent(order, now_ms=2_050)   # after the exchange accepted the request
    """

    def __init__(self, *, account: str, config: PolicyConfig) -> None:
        if not isinstance(account, str) or not account:
            raise ValidationError(f"account must be a non-empty str, got {account!r}")
        if not isinstance(config, PolicyConfig):
            raise ValidationError(f"config must be a PolicyConfig, got {type(config).__name__}")
        self._account = account
        self._config = config
        self._minute: deque[int] = deque()
        self._day: deque[_Sent] = deque()
        self._day_totals: dict[str, Decimal] = {}
        self._denials: deque[int] = deque()
        self._pending: OrderedDict[str, _Pending] = OrderedDict()

    def __repr__(self) -> str:
        return f"PolicyEngine(account={self._account!r}, state={self.state.value})"

    # --- configuration and state --------------------------------------------------------------

    @property
    def account(self) -> str:
        """Return the account this engine guards."""
        return self._account

    @property
    def config(self) -> PolicyConfig:
        """Return the policy in force; its ``state`` is the account's current state."""
        return self._config

    @property
    def state(self) -> PolicyState:
        """Return the account's state."""
        return self._config.state

    def set_state(self, state: PolicyState | str) -> None:
        """Move the account to ``state``; leaving HALTED forgets the denials that led there.

        Going towards ACTIVE loosens the policy: the signer should require the user's
        confirmation first (see :func:`loosening`).

        Raises
        ------
        ConfigError
            ``state`` is not one of active, reducing, halted.
        """
        was = self._config.state
        self._config = replace(self._config, state=state)  # type: ignore[arg-type]  # a string is parsed (ConfigError)
        if self._config.state.openness > was.openness:
            self._denials.clear()

    def set_config(self, config: PolicyConfig) -> None:
        """Replace the policy, its state included, keeping the history of sent orders and denials.

        Check ``loosening(engine.config, config)`` first and have the user confirm what it lists.
        """
        if not isinstance(config, PolicyConfig):
            raise ValidationError(f"config must be a PolicyConfig, got {type(config).__name__}")
        was = self._config.state
        self._config = config
        if config.state.openness > was.openness:
            self._denials.clear()

    # --- the firewall ---------------------------------------------------------------------------

    def evaluate(self, request: OrderRequest, reference: ReferenceMarket, now_ms: int) -> Decision:
        """Judge an order request against the policy, the reference market and the history.

        Nothing about the request raises: a malformed one is denied with ``bad_request``. A
        denial that completes a burst (``denial_burst`` within ``denial_window_ms``) HALTs the
        account and comes back with ``halted_now=True`` and an ``alert`` text.

        Parameters
        ----------
        request
            The order, as the engine asked for it.
        reference
            The signer's own market data for ``request.symbol``.
        now_ms
            The signer's clock, epoch milliseconds.

        Returns
        -------
        Decision
            :class:`Allowed` (then send, then :meth:`record_sent`) or :class:`Denied`.

        Raises
        ------
        ValidationError
            ``now_ms`` is not a non-negative int (a bug in the caller, not in the request).
        """
        _check_clock(now_ms)
        self._expire(now_ms)
        with localcontext(rules.EXACT):
            decision = self._decide(request, reference, now_ms)
        if isinstance(decision, Denied):
            # A denial also withdraws an earlier Allowed for the same client order id.
            cid = getattr(request, "client_order_id", None)
            if isinstance(cid, str):
                self._pending.pop(cid, None)
            return self._count_denial(decision, now_ms)
        self._pending[decision.client_order_id] = _Pending(request, decision.quote, decision.notional)
        self._pending.move_to_end(decision.client_order_id)
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)
        return decision

    def _decide(self, request: OrderRequest, reference: ReferenceMarket, now_ms: int) -> Decision:
        config = self._config
        denied = rules.check_halted(config.state) or rules.check_request(request, self._account)
        if denied is not None:
            return denied
        denied = rules.check_pair(request, config) or rules.check_reducing(request, config.state)
        denied = denied or rules.check_reference(request, reference, now_ms, config)
        if denied is not None:
            return denied
        quote = request.symbol.split("/")[1]
        limits = config.limits_for(quote)
        assert limits is not None  # check_pair
        price = rules.expected_price(request, reference)
        notional = rules.order_notional(request, price)
        denied = (
            rules.check_volume(request, reference, quote, limits)
            or rules.check_deviation(request, reference, config)
            or rules.check_order_notional(request, price, quote, limits)
            or rules.check_daily_notional(notional, self._day_totals.get(quote, Decimal(0)), quote, limits)
            or rules.check_rate(len(self._minute), config)
        )
        if denied is not None:
            return denied
        return Allowed(
            client_order_id=request.client_order_id, quote=quote, expected_price=price, notional=notional
        )

    def _count_denial(self, denied: Denied, now_ms: int) -> Denied:
        config = self._config
        if denied.rule in _NOT_COUNTED or config.state is PolicyState.HALTED:
            return denied
        self._denials.append(now_ms)
        if len(self._denials) < config.denial_burst:
            return denied
        self._denials.clear()
        self._config = replace(config, state=PolicyState.HALTED)
        window_s = format(Decimal(config.denial_window_ms) / 1000, "f")
        alert = (
            f"account {self._account} HALTED by the trade policy: {config.denial_burst} orders denied "
            f"within {window_s} s, the last by {denied.rule.value} "
            f"({denied.message}). Nothing will be sent until the account is resumed; check the engine and "
            f"the exchange key first, then resume with `bastion policy set --account {self._account} --state active` "
            "(asks for the vault passphrase)."
        )
        return replace(denied, halted_now=True, alert=alert)

    def record_sent(self, request: OrderRequest, now_ms: int) -> None:
        """Count an allowed order as sent: it now uses the minute's orders and the day's notional.

        Call it once the request went out to the exchange, including when the send timed out
        and may have landed. Do not call it for an order that certainly did not go out.

        Raises
        ------
        ValidationError
            This engine did not allow this very request (same client order id and fields), or it
            was recorded already; or ``now_ms`` is not a non-negative int.
        """
        _check_clock(now_ms)
        cid = getattr(request, "client_order_id", None)
        pending = self._pending.get(cid) if isinstance(cid, str) else None
        if pending is None or not _same(pending.request, request):
            raise ValidationError(
                f"record_sent: order {cid!r} was not allowed by evaluate() on this engine, or was "
                "already recorded; only an allowed request, unchanged, can be recorded as sent"
            )
        assert isinstance(cid, str)  # found above
        del self._pending[cid]
        self._add_sent(_Sent(now_ms, pending.quote, pending.notional))

    def withdraw(self, client_order_id: str) -> bool:
        """Forget an allowed decision that will not be recorded as sent; return whether there was one.

        For an order that certainly did not go out, or a retry the exchange answered with the
        order sent the first time (whose budget was already recorded then).
        """
        return self._pending.pop(client_order_id, None) is not None

    def preload_sent(self, *, symbol: str, notional: Decimal, sent_ms: int) -> None:
        """Add an order sent before this engine existed, e.g. replayed from the audit log.

        Without it a restarted signer would start every account with a fresh daily budget.

        Parameters
        ----------
        symbol
            The order's symbol; its quote currency is the notional's currency.
        notional
            The order's value in that quote currency.
        sent_ms
            When it was sent, epoch milliseconds.
        """
        _check_clock(sent_ms, "sent_ms")
        parts = split_symbol(symbol)
        if parts is None:
            raise ValidationError(f"symbol must be a spot symbol such as 'BTC/USDT', got {symbol!r}")
        if not isinstance(notional, Decimal) or not notional.is_finite() or notional < 0:
            raise ValidationError(f"notional must be a non-negative Decimal, got {notional!r}")
        self._add_sent(_Sent(sent_ms, parts[1], notional))

    def usage(self, now_ms: int) -> PolicyUsage:
        """Return the budget used at ``now_ms`` (for the UI and for tests)."""
        _check_clock(now_ms)
        self._expire(now_ms)
        return PolicyUsage(
            state=self.state,
            orders_last_minute=len(self._minute),
            notional_24h=MappingProxyType(dict(self._day_totals)),
            denials_in_window=len(self._denials),
        )

    # --- windows --------------------------------------------------------------------------------

    def _add_sent(self, sent: _Sent) -> None:
        with localcontext(rules.EXACT):
            self._minute.append(sent.at_ms)
            self._day.append(sent)
            self._day_totals[sent.quote] = self._day_totals.get(sent.quote, Decimal(0)) + sent.notional

    def _expire(self, now_ms: int) -> None:
        # An entry counts while now - at < window. Entries are appended in call order, so a
        # clock that steps back keeps later entries a little longer: never shorter.
        while self._minute and now_ms - self._minute[0] >= RATE_WINDOW_MS:
            self._minute.popleft()
        with localcontext(rules.EXACT):
            while self._day and now_ms - self._day[0].at_ms >= DAY_MS:
                old = self._day.popleft()
                left = self._day_totals[old.quote] - old.notional
                if left == 0:
                    del self._day_totals[old.quote]
                else:
                    self._day_totals[old.quote] = left
        window = self._config.denial_window_ms
        while self._denials and now_ms - self._denials[0] >= window:
            self._denials.popleft()


def _same(a: OrderRequest, b: object) -> bool:
    try:
        return a == b
    except ArithmeticError:  # a signalling NaN in b
        return False
