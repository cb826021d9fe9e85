"""Finding 12: the signer's protections were proven on the Binance path only.

KuCoin keys (three parts) were accepted but never exercised: the permission check, the endpoint
allowlist, the IOC price cap, per-quote limits, the leak detector and panic must hold on the
KuCoin flavor through the real ccxt ``kucoin`` client exactly as on Binance. Each check below
attacks one of them on the simulator served with ``--flavor kucoin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from bastion.custody.signer._model import Refusal
from bastion.errors import ForbiddenEndpoint
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.simulator import SimulatorProcess, bundled_csv, make_key

KUCOIN = "simulator-kucoin"
BTC_LIMITS = {"max_order_notional": "0.05", "max_daily_notional": "0.5", "min_volume_24h": "0"}


@pytest.fixture
def kucoin(tmp_path: Path) -> Iterator[SimulatorProcess]:
    keys = [
        make_key("alice", {"USDT": "10000", "BTC": "1"}, passphrase=True),
        make_key("mallory", {"USDT": "10"}, {"enableWithdrawals": True}, passphrase=True),
    ]
    markets = {"BTC/USDT": bundled_csv("BTC/USDT"), "ETH/BTC": bundled_csv("ETH/BTC")}
    with SimulatorProcess(tmp_path, markets=markets, speed=0, keys=keys, extra_args=("--flavor", "kucoin")) as sim:
        yield sim


def _order(symbol: str, side: str, type_: str, amount: str, price: str | None = None, cid: str = "k1") -> dict:
    params = {"account": "alice", "symbol": symbol, "side": side, "type": type_, "amount": amount}
    params["client_order_id"] = cid
    if price is not None:
        params["price"] = price
    return params


def test_the_signer_protections_hold_on_kucoin(signer_home: InProcessSigner, kucoin: SimulatorProcess):
    async def main() -> None:
        service = await signer_home.start()
        try:
            # 1. permission check: a KuCoin key with the Withdrawal permission is refused, in KuCoin's words
            with pytest.raises(Refusal) as refused:
                await signer_home.add_key(service, kucoin, "mallory", exchange=KUCOIN)
            assert refused.value.kind == "KeyRefused"
            assert '"Withdrawal" permission' in refused.value.message
            assert "mallory" not in service.accounts
            # the three-part key of a safe KuCoin key is accepted
            await signer_home.add_key(service, kucoin, "alice", exchange=KUCOIN)
            account = service.accounts["alice"]
            assert account.key.exchange == KUCOIN
            await service.handle(
                "policy_set",
                {
                    "account": "alice",
                    "changes": {"pairs": ["BTC/USDT", "ETH/BTC"], "quote_limits": {"BTC": BTC_LIMITS}},
                    "passphrase": signer_home.passphrase,
                },
                OPERATOR,
            )
            # 2. allowlist: KuCoin's withdraw, transfer and key paths never leave the signer
            client = account.exchange.client
            for method, params in (
                (client.private_post_withdrawals, {"currency": "USDT", "address": "x", "amount": "1"}),
                (client.private_post_accounts_inner_transfer, {"currency": "USDT", "amount": "1"}),
                (client.private_post_accounts_universal_transfer, {"currency": "USDT", "amount": "1"}),
                (client.private_post_sub_api_key, {"subName": "x"}),
            ):
                with pytest.raises(ForbiddenEndpoint, match="simulator-kucoin"):
                    await method(params)
            assert kucoin.unknown() == []  # nothing reached the exchange
            # 3. IOC cap: a market buy leaves as a LIMIT IOC at the reference + 2 %, on the tick
            market_buy = _order("BTC/USDT", "buy", "market", "0.001", cid="k-m1")
            placed = await service.handle("place_order", market_buy, OPERATOR)
            sent = next(o for o in kucoin.orders("alice") if o["clientOrderId"] == "k-m1")
            assert sent["type"] == "LIMIT"
            assert sent["timeInForce"] == "IOC"
            reference = account.references["BTC/USDT"].price
            cap = (reference * Decimal("1.02") / Decimal("0.1")).to_integral_value(ROUND_FLOOR) * Decimal("0.1")
            assert Decimal(sent["price"]) == cap
            assert placed["status"] in ("filled", "partially_filled", "cancelled", "expired")
            # 4. per-quote limit: an ETH/BTC order worth more than 0.05 BTC is denied, one below passes
            eth = account.references.get("ETH/BTC") or await service._reference(account, "ETH/BTC")
            assert eth is not None
            low = (eth.price * Decimal("0.99")).quantize(Decimal("0.00001"))
            with pytest.raises(Refusal) as denied:
                await service.handle("place_order", _order("ETH/BTC", "buy", "limit", "2", str(low), "k-e1"), OPERATOR)
            assert denied.value.rule == "max_order_notional"
            assert "BTC" in denied.value.message
            await service.handle("place_order", _order("ETH/BTC", "buy", "limit", "0.1", str(low), "k-e2"), OPERATOR)
            # 5. leak detector with balance reconciliation: fills are ours; a deposit is unexplained
            [clean] = await service.handle("keys_check", {"account": "alice"}, OPERATOR)
            assert clean["foreign_orders"] == []
            assert clean["balance_findings"] == []
            kucoin.deposit("alice", "USDT", "7")
            [found] = await service.handle("keys_check", {"account": "alice"}, OPERATOR)
            assert [(b["asset"], Decimal(b["unexplained"])) for b in found["balance_findings"]] == [("USDT", 7)]
            assert found["state"] == "halted"
            assert any("--flavor kucoin" in step for step in found["revoke"])
            # 6. panic: the open ETH/BTC order is cancelled on KuCoin
            result = await service.handle("panic", {"passphrase": signer_home.passphrase}, OPERATOR)
            [entry] = [e for e in result["accounts"] if e["account"] == "alice"] if "accounts" in result else [result]
            assert len(entry["cancelled"]) == 1
            open_after = [o for o in kucoin.orders("alice") if o["status"] in ("NEW", "PARTIALLY_FILLED")]
            assert open_after == []
        finally:
            await service.shutdown()

    run(main())


def test_gateio_is_gate_and_a_key_whose_permissions_cannot_be_read_is_refused(signer_home: InProcessSigner):
    async def main() -> None:
        service = await signer_home.start()
        try:
            with pytest.raises(Refusal) as refused:
                await service.handle(
                    "keys_add",
                    {
                        "account": "g",
                        "exchange": "gateio",
                        "api_key": "k" * 32,
                        "secret": "s" * 64,
                        "passphrase": signer_home.passphrase,
                    },
                    OPERATOR,
                )
            assert "'gate'" in refused.value.message  # the alias resolved: not "unknown exchange gateio"
            assert "cannot check that it cannot withdraw" in refused.value.message
            assert "g" not in service.accounts
        finally:
            await service.shutdown()

    run(main())
