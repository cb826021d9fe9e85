"""``bastion web``: the REST API (signal webhooks, health) with uvicorn, on loopback by default."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from bastion.errors import ConfigError


def _ready(url: str) -> None:
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def web(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless --allow-non-loopback).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8000,
    allow_non_loopback: Annotated[
        bool,
        typer.Option("--allow-non-loopback", help="Permit a --host that is not loopback (put TLS in front of it)."),
    ] = False,
) -> None:
    """Serve the REST API until interrupted; prints ``listening on URL`` once it accepts connections."""
    from bastion.services._db import open_database
    from bastion.web import bind, create_app, is_loopback_host, serve

    if not is_loopback_host(host):
        if not allow_non_loopback:
            raise ConfigError(
                f"--host {host!r} is not a loopback address; the API speaks plain HTTP (webhook secrets travel in "
                "the request body), so it listens on 127.0.0.1, ::1 or localhost unless --allow-non-loopback is "
                "given; expose it through a TLS reverse proxy instead"
            )
        typer.echo(
            f"warning: listening on {host}, which is not loopback: requests are plain HTTP, so webhook secrets "
            "cross the network in clear unless a TLS reverse proxy terminates them",
            err=True,
        )
    sock = bind(host, port)
    try:
        engine, sessions = open_database()
    except BaseException:
        sock.close()
        raise
    try:
        app = create_app(sessions=sessions, clock_ms=_now_ms)
        serve(app, sock, on_ready=_ready)
    finally:
        sock.close()
        engine.dispose()
