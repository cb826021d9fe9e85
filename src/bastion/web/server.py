"""Serving the API with uvicorn on a socket bound here (so port 0 works and a busy port is a clear error)."""

from __future__ import annotations

import copy
import ipaddress
import socket
from collections.abc import Callable

from fastapi import FastAPI

from bastion.errors import ConfigError

__all__ = ["bind", "is_loopback_host", "serve"]


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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


def serve(app: FastAPI, sock: socket.socket, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM; call ``on_ready(url)`` once it accepts connections."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"

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
    )
    _Server(config).run(sockets=[sock])
