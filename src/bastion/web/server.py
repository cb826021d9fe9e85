"""Serving the API with uvicorn on a socket bound here (so port 0 works and a busy port is a clear error)."""

from __future__ import annotations

import copy
import ipaddress
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI

from bastion.errors import ConfigError

__all__ = ["Listen", "bind", "is_loopback_host", "load_auth_key", "load_home_auth_key", "plan_listen", "serve"]


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Listen:
    """Where and how ``bastion web`` listens: the address, TLS files, and the public origin if any."""

    host: str
    tls_cert: Path | None = None
    tls_key: Path | None = None
    origin: str | None = None

    @property
    def tls(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.tls_cert is not None


def _readable(path: Path, option: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{option} {path} is not a file; expected a PEM file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{option} {path} cannot be read by this user; expected a readable PEM file")
    return path


def plan_listen(host: str, *, public: bool, tls_cert: Path | None, tls_key: Path | None, origin: str | None) -> Listen:
    """Apply the binding rule: loopback only, unless TLS (cert and key) is configured and ``public`` is asked.

    Raises
    ------
    ConfigError
        A non-loopback ``host`` without ``public``; ``public`` without TLS or without an
        ``https://`` origin (passkeys are bound to it); one TLS file without the other; a TLS
        file that cannot be read.
    """
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together; expected both PEM files (certificate and its key)")
    tls = tls_cert is not None
    if not is_loopback_host(host) and not public:
        raise ConfigError(
            f"--host {host!r} is not a loopback address; the web dashboard listens on 127.0.0.1, ::1 or localhost "
            "unless TLS is configured (--tls-cert and --tls-key) and --public is given"
        )
    if public and not tls:
        raise ConfigError(
            "--public needs TLS: give --tls-cert and --tls-key (a login page over plain HTTP off loopback would "
            "hand passwords and sessions to anyone on the path)"
        )
    if public:
        parts = urlsplit(origin or "")
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
            raise ConfigError(
                f"--public needs --origin, the https:// address users open (such as https://bastion.example), "
                f"got {origin!r}; passkeys are bound to its host name"
            )
    elif origin is not None:
        raise ConfigError("--origin is for --public; on loopback the origins are http(s)://localhost:PORT")
    return Listen(
        host=host,
        tls_cert=None if tls_cert is None else _readable(tls_cert, "--tls-cert"),
        tls_key=None if tls_key is None else _readable(tls_key, "--tls-key"),
        origin=None if origin is None else origin.rstrip("/"),
    )


def load_home_auth_key() -> bytes:
    """:func:`load_auth_key` of ``web-auth.key`` in Bastion's home (``BASTION_HOME``)."""
    from bastion.storage import bastion_home

    return load_auth_key(bastion_home() / "web-auth.key")


def load_auth_key(path: Path) -> bytes:
    """Return the web's 32-byte key that seals TOTP secrets, creating it (mode 0600) the first time.

    Raises
    ------
    ConfigError
        The file exists but does not hold 32 bytes, or cannot be read or created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read the web's key {path}: {exc.strerror}") from None
        if len(data) != 32:
            raise ConfigError(
                f"the web's key {path} has {len(data)} bytes; expected 32 (delete it to make a new one, which "
                "forgets every enrolled TOTP)"
            ) from None
        return data
    except OSError as exc:
        raise ConfigError(f"cannot create the web's key {path}: {exc.strerror}") from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def bind(host: str, port: int) -> socket.socket:
    """Return a TCP socket bound to ``host:port`` (0 picks a free port), not yet listening.

    Raises
    ------
    ConfigError
        The port is out of range, or the address cannot be bound (in use, not local).
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be within 0..65535, got {port}")
    address = host.strip("[]")
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} cannot be resolved ({exc.strerror}); expected an IP address") from None
    family, kind, proto, _name, where = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    app: FastAPI, sock: socket.socket, *, on_ready: Callable[[str], None] | None = None, listen: Listen | None = None
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM; call ``on_ready(url)`` once it accepts connections.

    With ``listen.tls`` the server speaks HTTPS with its certificate and key.
    """
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    tls = listen is not None and listen.tls
    url = f"{'https' if tls else 'http'}://{shown}:{port}"

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                on_ready(url)

    # Every log line goes to stderr: stdout carries only what ``on_ready`` prints.
    logging = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging["handlers"]["access"]["stream"] = "ext://sys.stderr"
    config = uvicorn.Config(
        app,
        log_config=logging,
        log_level="info",
        access_log=True,
        proxy_headers=False,  # a proxy's X-Forwarded-For is not trusted: nothing here depends on the client address
        server_header=False,
        lifespan="off",
        ssl_certfile=None if listen is None or listen.tls_cert is None else str(listen.tls_cert),
        ssl_keyfile=None if listen is None or listen.tls_key is None else str(listen.tls_key),
    )
    _Server(config).run(sockets=[sock])
