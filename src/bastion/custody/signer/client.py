"""Talk to the signer over its Unix socket (what the engine and the CLI use).

The client never holds a secret: it sends order intents and gets back what the exchange said,
or a refusal (:class:`~bastion.errors.SignerRefused`) that names the policy rule and the values
it compared.

::

    with SignerClient(layout.socket) as signer:
        order = signer.call("place_order", account="main", symbol="BTC/USDT", side="buy",
                            type="limit", amount="0.001", price="16000", client_order_id="b1")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bastion.custody.signer.protocol import encode, read_frame, recv_frame
from bastion.errors import SignerRefused, SignerUnavailable

__all__ = ["AsyncSignerClient", "SignerClient"]


def _result(answer: dict[str, Any], request_id: int) -> Any:
    if answer.get("id") != request_id:
        raise SignerUnavailable(f"the signer answered request {answer.get('id')!r}, expected {request_id}")
    if answer.get("ok") is True:
        return answer.get("result")
    error = answer.get("error") or {}
    raise SignerRefused(
        str(error.get("message", "the signer refused the request")),
        kind=str(error.get("kind", "refused")),
        rule=error.get("rule"),
        compared=error.get("compared"),
    )


def _unavailable(path: Path, exc: BaseException) -> SignerUnavailable:
    return SignerUnavailable(
        f"no signer answers on {path} ({exc.__class__.__name__}: {exc}); start it with `bastion signer`"
    )


class SignerClient:
    """A blocking client with one connection, opened on first use.

    Parameters
    ----------
    path
        The signer's socket (``HomeLayout.socket``).
    timeout
        Seconds to wait for each answer; orders go to the exchange and back, so allow for it.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"SignerClient({str(self.path)!r})"

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(os.fspath(self.path))
            except OSError as exc:
                sock.close()
                raise _unavailable(self.path, exc) from None
            self._sock = sock
        return self._sock

    def call(self, op: str, **params: Any) -> Any:
        """Send one request and return its result.

        Raises
        ------
        SignerRefused
            The signer refused (policy denial, unknown operation, bad request, exchange error).
        SignerUnavailable
            Nothing listens on the socket, or the connection broke.
        """
        request_id = next(self._ids)
        frame = encode({"id": request_id, "op": op, "params": params})
        sock = self._connect()
        try:
            sock.sendall(frame)
            answer = recv_frame(sock)
        except (OSError, ConnectionError) as exc:
            self.close()
            raise _unavailable(self.path, exc) from None
        return _result(answer, request_id)

    def close(self) -> None:
        """Close the connection (the next call reconnects)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncSignerClient:
    """An asyncio client; requests on one connection are serialised by a lock."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"AsyncSignerClient({str(self.path)!r})"

    async def call(self, op: str, **params: Any) -> Any:
        """Send one request and return its result (see :meth:`SignerClient.call`)."""
        request_id = next(self._ids)
        frame = encode({"id": request_id, "op": op, "params": params})
        async with self._lock:
            try:
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_unix_connection(os.fspath(self.path))
                assert self._reader is not None
                self._writer.write(frame)
                await self._writer.drain()
                answer = await asyncio.wait_for(read_frame(self._reader), self.timeout)
            except (OSError, ConnectionError, TimeoutError) as exc:
                await self._drop()
                raise _unavailable(self.path, exc) from None
            if answer is None:
                await self._drop()
                raise _unavailable(self.path, ConnectionResetError("connection closed"))
        return _result(answer, request_id)

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def close(self) -> None:
        """Close the connection."""
        async with self._lock:
            await self._drop()
