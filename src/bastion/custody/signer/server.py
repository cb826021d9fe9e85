"""The signer process: unlock, listen on a 0600 Unix socket, serve the narrow RPC, stop cleanly.

Start-up order: open the vault with the passphrase, unseal the audit-signing key, open the audit
log (recovering a line cut by a crash), bring the database to the current schema, replay the
audit log (orders sent, 24 h budgets), unseal every API key into a guarded client, then bind the
socket. Only a peer with the signer's own uid (``SO_PEERCRED``) is served; any other is audited
and dropped. On SIGTERM/SIGINT or ``panic`` the signer purges secrets, signs the audit head and
removes its socket and pid file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from bastion.custody.audit import AuditLog
from bastion.custody.layout import HomeLayout
from bastion.custody.signer._model import Refusal, SignerOptions, public_key_hex, read_public_key
from bastion.custody.signer.protocol import FrameError, encode, read_frame
from bastion.custody.signer.rpc import error_to_wire
from bastion.custody.signer.service import SignerService
from bastion.custody.vault import SIGNER_KEY_BINDING, SealedSecret, Vault, load_signing_key
from bastion.errors import BastionError, ConfigError, CustodyError
from bastion.storage import create_engine_for, database_url, session_factory, upgrade

__all__ = ["SignerServer", "peer_credentials", "run_signer"]

log = logging.getLogger("bastion.signer")

_PEERCRED = struct.Struct("3i")


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """Return the (pid, uid, gid) of the process at the other end of a Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(raw)
    return pid, uid, gid


class SignerServer:
    """Serve a :class:`SignerService` on a Unix socket."""

    def __init__(self, service: SignerService, layout: HomeLayout, *, allowed_uid: int | None = None) -> None:
        self.service = service
        self.layout = layout
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind the socket with mode 0600 (refusing to steal one a live signer listens on)."""
        path = self.layout.check_socket_path()
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(os.fspath(path))
            except OSError:
                path.unlink()  # stale socket of a signer that died
            else:
                raise CustodyError(f"another signer is already listening on {path}; stop it first")
            finally:
                probe.close()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._connection, path=os.fspath(path))
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        """Stop listening and remove the socket."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        with contextlib.suppress(FileNotFoundError):
            self.layout.socket.unlink()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            pid, uid, _gid = peer_credentials(sock)
        except OSError:
            writer.close()
            return
        peer = {"pid": pid, "uid": uid}
        if uid != self.allowed_uid:
            log.warning("refused a connection from pid %s uid %s", pid, uid)
            self.service.audit.append("refused", {"account": "*", "reason": "peer uid not allowed", "peer": peer})
            writer.close()
            return
        try:
            while not self.service.stopping.is_set():
                try:
                    message = await read_frame(reader)
                except FrameError as exc:
                    writer.write(
                        encode({"id": None, "ok": False, "error": {"kind": "bad_request", "message": str(exc)}})
                    )
                    break
                if message is None:
                    break
                writer.write(encode(await self._answer(message, peer)))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _answer(self, message: dict[str, Any], peer: dict[str, int]) -> dict[str, Any]:
        request_id = message.get("id")
        op, params = message.get("op"), message.get("params", {})
        if not isinstance(op, str) or not isinstance(params, dict):
            return {
                "id": request_id,
                "ok": False,
                "error": {"kind": "bad_request", "message": "a request needs 'op' (string) and 'params' (object)"},
            }
        try:
            result = await self.service.handle(op, params, peer)
        except Refusal as refusal:
            return {"id": request_id, "ok": False, "error": refusal.to_json()}
        except BastionError as exc:
            return {"id": request_id, "ok": False, "error": error_to_wire(exc)}
        except Exception:
            log.exception("op %s failed", op)
            return {
                "id": request_id,
                "ok": False,
                "error": {"kind": "internal", "message": f"the signer failed on {op}; see its log"},
            }
        return {"id": request_id, "ok": True, "result": result}


def _configure_logging(layout: HomeLayout) -> None:
    handler = logging.FileHandler(layout.signer_log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    os.chmod(layout.signer_log, 0o600)
    root = logging.getLogger("bastion")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _open(layout: HomeLayout, passphrase: str) -> tuple[Vault, AuditLog, Any]:
    if not Vault.exists(layout.home):
        raise ConfigError(f"no vault in {layout.home}; create one with `bastion vault init`")
    vault = Vault.open(layout.home, passphrase)
    try:
        if not layout.signing_key.exists():
            raise ConfigError(f"{layout.signing_key} is missing; the vault was not created by `bastion vault init`")
        sealed = SealedSecret.from_bytes(layout.signing_key.read_bytes())
        with vault.unseal(sealed, SIGNER_KEY_BINDING) as raw:
            key = load_signing_key(raw)
        if layout.public_key.exists() and read_public_key(layout.public_key) != public_key_hex(key):
            raise ConfigError(f"{layout.public_key} does not match the vault's audit key; it was replaced")
        layout.ensure()
        audit = AuditLog.open(
            layout.audit_log,
            signing_key=key,
            clock=lambda: time.time_ns() // 1_000_000,
            recover_partial_tail=True,
        )
    except BaseException:
        vault.close()
        raise
    return vault, audit, key


async def run_signer(
    layout: HomeLayout,
    passphrase: str,
    *,
    options: SignerOptions | None = None,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Run the signer until SIGTERM/SIGINT or ``panic``; return the process exit code."""
    layout.ensure()
    _configure_logging(layout)
    vault, audit, key = _open(layout, passphrase)
    del passphrase
    engine = create_engine_for(database_url())
    try:
        upgrade(engine)
        service = SignerService(
            layout=layout,
            vault=vault,
            audit=audit,
            signing_key=key,
            sessions=session_factory(engine),
            options=options,
        )
        replayed = service.replay_audit()
        audit.append("lifecycle", {"account": "*", "event": "started", "pid": os.getpid(), "replayed": replayed})
        await service.load_accounts()
        server = SignerServer(service, layout)
        await server.start()
    except BaseException:
        audit.close(sign=True)
        vault.close()
        engine.dispose()
        raise
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stopping.set)
    layout.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    log.info("signer ready on %s with %d account(s)", layout.socket, len(service.accounts))
    if ready is not None:
        ready(os.fspath(layout.socket))

    async def background() -> None:
        while not service.stopping.is_set():
            try:
                await service.tick()
            except Exception:
                log.exception("background check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(service.stopping.wait(), 1.0)

    ticker = asyncio.create_task(background())
    try:
        await service.stopping.wait()
        await asyncio.sleep(0.05)  # let the answer to `panic` reach its caller
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await server.close()
        await service.shutdown()
        engine.dispose()
        with contextlib.suppress(FileNotFoundError):
            layout.pid_file.unlink()
        log.info("signer stopped; secrets purged")
        sys.stdout.flush()
    return 0
