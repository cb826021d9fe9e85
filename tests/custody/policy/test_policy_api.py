"""The public surface of bastion.custody.policy, and its promise of no I/O."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import bastion.custody.policy as policy

PACKAGE_DIR = Path(policy.__file__).parent
# Anything that could reach the network, the disk, the wall clock or randomness.
FORBIDDEN_MODULES = {
    "asyncio",
    "ccxt",
    "datetime",
    "http",
    "httpx",
    "aiohttp",
    "os",
    "pathlib",
    "random",
    "requests",
    "secrets",
    "socket",
    "sqlalchemy",
    "ssl",
    "subprocess",
    "time",
    "urllib",
}


def test_public_api_is_pinned() -> None:
    assert sorted(policy.__all__) == [
        "Allowed",
        "CappedOrder",
        "DEFAULT_DENIAL_BURST",
        "DEFAULT_DENIAL_WINDOW_MS",
        "DEFAULT_MAX_DAILY_NOTIONAL",
        "DEFAULT_MAX_DEVIATION_PCT",
        "DEFAULT_MAX_ORDERS_PER_MINUTE",
        "DEFAULT_MAX_ORDER_NOTIONAL",
        "DEFAULT_MAX_REFERENCE_AGE_MS",
        "DEFAULT_MIN_VOLUME_24H",
        "Decision",
        "Denied",
        "OrderRequest",
        "PRIMARY_QUOTE",
        "PolicyConfig",
        "PolicyEngine",
        "PolicyState",
        "PolicyUsage",
        "QuoteLimits",
        "RULES",
        "ReferenceMarket",
        "Rule",
        "cap_market_order",
        "loosening",
        "market_cap_price",
    ]
    for name in policy.__all__:
        assert hasattr(policy, name), name


def test_rule_names_are_stable() -> None:
    assert set(policy.RULES) == {
        "state_halted",
        "state_reducing",
        "pair_not_allowed",
        "max_order_notional",
        "max_daily_notional",
        "max_orders_per_minute",
        "max_deviation",
        "min_volume_24h",
        "reference_stale",
        "reference_invalid",
        "bad_request",
    }


def test_the_package_imports_nothing_that_does_io_or_reads_a_clock() -> None:
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "print", "input"}, f"{path.name} calls {node.func.id}()"


def test_public_classes_and_functions_have_docstrings() -> None:
    for name in policy.__all__:
        obj = getattr(policy, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name
            for member_name, member in vars(obj).items():
                if not member_name.startswith("_") and (
                    inspect.isfunction(member) or isinstance(member, (property, classmethod, staticmethod))
                ):
                    assert inspect.getdoc(getattr(obj, member_name)), f"{name}.{member_name}"
