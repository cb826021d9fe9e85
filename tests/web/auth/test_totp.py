"""TOTP as the fallback second factor: enrol, confirm, log in, replayed codes refused, lockout."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient

from support.webapp import PASSWORD, WebApp


def _code(secret: str, web: WebApp) -> str:
    return pyotp.TOTP(secret).at(web.clock.ms // 1000)


def _enrol(web: WebApp, client: TestClient) -> str:
    enrolment = client.post("/api/v1/auth/totp/enrol").json()
    secret = enrolment["secret"]
    assert enrolment["uri"].startswith("otpauth://totp/Bastion:")
    assert client.post("/api/v1/auth/totp/confirm", json={"code": _code(secret, web)}).status_code == 204
    return secret  # type: ignore[no-any-return]


def _password_step(web: WebApp, name: str) -> TestClient:
    client = web.client()
    answer = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD}).json()
    assert answer["stage"] == "second_factor"
    assert answer["factors"] == ["totp"]
    client.headers["X-CSRF-Token"] = answer["csrf_token"]
    return client


def test_enrol_confirm_and_log_in_with_a_totp_code(web: WebApp) -> None:
    web.user("alice")
    secret = _enrol(web, web.login("alice"))
    web.clock.advance(30)
    client = _password_step(web, "alice")
    done = client.post("/api/v1/auth/totp/verify", json={"code": _code(secret, web)})
    assert done.status_code == 200, done.text
    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    me = client.get("/api/v1/auth/whoami").json()
    assert me["stage"] == "full"
    assert me["fresh_factor"] is True


def test_a_used_code_is_refused_even_within_its_time_step(web: WebApp) -> None:
    web.user("alice")
    secret = _enrol(web, web.login("alice"))
    web.clock.advance(30)
    client = _password_step(web, "alice")
    code = _code(secret, web)
    done = client.post("/api/v1/auth/totp/verify", json={"code": code})
    client.headers["X-CSRF-Token"] = done.json()["csrf_token"]
    replay = client.post("/api/v1/auth/totp/verify", json={"code": code})  # a step-up with the same code
    assert replay.status_code == 401
    assert replay.json()["detail"] == "this TOTP code was already used; wait for the next code"
    other = _password_step(web, "alice")  # and on another login
    assert other.post("/api/v1/auth/totp/verify", json={"code": code}).status_code == 401
    web.clock.advance(30)
    assert other.post("/api/v1/auth/totp/verify", json={"code": _code(secret, web)}).status_code == 200


def test_an_earlier_code_than_the_last_accepted_is_refused(web: WebApp) -> None:
    web.user("alice")
    secret = _enrol(web, web.login("alice"))
    web.clock.advance(60)
    earlier = pyotp.TOTP(secret).at(web.clock.ms // 1000 - 30)  # still inside the drift window
    client = _password_step(web, "alice")
    assert client.post("/api/v1/auth/totp/verify", json={"code": _code(secret, web)}).status_code == 200
    other = _password_step(web, "alice")
    assert other.post("/api/v1/auth/totp/verify", json={"code": earlier}).status_code == 401


def test_wrong_codes_lock_the_user_out_even_with_the_password_known(web: WebApp) -> None:
    web.user("alice")
    secret = _enrol(web, web.login("alice"))
    web.clock.advance(30)
    client = _password_step(web, "alice")
    statuses = [client.post("/api/v1/auth/totp/verify", json={"code": f"{n:06d}"}).status_code for n in range(4)]
    assert statuses == [401] * 4
    client = _password_step(web, "alice")  # a new password step does not reset the count
    assert client.post("/api/v1/auth/totp/verify", json={"code": "000999"}).status_code == 401
    locked = client.post("/api/v1/auth/totp/verify", json={"code": _code(secret, web)})
    assert locked.status_code == 429
    assert web.client().post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}).status_code == 429


def test_the_totp_secret_is_sealed_in_the_database_and_never_shown_again(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    secret = _enrol(web, client)
    stored = b"".join(p.read_bytes() for p in web.home.glob("bastion.db*"))
    assert secret.encode() not in stored
    assert secret not in client.get("/api/v1/auth/whoami").text
    again = client.post("/api/v1/auth/totp/enrol")  # replacing it needs a fresh factor
    assert again.status_code == 403
    assert again.json() == {"detail": "fresh second factor required"}


def test_a_code_for_an_unconfirmed_secret_does_not_log_in(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    secret = client.post("/api/v1/auth/totp/enrol").json()["secret"]
    answer = web.client().post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}).json()
    assert answer["stage"] == "full"  # no confirmed factor yet
    refused = client.post("/api/v1/auth/totp/verify", json={"code": _code(secret, web)})
    assert refused.status_code == 409
