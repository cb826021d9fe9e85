"""The dependencies other routers use: current_user, require_role, require_csrf, require_fresh_factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from bastion.web.auth.deps import (
    WebUser,
    csrf_token_for,
    current_user,
    require_csrf,
    require_fresh_factor,
    require_role,
)
from support.webapp import WebApp


def _probe_routes(web: WebApp) -> None:
    router = APIRouter(prefix="/probe")

    @router.get("/me")
    def me(user: Annotated[WebUser, Depends(current_user)]) -> dict[str, object]:
        return {"id": user.id, "name": user.name, "role": user.role, "phrase": user.phrase}

    @router.post("/trade", dependencies=[Depends(require_csrf)])
    def trade(user: Annotated[WebUser, Depends(require_role("admin", "trader"))]) -> dict[str, str]:
        return {"by": user.name}

    @router.post("/form", dependencies=[Depends(require_csrf)])
    def form(value: Annotated[str, Form()], user: Annotated[WebUser, Depends(current_user)]) -> dict[str, str]:
        return {"value": value}

    @router.post("/panic", dependencies=[Depends(require_csrf), Depends(require_fresh_factor)])
    def panic() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/token")
    def token(request: Request) -> dict[str, str]:
        return {"csrf": csrf_token_for(request)}

    web.app.include_router(router)


def test_current_user_is_401_without_a_session_and_the_user_with_one(web: WebApp) -> None:
    _probe_routes(web)
    web.user("alice", phrase="wren summit")
    assert web.client().get("/probe/me").status_code == 401
    me = web.login("alice").get("/probe/me").json()
    assert me["name"] == "alice"
    assert me["phrase"] == "wren summit"


def test_require_role_lets_a_trader_through_and_refuses_a_viewer(web: WebApp) -> None:
    _probe_routes(web)
    web.user("tom", role="trader")
    web.user("vera", role="viewer")
    assert web.login("tom").post("/probe/trade").json() == {"by": "tom"}
    refused = web.login("vera").post("/probe/trade")
    assert refused.status_code == 403
    assert "role viewer may not do this" in refused.json()["detail"]


def test_require_csrf_refuses_a_missing_or_wrong_token_and_a_foreign_origin(web: WebApp) -> None:
    _probe_routes(web)
    web.user("tom")
    client = web.login("tom")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/probe/trade").status_code == 403
    assert client.post("/probe/trade", headers={"X-CSRF-Token": "x" + token[1:]}).status_code == 403
    foreign = client.post("/probe/trade", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.post("/probe/trade", headers={"X-CSRF-Token": token, "Origin": "http://localhost:8080"}).json() == {
        "by": "tom"
    }
    assert client.get("/probe/token").json() == {"csrf": token}


def test_the_csrf_token_may_come_as_a_form_field(web: WebApp) -> None:
    _probe_routes(web)
    web.user("tom")
    client = web.login("tom")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/probe/form", data={"value": "1"}).status_code == 403
    assert client.post("/probe/form", data={"value": "1", "csrf_token": token}).json() == {"value": "1"}


def test_without_a_fresh_second_factor_the_answer_says_so(web: WebApp) -> None:
    _probe_routes(web)
    web.user("tom")
    answer = web.login("tom").post("/probe/panic")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "fresh second factor required"}


def test_csrf_token_for_is_empty_without_a_session(web: WebApp) -> None:
    _probe_routes(web)
    assert web.client().get("/probe/token").json() == {"csrf": ""}
