"""seal.js in Debian's Chromium (Playwright, ``executable_path``): what the browser seals, the signer opens.

The page is served from a routed loopback origin (a secure context, as WebCrypto needs) with
the real ``static/js/seal.js``; the signer side is the real :class:`SealingKey`.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bastion.custody.signer.sealing import SealError, SealingKey

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

ORIGIN = "http://127.0.0.1:8765"
PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><script src='/static/js/seal.js'></script></head>"
    "<body>seal</body></html>"
)


def _seal_js() -> str:
    return resources.files("bastion.web").joinpath("static", "js", "seal.js").read_text(encoding="utf-8")


def _browser_seals(
    published: dict[str, Any], cases: list[dict[str, Any]], function: str = "seal"
) -> list[dict[str, Any]]:
    script = _seal_js()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route(f"{ORIGIN}/", lambda route: route.fulfill(status=200, content_type="text/html", body=PAGE))
            page.route(
                f"{ORIGIN}/static/js/seal.js",
                lambda route: route.fulfill(status=200, content_type="text/javascript", body=script),
            )
            page.goto(f"{ORIGIN}/")
            assert page.evaluate("window.isSecureContext") is True
            return page.evaluate(
                "async ([published, cases]) => "
                f"Promise.all(cases.map((c) => window.BastionSeal.{function}(published, c)))",
                [published, cases],
            )
        finally:
            browser.close()


def _open(key: SealingKey, body: dict[str, Any]) -> Any:
    return key.open(
        key_id=body["key_id"],
        enc=body["enc"],
        ciphertext=body["ciphertext"],
        account=body["account"],
        exchange=body["exchange"],
        url=body.get("url"),
        allow_unrestricted_ip=body["allow_unrestricted_ip"],
    )


def test_what_seal_js_seals_in_chromium_the_signer_opens_and_nothing_else_does() -> None:
    key = SealingKey()
    cases: list[dict[str, Any]] = [
        {"account": "main", "exchange": "simulator", "url": "http://127.0.0.1:40123", "apiKey": "k-" + "a" * 62,
         "secret": "s-" + "b" * 62, "passphrase": None},
        {"account": "okx.sub_1", "exchange": "okx", "url": None, "apiKey": "okx-key", "secret": "okx-secret",
         "passphrase": "pässphrase \"quoted\" \\ 🔑", "allowUnrestrictedIp": True},
    ]  # fmt: skip
    sealed = _browser_seals(key.describe(), cases)
    first, second = (_open(key, body) for body in sealed)
    assert (first.api_key, first.secret, first.password) == (cases[0]["apiKey"], cases[0]["secret"], None)
    assert (second.api_key, second.secret, second.password) == ("okx-key", "okx-secret", cases[1]["passphrase"])
    assert sealed[1]["allow_unrestricted_ip"] is True
    assert "url" not in sealed[1]
    for body in sealed:  # the ciphertext holds no credential in clear
        assert "okx-secret" not in str(body)
        assert "b" * 62 not in str(body)
    with pytest.raises(SealError, match="already used once"):
        _open(key, sealed[0])
    with pytest.raises(SealError, match="reload the page"):
        _open(SealingKey(), sealed[1])  # another signer (a restart) cannot open it


def test_a_vault_passphrase_sealed_by_seal_js_opens_only_for_its_change_revision_and_reason() -> None:
    key = SealingKey()
    changes_json = '{"pairs":["BTC/USDT","ÉTH/USDT"],"max_order_notional":"500"}'
    case = {"account": "main", "changesJson": changes_json, "expectedRevision": 7, "reason": "more room \U0001f511",
            "passphrase": "vault \"pass\" \\ 🔑"}  # fmt: skip
    [body] = _browser_seals(key.describe(), [case], "sealPassphrase")
    assert set(body) == {"changes_json", "expected_revision", "key_id", "enc", "ciphertext", "reason"}
    assert "vault" not in str(body)

    def opened(**changed: Any) -> str:
        fields = {"account": "main", "changes_json": changes_json, "expected_revision": 7, "reason": case["reason"]}
        return key.open_passphrase(key_id=body["key_id"], enc=body["enc"], ciphertext=body["ciphertext"],
                                   **{**fields, **changed}).passphrase  # fmt: skip

    for wrong in ({"expected_revision": 8}, {"account": "other"}, {"reason": None},
                  {"changes_json": changes_json.replace("500", "5000")}):  # fmt: skip
        with pytest.raises(SealError, match="does not open"):
            opened(**wrong)
    assert opened() == case["passphrase"]
    with pytest.raises(SealError, match="already used once"):
        opened()
