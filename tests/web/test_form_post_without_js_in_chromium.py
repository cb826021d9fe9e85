"""A page's plain HTML form works in Debian's Chromium with JavaScript off.

The pages send ``Referrer-Policy: no-referrer``, so Chromium posts a same-origin form with
``Origin: null``; the server accepts it because the form carries the session's CSRF token. The
form is the log-out button every page has (``POST /logout``): once accepted, the session is gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.browser import FAST_COST, chromium, chromium_missing, serve_web

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))

PASSWORD = "correct horse battery staple"


def test_the_logout_form_posts_with_origin_null_and_works_without_javascript(tmp_path: Path) -> None:
    from bastion.services.users import PasswordParams, add_user

    with serve_web(tmp_path / "bastion.db") as web, chromium() as browser:
        add_user(web.sessions, "ann", role="trader", password=PASSWORD, params=PasswordParams(**FAST_COST))
        context = browser.new_context(base_url=web.url, java_script_enabled=False)
        try:
            logged_in = context.request.post("/api/v1/auth/login", data={"name": "ann", "password": PASSWORD})
            assert logged_in.status == 200, logged_in.text()
            page = context.new_page()
            posted: list[dict[str, Any]] = []
            page.on("request", lambda r: posted.append(r.all_headers()) if r.method == "POST" else None)
            page.goto("/")
            assert page.locator("form[action='/logout'] button").count() == 1
            page.locator("form[action='/logout'] button").click()
            page.wait_for_url("**/login**", timeout=10_000)
            assert [h.get("origin") for h in posted] == ["null"]  # what no-referrer makes Chromium send
            assert context.request.get("/api/v1/auth/whoami").status == 401  # the post was accepted: logged out
        finally:
            context.close()
