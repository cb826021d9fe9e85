"""The one browser end-to-end test: Debian's Chromium (Playwright, ``executable_path``) against the
web app over real HTTP, with the real signer, simulator and engine processes.

A user registers a passkey (CDP virtual authenticator), logs out and back in with it, connects
the simulator key through the sealed form (seal.js), tightens the account's policy, then loosens
it (a fresh passkey assertion and the vault passphrase sealed in the page: a wrong one changes
nothing), creates a DCA bot from the form (the order preview shows first), starts it, watches its
deal appear on the overview through server-sent events, opens the deal (candle chart) and closes
it at market. Every page is saved as a
screenshot under the test's tmp dir (``BASTION_ARTIFACTS`` names another directory to keep them).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from support.browser import authenticator, chromium, chromium_missing, serve_web
from support.custody import BastionHome
from support.engine_stack import Stack
from support.simulator import SimulatorProcess, make_key

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

PASSWORD = "a long test password 7"
PHRASE = "otter under the bridge 9"
PAGES = ("/", "/accounts", "/bots", "/deals", "/backtests", "/webhooks", "/audit", "/alerts", "/security", "/panic")


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    where = Path(os.environ.get("BASTION_ARTIFACTS", str(tmp_path / "artifacts")))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    keys = [make_key("alice", {"USDT": "10000", "BTC": "0"})]
    with BastionHome() as home, SimulatorProcess(tmp_path, speed=0, keys=keys) as sim:
        for name, value in home.env.items():
            if name.startswith("BASTION_"):
                monkeypatch.setenv(name, value)  # the web app runs in this process, on this home
        monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
        home.init_vault()
        home.start_signer()
        running = Stack(home, sim)
        try:
            yield running
        finally:
            running.stop_engine()
            running.close_db()


def _shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def _wait(page: Any, selector: str, artifacts: Path, timeout: float = 30_000) -> None:
    """Wait for ``selector``; on a timeout keep a screenshot and the page's messages for the report."""
    try:
        page.wait_for_selector(selector, timeout=timeout)
    except Exception:
        _shot(page, artifacts, "failure")
        shown = [e.inner_text() for e in page.query_selector_all(".error, .notice")]
        raise AssertionError(f"{selector} did not appear on {page.url}; the page says {shown}") from None


def _login(page: Any, url: str) -> None:
    page.goto(url + "/login")
    page.fill("#login-name", "olga")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")


def test_passkey_login_bot_from_the_form_live_deal_and_close_at_market(stack: Stack, artifacts: Path) -> None:
    from bastion.services.users import PasswordParams, add_user

    home, sim = stack.home, stack.sim
    with serve_web(home.home / "bastion.db") as web, chromium() as browser:
        add_user(web.sessions, "olga", role="admin", password=PASSWORD, phrase=PHRASE,
                 params=PasswordParams(memory_kib=1024, time_cost=1, parallelism=1))  # fmt: skip
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        authenticator(page)
        errors: list[str] = []
        steps: list[tuple[str, float]] = []
        engine = threading.Thread(target=stack.start_engine)  # it starts while the browser logs in
        engine.start()
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)

        steps.append(("login+passkey", time.monotonic()))
        # Password first (no second factor yet), then register a passkey, log out, log in with it.
        _login(page, web.url)
        page.wait_for_url(web.url + "/")
        assert PHRASE in page.inner_text("#anti-phishing")
        page.goto(web.url + "/security")
        page.click("#passkey-register")
        page.wait_for_selector("#passkey-status[data-done='1']")
        page.click("text=Log out")
        page.wait_for_url("**/login")
        _shot(page, artifacts, "login")
        assert not page.is_visible("#second-factor")  # shown only once the password step asks for it
        _login(page, web.url)  # the password step, then the passkey (the virtual authenticator answers)
        page.wait_for_url(web.url + "/")
        assert PHRASE in page.inner_text("#anti-phishing")

        steps.append(("sealed key", time.monotonic()))
        # The simulator key through the sealed form (a fresh passkey assertion first); the operator
        # then allows the pair (loosening the policy needs the vault passphrase, never the web's).
        entry = sim.key("alice")
        page.goto(web.url + "/accounts")
        page.fill("#key-account", "alice")
        page.fill("#key-url", sim.url)
        page.fill("#key-api-key", entry["api_key"])
        page.fill("#key-secret", entry["secret"])
        page.click("#key-submit")
        page.wait_for_selector("#connect-status[data-done='1']", timeout=30_000)
        assert entry["secret"] not in page.content()
        assert page.input_value("#key-secret") == ""
        with home.client() as operator:  # what `bastion policy set --pairs` sends, without a process
            operator.call("policy_set", account="alice", changes={"pairs": ["BTC/USDT"]}, passphrase=home.passphrase)
        engine.join()
        page.goto(web.url + "/accounts")
        page.select_option("#policy-field", "max_order_notional")  # tightening needs no second factor
        page.fill("#policy-value", "900")
        page.click("#policy-tighten")
        _wait(page, "#policy-status.notice", artifacts)
        page.goto(web.url + "/accounts")
        assert "max_order_notional = 900" in page.inner_text("table.accounts")

        steps.append(("loosen", time.monotonic()))
        # Loosening from the page: a fresh passkey assertion, then the vault passphrase sealed in the
        # page to the signer's key for this one change. A wrong passphrase changes nothing.
        for phrase, done in (("not the vault passphrase", False), (home.passphrase, True)):
            page.select_option("#policy-field", "max_order_notional")
            page.fill("#policy-value", "2000")
            page.fill("#policy-passphrase", phrase)
            page.click("#policy-loosen")
            _wait(page, "#policy-status.notice" if done else "#policy-status.error", artifacts)
            said = page.inner_text("#policy-status")
            assert ("Policy changed (loosen)" if done else "the sealed vault passphrase is wrong") in said, said
            assert page.input_value("#policy-passphrase") == ""  # never left in the page
            assert phrase not in page.content()
            page.goto(web.url + "/accounts")
            shown = page.inner_text("table.accounts")
            assert ("max_order_notional = 2000" if done else "max_order_notional = 900") in shown, shown
        with home.client() as operator:  # the signer itself holds the loosened limit
            policy = operator.call("policy_show", account="alice")
        assert Decimal(str(policy["policy"]["max_order_notional"])) == 2000, policy
        _shot(page, artifacts, "accounts")

        steps.append(("bot form", time.monotonic()))
        # A DCA bot from the form: the preview lists the base and safety orders with their money.
        page.goto(web.url + "/bots/new?type=dca")
        page.fill("#f-name", "web-dca")
        page.fill("#f-pairs", "BTC/USDT")
        page.fill("#f-base_order_size", "20")
        page.fill("#f-safety_order_size", "20")
        page.fill("#f-max_safety_orders", "2")
        page.fill("#f-price_deviation_pct", "1")
        page.fill("#f-take_profit_pct", "5")
        page.dispatch_event("#f-take_profit_pct", "change")
        page.wait_for_selector("#preview table.preview")
        preview = page.inner_text("#preview")
        assert "base order" in preview
        assert "safety order 2" in preview
        _shot(page, artifacts, "bot-form")
        page.click("#bot-save")
        _wait(page, "#bot-state", artifacts, timeout=60_000)

        steps.append(("bot start+live deal", time.monotonic()))
        # The overview is open in another tab before the bot starts: its deal arrives there by SSE.
        overview = context.new_page()
        overview.goto(web.url + "/")
        assert overview.query_selector("#live-deals tr[data-deal]") is None
        started = time.monotonic()
        page.click("#bot-start")
        _wait(page, "#bot-state.running", artifacts, timeout=60_000)  # pre-flight asks the exchange and signer
        _shot(page, artifacts, "bot")
        overview.wait_for_selector("#live-deals tr[data-deal]", timeout=30_000)
        seen_after_s = time.monotonic() - started
        assert overview.get_attribute("#live-deals", "data-updated") is not None  # swapped in by the stream
        overview.on("console", lambda m: errors.append(f"{overview.url}: {m.text}") if m.type == "error" else None)
        _shot(overview, artifacts, "overview")
        page = overview
        page.click("#live-deals tr[data-deal] a")
        page.wait_for_selector("#chart[data-drawn]")
        assert int(page.get_attribute("#chart", "data-drawn") or 0) > 0
        _shot(page, artifacts, "deal")
        page.click("#close-market")
        page.wait_for_selector("#deal-status.closed", timeout=30_000)
        _shot(page, artifacts, "deal-closed")

        steps.append(("page screenshots", time.monotonic()))
        for path in PAGES:
            page.goto(web.url + path)
            assert PHRASE in page.inner_text("#anti-phishing"), path
            page.screenshot(path=str(artifacts / f"page{path.replace('/', '-').rstrip('-')}.png"))
        assert not [e for e in errors if "Content Security Policy" in e or "MIME type" in e], errors
        steps.append(("end", time.monotonic()))
    took = ", ".join(f"{a} {b_t - a_t:.1f} s" for (a, a_t), (_b, b_t) in itertools.pairwise(steps))
    print(f"steps: {took}")
    deal = next(d for d in stack.deals() if d["bot"] == "web-dca")
    assert deal["status"] == "closed"
    assert deal["close_price"] is not None
    print(f"deal seen live {seen_after_s:.1f} s after the bot started; screenshots in {artifacts}")
