"""A signal bot end to end: webhook into `bastion web`, deal through the engine and the signer."""

from __future__ import annotations

import subprocess
import sys
import time

from support.engine_stack import Stack

SIGNAL = """
name = "sig1"
type = "signal"
account = "alice"
pairs = ["BTC/USDT"]
order_size = "30"
order_currency = "quote"
max_order_size = "100"
max_lag_s = 60
"""


def test_a_signal_opens_and_closes_a_deal_and_a_replayed_signal_is_refused(stack: Stack):
    import httpx

    path = stack.home.home / "sig1.toml"
    path.write_text(SIGNAL)
    created = stack.home.ok("bot", "create", "--config", str(path)).stdout
    uuid = created.split("/api/v1/signals/")[1].split()[0]
    secret = created.split("alert message): ")[1].split()[0]
    stack.home.ok("bot", "start", "sig1")
    web = subprocess.Popen(
        [sys.executable, "-m", "bastion", "web", "--port", "0"],
        env=stack.home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert web.stdout is not None
        url = web.stdout.readline().split("listening on ")[1].strip()
        stack.start_engine()
        endpoint = f"{url}/api/v1/signals/{uuid}"

        def signal(action: str, **extra: object) -> httpx.Response:
            body = {
                "secret": secret,
                "bot_uuid": uuid,
                "action": action,
                "timestamp": int(time.time()),
                "max_lag": 30,
                "trigger_price": "16720.2",
                "order": {"amount": "30", "currency_type": "quote"},
            }
            return httpx.post(endpoint, json={**body, **extra}, timeout=10)

        entered = signal("enter_long")
        assert entered.status_code == 202, entered.text
        stack.run_until(lambda: any(d["status"] == "open" for d in stack.deals()), step=1, limit=20)
        exit_body = {"timestamp": int(time.time())}
        exited = signal("exit_long", **exit_body)
        assert exited.status_code == 202, exited.text
        stack.run_until(lambda: all(d["status"] == "closed" for d in stack.deals()), step=1, limit=20)

        replayed = signal("exit_long", **exit_body)
        assert replayed.status_code == 409
        assert "replay" in replayed.json()["detail"]
        stale = signal("enter_long", timestamp=int(time.time()) - 600)
        assert stale.status_code == 422
        wrong = signal("enter_long", secret="not-the-secret")
        assert wrong.status_code == 401
        assert secret not in wrong.text
        too_big = signal("enter_long", order={"amount": "5000", "currency_type": "quote"})
        assert too_big.status_code == 422
        time.sleep(1.5)  # give the engine time to (not) act on anything refused
        [deal] = stack.deals()
        assert deal["status"] == "closed"
        sides = [o["side"] for o in stack.orders()]
        assert sides == ["buy", "sell"]
    finally:
        web.terminate()
        web.communicate(timeout=20)
