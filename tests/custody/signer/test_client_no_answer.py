"""A request the signer received but did not answer in time is "no answer" (it may have run), not
"no signer": the CLI's and the web's clients say which, so a panic or an order is never reported
as not done when it may have been done."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.custody.signer.client import SignerClient
from bastion.errors import SignerNoAnswer, SignerUnavailable
from bastion.web.signer_relay import SignerRelay


@pytest.fixture
def silent_socket() -> Iterator[Path]:
    """A Unix socket that takes each request and never answers (a signer busy for longer than the timeout)."""
    folder = Path(tempfile.mkdtemp(prefix="bs-"))  # a socket path must fit in 107 bytes
    path = folder / "signer.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.recv(65536)  # the request arrives; no answer follows
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()
    path.unlink(missing_ok=True)
    folder.rmdir()


@pytest.mark.parametrize("kind", ["cli", "web"])
def test_a_request_taken_but_not_answered_is_no_answer(silent_socket: Path, kind: str) -> None:
    client = SignerClient(silent_socket, timeout=0.3) if kind == "cli" else SignerRelay(silent_socket, timeout=0.3)
    expected = r"the signer got 'panic' but gave no answer within 0\.3 s.*may have done it"
    with pytest.raises(SignerNoAnswer, match=expected):
        client.call("panic", requested_by="test")
    if isinstance(client, SignerClient):
        client.close()


def test_the_engines_client_says_no_answer_too(silent_socket: Path) -> None:
    """The engine's asynchronous client: an order sent but not answered is reconciled, never taken as refused."""
    import asyncio

    from bastion.custody.signer.client import AsyncSignerClient

    async def ask() -> None:
        client = AsyncSignerClient(silent_socket, timeout=0.3)
        try:
            with pytest.raises(SignerNoAnswer, match=r"the signer got 'ping' but gave no answer within 0\.3 s"):
                await client.call("ping")
        finally:
            await client.close()

    asyncio.run(ask())


@pytest.mark.parametrize("kind", ["cli", "web"])
def test_no_signer_at_all_is_unavailable_not_no_answer(tmp_path: Path, kind: str) -> None:
    missing = tmp_path / "none.sock"
    client = SignerClient(missing, timeout=0.3) if kind == "cli" else SignerRelay(missing, timeout=0.3)
    with pytest.raises(SignerUnavailable) as raised:
        client.call("ping")
    assert not isinstance(raised.value, SignerNoAnswer)


def test_an_order_without_an_answer_is_reconciled_not_taken_as_refused() -> None:
    from bastion.engine.gateway import reject_kind

    assert reject_kind(SignerNoAnswer("the signer got 'place_order' but gave no answer within 30 s")) is None
