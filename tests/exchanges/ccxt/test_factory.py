import pytest

from bastion.errors import ValidationError
from bastion.exchanges.ccxt import create_client
from bastion.exchanges.credentials import ApiCredentials


def test_simulator_client_points_every_api_url_at_loopback_keeping_paths():
    client = create_client("simulator", url="http://127.0.0.1:9999")
    urls = client.urls["api"]
    assert urls["public"] == "http://127.0.0.1:9999/api/v3"
    assert urls["sapi"] == "http://127.0.0.1:9999/sapi/v1"
    assert all(u.startswith("http://127.0.0.1:9999/") for u in urls.values() if isinstance(u, str))
    assert client.enableRateLimit is False
    assert client.options["fetchMarkets"]["types"] == ["spot"]
    assert client.options["fetchCurrencies"] is False
    assert client.options["fetchMargins"] is False


def test_async_simulator_client_is_async():
    import ccxt.async_support

    client = create_client("simulator", url="http://127.0.0.1:9999", asynchronous=True)
    assert isinstance(client, ccxt.async_support.binance)


def test_simulator_must_be_on_loopback():
    with pytest.raises(ValidationError, match="loopback"):
        create_client("simulator", url="http://10.0.0.5:8080")
    with pytest.raises(ValidationError, match="needs its URL"):
        create_client("simulator")


def test_live_exchange_keeps_its_urls_and_refuses_override():
    client = create_client("kucoin")
    assert "127.0.0.1" not in str(client.urls["api"])
    with pytest.raises(ValidationError, match="only for the simulator"):
        create_client("binance", url="http://127.0.0.1:1")


def test_unknown_exchange_names_what_was_expected():
    with pytest.raises(ValidationError, match=r"unknown exchange id 'binanse'.*ccxt exchange id"):
        create_client("binanse")


def test_credentials_never_show_the_secret():
    creds = ApiCredentials("A" * 60 + "wxyz", "topsecret-value")
    assert repr(creds) == "ApiCredentials(****wxyz)"
    assert "topsecret" not in str(creds)
    assert len(creds.key_fingerprint) == 16
