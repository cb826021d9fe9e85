"""A plain HTML form post works without JavaScript, and that opens no CSRF hole.

The pages send ``Referrer-Policy: no-referrer``, so a browser posts a same-origin form with
``Origin: null``. Such a post (or one without ``Origin``) is let through only when the form's
``csrf_token`` is the session's (the session cookie is ``SameSite=Strict``); a post from another
origin, a cross-site one, or one with a missing or wrong token is refused (403) and changes nothing.
The form used is the page's log-out form (``POST /logout``), which ends the session when accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.webapp import WebApp, make_webapp

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebApp]:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    webapp = make_webapp(tmp_path)
    try:
        yield webapp
    finally:
        webapp.close()


def _form_user(web: WebApp, name: str) -> tuple[TestClient, str]:
    """A logged-in browser that posts forms: the token goes in the form body, never in a header."""
    web.user(name)
    client = web.login(name)
    token = client.headers.pop("X-CSRF-Token")
    return client, token


def _logged_in(client: TestClient) -> bool:
    return client.get("/api/v1/auth/whoami").status_code == 200


def test_a_same_origin_form_post_with_origin_null_and_the_sessions_token_works(web: WebApp) -> None:
    client, token = _form_user(web, "ann")
    answer = client.post(
        "/logout",
        content=f"csrf_token={token}",
        headers={**FORM, "Origin": "null", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/login"
    assert not _logged_in(client)


def test_a_form_post_without_origin_and_the_sessions_token_works(web: WebApp) -> None:
    client, token = _form_user(web, "abe")
    answer = client.post("/logout", content=f"csrf_token={token}", headers=FORM, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert not _logged_in(client)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Origin": "null"}, "csrf_token=wrong-token"),
        ({"Origin": "null"}, ""),
        ({"Origin": "null"}, "other=1"),
        ({}, "csrf_token=wrong-token"),
        ({"Origin": "https://evil.example"}, "{token}"),
        ({"Origin": "http://localhost:8081"}, "{token}"),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, "{token}"),
    ],
    ids=["null-wrong", "null-empty", "null-missing", "absent-wrong", "foreign", "other-port", "null-cross-site"],
)
def test_a_form_post_with_a_foreign_origin_or_without_the_sessions_token_is_refused(
    web: WebApp, headers: dict[str, str], body: str
) -> None:
    client, token = _form_user(web, "amy")
    answer = client.post(
        "/logout",
        content=body.replace("{token}", f"csrf_token={token}"),
        headers={**FORM, **headers},
        follow_redirects=False,
    )
    assert answer.status_code == 403, answer.text
    assert _logged_in(client)  # nothing changed: the session still works


def test_a_json_api_post_with_origin_null_needs_the_token_header_too(web: WebApp) -> None:
    client, token = _form_user(web, "ava")
    refused = client.post("/api/v1/auth/logout", headers={"Origin": "null"})
    assert refused.status_code == 403
    assert _logged_in(client)
    accepted = client.post("/api/v1/auth/logout", headers={"Origin": "null", "X-CSRF-Token": token})
    assert accepted.status_code == 204, accepted.text
    assert not _logged_in(client)
