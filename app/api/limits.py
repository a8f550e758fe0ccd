"""Limits at the door: bodies over 1 MiB get 413 before parsing; NUL characters in the URL and
duplicate keys in a JSON object get 422 naming where.

The body is read here, whole, before the app sees it: at most ``max_body + 1`` bytes are
kept, so a chunked upload without ``Content-Length`` is refused with a 413 as surely as a
declared one. (Raising from a wrapped ``receive`` instead does not work: FastAPI's body
parsing turns any error it meets into a 400.) The rest of an oversized body, up to
:data:`DRAIN`, is read and dropped before answering: a server that closes a socket with
unread data makes the kernel send a reset, and the client then sees "connection reset"
instead of the 413 (only a client that waits for ``100 Continue`` is answered at once). A
body within the limit is handed to the app as one message; later ``receive`` calls go to the
server, so the app still hears of a disconnect.

A JSON object with the same key twice is refused: parsers disagree on which one counts (the
last, here; the first, in some gateways), so a body could be checked as one request and acted
on as another.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import parsing
from app.api.problems import TYPE_BASE, json_media_type

MAX_BODY = 1024 * 1024
GONE = "the client closed the connection before its body was complete"
DRAIN = 16 * MAX_BODY  # read and dropped after a 413, so the client hears the answer; beyond it, cut off


class BodySizeLimit:
    """Pure ASGI middleware: refuses oversized bodies (declared or streamed) and NUL in the URL."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in_url(scope)
        if where is not None:
            await self._refuse(
                scope, send, 422, "invalid-input", "Invalid input", f"{where}: NUL characters are not allowed", where
            )
            return
        headers = dict(scope.get("headers", []))
        try:
            body = await self._body(headers, receive)
        except _Gone:  # answered all the same: the server drops it, but every layer above sees a response, not an
            # error ("No response returned" from a BaseHTTPMiddleware, a 500 in the access log)
            await self._refuse(scope, send, 400, "client-disconnected", "Client disconnected", GONE)
            return
        if body is None:
            await self._refuse(scope, send)
            return
        duplicate = _duplicate_key(body) if body and json_media_type(_text(headers.get(b"content-type"))) else None
        if duplicate is not None:
            await self._refuse(
                scope, send, 422, "invalid-input", "Invalid input", f"{duplicate}: the key appears twice", duplicate
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The whole body, or ``None`` when it is over the limit (its rest read and dropped, up to :data:`DRAIN`).

        Raises :class:`_Gone` when the client goes away before sending all of it.
        """
        declared = parsing.whole(headers.get(b"content-length", b"").decode("latin-1"), maximum=2**62)
        if declared is not None and declared > self.max_body:
            if declared <= DRAIN and headers.get(b"expect", b"").lower() != b"100-continue":
                await _drain(receive, declared)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN - size)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int = 413,
        slug: str = "body-too-large",
        title: str = "Body too large",
        detail: str | None = None,
        field: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "type": TYPE_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail or f"request bodies are limited to {self.max_body} bytes",
            "instance": scope.get("path", "").replace("\x00", ""),
        }
        if field is not None:
            body["field"] = field
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(data)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def _text(raw: bytes | None) -> str | None:
    return raw.decode("latin-1") if raw is not None else None


def _nul_in_url(scope: Scope) -> str | None:
    """Where a NUL hides in the URL: ``path``, or the name of the query parameter (``query`` if unnamed)."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            clean = name.replace("\x00", "")
            return clean if clean.isidentifier() else "query"
    return "query"


async def _drain(receive: Receive, limit: int) -> None:
    """Read and drop the rest of a refused body, at most ``limit`` bytes, so the answer reaches the client."""
    taken = 0
    while taken < limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        taken += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class _Gone(Exception):
    """The client disconnected before its body was complete."""


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _duplicate_key(body: bytes) -> str | None:
    """The first key a JSON object in ``body`` repeats, else ``None`` (bad JSON is for the app to refuse)."""
    if b'"' not in body:
        return None
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _Duplicate as duplicate:
        return duplicate.key.encode("utf-8", "backslashreplace").decode("utf-8")[:100]
    except (ValueError, RecursionError):
        return None
    return None
