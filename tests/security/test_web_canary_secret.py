"""A canary password, TOTP secret and session id never appear in any answer, log or database file.

The real ``bastion web`` process (its stderr is the log), a user whose password is a canary: wrong
logins, an unknown name, a malformed body carrying the canary, the right login, a TOTP enrolment,
then every route of the app is called. The TOTP secret may appear in the enrolment answer only
(it is shown once); the session id only in ``Set-Cookie``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from bastion.services.users import add_user
from bastion.storage import create_engine_for, session_factory, upgrade
from support.webapp import FAST, fill
from web.harness import start


def test_a_canary_never_leaks_into_answers_logs_or_the_database(tmp_path: Path) -> None:
    canary = "CANARY-" + secrets.token_hex(16)
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bastion.db'}")
    upgrade(engine)
    add_user(session_factory(engine), "alice", role="admin", password=canary, params=FAST)
    engine.dispose()
    log = tmp_path / "web.log"
    process, url = start(tmp_path, log)
    seen: list[str] = []

    def record(answer: httpx.Response, *, cookie_ok: bool = False) -> httpx.Response:
        headers = {k: v for k, v in answer.headers.items() if not (cookie_ok and k == "set-cookie")}
        seen.append(f"{answer.status_code} {headers} {answer.text}")
        return answer

    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            record(client.post("/api/v1/auth/login", json={"name": "alice", "password": canary[::-1]}))
            record(client.post("/api/v1/auth/login", json={"name": "bob", "password": canary}))
            record(client.post("/api/v1/auth/login", json={"name": "alice", "password": canary, "extra": canary}))
            record(client.post("/api/v1/auth/login", json={"name": canary * 3, "password": canary}))
            record(client.post("/api/v1/auth/login", content=f'{{"name": "alice", "password": "{canary}"'))
            login = record(client.post("/api/v1/auth/login", json={"name": "alice", "password": canary}),
                           cookie_ok=True)  # fmt: skip
            assert login.status_code == 200, login.text
            token = client.cookies["bastion_session"]
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            enrolment = client.post("/api/v1/auth/totp/enrol")
            totp_secret = enrolment.json()["secret"]
            record(client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}))
            record(client.post("/api/v1/auth/totp/verify", json={"code": "000000"}))
            spec = client.get("/openapi.json").json()
            for path, operations in spec["paths"].items():
                for method in operations:
                    if path == "/api/v1/auth/logout":
                        continue
                    target = fill(path, {"name": "x", "bot_uuid": "x"})
                    record(client.request(method.upper(), target, json={"password": canary, "secret": canary}))
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    answers = "\n".join(seen)
    logged = log.read_text(errors="replace")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("bastion.db*"))
    assert len(seen) > 30
    for secret in (canary, totp_secret, token):
        assert secret not in answers
        assert secret not in logged
        assert secret.encode() not in stored
    assert "POST /api/v1/auth/login" in logged  # the log is there, and has the requests
