"""A throwaway Bastion home with the REAL CLI and signer processes, for end-to-end custody tests.

::

    with BastionHome() as home:
        home.init_vault()
        home.start_signer()
        home.add_key("alice", sim)                      # `bastion keys add` fed on stdin
        result = home.cli("trade", "--account", "alice", ...)

The home lives in a short directory under /tmp (a Unix socket path must fit in 107 bytes). The
passphrase is generated per home and passed through BASTION_PASSPHRASE; the KDF runs with the
documented test profile (``BASTION_KDF_PROFILE=test``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bastion.custody.layout import HomeLayout
from bastion.custody.signer.client import SignerClient

__all__ = ["BastionHome"]


class BastionHome:
    """A Bastion home directory plus helpers to run ``bastion`` commands and the signer in it."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bh-"))
        self.layout = HomeLayout(self.home)
        self.passphrase = "test-pass-" + secrets.token_hex(12)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        env.update(
            {"BASTION_HOME": str(self.home), "BASTION_KDF_PROFILE": "test", "BASTION_PASSPHRASE": self.passphrase}
        )
        self.env = env
        self.signer: subprocess.Popen[str] | None = None
        self.outputs: list[str] = []

    # --- commands ---------------------------------------------------------------------------

    def cli(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m bastion ARGS`` in this home; its output is kept for canary checks."""
        result = subprocess.run(
            [sys.executable, "-m", "bastion", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**self.env, **(env or {})},
        )
        self.outputs.extend([result.stdout, result.stderr])
        return result

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a command that must succeed."""
        result = self.cli(*args, **kwargs)
        assert result.returncode == 0, f"bastion {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        return result

    def init_vault(self) -> None:
        """``bastion vault init``."""
        self.ok("vault", "init")

    def start_signer(self, *args: str, timeout: float = 30) -> subprocess.Popen[str]:
        """Start ``bastion signer`` and wait for its ready line."""
        assert self.signer is None, "signer already started"
        process = subprocess.Popen(
            [sys.executable, "-m", "bastion", "signer", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        self.signer = process
        deadline = time.monotonic() + timeout
        assert process.stdout is not None
        line = process.stdout.readline()
        if "signer ready" not in line:
            process.kill()
            _, err = process.communicate(timeout=10)
            self.signer = None
            raise AssertionError(f"signer did not start: {line!r}\n{err}")
        assert time.monotonic() < deadline
        return process

    def stop_signer(self, timeout: float = 15) -> int | None:
        """SIGTERM the signer and return its exit code."""
        process, self.signer = self.signer, None
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate(timeout=timeout)
        self.outputs.extend([out or "", err or ""])
        return process.returncode

    def client(self, timeout: float = 30) -> SignerClient:
        """A client on the signer's socket."""
        return SignerClient(self.layout.socket, timeout=timeout)

    def add_key(
        self,
        account: str,
        sim: Any,
        *,
        sim_account: str | None = None,
        extra: tuple[str, ...] = (),
        exchange: str = "simulator",
    ) -> subprocess.CompletedProcess[str]:
        """``bastion keys add`` for the simulator key of ``sim_account`` (default ``account``), on stdin.

        ``exchange="simulator-kucoin"`` for a simulator served with ``--flavor kucoin`` (the key's
        passphrase is the third line).
        """
        entry = sim.key(sim_account or account)
        lines = [entry["api_key"], entry["secret"], *([entry["passphrase"]] if entry.get("passphrase") else [])]
        return self.cli(
            "keys",
            "add",
            "--account",
            account,
            "--exchange",
            exchange,
            "--url",
            sim.url,
            *extra,
            input="".join(f"{line}\n" for line in lines),
        )

    def trade(
        self,
        side: str = "buy",
        type: str = "limit",
        amount: str = "0.001",
        price: str | None = None,
        *,
        pair: str = "BTC/USDT",
        account: str = "alice",
        cid: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``bastion trade`` (exit code not checked)."""
        args = ["trade", "--account", account, "--pair", pair, "--side", side, "--type", type, "--amount", amount]
        if price is not None:
            args += ["--price", price]
        if cid is not None:
            args += ["--client-order-id", cid]
        return self.cli(*args)

    def allow(self, account: str, *pairs: str, **limits: str) -> None:
        """Set the account's pair allowlist (and limits) through the CLI."""
        args = ["policy", "set", "--account", account, "--pairs", ",".join(pairs)]
        for name, value in limits.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.ok(*args)

    # --- files ------------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """Every regular file under the home."""
        return [p for p in self.home.rglob("*") if p.is_file()]

    def close(self) -> None:
        """Stop the signer and delete the home."""
        self.stop_signer()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
