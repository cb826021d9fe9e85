"""API key permissions: parsing each exchange's answer, what gets a key refused, and the live check."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import ccxt
import pytest

from bastion.custody.signer.endpoints import guard_client
from bastion.custody.signer.permissions import (
    assess,
    check_key,
    fetch_permissions,
    parse_binance,
    parse_bybit,
    parse_kucoin,
    parse_okx,
)
from bastion.errors import AuthenticationFailed, ExchangeError, KeyRefused
from bastion.exchanges.ccxt.factory import create_client
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import ApiRestrictions
from support.simulator import SimulatorProcess, make_key

pytestmark = pytest.mark.timeout(120)

# Response shapes from the exchanges' public API docs:
# Binance https://developers.binance.com/docs/wallet/account/api-key-permission
BINANCE = {
    "ipRestrict": False,
    "createTime": 1698645219000,
    "enableInternalTransfer": False,
    "enableFutures": False,
    "enablePortfolioMarginTrading": True,
    "enableVanillaOptions": False,
    "permitsUniversalTransfer": False,
    "enableReading": True,
    "enableSpotAndMarginTrading": False,
    "enableWithdrawals": False,
    "enableMargin": False,
}
# OKX https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration
OKX = {
    "code": "0",
    "data": [
        {
            "acctLv": "2",
            "autoLoan": False,
            "ctIsoMode": "automatic",
            "greeksType": "PA",
            "ip": "120.255.24.182,49.245.196.13",
            "kycLv": "3",
            "label": "V5 Test",
            "level": "Lv1",
            "levelTmp": "",
            "mainUid": "44705892343619584",
            "mgnIsoMode": "automatic",
            "opAuth": "0",
            "perm": "read_only,withdraw,trade",
            "posMode": "long_short_mode",
            "roleType": "0",
            "spotOffsetType": "",
            "spotRoleType": "0",
            "spotTraderInsts": [],
            "traderInsts": [],
            "uid": "44705892343619584",
        }
    ],
    "msg": "",
}
# Bybit https://bybit-exchange.github.io/docs/v5/user/apikey-info
BYBIT = {
    "retCode": 0,
    "retMsg": "",
    "result": {
        "id": "13770661",
        "note": "XXXXXX",
        "apiKey": "XXXXXXabcd",
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer", "SubMemberTransfer"],
            "Options": ["OptionsTrade"],
            "Derivatives": [],
            "Exchange": ["ExchangeHistory"],
            "Earn": [],
            "FiatP2P": [],
            "FiatBybitPay": [],
            "FiatConvertBroker": [],
            "BlockTrade": [],
            "Affiliate": [],
            "NFT": [],
            "CopyTrading": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": 66,
        "expiredAt": "2023-12-22T07:20:25Z",
        "createdAt": "2022-10-16T02:24:40Z",
        "unified": 0,
        "uta": 0,
        "userID": 24617703,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
    },
    "retExtInfo": {},
    "time": 1697525990798,
}
# KuCoin https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-apikey-info
KUCOIN = {
    "code": "200000",
    "data": {
        "remark": "trading-bot",
        "apiKey": "670c42f1a24b1b0001a5c7e0",
        "apiVersion": 3,
        "permission": "General,Spot",
        "ipWhitelist": "198.51.100.42",
        "createdAt": 1728905969000,
        "uid": 123456789,
        "isMaster": True,
    },
}


def perms(**changes: Any) -> ApiRestrictions:
    """A safe key (read + spot trading, IP-restricted, nothing dangerous) with ``changes``."""
    fields = {
        "can_read": True,
        "can_trade_spot": True,
        "can_withdraw": False,
        "can_internal_transfer": False,
        "can_universal_transfer": False,
        "ip_restricted": True,
    }
    raw = changes.pop("raw", {})
    return ApiRestrictions(**{**fields, **changes}, raw=raw)


# --- parsing -------------------------------------------------------------------------------------


def test_parse_binance_reads_the_documented_flags():
    result = parse_binance(BINANCE)
    assert (result.can_read, result.can_trade_spot, result.can_withdraw) == (True, False, False)
    assert (result.can_internal_transfer, result.can_universal_transfer, result.ip_restricted) == (False, False, False)
    assert result.raw == BINANCE
    risky = parse_binance({**BINANCE, "enableWithdrawals": True, "permitsUniversalTransfer": True, "ipRestrict": True})
    assert (risky.can_withdraw, risky.can_universal_transfer, risky.ip_restricted) == (True, True, True)


def test_parse_okx_reads_perm_and_ip_from_data():
    result = parse_okx(OKX)
    assert (result.can_read, result.can_trade_spot, result.can_withdraw, result.ip_restricted) == (
        True,
        True,
        True,
        True,
    )
    assert not result.can_internal_transfer
    assert not result.can_universal_transfer
    assert result.raw["perm"] == "read_only,withdraw,trade"
    unbound = parse_okx({**OKX["data"][0], "perm": "read_only,trade", "ip": ""})
    assert (unbound.can_withdraw, unbound.ip_restricted, unbound.can_trade_spot) == (False, False, True)
    read_only = parse_okx({"perm": "read_only", "ip": "1.2.3.4"})
    assert not read_only.can_trade_spot


def test_parse_bybit_maps_wallet_permissions_and_star_ips():
    result = parse_bybit(BYBIT)
    assert result.can_read
    assert result.can_trade_spot
    assert (result.can_withdraw, result.can_internal_transfer, result.can_universal_transfer) == (False, True, True)
    assert result.ip_restricted is False  # ["*"] is Bybit's "not bound to an IP"
    assert result.raw["apiKey"] == "****abcd"
    assert "secret" not in result.raw
    locked = copy.deepcopy(BYBIT["result"])
    locked.update(readOnly=1, ips=["203.0.113.7"])
    locked["permissions"]["Wallet"] = ["Withdraw"]
    parsed = parse_bybit(locked)
    assert (parsed.can_trade_spot, parsed.can_withdraw, parsed.ip_restricted) == (False, True, True)
    assert not parsed.can_internal_transfer
    assert not parsed.can_universal_transfer


def test_parse_kucoin_reads_the_comma_separated_permission_and_whitelist():
    result = parse_kucoin(KUCOIN)
    assert (result.can_read, result.can_trade_spot, result.ip_restricted) == (True, True, True)
    assert not result.can_withdraw
    assert not result.can_internal_transfer
    assert not result.can_universal_transfer
    assert result.raw["apiKey"] == "****c7e0"
    everything = parse_kucoin({"permission": "General,Futures,Spot,Earn,InnerTransfer,Withdrawal,FlexTransfers"})
    assert (everything.can_withdraw, everything.can_internal_transfer, everything.can_universal_transfer) == (
        True,
        True,
        True,
    )
    assert everything.ip_restricted is False
    assert parse_kucoin({"permission": "General,Transfer", "ipWhitelist": ""}).can_withdraw  # the pre-2023 name


@pytest.mark.parametrize(
    ("parse", "raw", "message"),
    [
        (parse_binance, {"enableReading": True}, "without 'enableWithdrawals'"),
        (parse_binance, ["not", "an", "object"], "with list"),
        (parse_okx, {"code": "0", "data": []}, "0 entries in 'data'"),
        (parse_okx, {"code": "0", "data": [{"ip": ""}]}, "without 'perm'"),
        (parse_bybit, {"retCode": 0, "result": {"readOnly": 0, "permissions": {}}}, "without 'ips'"),
        (parse_bybit, {"readOnly": 0, "permissions": ["Spot"], "ips": []}, "expected an object of lists"),
        (parse_kucoin, {"code": "200000", "data": {"apiKey": "SECRETISHKEY", "ipWhitelist": ""}}, "'permission'"),
    ],
)
def test_unexpected_shapes_are_exchange_errors_saying_what_was_expected(parse, raw, message):
    with pytest.raises(ExchangeError, match="expected") as err:
        parse(raw)
    assert message in str(err.value)
    assert "SECRETISHKEY" not in str(err.value)


# --- assess and check_key -----------------------------------------------------------------------


@pytest.mark.parametrize("exchange_id", ["binance", "okx", "bybit", "kucoin", "simulator"])
def test_a_read_and_spot_trading_key_bound_to_an_ip_is_accepted(exchange_id):
    assert assess(perms(), exchange_id=exchange_id, allow_unrestricted_ip=False) == ()
    check_key(perms(), exchange_id=exchange_id, allow_unrestricted_ip=False)


@pytest.mark.parametrize(
    ("exchange_id", "change", "words"),
    [
        ("binance", {"can_withdraw": True}, ['"Enable Withdrawals"', "api-management"]),
        ("binance", {"can_internal_transfer": True}, ['"Enable Internal Transfer"']),
        ("binance", {"can_universal_transfer": True}, ['"Permits Universal Transfer"']),
        ("okx", {"can_withdraw": True}, ['"Withdraw"', "okx.com/account/my-api"]),
        ("bybit", {"can_withdraw": True}, ['"Wallet > Withdrawal"', "bybit.com/app/user/api-management"]),
        ("bybit", {"can_internal_transfer": True}, ['"Wallet > Subaccount Transfer"']),
        ("bybit", {"can_universal_transfer": True}, ['"Wallet > Account Transfer"']),
        ("kucoin", {"can_withdraw": True}, ['"Withdrawal"']),
        ("kucoin", {"can_universal_transfer": True}, ['"FlexTransfers"']),
        ("simulator", {"can_withdraw": True}, ['"enableWithdrawals" to false', "keys file"]),
    ],
)
def test_money_moving_permissions_are_refused_in_the_exchanges_own_words(exchange_id, change, words):
    [reason] = assess(perms(**change), exchange_id=exchange_id, allow_unrestricted_ip=False)
    for word in words:
        assert word in reason


def test_keys_that_cannot_read_or_trade_spot_are_refused_because_the_bots_could_not_work():
    reasons = assess(perms(can_read=False, can_trade_spot=False), exchange_id="binance", allow_unrestricted_ip=False)
    assert len(reasons) == 2
    assert "cannot read" in reasons[0]
    assert '"Enable Reading"' in reasons[0]
    assert "cannot trade spot" in reasons[1]
    assert "enable spot trading" in reasons[1]
    assert '"Enable Spot & Margin Trading"' in reasons[1]


@pytest.mark.parametrize("exchange_id", ["binance", "okx", "bybit", "kucoin"])
def test_live_keys_without_ip_restriction_are_refused_unless_allowed(exchange_id):
    [reason] = assess(perms(ip_restricted=False), exchange_id=exchange_id, allow_unrestricted_ip=False)
    assert "not restricted to an IP address" in reason
    assert "signer's IP" in reason
    assert "--allow-unrestricted-ip" in reason
    assert assess(perms(ip_restricted=False), exchange_id=exchange_id, allow_unrestricted_ip=True) == ()


def test_the_simulator_needs_no_ip_restriction():
    assert assess(perms(ip_restricted=False), exchange_id="simulator", allow_unrestricted_ip=False) == ()


def test_bybit_p2p_and_bybit_pay_are_refused_too():
    raw = copy.deepcopy(BYBIT["result"])
    raw["permissions"].update(Wallet=[], FiatP2P=["FiatP2POrder"], FiatBybitPay=["FaitPayOrder"])
    raw["ips"] = ["203.0.113.7"]
    reasons = assess(parse_bybit(raw), exchange_id="bybit", allow_unrestricted_ip=False)
    assert len(reasons) == 2
    assert "P2P" in reasons[0]
    assert "Bybit Pay" in reasons[1]


def test_kucoin_permissions_with_transfer_or_withdraw_in_their_name_are_refused():
    parsed = parse_kucoin({"permission": "General,Spot,SubTransfer", "ipWhitelist": "1.2.3.4"})
    [reason] = assess(parsed, exchange_id="kucoin", allow_unrestricted_ip=False)
    assert '"SubTransfer"' in reason


def test_check_key_raises_key_refused_listing_every_reason():
    risky = perms(can_withdraw=True, can_universal_transfer=True, ip_restricted=False)
    with pytest.raises(KeyRefused) as err:
        check_key(risky, exchange_id="okx", allow_unrestricted_ip=False)
    assert len(err.value.reasons) == 3
    assert "3 problems" in str(err.value)
    for reason in err.value.reasons:
        assert reason in str(err.value)


def test_unknown_exchanges_are_errors_naming_the_supported_ones():
    with pytest.raises(ExchangeError, match="supported exchange ids: binance, kucoin, okx, bybit, kraken, coinbase"):
        assess(perms(), exchange_id="bitfinex", allow_unrestricted_ip=False)
    with pytest.raises(ExchangeError, match="'bitfinex'"):
        asyncio.run(fetch_permissions(object(), "bitfinex"))


@pytest.mark.parametrize("exchange_id", ["gate", "gateio"])
def test_keys_of_exchanges_that_do_not_report_permissions_are_refused_saying_why(exchange_id):
    with pytest.raises(ExchangeError, match="does not report what a key may do"):
        assess(perms(), exchange_id=exchange_id, allow_unrestricted_ip=True)
    with pytest.raises(ExchangeError, match="cannot check that it cannot withdraw"):
        asyncio.run(fetch_permissions(object(), exchange_id))


# --- fetch_permissions --------------------------------------------------------------------------


class FakeKucoin:
    """Just enough of a ccxt kucoin client: the implicit method answers the documented shape."""

    id = "kucoin"

    async def private_get_user_api_key(self) -> dict[str, Any]:
        return KUCOIN


class FailingOkx:
    id = "okx"
    secret = "the-secret-value"
    apiKey = "the-api-key"

    def private_get_account_config(self) -> dict[str, Any]:
        raise ccxt.AuthenticationError('okx {"msg":"Invalid OK-ACCESS-KEY the-api-key","code":"50111"}')


def test_fetch_permissions_calls_the_exchanges_query_and_parses_it():
    result = asyncio.run(fetch_permissions(FakeKucoin(), "kucoin"))
    assert result.can_trade_spot
    assert result.ip_restricted


def test_fetch_permissions_translates_ccxt_errors_and_scrubs_the_key():
    with pytest.raises(AuthenticationFailed) as err:
        asyncio.run(fetch_permissions(FailingOkx(), "okx"))
    assert "the-api-key" not in str(err.value)


def test_fetch_permissions_says_so_when_ccxt_lacks_the_query():
    with pytest.raises(ExchangeError, match=r"has no private_get_v5_user_query_api\(\)"):
        asyncio.run(fetch_permissions(object(), "bybit"))


@pytest.fixture
def sim_with_bob(tmp_path) -> Any:
    keys = [
        make_key("alice", {"USDT": "10000", "BTC": "1"}),
        make_key("bob", {"USDT": "100"}, {"enableWithdrawals": True}),
    ]
    with SimulatorProcess(tmp_path, keys=keys) as sim:
        yield sim


def test_fetch_permissions_on_the_simulator_refuses_a_withdrawal_key(sim_with_bob):
    sim = sim_with_bob

    async def main() -> tuple[ApiRestrictions, ApiRestrictions]:
        bob = guard_client(sim.client("bob", asynchronous=True), "simulator")
        alice = guard_client(sim.client("alice", asynchronous=True), "simulator")
        try:
            return await fetch_permissions(bob, "simulator"), await fetch_permissions(alice, "simulator")
        finally:
            await bob.close()
            await alice.close()

    bob, alice = asyncio.run(main())
    assert bob.can_withdraw
    assert not alice.can_withdraw
    assert bob.raw["enableWithdrawals"] is True
    assert "createTime" in bob.raw
    [reason] = assess(bob, exchange_id="simulator", allow_unrestricted_ip=False)
    assert '"enableWithdrawals" to false' in reason
    assert assess(alice, exchange_id="simulator", allow_unrestricted_ip=False) == ()
    with pytest.raises(KeyRefused):
        check_key(bob, exchange_id="simulator", allow_unrestricted_ip=False)
    # as a live Binance key the simulator's unrestricted IP would be refused too
    assert len(assess(bob, exchange_id="binance", allow_unrestricted_ip=False)) == 2
    assert sim.unknown() == []


def test_a_key_that_gains_withdrawal_permission_later_is_caught(sim_with_bob):
    sim = sim_with_bob
    client = guard_client(sim.client("alice"), "simulator")  # a sync client works too
    before = asyncio.run(fetch_permissions(client, "simulator"))
    assert assess(before, exchange_id="simulator", allow_unrestricted_ip=False) == ()
    sim.set_restrictions(sim.key("alice")["api_key"], enableWithdrawals=True, permitsUniversalTransfer=True)
    after = asyncio.run(fetch_permissions(client, "simulator"))
    assert (after.can_withdraw, after.can_universal_transfer) == (True, True)
    assert len(assess(after, exchange_id="simulator", allow_unrestricted_ip=False)) == 2


def test_a_wrong_secret_is_authentication_failed(sim_with_bob):
    sim = sim_with_bob
    key = sim.key("alice")
    client = create_client("simulator", url=sim.url, credentials=ApiCredentials(key["api_key"], "x" * 64))
    with pytest.raises(AuthenticationFailed, match="-1022"):
        asyncio.run(fetch_permissions(guard_client(client, "simulator"), "simulator"))
