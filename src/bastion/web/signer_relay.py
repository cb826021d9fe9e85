"""The web process's line to the signer: a few operations of the web role, relayed as they are.

The web process loads no custody code (``tests/web/test_web_cli.py`` checks it), so this module
speaks the signer's wire format itself: a 4-byte big-endian length, then UTF-8 JSON
``{"id", "op", "params"}``; the answer is ``{"id", "ok", "result"}`` or ``{"id", "ok": false,
"error": {"kind", "message"}}``. What the web role may call is decided by the signer from this
process's uid, not here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import struct
from pathlib import Path
from typing import Any

__all__ = ["MAX_ANSWER", "SignerRefusedRelay", "SignerRelay", "SignerUnreachable"]

#: The largest answer read from the signer (its own frame limit).
MAX_ANSWER = 1 << 20
_HEADER = struct.Struct(">I")


class SignerUnreachable(Exception):
    """No signer answers on the socket (not started, or it stopped)."""


class SignerRefusedRelay(Exception):
    """The signer refused the request; ``kind`` and ``message`` are the signer's."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class SignerRelay:
    """Send one request per connection to the signer's Unix socket.

    Parameters
    ----------
    path
        The signer's socket.
    timeout
        Seconds to wait for an answer (adding a key asks the exchange for its permissions).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"SignerRelay({str(self.path)!r})"

    async def call(self, op: str, params: dict[str, Any]) -> Any:
        """Return the signer's result for ``op``.

        Raises
        ------
        SignerRefusedRelay
            The signer answered with a refusal.
        SignerUnreachable
            Nothing answered on the socket, or the connection broke.
        """
        request_id = next(self._ids)
        body = json.dumps({"id": request_id, "op": op, "params": params}, separators=(",", ":")).encode("utf-8")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(os.fspath(self.path)), self.timeout)
        except (OSError, TimeoutError) as exc:
            raise SignerUnreachable(f"no signer answers on {self.path} ({type(exc).__name__})") from None
        try:
            writer.write(_HEADER.pack(len(body)) + body)
            await writer.drain()
            header = await asyncio.wait_for(reader.readexactly(_HEADER.size), self.timeout)
            (size,) = _HEADER.unpack(header)
            if size > MAX_ANSWER:
                raise SignerUnreachable(f"the signer's answer is {size} bytes, over {MAX_ANSWER}")
            answer = json.loads(await asyncio.wait_for(reader.readexactly(size), self.timeout))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise SignerUnreachable(f"the signer on {self.path} did not answer ({type(exc).__name__})") from None
        finally:
            writer.close()
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise SignerUnreachable("the signer's answer does not match the request")
        if answer.get("ok") is True:
            return answer.get("result")
        error = answer.get("error")
        if not isinstance(error, dict):
            error = {}
        raise SignerRefusedRelay(str(error.get("kind", "refused")), str(error.get("message", "the signer refused")))
