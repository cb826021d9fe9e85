"""Passkeys: registration and login with a software authenticator (real ES256 signatures, webauthn checks)."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from support.authenticator import SoftAuthenticator
from support.webapp import PASSWORD, WebApp


def _register(client: TestClient, device: SoftAuthenticator, label: str = "laptop") -> dict[str, object]:
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    answer = client.post("/api/v1/auth/passkeys/register/verify", json={"credential": device.create(options),
                                                                           "label": label})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _password_step(web: WebApp, name: str) -> TestClient:
    client = web.client()
    answer = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stage"] == "second_factor"
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def _assert(client: TestClient, device: SoftAuthenticator, **kwargs: object) -> object:
    options = client.post("/api/v1/auth/passkeys/authenticate/options").json()
    return client.post("/api/v1/auth/passkeys/authenticate/verify", json={"credential": device.get(options, **kwargs)})


def test_register_a_passkey_then_log_in_with_password_and_passkey(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    registered = _register(web.login("alice"), device)
    assert registered["label"] == "laptop"
    client = _password_step(web, "alice")
    assert client.get("/api/v1/auth/whoami").json()["stage"] == "second_factor"
    assert client.get("/api/v1/auth/passkeys").status_code == 401  # nothing else until the second factor
    half_done = client.cookies["bastion_session"]
    done = _assert(client, device)
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    new_csrf = done.json()["csrf_token"]  # type: ignore[attr-defined]
    assert client.cookies["bastion_session"] != half_done  # a new session id once the login is complete
    client.headers["X-CSRF-Token"] = new_csrf
    me = client.get("/api/v1/auth/whoami").json()
    assert me["stage"] == "full"
    assert me["fresh_factor"] is True
    assert me["factors"] == ["passkey"]
    stale = web.client()
    stale.cookies["bastion_session"] = half_done
    assert stale.get("/api/v1/auth/whoami").status_code == 401


def test_the_factor_is_fresh_for_five_minutes_and_a_passkey_step_up_renews_it(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    _register(web.login("alice"), device)
    client = _password_step(web, "alice")
    client.headers["X-CSRF-Token"] = _assert(client, device).json()["csrf_token"]  # type: ignore[attr-defined]
    web.clock.advance(5 * 60 + 1)
    me = client.get("/api/v1/auth/whoami").json()
    assert me["fresh_factor"] is False
    assert _assert(client, device).status_code == 200  # type: ignore[attr-defined]
    again = client.get("/api/v1/auth/whoami").json()
    assert again["fresh_factor"] is True
    assert again["csrf_token"] == me["csrf_token"]  # a step-up keeps the session's token


def test_a_replayed_or_tampered_assertion_is_refused(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    _register(web.login("alice"), device)
    client = _password_step(web, "alice")
    options = client.post("/api/v1/auth/passkeys/authenticate/options").json()
    answer = device.get(options)
    signature = bytearray(base64.urlsafe_b64decode(answer["response"]["signature"] + "=="))
    signature[-1] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    tampered = {**answer, "response": {**answer["response"], "signature": flipped}}
    refused = client.post("/api/v1/auth/passkeys/authenticate/verify", json={"credential": tampered})
    assert refused.status_code == 401
    assert "signature" in refused.json()["detail"]
    replay = client.post("/api/v1/auth/passkeys/authenticate/verify", json={"credential": answer})
    assert replay.status_code == 400  # the challenge was used up by the first answer
    assert "no passkey authenticate challenge is pending" in replay.json()["detail"]


def test_a_cloned_authenticator_whose_counter_goes_back_is_refused(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    _register(web.login("alice"), device)
    client = _password_step(web, "alice")
    client.headers["X-CSRF-Token"] = _assert(client, device).json()["csrf_token"]  # type: ignore[attr-defined]
    refused = _assert(client, device, count=False)  # the same counter again
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert "sign count" in refused.json()["detail"]  # type: ignore[attr-defined]


def test_another_users_passkey_does_not_log_in(web: WebApp) -> None:
    web.user("alice")
    web.user("bob")
    alice_device, bob_device = SoftAuthenticator(), SoftAuthenticator()
    _register(web.login("alice"), alice_device)
    _register(web.login("bob"), bob_device)
    client = _password_step(web, "alice")
    refused = _assert(client, bob_device)
    assert refused.status_code == 401  # type: ignore[attr-defined]
    assert refused.json()["detail"] == "this passkey is not registered for this user"  # type: ignore[attr-defined]


def test_a_second_passkey_needs_a_fresh_factor_and_registration_checks_the_origin(web: WebApp) -> None:
    web.user("alice")
    first = SoftAuthenticator()
    client = web.login("alice")
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    foreign = client.post("/api/v1/auth/passkeys/register/verify",
                          json={"credential": first.create(options, origin="https://evil.example")})  # fmt: skip
    assert foreign.status_code == 400
    _register(client, first)
    assert client.post("/api/v1/auth/passkeys/register/options").json() == {"detail": "fresh second factor required"}
    assert _assert(client, first).status_code == 200  # type: ignore[attr-defined]
    _register(client, SoftAuthenticator(), label="phone")
    assert [k["label"] for k in client.get("/api/v1/auth/passkeys").json()] == ["laptop", "phone"]


def test_malformed_browser_answers_are_refused_not_a_server_error(web: WebApp) -> None:
    web.user("alice")
    device = SoftAuthenticator()
    client = web.login("alice")
    good = device.create(client.post("/api/v1/auth/passkeys/register/options").json())
    broken = [
        {},
        {"response": []},
        {**good, "response": "x"},
        {**good, "rawId": 5},
        {**good, "response": {**good["response"], "attestationObject": "!!!"}},
        {**good, "response": {**good["response"], "clientDataJSON": "e30"}},
    ]
    for credential in broken:
        client.post("/api/v1/auth/passkeys/register/options")
        answer = client.post("/api/v1/auth/passkeys/register/verify", json={"credential": credential})
        assert answer.status_code == 400, (credential, answer.text)
    _register(client, device)
    login = _password_step(web, "alice")
    for credential in broken:
        login.post("/api/v1/auth/passkeys/authenticate/options")
        answer = login.post("/api/v1/auth/passkeys/authenticate/verify", json={"credential": credential})
        assert answer.status_code == 401, (credential, answer.text)
