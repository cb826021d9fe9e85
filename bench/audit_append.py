"""Measure AuditLog.append latency and throughput (each append is written and fsynced).

Run: ``.venv/bin/python bench/audit_append.py [--n 5000] [--dir PATH] [--sign-on-sync]``.
``--sign-on-sync`` opens the log as the signer does: a head is signed with every fsync.
``--dir`` should be on the disk ``$BASTION_HOME`` will live on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit import AuditLog, verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--sign-on-sync", action="store_true", help="sign the head with every append, as the signer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "audit.jsonl"
        key = Ed25519PrivateKey.generate()
        log = AuditLog.open(
            path, signing_key=key, clock=lambda: time.time_ns() // 1_000_000, sign_on_sync=args.sign_on_sync
        )
        payload = {
            "account": "alice", "exchange": "binance", "key_id": "k1", "op": "create_order",
            "symbol": "BTC/USDT", "side": "buy", "type": "limit", "amount": Decimal("0.00150"),
            "price": Decimal("64250.10"), "client_order_id": "bst-0123456789abcdef", "bot_id": "dca-42",
        }
        latencies = []
        start = time.perf_counter()
        for i in range(args.n):
            t0 = time.perf_counter()
            log.append("request", {**payload, "n": i}, secrets=["not-the-real-secret-0123456789"])
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        t0 = time.perf_counter()
        log.sign_head()
        sign_ms = (time.perf_counter() - t0) * 1000
        log.close(sign=False)
        t0 = time.perf_counter()
        result = verify(path, key.public_key())
        verify_s = time.perf_counter() - t0
        latencies.sort()

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6

        line_bytes = path.stat().st_size / args.n
        signed = ", head signed with each" if args.sign_on_sync else ""
        print(f"appends: {args.n} x ~{line_bytes:.0f} B lines, each write+fsync{signed}, dir={tmp}")
        print(
            f"latency us: p50 {pct(0.50):.0f}  p90 {pct(0.90):.0f}  p99 {pct(0.99):.0f}  "
            f"max {latencies[-1] * 1e6:.0f}  mean {statistics.mean(latencies) * 1e6:.0f}"
        )
        print(f"throughput: {args.n / elapsed:.0f} appends/s")
        print(f"sign_head: {sign_ms:.2f} ms;  verify whole log: {verify_s:.2f} s ({result})")


if __name__ == "__main__":
    main()
