"""The signer's wire format: length-prefixed JSON frames over a Unix socket.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. A request
is ``{"id": int, "op": str, "params": {...}}``; the answer carries the same id and either
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"kind", "message", ...}}``.

Amounts and prices travel as decimal strings. A JSON float anywhere in a frame is refused:
money is never a binary float, not even in transit.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from decimal import Decimal
from typing import Any

from bastion.errors import ValidationError

__all__ = [
    "CONTROL_OPS",
    "MAX_DEPTH",
    "MAX_FRAME",
    "TRADING_OPS",
    "FrameError",
    "check_values",
    "decode",
    "encode",
    "read_frame",
    "recv_frame",
]

#: The narrow RPC an engine uses. There is no withdraw or transfer operation. Who may call
#: which operation is decided per peer uid by :mod:`bastion.custody.signer.roles`.
TRADING_OPS = frozenset(
    {"place_order", "cancel_order", "get_order", "open_orders", "balances", "my_trades", "key_status"}
)
#: Operations for the user's own commands (``bastion keys|policy|panic``). Those that widen
#: what the signer will do (adding a key, loosening a policy) need the vault passphrase.
CONTROL_OPS = frozenset(
    {
        "ping",
        "keys_add",
        "seal_public_key",
        "keys_add_sealed",
        "keys_check",
        "keys_remove",
        "policy_show",
        "policy_set",
        "policy_loosen_sealed",
        "ack_findings",
        "panic",
    }
)

#: Largest frame accepted, in bytes.
MAX_FRAME = 1 << 20
#: Deepest nesting of objects and lists accepted in a frame.
MAX_DEPTH = 16
_HEADER = struct.Struct(">I")


class FrameError(ValidationError):
    """A frame that is too large, truncated, or not the JSON object expected."""


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} in a signer frame")


def _no_float(text: str) -> Any:
    raise FrameError(f"a JSON float ({text}) is not accepted; send amounts and prices as decimal strings")


def encode(message: dict[str, Any]) -> bytes:
    """Return one frame: the length prefix and the compact JSON of ``message`` (Decimals as strings)."""
    if any(isinstance(v, float) for v in _walk(message)):
        raise FrameError("a float is not accepted in a signer frame; use Decimal or a decimal string")
    body = json.dumps(message, default=_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame of {len(body)} bytes exceeds the {MAX_FRAME}-byte limit")
    return _HEADER.pack(len(body)) + body


def _walk(value: Any) -> Any:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            yield item


def check_values(value: Any, *, where: str = "the frame") -> None:
    """Refuse what no operation accepts: nesting deeper than :data:`MAX_DEPTH`, a string that is not
    valid Unicode text (a lone surrogate such as ``"\\ud800"``), or an integer beyond 64 bits.

    Raises
    ------
    FrameError
        Naming what was wrong and what is expected.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise FrameError(f"{where} is nested more than {MAX_DEPTH} levels deep; expected flat parameters")
            for key, inner in item.items():
                _check_text(key, where)
                stack.append((inner, depth + 1))
        elif isinstance(item, list | tuple):
            if depth > MAX_DEPTH:
                raise FrameError(f"{where} is nested more than {MAX_DEPTH} levels deep; expected flat parameters")
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**64:
            raise FrameError(f"{where} holds an integer of {len(str(abs(item)))} digits; expected at most 64 bits")


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FrameError(
            f"{where} holds a string with an invalid character at position {exc.start} (a lone surrogate); "
            "expected valid Unicode text"
        ) from None


def decode(body: bytes) -> dict[str, Any]:
    """Parse a frame body into a JSON object, refusing floats, non-objects and values no operation accepts."""
    try:
        message = json.loads(body.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError(f"a signer frame must be UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise FrameError(f"a signer frame is nested too deeply; expected at most {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise FrameError(f"a signer frame holds a value JSON cannot take: {str(exc)[:120]}") from None
    if not isinstance(message, dict):
        raise FrameError(f"a signer frame must be a JSON object, got {type(message).__name__}")
    check_values(message)
    return message


def _length(header: bytes) -> int:
    size: int = _HEADER.unpack(header)[0]
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return size


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """Read one frame; None at a clean end of stream (before a header)."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError("connection closed inside a frame header") from None
    size = _length(header)
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise FrameError("connection closed inside a frame") from None
    return decode(body)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionResetError("the signer closed the connection")
        chunks += chunk
    return bytes(chunks)


def recv_frame(sock: socket.socket) -> dict[str, Any]:
    """Read one frame from a blocking socket."""
    size = _length(_recv_exactly(sock, _HEADER.size))
    return decode(_recv_exactly(sock, size))
