"""Builders shared by the policy tests: a clock, a config, requests and references."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bastion.custody.policy import (
    OrderRequest,
    PolicyConfig,
    PolicyEngine,
    QuoteLimits,
    ReferenceMarket,
)

NOW_MS = 1_700_000_000_000
ACCOUNT = "alice"

BTC_LIMITS = QuoteLimits(
    max_order_notional=Decimal("0.05"), max_daily_notional=Decimal("0.5"), min_volume_24h=Decimal(100)
)


def build_request(**overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "account": ACCOUNT,
        "symbol": "ETH/USDT",
        "side": "buy",
        "type": "limit",
        "amount": Decimal(1),
        "price": Decimal(100),
        "client_order_id": "cid-1",
    }
    fields.update(overrides)
    return OrderRequest(**fields)


def build_reference(**overrides: Any) -> ReferenceMarket:
    fields: dict[str, Any] = {
        "symbol": "ETH/USDT",
        "price": Decimal(100),
        "bid": Decimal("99.99"),
        "ask": Decimal("100.01"),
        "quote_volume_24h": Decimal(50_000_000),
        "as_of_ms": NOW_MS,
    }
    fields.update(overrides)
    return ReferenceMarket(**fields)


def build_config(**overrides: Any) -> PolicyConfig:
    fields: dict[str, Any] = {
        "pairs": ("BTC/USDT", "ETH/USDT", "ETH/BTC"),
        "quote_limits": {"BTC": BTC_LIMITS},
    }
    fields.update(overrides)
    return PolicyConfig(**fields)


@pytest.fixture(scope="session")
def request_for() -> Callable[..., OrderRequest]:
    """Build an order request: a limit buy of 1 ETH/USDT at 100 unless overridden."""
    return build_request


@pytest.fixture(scope="session")
def reference_for() -> Callable[..., ReferenceMarket]:
    """Build a reference: ETH/USDT at 100, book 99.99/100.01, 50M volume, as of NOW_MS."""
    return build_reference


@pytest.fixture
def config() -> PolicyConfig:
    """The defaults with BTC/USDT, ETH/USDT and ETH/BTC allowed (BTC-quoted limits set)."""
    return build_config()


@pytest.fixture
def engine(config: PolicyConfig) -> PolicyEngine:
    """A fresh firewall for ACCOUNT under ``config``."""
    return PolicyEngine(account=ACCOUNT, config=config)


@pytest.fixture(scope="session")
def make_engine() -> Callable[..., PolicyEngine]:
    """Build a fresh firewall for ACCOUNT from config overrides."""
    return lambda **overrides: PolicyEngine(account=ACCOUNT, config=build_config(**overrides))
