"""``bastion web`` refuses what it should before serving, and its process loads no custody code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "BASTION_DATABASE_URL"}
    env["BASTION_HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "bastion", "web", *args], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )  # fmt: skip


def test_a_host_that_is_not_loopback_is_refused_with_the_reason(tmp_path: Path) -> None:
    done = _run(tmp_path, "--host", "0.0.0.0")  # noqa: S104 (refused before anything binds)
    assert done.returncode == 2
    assert "--host '0.0.0.0' is not a loopback address" in done.stderr
    assert "unless TLS is configured (--tls-cert and --tls-key) and --public is given" in done.stderr
    assert done.stdout == ""
    plain = _run(tmp_path, "--host", "0.0.0.0", "--public")  # noqa: S104
    assert plain.returncode == 2
    assert "--public needs TLS" in plain.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _run(tmp_path, "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr


def test_the_web_process_loads_no_signer_vault_policy_or_audit_code(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from bastion.cli.main import _register
        from bastion.storage import create_engine_for, session_factory, upgrade
        from bastion.web import create_app

        _register()  # everything `bastion web` imports before it serves
        engine = create_engine_for("sqlite:///{tmp_path / "bastion.db"}")
        upgrade(engine)
        create_app(sessions=session_factory(engine), clock_ms=lambda: 0)
        forbidden = ("bastion.custody.signer", "bastion.custody.vault", "bastion.custody.policy",
                     "bastion.custody.audit", "bastion.services.vault")
        print(sorted(m for m in sys.modules if m.startswith(forbidden)))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
