"""The web talks to a real signer process that gives this uid the web role only.

Policy read, tighten (the signer applies it), loosen (refused by the signer: the web role may not
send a passphrase), key status and alerts, all through the API; the key's secret never shows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest

from bastion.services.accounts import sync_accounts
from bastion.services.users import set_owner
from bastion.storage import AccountRepository
from support.custody import BastionHome
from support.simulator import SimulatorProcess
from support.webapp import make_webapp


def test_policy_status_and_alerts_through_a_signer_that_gives_the_web_role_only(
    simulator: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BastionHome() as home:
        home.init_vault()
        config = home.home / "signer.toml"  # the production layout: the signer's own custody database
        config.write_text(f'[[clients]]\nuid = {os.getuid()}\nroles = ["operator"]\n')
        home.start_signer("--config", str(config))
        added = home.add_key("alice", simulator)
        assert added.returncode == 0, added.stderr
        home.stop_signer()
        config.write_text(f'[[clients]]\nuid = {os.getuid()}\nroles = ["web"]\n')  # now this uid is the web
        home.start_signer("--config", str(config))
        for name, value in home.env.items():
            if name.startswith("BASTION_") and name != "BASTION_PASSPHRASE":
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("BASTION_PASSPHRASE", raising=False)  # the web process never has it
        web = make_webapp(Path(home.home))
        try:
            with home.client() as signer:  # what the web and engine learn from the signer (not a secret)
                sync_accounts(web.sessions, signer.call("key_status"))
            web.user("alice")
            set_owner(web.sessions, "alice", "alice")
            with web.sessions() as s:
                account = AccountRepository(s).get("alice")
            assert account is not None
            client = web.login("alice")
            shown = client.get(f"/api/v1/accounts/{account.id}/policy")
            assert shown.status_code == 200, shown.text
            assert shown.json()["state"] == "active"
            tightened = client.post(f"/api/v1/accounts/{account.id}/policy/tighten",
                                    json={"changes": {"max_order_notional": "100"}, "reason": "web test"})  # fmt: skip
            assert tightened.status_code == 200, tightened.text
            assert tightened.json()["policy"]["max_order_notional"] == "100"
            loosen = client.post(f"/api/v1/accounts/{account.id}/policy/tighten",
                                 json={"changes": {"max_order_notional": "100000"}})  # fmt: skip
            assert loosen.status_code == 409
            assert "passphrase" in loosen.json()["detail"]
            secret = client.post("/api/v1/auth/totp/enrol").json()["secret"]
            totp = pyotp.TOTP(secret)
            client.post("/api/v1/auth/totp/confirm", json={"code": totp.at(web.clock.ms // 1000)})
            web.clock.advance(30)
            client.post("/api/v1/auth/totp/verify", json={"code": totp.at(web.clock.ms // 1000)})
            refused = client.post(f"/api/v1/accounts/{account.id}/policy/loosen",
                                  json={"changes": {"max_order_notional": "100000"}})  # fmt: skip
            assert refused.status_code == 422  # loosening needs the passphrase sealed in the page
            assert "changes_json" in refused.text
            status = client.get(f"/api/v1/accounts/{account.id}/status")
            assert status.status_code == 200, status.text
            assert status.json()["key_hint"] == simulator.key("alice")["api_key"][-4:]
            assert client.get("/api/v1/alerts").json() == []
            halted = client.post(f"/api/v1/accounts/{account.id}/policy/tighten",
                                 json={"changes": {"state": "halted"}, "reason": "web test"})  # fmt: skip
            assert halted.status_code == 200, halted.text
            alerts = client.get("/api/v1/alerts").json()
            assert [(a["account"], a["kind"], a["severity"]) for a in alerts] == [("alice", "policy", "critical")]
            page = client.get("/api/v1/audit").json()
            kinds = [(e["kind"], e["payload"].get("op")) for e in page["entries"]]
            assert ("request", "keys_add") in kinds
            assert all(e["payload"].get("account") == "alice" for e in page["entries"])
            assert page["head"]["seq"] >= page["entries"][-1]["seq"]
            later = client.get("/api/v1/audit", params={"after_seq": page["entries"][-2]["seq"]}).json()
            assert later["entries"] == page["entries"][-1:]
            verified = client.get("/api/v1/audit/verify").json()
            assert verified["ok"] is True, verified
            assert verified["entries"] > len(page["entries"])  # the whole log, other accounts and lifecycle too
            exported = client.get("/api/v1/audit/export")
            assert exported.headers["content-type"].startswith("application/jsonl")
            lines = exported.text.splitlines()
            assert len(lines) == len(page["entries"]) + 1
            assert '"type":"head"' in lines[-1]
            key = simulator.key("alice")
            for answer in (shown, tightened, loosen, refused, status, halted, exported):
                assert key["secret"] not in answer.text
                assert key["api_key"] not in answer.text
        finally:
            web.close()
