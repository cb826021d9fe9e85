"""Finding 5: one anonymous webhook request with a huge number must not freeze ``bastion web``.

A timestamp like ``1e1500000`` used to be turned into an integer before its range check and
before the bot and the secret were checked (42 s of CPU per request). Every number's digits
and exponent are now bounded before it is converted, and the bot and secret are checked
before the payload is parsed further: each request below is refused in under 50 ms.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bastion.storage import AccountRepository, BotRepository, SignalRepository, create_engine_for, session_factory
from bastion.storage import upgrade as migrate
from bastion.web import create_app

NOW_MS = 1_714_564_800_000
LIMIT_S = 0.050
CONFIG = """\
name = "tv"
type = "signal"
account = "main"
pairs = ["BTC/USDT"]
directions = ["long"]
order_size = "25"
max_lag_s = 60
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str, str]:
    path: Path = tmp_path_factory.mktemp("f5") / "bastion.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        account = AccountRepository(session).create("main", "binance")
        bot = BotRepository(session).create(
            "tv", type="signal", account_id=account.id, config_toml=CONFIG, enabled=True
        )
        uuid, secret = SignalRepository(session).create_secret(bot.id)
    return create_app(sessions=sessions, clock_ms=lambda: NOW_MS), uuid, secret


def _timed_post(app: object, path: str, body: bytes) -> tuple[httpx.Response, float]:
    async def run() -> tuple[httpx.Response, float]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await client.get("/api/v1/health")  # warm up: the first request imports and connects
            started = time.perf_counter()
            response = await client.post(path, content=body, headers={"content-type": "application/json"})
            return response, time.perf_counter() - started

    return asyncio.run(run())


def _body(uuid: str, secret: str, field: str, raw: str) -> bytes:
    values = {
        "secret": f'"{secret}"',
        "bot_uuid": f'"{uuid}"',
        "action": '"enter_long"',
        "timestamp": str(NOW_MS // 1000),
        "pair": '"BTC/USDT"',
    }
    if field == "order.amount":
        values["order"] = '{"amount": ' + raw + ', "currency_type": "quote"}'
    else:
        values[field] = raw
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}").encode()


HUGE = [
    ("timestamp", "1e1500000"),
    ("timestamp", "1e150000"),
    ("timestamp", '"1e1500000"'),
    ("timestamp", "1" + "0" * 4000),
    ("timestamp", "1.5e-1500000"),
    ("trigger_price", "1e1500000"),
    ("trigger_price", '"9e999999"'),
    ("order.amount", "1E+999999"),
]


@pytest.mark.parametrize(("field", "raw"), HUGE)
@pytest.mark.parametrize("who", ["unknown bot", "wrong secret", "right secret"])
def test_a_huge_number_is_refused_in_under_50_ms(setup: tuple[object, str, str], who: str, field: str, raw: str):
    app, uuid, secret = setup
    path_uuid = "00000000-0000-0000-0000-000000000000" if who == "unknown bot" else uuid
    given = "not-the-secret" if who == "wrong secret" else secret
    response, elapsed = _timed_post(app, f"/api/v1/signals/{path_uuid}", _body(path_uuid, given, field, raw))
    assert 400 <= response.status_code < 500, response.text
    assert elapsed < LIMIT_S, f"{who}, {field}={raw[:20]}: refused in {elapsed * 1000:.1f} ms"
    if who == "unknown bot":
        assert response.status_code == 404, response.text
    elif who == "wrong secret":
        assert response.status_code == 401, response.text
    else:
        assert response.status_code == 422, response.text
        assert field.split(".")[-1] in response.json()["detail"]
        detail = response.json()["detail"]
        assert "digits" in detail or "exponent" in detail or "is not epoch seconds" in detail, detail


def test_an_ordinary_signal_is_still_accepted(setup: tuple[object, str, str]):
    app, uuid, secret = setup
    body = _body(uuid, secret, "trigger_price", "64000.5")
    response, _elapsed = _timed_post(app, f"/api/v1/signals/{uuid}", body)
    assert response.status_code == 202, response.text
