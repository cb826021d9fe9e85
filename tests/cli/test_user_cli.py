"""``bastion user add/list/own``: a real process over a throwaway home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bastion.storage import AccountRepository, create_engine_for, session_factory, upgrade


def _run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BASTION_DATABASE_URL"}
    env["BASTION_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "bastion", "user", *args], input=stdin, capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def test_user_add_hashes_the_password_and_user_list_never_shows_it(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bastion.db'}")
    upgrade(engine)
    with session_factory(engine).begin() as s:
        AccountRepository(s).create("main", "binance")
    password = "a password of some length"
    added = _run(tmp_path, "add", "alice", "--role", "admin", "--password-fd", "0", "--account", "main",
                 "--phrase", "otter basalt", stdin=password + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user alice (admin) added; anti-phishing phrase: otter basalt" in added.stdout
    listed = _run(tmp_path, "list", "--json")
    assert json.loads(listed.stdout) == [
        {"name": "alice", "role": "admin", "totp": False, "accounts": ["main"], "locked_until": None}
    ]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("bastion.db*"))  # the file and its WAL
    assert password.encode() not in stored
    assert b"$argon2id$v=19$m=65536,t=3,p=4$" in stored
    assert password not in added.stdout + added.stderr + listed.stdout
    engine.dispose()


def test_user_add_refuses_an_unknown_role_and_a_short_password(tmp_path: Path) -> None:
    bad_role = _run(tmp_path, "add", "bob", "--role", "root", "--password-fd", "0", stdin="long enough password\n")
    assert bad_role.returncode == 2
    assert "--role 'root' is not one of admin, trader, viewer" in bad_role.stderr
    short = _run(tmp_path, "add", "bob", "--password-fd", "0", stdin="short\n")
    assert short.returncode == 2
    assert "the password has 5 characters; expected at least 12" in short.stderr
