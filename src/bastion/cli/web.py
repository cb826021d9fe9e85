"""``bastion web``: the dashboard and REST API with uvicorn, on loopback unless TLS and ``--public``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def _ready(url: str) -> None:
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def web(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless TLS and --public).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8080,
    public: Annotated[
        bool, typer.Option("--public", help="Listen on a --host that is not loopback (needs TLS and --origin).")
    ] = False,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM): serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key (PEM) of --tls-cert.")] = None,
    origin: Annotated[
        str | None, typer.Option(help="With --public: the https:// address users open (passkeys are bound to it).")
    ] = None,
) -> None:
    """Serve the dashboard and REST API until interrupted; prints ``listening on URL`` once it accepts connections.

    On loopback, open it at http://localhost:PORT (passkeys need a host name, not an IP address).
    """
    from urllib.parse import urlsplit

    from bastion.services._db import open_database
    from bastion.web import bind, create_app, serve
    from bastion.web.auth import AuthSettings
    from bastion.web.server import load_home_auth_key, plan_listen

    listen = plan_listen(host, public=public, tls_cert=tls_cert, tls_key=tls_key, origin=origin)
    key = load_home_auth_key()
    sock = bind(host, port)
    try:
        engine, sessions = open_database()
    except BaseException:
        sock.close()
        raise
    try:
        bound = sock.getsockname()[1]
        if listen.origin is not None:
            auth = AuthSettings(
                origins=(listen.origin,), rp_id=urlsplit(listen.origin).hostname or "", tls=True, totp_key=key
            )
        else:
            scheme = "https" if listen.tls else "http"
            auth = AuthSettings(
                origins=tuple(f"{scheme}://{name}:{bound}" for name in ("localhost", "127.0.0.1", "[::1]")),
                rp_id="localhost",
                tls=listen.tls,
                totp_key=key,
            )
        app = create_app(sessions=sessions, clock_ms=_now_ms, auth=auth)
        serve(app, sock, on_ready=_ready, listen=listen)
    finally:
        sock.close()
        engine.dispose()
