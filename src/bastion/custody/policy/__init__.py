"""The signer's trade-policy firewall: a pure library, no I/O, the clock passed in.

It runs inside the signer before anything is signed, and judges each order an engine asks for
against the account's policy and the signer's *own* reference market data, so a compromised
engine can neither trade unlisted coins nor pay a pumped price, nor trade faster or bigger than
the user allowed. A burst of denials HALTs the account.

Usage::

    engine = PolicyEngine(account="alice", config=PolicyConfig.from_mapping(stored))
    decision = engine.evaluate(request, reference, now_ms=clock.now_ms())
    if isinstance(decision, Denied):
        audit.append(denied=decision)            # decision.rule, .message, .compared_values
        if decision.halted_now:
            notify(decision.alert)
    else:
        send(request)
        engine.record_sent(request, now_ms=clock.now_ms())

Cancels are not evaluated here: the signer lets a cancel through in every state.
"""

from bastion.custody.policy.config import (
    DEFAULT_DENIAL_BURST,
    DEFAULT_DENIAL_WINDOW_MS,
    DEFAULT_MAX_DAILY_NOTIONAL,
    DEFAULT_MAX_DEVIATION_PCT,
    DEFAULT_MAX_ORDER_NOTIONAL,
    DEFAULT_MAX_ORDERS_PER_MINUTE,
    DEFAULT_MAX_REFERENCE_AGE_MS,
    DEFAULT_MIN_VOLUME_24H,
    PRIMARY_QUOTE,
    PolicyConfig,
    PolicyState,
    QuoteLimits,
)
from bastion.custody.policy.decision import RULES, Allowed, Decision, Denied, Rule
from bastion.custody.policy.engine import PolicyEngine, PolicyUsage
from bastion.custody.policy.loosening import loosening
from bastion.custody.policy.market_cap import CappedOrder, cap_market_order, market_cap_price
from bastion.custody.policy.request import OrderRequest, ReferenceMarket

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
    "RULES",
    "Allowed",
    "CappedOrder",
    "Decision",
    "Denied",
    "OrderRequest",
    "PolicyConfig",
    "PolicyEngine",
    "PolicyState",
    "PolicyUsage",
    "QuoteLimits",
    "ReferenceMarket",
    "Rule",
    "cap_market_order",
    "loosening",
    "market_cap_price",
]
