"""A client of the signer for the web process that loads no custody code.

It speaks the signer's wire format itself: a 4-byte big-endian length, then UTF-8 JSON
``{"id", "op", "params"}``; the answer is ``{"id", "ok", "result"}`` or ``{"id", "ok": false,
"error": {"kind", "message"}}``. It has the ``call(op, **params)`` of
:class:`~bastion.services.accounts.SignerCalls`, so ``create_app(signer=...)`` may use it; what
the web role may call is decided by the signer from this process's uid, not here.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

from bastion.errors import SignerNoAnswer, SignerRefused, SignerUnavailable

__all__ = ["MAX_ANSWER", "SignerRelay"]

#: The largest answer read from the signer (its own frame limit).
MAX_ANSWER = 1 << 20
_HEADER = struct.Struct(">I")


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(65536, size - len(chunks)))
        if not chunk:
            raise ConnectionResetError("the signer closed the connection")
        chunks += chunk
    return bytes(chunks)


class SignerRelay:
    """One connection per request to the signer's Unix socket.

    Parameters
    ----------
    path
        The signer's socket.
    timeout
        Seconds to wait for an answer (adding a key asks the exchange for its permissions).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"SignerRelay({str(self.path)!r})"

    def call(self, op: str, **params: Any) -> Any:
        """Return the signer's result for ``op``.

        Raises
        ------
        SignerRefused
            The signer answered with a refusal (``kind`` and message are the signer's).
        SignerUnavailable
            Nothing answered on the socket, or the connection broke before the request was sent.
        SignerNoAnswer
            The request was sent but no answer came in ``timeout`` seconds (it may have run).
        """
        request_id = next(self._ids)
        body = json.dumps({"id": request_id, "op": op, "params": params}, separators=(",", ":")).encode("utf-8")
        sent = False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(os.fspath(self.path))
                sock.sendall(_HEADER.pack(len(body)) + body)
                sent = True
                (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
                if size > MAX_ANSWER:
                    raise SignerUnavailable(f"the signer's answer is {size} bytes, over {MAX_ANSWER}")
                answer = json.loads(_read_exactly(sock, size))
        except (OSError, ValueError) as exc:
            if sent:  # it has the request: it may have carried it out
                raise SignerNoAnswer(
                    f"the signer got {op!r} but gave no answer within {self.timeout:g} s ({type(exc).__name__}); "
                    "it may have done it, or still be doing it"
                ) from None
            raise SignerUnavailable(
                f"no signer answers on {self.path} ({type(exc).__name__}); start it with `bastion signer`"
            ) from None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise SignerUnavailable("the signer's answer does not match the request")
        if answer.get("ok") is True:
            return answer.get("result")
        error = answer.get("error")
        if not isinstance(error, dict):
            error = {}
        raise SignerRefused(str(error.get("message", "the signer refused")), kind=str(error.get("kind", "refused")))
