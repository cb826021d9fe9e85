"""An exchange that does not answer gives "cannot reach <exchange> at <url>", not a bare URL."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bastion.errors import ExchangeUnavailable
from bastion.exchanges.ccxt import AsyncCcxtExchange, CcxtExchange


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("exchange_id", ["simulator", "simulator-kucoin"])
def test_a_closed_loopback_port_is_named_with_the_exchange(exchange_id, closed_port):
    port = CcxtExchange(exchange_id, url=f"http://127.0.0.1:{closed_port}", timeout_ms=3000)
    with pytest.raises(ExchangeUnavailable) as err:
        port.load_markets()
    message = str(err.value)
    assert message.startswith(f"cannot reach {exchange_id} at http://127.0.0.1:{closed_port} (GET /api/")
    assert "the connection failed" in message
    assert "simulator is running" in message


def test_the_async_port_says_the_same_and_never_shows_a_query(closed_port):
    from bastion.exchanges.credentials import ApiCredentials

    async def main() -> str:
        port = AsyncCcxtExchange(
            "simulator", url=f"http://127.0.0.1:{closed_port}", credentials=ApiCredentials("k" * 64, "s" * 64)
        )
        try:
            await port.fetch_balance()
        except ExchangeUnavailable as exc:
            return str(exc)
        finally:
            await port.close()
        raise AssertionError("no error")

    message = asyncio.run(main())
    assert message.startswith(f"cannot reach simulator at http://127.0.0.1:{closed_port} (GET /api/v3/")
    assert "?" not in message


def test_a_signed_request_that_got_no_answer_shows_only_the_origin_and_path():
    import ccxt

    from bastion.exchanges.ccxt.errors import translate

    exc = ccxt.RequestTimeout("binance GET https://api.binance.com/api/v3/account?timestamp=1&signature=deadbeef")
    error = translate(exc, ccxt.binance(), exchange="binance")
    assert str(error).startswith("cannot reach binance at https://api.binance.com (GET /api/v3/account)")
    assert "no answer within the timeout" in str(error)
    assert "deadbeef" not in str(error)
