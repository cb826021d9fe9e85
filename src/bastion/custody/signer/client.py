"""Talk to the signer over its Unix socket (what the engine and the CLI use).

The client never holds a secret: it sends order intents and gets back what the exchange said,
or a refusal that names the policy rule and the values it compared.

The typed methods take a request of :mod:`bastion.custody.signer.rpc` and return its answer
type; a refusal is raised as the same :mod:`bastion.errors` class the signer raised
(``PolicyDenied``, ``InsufficientFunds``, ``OrderNotFound``, ``NetworkTimeout`` ...)::

    with SignerClient(layout.socket) as signer:
        order = signer.place_order(PlaceOrderRequest(
            account="main", symbol="BTC/USDT", side="buy", type=OrderType.LIMIT,
            amount=Decimal("0.001"), price=Decimal("16000"), client_order_id="b1"))

``call(op, **params)`` is the untyped form (dict answers, every refusal as
:class:`~bastion.errors.SignerRefused` with ``kind``); it stays for the CLI's JSON output.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from bastion.custody.signer.protocol import encode, read_frame, recv_frame
from bastion.custody.signer.rpc import (
    BalancesRequest,
    CancelOrderRequest,
    GetOrderRequest,
    KeyAdded,
    KeyCheck,
    KeyRemoved,
    KeysAddRequest,
    KeysAddSealedRequest,
    KeysCheckRequest,
    KeysRemoveRequest,
    KeyStatus,
    KeyStatusRequest,
    MyTradesRequest,
    OpenOrdersRequest,
    PanicReport,
    PanicRequest,
    Ping,
    PingRequest,
    PlaceOrderRequest,
    PolicySetRequest,
    PolicyShowRequest,
    PolicyView,
    Request,
    SealPublicKey,
    SealPublicKeyRequest,
    error_from_wire,
)
from bastion.errors import SignerNoAnswer, SignerRefused, SignerUnavailable
from bastion.exchanges.port import Balance, OrderSnapshot, Trade

__all__ = ["AsyncSignerClient", "SignerClient"]

A = TypeVar("A")


def _result(answer: dict[str, Any], request_id: int, *, typed: bool = False) -> Any:
    if answer.get("id") != request_id:
        raise SignerUnavailable(f"the signer answered request {answer.get('id')!r}, expected {request_id}")
    if answer.get("ok") is True:
        return answer.get("result")
    error = answer.get("error") or {}
    if typed:
        raise error_from_wire(error)
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


def _no_answer(op: str, timeout: float, exc: BaseException) -> SignerNoAnswer:
    return SignerNoAnswer(
        f"the signer got {op!r} but gave no answer within {timeout:g} s ({exc.__class__.__name__}); "
        "it may have done it, or still be doing it"
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
            Nothing listens on the socket, or the connection broke before the request was sent.
        SignerNoAnswer
            The request was sent but no answer came in ``timeout`` seconds (it may have run).
        """
        return self._send(op, params, typed=False)

    def _send(self, op: str, params: dict[str, Any], *, typed: bool) -> Any:
        request_id = next(self._ids)
        frame = encode({"id": request_id, "op": op, "params": params})
        sock = self._connect()
        sock.settimeout(self.timeout)  # the caller may have changed it since the connection opened
        try:
            sock.sendall(frame)
        except (OSError, ConnectionError) as exc:
            self.close()
            raise _unavailable(self.path, exc) from None
        try:
            answer = recv_frame(sock)
        except (OSError, ConnectionError) as exc:
            self.close()
            raise _no_answer(op, self.timeout, exc) from None
        return _result(answer, request_id, typed=typed)

    def request(self, request: Request[A]) -> A:
        """Send a typed request and return its typed answer.

        Raises
        ------
        BastionError
            The class the signer raised (see :mod:`bastion.custody.signer.rpc`).
        SignerUnavailable
            Nothing listens on the socket, or the connection broke.
        """
        return type(request).answer_from_wire(self._send(request.op, request.to_wire(), typed=True))

    def place_order(self, request: PlaceOrderRequest) -> OrderSnapshot:
        """Place an order (the policy judges it first)."""
        return self.request(request)

    def cancel_order(self, request: CancelOrderRequest) -> OrderSnapshot:
        """Cancel an order."""
        return self.request(request)

    def get_order(self, request: GetOrderRequest) -> OrderSnapshot:
        """Fetch an order."""
        return self.request(request)

    def open_orders(self, request: OpenOrdersRequest) -> tuple[OrderSnapshot, ...]:
        """List open orders."""
        return self.request(request)

    def balances(self, request: BalancesRequest) -> dict[str, Balance]:
        """Fetch the account's non-zero balances."""
        return self.request(request)

    def my_trades(self, request: MyTradesRequest) -> tuple[Trade, ...]:
        """Fetch the account's trades in one market, or one order's."""
        return self.request(request)

    def key_status(self, request: KeyStatusRequest | None = None) -> tuple[KeyStatus, ...]:
        """Each key's status (never a secret)."""
        return self.request(request or KeyStatusRequest())

    def ping(self) -> Ping:
        """Check that the signer answers."""
        return self.request(PingRequest())

    def keys_add(self, request: KeysAddRequest) -> KeyAdded:
        """Add a key (needs the vault passphrase)."""
        return self.request(request)

    def seal_public_key(self) -> SealPublicKey:
        """The signer's current X25519 sealing key."""
        return self.request(SealPublicKeyRequest())

    def keys_add_sealed(self, request: KeysAddSealedRequest) -> KeyAdded:
        """Add a key sealed to the signer's sealing key (no passphrase: only the signer opens it)."""
        return self.request(request)

    def keys_check(self, request: KeysCheckRequest | None = None) -> tuple[KeyCheck, ...]:
        """Re-check keys now."""
        return self.request(request or KeysCheckRequest())

    def keys_remove(self, request: KeysRemoveRequest) -> KeyRemoved:
        """Forget a key."""
        return self.request(request)

    def policy_show(self, request: PolicyShowRequest) -> PolicyView:
        """Show an account's policy and usage."""
        return self.request(request)

    def policy_set(self, request: PolicySetRequest) -> PolicyView:
        """Change an account's policy."""
        return self.request(request)

    def panic(self) -> PanicReport:
        """Cancel everything, purge the secrets and stop the signer."""
        return self.request(PanicRequest())

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
        return await self._send(op, params, typed=False)

    async def request(self, request: Request[A]) -> A:
        """Send a typed request and return its typed answer (see :meth:`SignerClient.request`)."""
        return type(request).answer_from_wire(await self._send(request.op, request.to_wire(), typed=True))

    async def place_order(self, request: PlaceOrderRequest) -> OrderSnapshot:
        """Place an order (the policy judges it first)."""
        return await self.request(request)

    async def cancel_order(self, request: CancelOrderRequest) -> OrderSnapshot:
        """Cancel an order."""
        return await self.request(request)

    async def get_order(self, request: GetOrderRequest) -> OrderSnapshot:
        """Fetch an order."""
        return await self.request(request)

    async def open_orders(self, request: OpenOrdersRequest) -> tuple[OrderSnapshot, ...]:
        """List open orders."""
        return await self.request(request)

    async def balances(self, request: BalancesRequest) -> dict[str, Balance]:
        """Fetch the account's non-zero balances."""
        return await self.request(request)

    async def my_trades(self, request: MyTradesRequest) -> tuple[Trade, ...]:
        """Fetch the account's trades in one market, or one order's."""
        return await self.request(request)

    async def key_status(self, request: KeyStatusRequest | None = None) -> tuple[KeyStatus, ...]:
        """Each key's status (never a secret)."""
        return await self.request(request or KeyStatusRequest())

    async def ping(self) -> Ping:
        """Check that the signer answers."""
        return await self.request(PingRequest())

    async def _send(self, op: str, params: dict[str, Any], *, typed: bool) -> Any:
        request_id = next(self._ids)
        frame = encode({"id": request_id, "op": op, "params": params})
        async with self._lock:
            try:
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_unix_connection(os.fspath(self.path))
                assert self._reader is not None
                self._writer.write(frame)
                await self._writer.drain()
            except (OSError, ConnectionError, TimeoutError) as exc:
                await self._drop()
                raise _unavailable(self.path, exc) from None
            try:
                answer = await asyncio.wait_for(read_frame(self._reader), self.timeout)
            except (OSError, ConnectionError, TimeoutError) as exc:
                await self._drop()
                raise _no_answer(op, self.timeout, exc) from None
            if answer is None:
                await self._drop()
                raise _no_answer(op, self.timeout, ConnectionResetError("connection closed"))
        return _result(answer, request_id, typed=typed)

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
