"""Limits at the door: bodies over 1 MiB get 413 before parsing; NUL characters in the URL get 422.

The body is read here, whole, before the app sees it: at most ``max_body + 1`` bytes are
taken from the client, so a chunked upload without ``Content-Length`` is refused with a
413 as surely as a declared one. (Raising from a wrapped ``receive`` instead does not
work: FastAPI's body parsing turns any error it meets into a 400.) A body within the limit
is handed to the app as one message; later ``receive`` calls go to the server, so the app
still hears of a disconnect.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import TYPE_BASE

MAX_BODY = 1024 * 1024


class BodySizeLimit:
    """Pure ASGI middleware: refuses oversized bodies (declared or streamed) and NUL in the URL."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope.get("path", ""):
            await self._refuse(scope, send, 422, "invalid-input", "Invalid input", "NUL characters are not allowed")
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self._refuse(scope, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int = 413,
        slug: str = "body-too-large",
        title: str = "Body too large",
        detail: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "type": TYPE_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail or f"request bodies are limited to {self.max_body} bytes",
            "instance": scope.get("path", "").replace("\x00", ""),
        }
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(data)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
