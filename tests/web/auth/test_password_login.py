"""The password step: cookie attributes, session lifetimes, logout, lockout and throttling."""

from __future__ import annotations

from argon2 import PasswordHasher

from bastion.services.users import PasswordParams, hash_password, verify_password
from bastion.storage.repositories.users import WebSessionRepository
from bastion.web.auth.context import token_digest
from support.webapp import PASSWORD, WebApp


def test_the_default_password_hash_is_argon2id_at_64_mib_three_passes() -> None:
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(hashed, "a long enough password") == (True, None)
    assert verify_password(hashed, "another password!!")[0] is False


def test_a_hash_with_older_parameters_still_verifies_and_is_rehashed() -> None:
    cheap = PasswordParams(memory_kib=1024, time_cost=1, parallelism=1)
    old = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("a long enough password")
    ok, new = verify_password(old, "a long enough password", cheap)
    assert ok
    assert new is not None
    assert new.startswith("$argon2id$v=19$m=1024,t=1,p=1$")


def test_login_sets_an_httponly_samesite_strict_cookie_and_whoami_answers(web: WebApp) -> None:
    web.user("alice", role="admin", phrase="otter basalt")
    client = web.client()
    answer = client.post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["stage"] == "full"
    assert body["factors"] == []
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("bastion_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # no TLS here
    token = client.cookies["bastion_session"]
    assert len(token) >= 43  # 32 random bytes
    with web.sessions() as s:  # only its digest is stored
        assert WebSessionRepository(s).find(token) is None
        assert WebSessionRepository(s).find(token_digest(token)) is not None
    me = client.get("/api/v1/auth/whoami").json()
    assert me["name"] == "alice"
    assert me["role"] == "admin"
    assert me["phrase"] == "otter basalt"
    assert me["csrf_token"] == body["csrf_token"]
    assert me["fresh_factor"] is False  # a password is not a second factor


def test_under_tls_the_cookie_is_secure_and_host_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from support.webapp import make_webapp

    web = make_webapp(tmp_path, tls=True)
    try:
        web.user("alice")
        answer = web.client().post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD})
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-bastion_session=")
        assert "Secure" in cookie
        assert "strict-transport-security" in answer.headers
    finally:
        web.close()


def test_two_logins_get_different_random_session_ids(web: WebApp) -> None:
    web.user("alice")
    first, second = web.login("alice"), web.login("alice")
    assert first.cookies["bastion_session"] != second.cookies["bastion_session"]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(web: WebApp) -> None:
    web.user("alice")
    client = web.client()
    wrong = client.post("/api/v1/auth/login", json={"name": "alice", "password": "not the password"})
    unknown = client.post("/api/v1/auth/login", json={"name": "mallory", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong user name or password"}
    assert "set-cookie" not in wrong.headers


def test_the_session_ends_after_30_minutes_idle(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    web.clock.advance(29 * 60)
    assert client.get("/api/v1/auth/whoami").status_code == 200
    web.clock.advance(29 * 60)  # active 29 minutes ago: still alive
    assert client.get("/api/v1/auth/whoami").status_code == 200
    web.clock.advance(31 * 60)
    assert client.get("/api/v1/auth/whoami").status_code == 401


def test_the_session_ends_12_hours_after_login_even_when_active(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    for _ in range(60):  # every 15 minutes
        web.clock.advance(15 * 60)
        if client.get("/api/v1/auth/whoami").status_code != 200:
            break
    assert (web.clock.ms - 1_800_000_000_000) // 60_000 == 12 * 60 + 15
    assert client.get("/api/v1/auth/whoami").status_code == 401


def test_logout_ends_the_session_and_needs_the_csrf_token(web: WebApp) -> None:
    web.user("alice")
    client = web.login("alice")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert client.get("/api/v1/auth/whoami").status_code == 401


def test_five_wrong_passwords_lock_the_name_for_15_minutes(web: WebApp) -> None:
    web.user("alice")
    client = web.client()
    answers = [
        client.post("/api/v1/auth/login", json={"name": "alice", "password": f"guess number {i}"}).status_code
        for i in range(5)
    ]
    assert answers == [401, 401, 401, 401, 429]
    locked = client.post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password
    assert "too many failed logins" in locked.json()["detail"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    web.clock.advance(15 * 60 + 1)
    assert client.post("/api/v1/auth/login", json={"name": "alice", "password": PASSWORD}).status_code == 200


def test_an_unknown_name_is_locked_out_like_a_known_one(web: WebApp) -> None:
    client = web.client()
    answers = [
        client.post("/api/v1/auth/login", json={"name": "nobody", "password": f"guess number {i}"}).status_code
        for i in range(6)
    ]
    assert answers == [401, 401, 401, 401, 401, 429]


def test_one_address_may_try_ten_logins_a_minute(web: WebApp) -> None:
    client = web.client()
    names = [f"user{i}" for i in range(11)]
    answers = [client.post("/api/v1/auth/login", json={"name": n, "password": "x" * 12}).status_code for n in names]
    assert answers == [401] * 10 + [429]
    web.clock.advance(61)
    assert client.post("/api/v1/auth/login", json={"name": "user0", "password": "x" * 12}).status_code == 401


def test_a_login_from_another_origin_is_refused(web: WebApp) -> None:
    web.user("alice")
    answer = web.client().post(
        "/api/v1/auth/login",
        json={"name": "alice", "password": PASSWORD},
        headers={"Origin": "https://bastion-login.example"},
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


def test_expired_sessions_are_deleted_at_the_next_login(web: WebApp) -> None:
    from sqlalchemy import func, select

    from bastion.storage.models import WebSessionRow

    web.user("alice")
    web.login("alice")
    web.login("alice")
    web.clock.advance(31 * 60)
    web.login("alice")
    with web.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebSessionRow)) == 1


def test_a_malformed_login_body_is_described_without_its_values(web: WebApp) -> None:
    client = web.client()
    extra = client.post("/api/v1/auth/login", json={"name": "a", "password": "hunter2-hunter2", "x": "hunter3"})
    assert extra.status_code == 422
    assert extra.json() == {"detail": "invalid request: unknown field 'x'; expected only the documented fields"}
    missing = client.post("/api/v1/auth/login", json={"name": "a"})
    assert missing.json() == {"detail": "invalid request: field 'password' is required"}
