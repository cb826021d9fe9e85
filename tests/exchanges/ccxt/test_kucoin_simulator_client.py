"""The ccxt kucoin client pointed at the simulator's KuCoin flavor, and KuCoin's errors translated."""

import ccxt
import ccxt.async_support
import pytest

from bastion import errors
from bastion.errors import ValidationError
from bastion.exchanges.ccxt import create_client, translate
from bastion.exchanges.ccxt.factory import KUCOIN_SIMULATOR_ID
from bastion.exchanges.credentials import ApiCredentials


def test_kucoin_simulator_client_is_the_real_kucoin_client_on_loopback():
    credentials = ApiCredentials("k" * 24, "s" * 36, "pass")
    client = create_client(KUCOIN_SIMULATOR_ID, url="http://127.0.0.1:9999", credentials=credentials)
    assert isinstance(client, ccxt.kucoin)
    urls = client.urls["api"]
    assert urls["public"] == urls["private"] == "http://127.0.0.1:9999"
    assert all(u.startswith("http://127.0.0.1:9999") for u in urls.values() if isinstance(u, str))
    assert client.password == "pass"
    # spot only (no futures API), no unified-account probe, no server-time adjustment
    assert client.options["fetchMarkets"]["types"] == ["spot"]
    assert client.options["uta"] is False
    assert client.options["adjustForTimeDifference"] is False
    async_client = create_client(KUCOIN_SIMULATOR_ID, url="http://127.0.0.1:9999", asynchronous=True)
    assert isinstance(async_client, ccxt.async_support.kucoin)


def test_kucoin_simulator_must_be_on_loopback():
    with pytest.raises(ValidationError, match="loopback"):
        create_client(KUCOIN_SIMULATOR_ID, url="http://10.0.0.5:8080")


@pytest.fixture
def client():
    return create_client(KUCOIN_SIMULATOR_ID, url="http://127.0.0.1:1")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt.InvalidOrder('kucoin {"code":"126044","msg":"clientOid duplicate"}'), errors.DuplicateOrder),
        (
            ccxt.InvalidOrder('kucoin {"code":"600101","msg":"The order funds should more then 5 USDT."}'),
            errors.FilterViolation,
        ),
        (ccxt.BadRequest('kucoin {"code":"400100","msg":"Price increment invalid."}'), errors.FilterViolation),
        (ccxt.BadRequest('kucoin {"code":"400100","msg":"side invalid"}'), errors.ExchangeError),
        (ccxt.InsufficientFunds('kucoin {"code":"200004","msg":"Balance insufficient!"}'), errors.InsufficientFunds),
        (ccxt.OrderNotFound('kucoin {"code":"400100","msg":"order not exist."}'), errors.OrderNotFound),
        (ccxt.InvalidNonce('kucoin {"code":"400002","msg":"KC-API-TIMESTAMP Invalid"}'), errors.TimestampRejected),
    ],
)
def test_kucoin_refusals_map_by_code(client, exc, expected):
    result = translate(exc, client)
    assert type(result) is expected
    assert result.code == str(exc).split('"code":"')[1][:6]


def test_kucoin_retry_after_comes_from_the_gateway_reset_header(client):
    client.last_response_headers = {"gw-ratelimit-reset": "1500", "gw-ratelimit-remaining": "0"}
    result = translate(ccxt.RateLimitExceeded('kucoin {"code":"429000","msg":"Too many requests"}'), client)
    assert result.retry_after == 1.5
