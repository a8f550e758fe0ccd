"""``HEAD`` answers like ``GET`` without the body, on every route that answers ``GET``.

HTTP requires it of a general-purpose server (RFC 9110, 9.3.2): monitors, link checkers and
caches ask ``HEAD`` to learn a resource's status, ``ETag`` or length without fetching it.
FastAPI registers only the methods a route names, so a ``HEAD`` was 405 everywhere. Here it
is run as the ``GET`` it stands for (the same authentication, the same status and headers,
``Content-Length`` included) and the body is dropped on the way out. A path with no ``GET``
still answers 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Pure ASGI middleware: a ``HEAD`` request runs as ``GET``; its response body is not sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
