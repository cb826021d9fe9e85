"""Finding 1: the production layout, attacked from the engine's and the web's own uids.

Real processes under three real uids (``setpriv --reuid/--regid --clear-groups``, so no user
has to be created): the signer as its own uid with a 0700 home and its own ``custody.db``, the
engine's uid, a web-only uid, and root as the operator. Needs root (CI runs as root).

- the engine's uid cannot read the custody files, nor the signer's ``/proc/PID/environ`` or
  ``/proc/PID/mem``; not even the signer's own uid can (the signer is not dumpable);
- each uid gets only its role's operations over the socket, refusals are audited, an unlisted
  uid is refused;
- a running engine-like client and ``bastion web`` hold no canary secret in their memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.engine_stack import DCA
from support.simulator import SimulatorProcess, make_key

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv (CI runs as root)"
)

SIGNER_UID, ENGINE_UID, WEB_UID, STRANGER_UID = 61_001, 61_002, 61_003, 61_009
MEMORY_SCAN = Path(__file__).parents[1] / "custody" / "signer" / "test_canary_secret.py"


def _as(uid: int, gid: int, *args: str) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", sys.executable, *args]


@dataclass
class Layout:
    base: Path
    signer_home: Path
    engine_home: Path
    socket: Path
    passphrase: str
    canary: str
    signer: subprocess.Popen[str]
    sim: SimulatorProcess

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
        env.update({"HOME": str(home), "BASTION_HOME": str(home), "BASTION_KDF_PROFILE": "test"})
        env["BASTION_SIGNER_SOCKET"] = str(self.socket)
        env.update(extra)
        return env

    def run(self, uid: int, gid: int, code: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as(uid, gid, "-c", code),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=self.env(home or self.engine_home),
        )

    def calls(self, uid: int, gid: int, calls: list[tuple[str, dict[str, object]]]) -> list[dict[str, object]]:
        """Run each call over the socket as ``uid``; return its result or its refusal kind."""
        code = f"""
import contextlib
import json
from bastion.custody.signer.client import SignerClient
from bastion.errors import SignerRefused, SignerUnavailable
out = []
with SignerClient({str(self.socket)!r}) as signer:
    for op, params in json.loads({json.dumps(calls)!r}):
        try:
            out.append({{"ok": True, "result": signer.call(op, **params)}})
        except SignerRefused as exc:
            out.append({{"ok": False, "kind": exc.kind, "message": str(exc)}})
        except SignerUnavailable as exc:
            out.append({{"ok": False, "kind": "unavailable", "message": str(exc)}})
print(json.dumps(out))
"""
        result = self.run(uid, gid, code)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


def _prepare(base: Path) -> tuple[Path, Path, Path, Path]:
    base.chmod(0o755)
    signer_home, engine_home, run = base / "signer", base / "engine", base / "run"
    for path, uid, gid, mode in (
        (signer_home, SIGNER_UID, SIGNER_UID, 0o700),
        (engine_home, ENGINE_UID, ENGINE_UID, 0o700),
        (run, SIGNER_UID, ENGINE_UID, 0o750),  # what `bastion install --system` makes: group of the clients
    ):
        path.mkdir()
        os.chown(path, uid, gid)
        path.chmod(mode)
    config = base / "signer.toml"
    config.write_text(
        f'socket = "{run / "signer.sock"}"\n\n'
        f'[[clients]]\nuser = "engine"\nuid = {ENGINE_UID}\nroles = ["engine"]\n\n'
        f'[[clients]]\nuser = "web"\nuid = {WEB_UID}\nroles = ["web"]\n\n'
        '[[clients]]\nuser = "root"\nuid = 0\nroles = ["operator"]\n'
    )
    config.chmod(0o644)
    return signer_home, engine_home, run / "signer.sock", config


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layout]:
    base = Path(tempfile.mkdtemp(prefix="bp-"))  # short: a socket path has at most 107 bytes
    canary = "CANARY" + secrets.token_hex(29)
    entry = make_key("alice", {"USDT": "10000", "BTC": "1"})
    entry["secret"] = canary
    passphrase = "test-pass-" + secrets.token_hex(12)
    signer_home, engine_home, socket, config = _prepare(base)
    signer_env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    signer_env.update(
        {
            "HOME": str(signer_home),
            "BASTION_HOME": str(signer_home),
            "BASTION_KDF_PROFILE": "test",
            "BASTION_PASSPHRASE": passphrase,
            "BASTION_SIGNER_CONFIG": str(config),
        }
    )
    init = subprocess.run(
        _as(SIGNER_UID, SIGNER_UID, "-m", "bastion", "vault", "init"),
        env=signer_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    signer = subprocess.Popen(
        _as(SIGNER_UID, SIGNER_UID, "-m", "bastion", "signer"),
        env=signer_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sim = SimulatorProcess(tmp_path_factory.mktemp("sim"), speed=0, keys=[entry])
    try:
        assert signer.stdout is not None
        line = signer.stdout.readline()
        assert "signer ready" in line, (line, signer.stderr.read() if signer.stderr else "")
        with sim:
            made = Layout(base, signer_home, engine_home, socket, passphrase, canary, signer, sim)
            operator = made.env(base / "operator", BASTION_PASSPHRASE=passphrase)
            key = sim.key("alice")
            for args, given in (
                (["keys", "add", "--account", "alice", "--exchange", "simulator", "--url", sim.url], None),
                (["policy", "set", "--account", "alice", "--pairs", "BTC/USDT"], None),
            ):
                done = subprocess.run(
                    [sys.executable, "-m", "bastion", *args],
                    input=given or f"{key['api_key']}\n{key['secret']}\n",
                    env=operator,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                assert done.returncode == 0, done.stderr
            yield made
    finally:
        signer.terminate()
        try:
            signer.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            signer.kill()
            signer.communicate()
        shutil.rmtree(base, ignore_errors=True)


def _refused(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and (
        "Permission denied" in result.stderr or "Operation not permitted" in result.stderr
    )


def test_custody_files_are_the_signer_users_alone(layout: Layout):
    home = layout.signer_home
    files = [
        home / "vault.json",
        home / "signer-key.sealed",
        home / "custody.db",
        home / "audit" / "audit.jsonl",
        home / "logs" / "signer.log",
    ]
    for path in files:
        info = path.stat()
        assert info.st_uid == SIGNER_UID, path
        assert info.st_mode & 0o777 == 0o600, f"{path} is {oct(info.st_mode & 0o777)}"
    for folder in (home, home / "audit", home / "logs"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    # the sealed key is in the signer's own database, not in one the engine reads
    with contextlib.closing(sqlite3.connect(f"file:{home / 'custody.db'}?mode=ro", uri=True)) as db:
        assert db.execute("SELECT count(*) FROM api_keys").fetchone() == (1,)
    for suffix in ("-wal", "-shm"):
        side = home / f"custody.db{suffix}"
        assert not side.exists() or side.stat().st_mode & 0o777 == 0o600, side
    for path in files:
        attempt = layout.run(ENGINE_UID, ENGINE_UID, f"open({str(path)!r}, 'rb').read()")
        assert _refused(attempt), (path, attempt.returncode, attempt.stderr)
    listing = layout.run(ENGINE_UID, ENGINE_UID, f"import os; os.listdir({str(home)!r})")
    assert _refused(listing), listing.stderr


@pytest.mark.parametrize("uid", [ENGINE_UID, SIGNER_UID], ids=["engine uid", "the signer's own uid"])
@pytest.mark.parametrize("name", ["environ", "mem"])
def test_nobody_but_root_reads_the_signers_environment_or_memory(layout: Layout, uid: int, name: str):
    path = f"/proc/{layout.signer.pid}/{name}"
    code = f"f = open({path!r}, 'rb', buffering=0)\nf.seek(0x400000) if {name == 'mem'} else None\nf.read(4096)"
    attempt = layout.run(uid, uid, code)
    assert _refused(attempt), (path, attempt.returncode, attempt.stderr)


def test_the_signers_environment_holds_no_passphrase(layout: Layout):
    environ = Path(f"/proc/{layout.signer.pid}/environ").read_bytes()  # as root
    assert b"BASTION_SIGNER_CONFIG=" in environ
    assert b"BASTION_PASSPHRASE" not in environ
    assert layout.passphrase.encode() not in environ


def test_the_engine_uid_gets_only_the_engine_operations(layout: Layout):
    order = {
        "account": "alice",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "amount": "0.001",
        "price": "16000",
        "client_order_id": "f1-engine-1",
    }
    results = layout.calls(
        ENGINE_UID,
        ENGINE_UID,
        [
            ("ping", {}),
            ("balances", {"account": "alice"}),
            ("place_order", order),
            ("open_orders", {"account": "alice"}),
            ("key_status", {}),
            ("policy_show", {"account": "alice"}),  # read-only, for the pre-flight of bot create/start
            ("policy_set", {"account": "alice", "changes": {"max_order_notional": "1"}}),
            ("keys_remove", {"account": "alice"}),
            ("keys_check", {}),
            ("panic", {}),
        ],
    )
    assert [r["ok"] for r in results[:6]] == [True] * 6, results[:6]
    for refused in results[6:]:
        assert refused["kind"] == "forbidden", refused
        assert "role engine may not call" in str(refused["message"])
    assert f"uid {ENGINE_UID}" in str(results[6]["message"])
    assert layout.signer.poll() is None  # panic was refused
    status = results[4]["result"]
    assert isinstance(status, list)
    assert status[0]["account"] == "alice"
    assert "secret" not in json.dumps(status).lower().replace("secrets", "")


def test_the_web_uid_may_only_tighten_and_read_status(layout: Layout):
    results = layout.calls(
        WEB_UID,
        ENGINE_UID,  # the engine's group: the socket's directory is open to it
        [
            ("ping", {}),
            ("policy_show", {"account": "alice"}),
            ("policy_set", {"account": "alice", "changes": {"max_orders_per_minute": 20}}),
            ("policy_set", {"account": "alice", "changes": {"max_orders_per_minute": 1000}}),
            (
                "policy_set",
                {"account": "alice", "changes": {"max_orders_per_minute": 1000}, "passphrase": layout.passphrase},
            ),
            ("place_order", {"account": "alice", "symbol": "BTC/USDT"}),
            ("balances", {"account": "alice"}),
            ("keys_add_sealed", {"account": "bob"}),
        ],
    )
    assert [r["ok"] for r in results[:3]] == [True, True, True], results[:3]
    assert results[3]["kind"] == "unauthorized", results[3]  # a loosening needs the passphrase...
    assert results[4]["kind"] == "forbidden", results[4]  # ...which the web may not give
    assert "only tighten" in str(results[4]["message"])
    assert results[5]["kind"] == "forbidden"
    assert results[6]["ok"] is True, results[6]  # balances: read-only, not a secret (the overview's values)
    assert "role web may not call 'place_order'" in str(results[5]["message"])
    assert results[7]["kind"] == "bad_request", results[7]  # served to the web role: it lacks the sealed blob
    assert "keys_add_sealed" in str(results[7]["message"])
    assert layout.passphrase not in json.dumps(results)


def test_refusals_are_audited_and_an_unlisted_uid_is_not_served(layout: Layout):
    [answer] = layout.calls(STRANGER_UID, ENGINE_UID, [("ping", {})])
    assert answer["ok"] is False, answer
    assert answer["kind"] == "unavailable", answer
    layout.calls(ENGINE_UID, ENGINE_UID, [("keys_remove", {"account": "alice"})])
    time.sleep(0.2)
    entries = [json.loads(line) for line in (layout.signer_home / "audit" / "audit.jsonl").read_text().splitlines()]
    refused = [e["payload"] for e in entries if e["kind"] == "refused"]
    assert any(p.get("op") == "keys_remove" and p["peer"]["uid"] == ENGINE_UID for p in refused), refused
    assert any(p["peer"]["uid"] == STRANGER_UID for p in refused), refused


ENGINE_LIKE = """
import sys
from bastion.custody.layout import HomeLayout
from bastion.custody.signer.client import SignerClient
with SignerClient(HomeLayout.from_env().socket) as signer:
    signer.call("place_order", account="alice", symbol="BTC/USDT", side="buy", type="limit", amount="0.001",
                price="16100", client_order_id="f1-like-1")
    signer.call("balances", account="alice")
    signer.call("open_orders", account="alice")
    signer.call("my_trades", account="alice", symbol="BTC/USDT")
    signer.call("key_status")
print("ready", flush=True)
sys.stdin.readline()
"""


def _memory_contains() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("canary_scan", MEMORY_SCAN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.memory_contains


def test_no_canary_secret_in_the_memory_of_the_engine_or_the_web(layout: Layout):
    memory_contains = _memory_contains()
    needle = layout.canary.encode()
    engine = subprocess.Popen(
        _as(ENGINE_UID, ENGINE_UID, "-c", ENGINE_LIKE),
        env=layout.env(layout.engine_home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    web = subprocess.Popen(
        _as(ENGINE_UID, ENGINE_UID, "-m", "bastion", "web", "--host", "127.0.0.1", "--port", "0"),
        env={**layout.env(layout.engine_home), "NO_PROXY": "127.0.0.1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert engine.stdout is not None
        assert web.stdout is not None
        assert engine.stdout.readline().strip() == "ready", engine.stderr.read() if engine.stderr else ""
        line = web.stdout.readline()
        assert line.startswith("listening on "), web.stderr.read() if web.stderr else line
        assert not memory_contains(engine.pid, needle)  # type: ignore[operator]
        assert not memory_contains(web.pid, needle)  # type: ignore[operator]
        assert memory_contains(layout.signer.pid, needle), "control: the scan must find it in the signer"  # type: ignore[operator]
        assert (
            not (layout.engine_home / "bastion.db").exists()
            or needle not in (layout.engine_home / "bastion.db").read_bytes()
        )
    finally:
        for process in (engine, web):
            process.kill()
            process.communicate(timeout=10)


def test_the_operator_lists_keys_from_the_signers_own_database(layout: Layout):
    # as root, in the signer's home: `keys list` reads custody.db, where the key is
    listed = subprocess.run(
        [sys.executable, "-m", "bastion", "keys", "list"],
        env=layout.env(layout.signer_home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout
    assert layout.canary not in listed.stdout


def test_the_engine_user_learns_the_account_from_the_signer_and_creates_a_bot(layout: Layout):
    config = layout.engine_home / "dca.toml"
    config.write_text(DCA)
    os.chown(config, ENGINE_UID, ENGINE_UID)
    created = subprocess.run(
        _as(ENGINE_UID, ENGINE_UID, "-m", "bastion", "bot", "create", "--config", str(config)),
        env={**layout.env(layout.engine_home), "NO_PROXY": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    engine_db = layout.engine_home / "bastion.db"
    assert engine_db.stat().st_uid == ENGINE_UID
    assert engine_db.stat().st_mode & 0o777 == 0o600
    with contextlib.closing(sqlite3.connect(f"file:{engine_db}?mode=ro", uri=True)) as db:
        # the account's public part, learnt through key_status (its URL reached the simulator)...
        assert db.execute("SELECT name, exchange, url FROM accounts").fetchall() == [
            ("alice", "simulator", layout.sim.url)
        ]
        # ...and no sealed key, no policy
        assert db.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM account_policies").fetchone() == (0,)
