import ccxt
import pytest

from bastion import errors
from bastion.exchanges.ccxt import create_client, translate


@pytest.fixture
def client():
    c = create_client("simulator", url="http://127.0.0.1:1")
    c.apiKey = "KEY123"
    c.secret = "SECRET456"
    return c


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt.AuthenticationError('binance {"code":-1022,"msg":"Signature for this request is not valid."}'),
         errors.AuthenticationFailed),
        (ccxt.InvalidNonce('binance {"code":-1021,"msg":"Timestamp outside recvWindow."}'), errors.TimestampRejected),
        (ccxt.InsufficientFunds("binance Account has insufficient balance for requested action."),
         errors.InsufficientFunds),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), errors.DuplicateOrder),
        (ccxt.InvalidOrder('binance order price is invalid {"code":-1013,"msg":"Filter failure: PRICE_FILTER"}'),
         errors.FilterViolation),
        (ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'), errors.FilterViolation),
        (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), errors.OrderNotFound),
        (ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'), errors.BadSymbol),
        (ccxt.PermissionDenied("binance no"), errors.PermissionRefused),
        (ccxt.DDoSProtection("binance 429 Too Many Requests"), errors.RateLimited),
        (ccxt.RateLimitExceeded("binance slow down"), errors.RateLimited),
        (ccxt.RequestTimeout("binance GET timed out"), errors.NetworkTimeout),
        (ccxt.ExchangeNotAvailable("binance 503"), errors.ExchangeDown),
        (ccxt.NetworkError("binance reset"), errors.ExchangeUnavailable),
        (ccxt.ExchangeError("binance odd"), errors.ExchangeError),
    ],
)
def test_ccxt_errors_map_to_bastion_tree(client, exc, expected):
    result = translate(exc, client)
    assert type(result) is expected
    assert result.exchange == "binance"


def test_code_is_extracted(client):
    result = translate(ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), client)
    assert result.code == "-2013"


def test_retry_after_comes_from_the_response_headers(client):
    client.last_response_headers = {"Retry-After": "7"}
    result = translate(ccxt.DDoSProtection("binance 429"), client)
    assert result.retry_after == 7.0


def test_messages_are_scrubbed_of_key_secret_and_signature(client):
    exc = ccxt.ExchangeError("binance GET /api/v3/account?timestamp=1&signature=abcdef0123 key KEY123 SECRET456")
    text = str(translate(exc, client))
    assert "SECRET456" not in text
    assert "KEY123" not in text
    assert "abcdef0123" not in text
