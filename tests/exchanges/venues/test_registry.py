"""The registry of exchange modules: every listed exchange has a complete module, and the
signer, the client factory and the adapter name no exchange themselves."""

from __future__ import annotations

import ast
import inspect

import ccxt
import pytest

from bastion.custody.signer import endpoints, permissions, revoke
from bastion.custody.signer.endpoints import allowed_endpoints, guard_client
from bastion.errors import ConfigError
from bastion.exchanges.ccxt import adapter
from bastion.exchanges.venues import ALIASES, VENUES, canonical_id, get_venue

LISTED = ("binance", "kucoin", "okx", "bybit", "gate", "kraken", "coinbase", "simulator", "simulator-kucoin")


def test_every_exchange_of_the_issue_has_a_module():
    assert tuple(VENUES) == LISTED


@pytest.mark.parametrize("exchange_id", LISTED)
def test_each_module_is_complete(exchange_id):
    venue = get_venue(exchange_id)
    assert venue.id == exchange_id
    assert venue.ccxt_id in ccxt.exchanges
    assert venue.endpoints
    assert venue.revoke_steps
    assert venue.quirks
    assert len({(e.method, e.path) for e in venue.endpoints}) == len(venue.endpoints)
    if venue.permission_method is not None:
        assert venue.parse_permissions is not None
        assert venue.words is not None
        assert any(e.method in ("GET", "POST") and not e.public for e in venue.endpoints)
    assert hasattr(getattr(ccxt, venue.ccxt_id)(), venue.permission_method or "id")


def test_aliases_resolve_and_unknown_ids_name_the_supported_ones():
    assert ALIASES == {"gateio": "gate"}
    assert canonical_id("gateio") == "gate"
    assert canonical_id("bitfinex") == "bitfinex"
    assert get_venue("gateio") is get_venue("gate")
    with pytest.raises(ConfigError, match="supported exchange ids: binance, kucoin, okx") as err:
        get_venue("binanceus")
    assert "gateio for gate" in str(err.value)


def test_the_simulator_flavors_share_their_exchanges_lists_and_stay_on_loopback():
    assert allowed_endpoints("simulator") == allowed_endpoints("binance")
    assert allowed_endpoints("simulator-kucoin") == allowed_endpoints("kucoin")
    assert get_venue("simulator").lookup("b1") == get_venue("binance").lookup("b1")
    assert get_venue("simulator-kucoin").lookup("b1") == get_venue("kucoin").lookup("b1")
    with pytest.raises(ConfigError, match="loopback"):
        guard_client(ccxt.kucoin(), "simulator-kucoin")
    with pytest.raises(ConfigError, match="expected a ccxt 'kucoin' client for exchange id 'simulator-kucoin'"):
        guard_client(ccxt.binance(), "simulator-kucoin")


def _string_constants(module: object) -> set[str]:
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


@pytest.mark.parametrize("module", [endpoints, permissions, revoke, adapter], ids=lambda m: m.__name__)
def test_the_signer_and_the_adapter_name_no_exchange(module):
    named = _string_constants(module) & {*VENUES, *ALIASES, "origClientOrderId", "clientOid"}
    assert named == set()
