"""The signer end to end: real simulator, real `bastion` CLI processes, real signer process."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from decimal import Decimal

import pytest

from bastion.custody.signer.protocol import encode
from bastion.errors import SignerRefused, SignerUnavailable
from support.custody import BastionHome
from support.simulator import SimulatorProcess, make_key

PRICE = Decimal("16720.2")  # close of the simulator's current candle (index 200 of the bundled data)


def audit_entries(home: BastionHome) -> list[dict]:
    return [json.loads(line) for line in home.layout.audit_log.read_text().splitlines()]


def open_orders(sim: SimulatorProcess, account: str = "alice") -> list[dict]:
    return [o for o in sim.orders(account) if o["status"] in ("NEW", "PARTIALLY_FILLED")]


def test_a_manual_trade_goes_through_the_signer_and_is_audited_before_and_after(trading):
    home, sim = trading
    result = home.trade("buy", "limit", "0.001", "16500", cid="manual-test-1")
    assert result.returncode == 0, result.stderr
    assert "manual-test-1" in result.stdout
    [order] = open_orders(sim)
    assert order["clientOrderId"] == "manual-test-1"
    assert order["orderId"]
    assert str(order["orderId"]) in result.stdout

    entries = audit_entries(home)
    request = next(e for e in entries if e["kind"] == "request" and e["payload"]["op"] == "place_order")
    outcome = next(e for e in entries if e["kind"] == "outcome" and e["payload"]["op"] == "place_order")
    assert request["seq"] < outcome["seq"]
    assert outcome["payload"]["request_seq"] == request["seq"]
    assert outcome["payload"]["result"]["exchange_order_id"] == str(order["orderId"])
    assert request["payload"]["decision"]["allowed"] is True

    home.stop_signer()
    verified = home.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_every_policy_rule_denies_with_its_name_and_the_values_compared(trading):
    home, _sim = trading
    home.ok(
        "policy",
        "set",
        "--account",
        "alice",
        "--max-orders-per-minute",
        "3",
        "--max-daily-notional",
        "60",
        "--denial-burst",
        "20",
    )
    with home.client() as signer:

        def place(cid: str, **params: str) -> SignerRefused:
            order = {
                "account": "alice",
                "symbol": "BTC/USDT",
                "side": "buy",
                "type": "limit",
                "amount": "0.001",
                "price": "16700",
                "client_order_id": cid,
                **params,
            }
            with pytest.raises(SignerRefused) as refused:
                signer.call("place_order", **order)
            assert refused.value.kind == "denied"
            return refused.value

        denied = place("d1", symbol="DOGE/USDT")
        assert denied.rule == "pair_not_allowed"
        assert "DOGE/USDT" in str(denied)

        denied = place("d2", price="18500")  # +10.6 % over the reference: paying a pumped price
        assert denied.rule == "max_deviation"
        assert denied.compared["reference_price"] == str(PRICE)

        denied = place("d3", amount="0.1")  # 1670 USDT > 1000 per order
        assert denied.rule == "max_order_notional"
        assert "1000" in str(denied)

        # The daily budget: 60 USDT. 0.003 BTC ~ 50 USDT goes through, then the next does not.
        order = signer.call(
            "place_order",
            account="alice",
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount="0.003",
            price="16700",
            client_order_id="ok1",
        )
        assert order["status"] == "accepted"
        denied = place("d4")
        assert denied.rule == "max_daily_notional"

    # A resting buy far *below* the market is what a DCA safety order looks like: not a deviation.
    home.ok("policy", "set", "--account", "alice", "--max-daily-notional", "100000", "--max-orders-per-minute", "3")
    with home.client() as signer:
        signer.call(
            "place_order",
            account="alice",
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount="0.001",
            price="12000",
            client_order_id="ok2",
        )
        signer.call(
            "place_order",
            account="alice",
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount="0.001",
            price="12100",
            client_order_id="ok3",
        )
        with pytest.raises(SignerRefused) as refused:  # 4th order sent within the minute (limit 3)
            signer.call(
                "place_order",
                account="alice",
                symbol="BTC/USDT",
                side="buy",
                type="limit",
                amount="0.001",
                price="12200",
                client_order_id="d5",
            )
        assert refused.value.rule == "max_orders_per_minute"

    home.ok("policy", "set", "--account", "alice", "--min-volume-24h", "1000000000000")
    cli = home.trade("sell", "market", "0.001")
    assert cli.returncode == 1
    assert "min_volume_24h" in cli.stderr

    denials = [e["payload"] for e in audit_entries(home) if e["kind"] == "denial"]
    assert [d["rule"] for d in denials] == [
        "pair_not_allowed",
        "max_deviation",
        "max_order_notional",
        "max_daily_notional",
        "max_orders_per_minute",
        "min_volume_24h",
    ]
    assert all(d["compared"] for d in denials)


def test_a_burst_of_denials_halts_the_account_and_raises_an_alert(trading):
    home, sim = trading
    with home.client() as signer:
        for i in range(5):
            with pytest.raises(SignerRefused) as refused:
                signer.call(
                    "place_order",
                    account="alice",
                    symbol="PUMP/USDT",
                    side="buy",
                    type="market",
                    amount="1000",
                    client_order_id=f"burst-{i}",
                )
            assert refused.value.rule == "pair_not_allowed"
        with pytest.raises(SignerRefused) as refused:  # a perfectly good order, now refused
            signer.call(
                "place_order",
                account="alice",
                symbol="BTC/USDT",
                side="buy",
                type="limit",
                amount="0.001",
                price="16700",
                client_order_id="after-halt",
            )
        assert refused.value.rule == "state_halted"
        assert signer.call("policy_show", account="alice")["state"] == "halted"
    alerts = [e["payload"]["message"] for e in audit_entries(home) if e["kind"] == "alert"]
    assert any("HALTED" in a and "5 orders denied" in a for a in alerts)
    assert open_orders(sim) == []
    assert "halted" in home.ok("keys", "list").stdout

    # Re-opening loosens the policy: without the passphrase it is refused and audited.
    without = home.cli("policy", "set", "--account", "alice", "--state", "active", env={"BASTION_PASSPHRASE": ""})
    assert without.returncode != 0
    home.ok("policy", "set", "--account", "alice", "--state", "active")
    change = [e["payload"] for e in audit_entries(home) if e["kind"] == "policy_change"][-1]
    assert change["user_confirmed"] is True
    assert "state: halted -> active" in change["loosening"]


def test_a_key_with_withdrawals_enabled_is_refused_and_nothing_is_stored(home, tmp_path):
    keys = [make_key("bob", {"USDT": "100"}, {"enableWithdrawals": True, "enableInternalTransfer": True})]
    with SimulatorProcess(tmp_path, speed=0, keys=keys) as sim:
        home.start_signer()
        result = home.add_key("bob", sim)
    assert result.returncode != 0
    assert "Withdrawals" in result.stderr
    assert "Internal Transfer" in result.stderr
    assert "no keys" in home.ok("keys", "list").stdout


def test_a_key_that_gains_withdrawal_permission_later_pauses_its_account(trading):
    home, sim = trading
    api_key = sim.key("alice")["api_key"]
    sim.set_restrictions(api_key, enableWithdrawals=True)
    check = home.cli("keys", "check")
    assert check.returncode == 3
    assert "PAUSED" in check.stderr
    assert "Withdrawals" in check.stderr
    assert "paused" in home.ok("keys", "list").stdout
    trade = home.trade("buy", "limit", "0.001", "16700")
    assert trade.returncode == 1
    assert "paused" in trade.stderr
    assert open_orders(sim) == []

    sim.set_restrictions(api_key, enableWithdrawals=False)
    assert home.cli("keys", "check").returncode == 0
    assert home.trade("buy", "limit", "0.001", "16700").returncode == 0


def test_the_permission_recheck_runs_on_its_own_schedule(home, sim):
    home.start_signer("--recheck-interval", "1")
    home.add_key("alice", sim)
    sim.set_restrictions(sim.key("alice")["api_key"], permitsUniversalTransfer=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with home.client() as signer:
            [status] = signer.call("key_status", account="alice")
        if status["status"] == "paused":
            break
        time.sleep(0.3)
    assert status["status"] == "paused"
    assert "Universal Transfer" in status["status_reason"]


def test_an_order_placed_outside_bastion_is_caught_by_one_keys_check(trading):
    home, sim = trading
    assert home.trade("buy", "limit", "0.001", "16600", cid="ours-1").returncode == 0
    # The attacker's copy of the key: the real ccxt client, straight to the exchange.
    attacker = sim.client("alice")
    stolen = attacker.create_order("BTC/USDT", "market", "buy", 0.01)

    check = home.cli("keys", "check")
    assert check.returncode == 3, check.stdout + check.stderr
    assert str(stolen["id"]) in check.stderr
    assert "ours-1" not in check.stderr
    assert "NOT sent by Bastion" in check.stderr
    assert "Revoke" in check.stderr
    assert "simulator" in check.stderr.lower()
    with home.client() as signer:
        assert signer.call("policy_show", account="alice")["state"] == "halted"
    leak = [e["payload"] for e in audit_entries(home) if e["kind"] == "leak"]
    assert [f["exchange_order_id"] for f in leak[0]["foreign_orders"]] == [str(stolen["id"])]

    # After revoking, the user acknowledges the order and re-opens the account (passphrase each time).
    refused = home.cli("policy", "set", "--account", "alice", "--state", "active")
    assert refused.returncode != 0
    assert "ack-findings --account alice" in refused.stderr
    home.ok("keys", "ack-findings", "--account", "alice")
    home.ok("policy", "set", "--account", "alice", "--state", "active")
    assert home.cli("keys", "check").returncode == 0


def test_orders_sent_before_a_signer_restart_are_still_known_as_ours(trading):
    home, _sim = trading
    for i in range(2):
        assert home.trade("buy", "market", "0.001", cid=f"before-restart-{i}").returncode == 0
    assert home.stop_signer() == 0
    home.start_signer()
    check = home.cli("keys", "check")
    assert check.returncode == 0, check.stderr
    with home.client() as signer:
        usage = signer.call("policy_show", account="alice")["usage"]
    assert Decimal(usage["notional_24h"]["USDT"]) > Decimal("30")  # the 24 h budget survived the restart


def test_a_policy_row_changed_in_the_database_halts_the_account_at_start(trading):
    home, _sim = trading
    home.stop_signer()
    db = sqlite3.connect(home.home / "bastion.db")
    row = db.execute("SELECT config FROM account_policies").fetchone()
    config = json.loads(row[0])
    config["max_order_notional"] = "100000000"
    db.execute("UPDATE account_policies SET config = ?", (json.dumps(config),))
    db.commit()
    db.close()
    home.start_signer()
    with home.client() as signer:
        shown = signer.call("policy_show", account="alice")
    assert shown["state"] == "halted"
    assert "signature does not verify" in shown["reason"]


def test_unknown_operations_are_refused_and_audited(trading):
    home, _sim = trading
    with home.client() as signer:
        for op in ("withdraw", "transfer", "sapi_post_capital_withdraw_apply"):
            with pytest.raises(SignerRefused) as refused:
                signer.call(op, account="alice", amount="1", address="x")
            assert refused.value.kind == "unknown_op"
    refused = [e["payload"] for e in audit_entries(home) if e["kind"] == "refused"]
    assert [r["op"] for r in refused][-3:] == ["withdraw", "transfer", "sapi_post_capital_withdraw_apply"]
    assert all(r["reason"] == "unknown operation" for r in refused[-3:])


def test_the_socket_is_private_and_other_uids_are_refused(trading):
    home, _sim = trading
    path = home.layout.socket
    assert (path.stat().st_mode & 0o777) == 0o600
    # Even if someone loosens the directory and file modes, the peer uid check holds.
    os.chmod(home.home, 0o711)  # noqa: S103 - the point of the test
    os.chmod(path, 0o666)  # noqa: S103 - the point of the test
    pid = os.fork()
    if pid == 0:  # child: become nobody and try
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(str(path))
            try:  # the signer may close before, during or after the send: never an answer
                sock.sendall(encode({"id": 1, "op": "balances", "params": {"account": "alice"}}))
                code = 0 if sock.recv(4) == b"" else 1
            except (ConnectionResetError, BrokenPipeError):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    refused = [e["payload"] for e in audit_entries(home) if e["kind"] == "refused"]
    assert refused
    assert refused[-1]["peer"]["uid"] == 65534


def test_panic_cancels_every_open_order_and_the_signer_stops_answering(trading):
    home, sim = trading
    for i, price in enumerate(("16500", "16400")):
        assert home.trade("buy", "limit", "0.001", price, cid=f"rest-{i}").returncode == 0
    sim.client("alice").create_order("BTC/USDT", "limit", "sell", 0.01, 19000)  # even one we did not send
    assert len(open_orders(sim)) == 3
    signer_process = home.signer
    assert signer_process is not None

    result = home.cli("panic")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cancelled 3 order(s), 0 open order(s) left" in result.stdout
    assert "signer stopped" in result.stdout
    assert "Revoke your API key on simulator" in result.stdout
    assert open_orders(sim) == []
    assert signer_process.wait(timeout=15) == 0
    assert not home.layout.socket.exists()
    with pytest.raises(SignerUnavailable), home.client() as signer:
        signer.call("ping")
    home.stop_signer()
    assert home.cli("audit", "verify").returncode == 0


def test_a_retry_with_the_same_client_order_id_returns_the_first_order_not_a_second(trading):
    home, sim = trading
    order = {
        "account": "alice",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "amount": "0.001",
        "price": "16500",
        "client_order_id": "retry-1",
    }
    with home.client() as signer:
        first = signer.call("place_order", **order)
        again = signer.call("place_order", **order)  # the engine lost the first answer and retries
        assert again["exchange_order_id"] == first["exchange_order_id"]
        assert signer.call("policy_show", account="alice")["usage"]["orders_last_minute"] == 1
        with pytest.raises(SignerRefused) as refused:  # same id, different order: not a retry
            signer.call("place_order", **{**order, "side": "sell", "price": "16800"})
        assert refused.value.kind == "DuplicateOrder"
    assert len(open_orders(sim)) == 1
    assert home.cli("keys", "check").returncode == 0


def test_the_trades_of_one_order_are_answered_whatever_came_after(trading):
    home, _sim = trading
    market = {"account": "alice", "symbol": "BTC/USDT", "side": "buy", "type": "market", "amount": "0.001"}
    with home.client() as signer:
        first = signer.call("place_order", **market, client_order_id="one-1")
        for n in range(2, 5):
            signer.call("place_order", **market, client_order_id=f"one-{n}")
        latest = signer.call("my_trades", account="alice", symbol="BTC/USDT", limit=2)
        assert first["exchange_order_id"] not in {t["order_id"] for t in latest}
        order_id = first["exchange_order_id"]
        mine = signer.call("my_trades", account="alice", symbol="BTC/USDT", exchange_order_id=order_id)
        assert {t["order_id"] for t in mine} == {first["exchange_order_id"]}
        assert sum(Decimal(t["amount"]) for t in mine) == Decimal("0.001")
        with pytest.raises(SignerRefused) as refused:
            signer.call("my_trades", account="alice", symbol="BTC/USDT", exchange_order_id="1", limit=5)
        assert refused.value.kind == "bad_request"
        assert "exchange_order_id alone" in str(refused.value)
    asked = [e["payload"]["params"] for e in audit_entries(home) if e["kind"] == "request"]
    assert {"symbol": "BTC/USDT", "exchange_order_id": first["exchange_order_id"]} in asked
