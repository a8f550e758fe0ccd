"""Limits at the door: bodies over 1 MiB get 413 before parsing; NUL characters in the URL get 422."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Pure ASGI middleware: checks Content-Length, and counts streamed bodies too."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or b"\x00" in scope.get("path", "").encode():
            await self._refuse(send, 422, "invalid-input", "Invalid input", "NUL characters are not allowed")
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(
        self,
        send: Send,
        status: int = 413,
        slug: str = "body-too-large",
        title: str = "Body too large",
        detail: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "type": f"https://filingflow.example/problems/{slug}",
            "title": title,
            "status": status,
            "detail": detail or f"request bodies are limited to {self.max_body} bytes",
        }
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
