"""Finding 1 (the signer process itself): no passphrase in its environment, not dumpable, one per home.

These run the real ``bastion signer`` in the development layout (one user). The production
layout (two users) is attacked in ``test_f1_two_users.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.custody import BastionHome

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def test_the_running_signer_has_no_passphrase_in_its_environment():
    with BastionHome() as home:
        home.init_vault()
        signer = home.start_signer()
        environ = _environ(signer.pid)
        assert b"BASTION_HOME=" in environ  # control: this is the signer's environment
        assert b"BASTION_PASSPHRASE" not in environ
        assert home.passphrase.encode() not in environ
        assert home.client().call("ping")


def test_the_signer_leaves_no_core_file():
    # Not dumpable (no ptrace, no /proc/PID/mem even for its own uid) is attacked in
    # test_f1_two_users.py, where the signer does not run as root.
    with BastionHome() as home:
        home.init_vault()
        signer = home.start_signer()
        limits = Path(f"/proc/{signer.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core


def test_the_signer_reads_its_passphrase_from_a_file_descriptor():
    with BastionHome() as home:
        home.init_vault()
        env = {k: v for k, v in home.env.items() if k != "BASTION_PASSPHRASE"}
        process = subprocess.Popen(
            [sys.executable, "-m", "bastion", "signer", "--passphrase-fd", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.write(home.passphrase + "\n")
            process.stdin.close()
            line = process.stdout.readline()
            assert "signer ready" in line, process.stderr.read() if process.stderr else line
            assert home.client().call("ping")
        finally:
            process.terminate()
            process.wait(timeout=20)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


def test_a_second_signer_says_the_first_one_is_running_and_exits_non_zero():
    with BastionHome() as home:
        home.init_vault()
        first = home.start_signer()
        second = home.cli("signer", timeout=60)
        assert second.returncode != 0
        assert f"signer already running (pid {first.pid})" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None
        assert home.client().call("ping")


def test_the_development_layout_says_so_once_at_start():
    with BastionHome() as home:
        home.init_vault()
        home.start_signer()
        assert home.client().call("ping")
        home.stop_signer()
        stderr = home.outputs[-1]
        assert stderr.count("development layout") == 1, stderr
