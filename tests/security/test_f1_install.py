"""Finding 1: ``bastion install --system`` lays out the two-user production install.

Run against a throwaway root (``--root``): real ``useradd --prefix`` into its ``etc/passwd``,
real ``chown``/``chmod``; the machine's own users and /etc are not touched. Needs root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.custody.signer.roles import Role, SignerConfig

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None, reason="needs root and useradd (CI runs as root)"
)


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    (root / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc" / "gshadow").write_text("root:*::\n")
    return root


def _install(*args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bastion", "install", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}  # install needs no home
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)


def _ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        name, _, uid, gid, *_ = line.split(":")
        if name == user:
            return int(uid), int(gid)
    raise AssertionError(f"{user} not in {root}/etc/passwd")


def test_install_creates_users_directories_config_and_units(tmp_path: Path):
    root = _root(tmp_path)
    done = _install("--system", "--root", str(root), "--python", "/opt/bastion/bin/python")
    assert done.returncode == 0, done.stderr
    assert "create system user bastion-signer" in done.stdout
    assert "directory /var/lib/bastion-signer owner bastion-signer:bastion-signer mode 0700" in done.stdout
    signer_uid, signer_gid = _ids(root, "bastion-signer")
    client_uid, client_gid = _ids(root, "bastion")
    assert signer_uid != client_uid

    for path, uid, gid in (
        (root / "var/lib/bastion-signer", signer_uid, signer_gid),
        (root / "var/lib/bastion", client_uid, client_gid),
    ):
        info = path.stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (uid, gid, 0o700), path

    config_path = root / "etc/bastion/signer.toml"
    info = config_path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, signer_gid, 0o640)
    config = SignerConfig.from_file(config_path)
    assert config.production
    assert config.roles_of(client_uid) == {Role.ENGINE, Role.WEB}
    assert config.roles_of(0) == {Role.OPERATOR}
    assert config.roles_of(signer_uid) == frozenset()  # the signer does not serve its own uid
    assert config.socket == Path("/run/bastion-signer/signer.sock")

    units = root / "etc/systemd/system"
    signer_unit = (units / "bastion-signer.service").read_text()
    assert "User=bastion-signer" in signer_unit
    assert "LoadCredential=passphrase:/etc/bastion/signer.passphrase" in signer_unit
    assert "ExecStart=/opt/bastion/bin/python -m bastion signer" in signer_unit
    assert "-g bastion /run/bastion-signer" in signer_unit  # the clients' group reaches the socket
    for name in ("bastion-engine.service", "bastion-web.service"):
        unit = (units / name).read_text()
        assert "User=bastion\n" in unit
        assert "EnvironmentFile=/etc/bastion/bastion.env" in unit
    for text in [*(p.read_text() for p in units.iterdir()), *(p.read_text() for p in (root / "etc/bastion").iterdir())]:
        assert "PASSPHRASE" not in text  # never an environment variable
    assert "BASTION_SIGNER_CONFIG=/etc/bastion/signer.toml" in (root / "etc/bastion/signer.env").read_text()
    assert "BASTION_HOME=/var/lib/bastion\n" in (root / "etc/bastion/bastion.env").read_text()

    again = _install("--system", "--root", str(root), "--python", "/opt/bastion/bin/python")
    assert again.returncode == 0, again.stderr
    assert "user bastion-signer exists, kept" in again.stdout
    assert _ids(root, "bastion") == (client_uid, client_gid)


def test_dry_run_changes_nothing(tmp_path: Path):
    root = _root(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    done = _install("--system", "--root", str(root), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would create system user bastion-signer" in done.stdout
    assert "would file /etc/systemd/system/bastion-signer.service" in done.stdout
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_install_refuses_without_root_or_without_system(tmp_path: Path):
    root = _root(tmp_path)
    root.parent.chmod(0o755)
    refused = _install("--system", "--root", str(root), user=61_002)
    assert refused.returncode == 2
    assert "must run as root" in refused.stderr
    assert "--dry-run" in refused.stderr
    plain = _install("--root", str(root))
    assert plain.returncode == 2
    assert "needs --system" in plain.stderr
