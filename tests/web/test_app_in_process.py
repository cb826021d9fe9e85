"""The application object itself (no server): its OpenAPI description and a database that is down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from bastion.storage import create_engine_for, session_factory, upgrade
from bastion.web import create_app

UUID = "b79ed36c-605e-474f-9243-9d5829b74030"


def _requests(app: FastAPI, *calls: tuple[str, str, object]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [await client.request(method, path, json=body) for method, path, body in calls]

    return asyncio.run(run())


def test_openapi_describes_the_webhook_and_its_refusals(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bastion.db'}")
    upgrade(engine)
    [response] = _requests(
        create_app(sessions=session_factory(engine), clock_ms=lambda: 0), ("GET", "/openapi.json", None)
    )
    spec = response.json()
    operation = spec["paths"]["/api/v1/signals/{bot_uuid}"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "401", "404", "409", "413", "422", "503"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"secret", "bot_uuid", "action", "timestamp", "order"} <= set(body["properties"])
    assert "/api/v1/health" in spec["paths"]
    engine.dispose()


def test_a_database_that_does_not_answer_is_a_503(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    engine = create_engine_for(f"sqlite:///{folder / 'bastion.db'}", check=False)
    folder.rmdir()
    signal = {"secret": "x", "bot_uuid": UUID, "action": "enter_long", "timestamp": 1_714_564_800}
    health, posted = _requests(
        create_app(sessions=session_factory(engine), clock_ms=lambda: 1_714_564_800_000),
        ("GET", "/api/v1/health", None),
        ("POST", f"/api/v1/signals/{UUID}", signal),
    )
    assert health.status_code == 503
    assert health.json() == {"detail": "the database is unavailable or busy; retry later"}
    assert posted.status_code == 503
    assert posted.json() == {"detail": "the database is unavailable or busy; retry later"}
    engine.dispose()


def test_the_public_api_is_pinned() -> None:
    import bastion.web as web

    assert sorted(web.__all__) == [
        "AcceptedSignal",
        "Health",
        "IntakeResult",
        "MAX_BODY_BYTES",
        "MAX_CLOCK_SKEW_MS",
        "Problem",
        "SignalOrder",
        "SignalPayload",
        "bind",
        "create_app",
        "is_loopback_host",
        "payload_digest",
        "receive_signal",
        "serve",
    ]
    for name in web.__all__:
        assert getattr(web, name) is not None
