"""A cap on request bodies (the login, the API): read up to the cap before the app sees anything.

The webhooks keep their own, smaller cap (:data:`bastion.web.app.MAX_BODY_BYTES`); this one stops a
client from making any other route read an unbounded body (a JSON document of gigabytes).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_REQUEST_BYTES", "BodyLimit"]

#: The largest body any route but the webhooks reads (a bot's TOML is at most 64 KiB).
MAX_REQUEST_BYTES = 256 * 1024


class BodyLimit:
    """Answer 413 to a request whose body is over ``limit`` bytes; pass the others on, body intact."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, f"request body is {int(declared)} bytes; expected at most {self.limit}")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app will see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send, f"request body is over {self.limit} bytes; expected at most that")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, detail: str) -> None:
        payload = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
