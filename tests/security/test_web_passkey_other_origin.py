"""A page on another origin (a phishing clone of the dashboard) cannot use the user's passkey.

The phisher relays the password step; the victim's browser then signs for the origin it is on,
with that origin's relying party id. The server checks both (``webauthn``) and refuses; the
half-done login stays half done. A registration made on another origin is refused too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.authenticator import SoftAuthenticator
from support.webapp import PASSWORD, WebApp, make_webapp


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebApp]:
    webapp = make_webapp(tmp_path)
    try:
        yield webapp
    finally:
        webapp.close()


def _register(client: TestClient, device: SoftAuthenticator, *, origin: str | None = None) -> int:
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    answer = client.post(
        "/api/v1/auth/passkeys/register/verify", json={"credential": device.create(options, origin=origin)}
    )
    return answer.status_code


def _password_step(web: WebApp, name: str) -> TestClient:
    client = web.client()
    answer = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD}).json()
    assert answer["stage"] == "second_factor"
    client.headers["X-CSRF-Token"] = answer["csrf_token"]
    return client


def _assert(client: TestClient, device: SoftAuthenticator, **kwargs: object) -> object:
    options = client.post("/api/v1/auth/passkeys/authenticate/options").json()
    return client.post("/api/v1/auth/passkeys/authenticate/verify", json={"credential": device.get(options, **kwargs)})


def test_a_phishing_page_on_another_origin_gets_nothing_it_can_use(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    assert _register(web.login("alice"), device) == 200
    client = _password_step(web, "alice")  # the phisher relayed the password
    # The victim's browser signs for the page it is on: another origin, and another RP id.
    other_origin = _assert(client, device, origin="https://bastion-login.example")
    assert other_origin.status_code == 401  # type: ignore[attr-defined]
    assert "Unexpected client data origin" in other_origin.json()["detail"]  # type: ignore[attr-defined]
    other_rp = _assert(client, device, rp_id="bastion-login.example")
    assert other_rp.status_code == 401  # type: ignore[attr-defined]
    assert "Unexpected RP ID hash" in other_rp.json()["detail"]  # type: ignore[attr-defined]
    assert client.get("/api/v1/auth/whoami").json()["stage"] == "second_factor"


def test_a_passkey_registered_on_another_origin_is_refused(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    assert _register(client, SoftAuthenticator(), origin="https://bastion-login.example") == 400
    assert client.get("/api/v1/auth/passkeys").json() == []
