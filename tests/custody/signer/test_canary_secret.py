"""A canary API secret goes into the signer and is never seen again anywhere else.

Not in any file under BASTION_HOME (database, vault, audit log, logs), not in any CLI output,
and not in the memory of a non-signer Bastion process (read through /proc/PID/mem). As a
control, the same scan DOES find it in the signer's memory, so a clean result means something.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.simulator import SimulatorProcess, make_key

_MAPS = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)")


def memory_contains(pid: int, needle: bytes) -> bool:
    """Scan every readable mapping of a live process for ``needle``."""
    overlap = len(needle) - 1
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            match = _MAPS.match(line)
            if match is None or "r" not in match.group(3) or "[vvar" in line or "[vsyscall]" in line:
                continue
            start, end = int(match.group(1), 16), int(match.group(2), 16)
            tail = b""
            for offset in range(start, end, 1 << 22):
                try:
                    mem.seek(offset)
                    chunk = mem.read(min(1 << 22, end - offset))
                except OSError:
                    break
                if needle in tail + chunk:
                    return True
                tail = chunk[-overlap:]
    return False


# A non-signer Bastion process that lives on after using the signer: the real CLI `trade`
# command run in-process, then the engine-side client reading balances, orders and trades.
ENGINE_LIKE = """
import sys
from bastion.cli.main import main
from bastion.custody.layout import HomeLayout
from bastion.custody.signer.client import SignerClient
try:
    main(["trade", "--account", "alice", "--pair", "BTC/USDT", "--side", "buy", "--type", "market",
          "--amount", "0.001"])
except SystemExit as exit:
    assert not exit.code, exit.code
with SignerClient(HomeLayout.from_env().socket) as signer:
    signer.call("balances", account="alice")
    signer.call("open_orders", account="alice")
    signer.call("my_trades", account="alice", symbol="BTC/USDT")
    signer.call("key_status")
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs /proc/PID/mem")
def test_the_canary_secret_stays_inside_the_signer(tmp_path: Path):
    canary = "CANARY" + secrets.token_hex(29)
    entry = make_key("alice", {"USDT": "10000", "BTC": "1"})
    entry["secret"] = canary
    with BastionHome() as home, SimulatorProcess(tmp_path, speed=0, keys=[entry]) as sim:
        home.init_vault()
        signer = home.start_signer()
        added = home.add_key("alice", sim)
        assert added.returncode == 0, added.stderr
        home.allow("alice", "BTC/USDT")
        assert home.trade("buy", "limit", "0.001", "16600").returncode == 0
        home.trade("buy", "market", "1", pair="DOGE/USDT")  # a denial, audited
        home.ok("keys", "list")
        home.ok("keys", "check")
        home.ok("policy", "show", "--account", "alice")

        engine = subprocess.Popen(
            [sys.executable, "-c", ENGINE_LIKE],
            env=home.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert engine.stdout is not None
            assert engine.stdin is not None
            lines = []
            for line in engine.stdout:  # the trade's own output, then "ready"
                lines.append(line)
                if line.strip() == "ready":
                    break
            assert lines, "the engine-like process printed nothing"
            assert lines[-1].strip() == "ready", lines
            assert "filled" in lines[0]
            assert not memory_contains(engine.pid, canary.encode())
            assert memory_contains(signer.pid, canary.encode()), "control: the scan must find it in the signer"
            engine.stdin.write("\n")
            engine.stdin.flush()
            out, err = engine.communicate(timeout=30)
            home.outputs.extend([out, err])
        finally:
            if engine.poll() is None:
                engine.kill()

        home.stop_signer()
        home.ok("audit", "verify")
        home.ok("audit", "export", str(home.home / "export.jsonl"))

        needles = [canary.encode(), canary.encode("utf-16-le"), canary.encode().hex().encode()]
        files = home.files()
        assert any(p.name == "bastion.db" for p in files)
        assert any(p.name == "audit.jsonl" for p in files)
        for path in files:
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"canary found in {path}"
        for output in home.outputs:
            assert canary not in output
